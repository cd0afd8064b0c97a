"""Sentences written now and read later, in the reader's language.

An alert raised by a worker at night, or by a nurse working in English, is read the
next morning by a nurse in Norwegian or Danish. So such a sentence is kept twice: as
text in the writer's language (for search, exports and a reader without a catalogue)
and as its English msgid with the values that fill it (`Text.as_json()`), which
`render()` says again in the active language when the sentence is shown.

    text = Text(gettext_noop("NEWS2 %(total)s (high): assess at once."), total=8)
    str(text)            # "NEWS2 8 (høy): vurder straks." while nb is active
    render(text.as_json(), str(text))   # the same, in the reader's language

A value may itself be a `Text` (a sentence within a sentence), a `Choice` (words a
data file gives per language, such as a form's title) or a list of these (said joined
by commas).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.utils import translation
from django.utils.translation import get_language, gettext


class Choice(str):
    """Words given per language ({"nb": …, "en": …, "da": …}): the active language's,
    else Norwegian, else any."""

    languages: dict[str, str]

    def __new__(cls, languages: dict[str, str]) -> Choice:
        value = super().__new__(cls, _choose(languages))
        value.languages = dict(languages)
        return value

    def as_json(self) -> dict[str, Any]:
        return {"l": self.languages}


class Text(str):
    """A sentence: its text in the active language now, and how to say it again."""

    msgid: str
    params: dict[str, Any]

    def __new__(cls, msgid: str, **params: Any) -> Text:
        value = super().__new__(cls, _say(msgid, params))
        value.msgid, value.params = msgid, params
        return value

    def as_json(self) -> dict[str, Any]:
        return {"m": self.msgid, "p": {k: _value_json(v) for k, v in self.params.items()}}

    @classmethod
    def from_json(cls, source: dict[str, Any], fallback: str) -> str:
        """The sentence again (a Text), or `fallback` when `source` says nothing."""
        if not isinstance(source, dict) or not isinstance(source.get("m"), str):
            return fallback
        params = {k: _value(v) for k, v in (source.get("p") or {}).items()}
        try:
            return cls(source["m"], **params)
        except (KeyError, ValueError, TypeError):
            return fallback


def render(source: dict[str, Any] | None, fallback: str) -> str:
    """A stored sentence in the active language; `fallback` (the stored text) when it
    was not kept as a sentence or its msgid no longer fits its values."""
    return str(Text.from_json(source or {}, fallback))


def in_languages(text: Text) -> dict[str, str]:
    """The sentence said in each of samhand's languages (settings.LANGUAGES), for rows
    whose readers choose among stored words, such as a task's `titles`."""
    out = {}
    for language, _name in settings.LANGUAGES:
        with translation.override(language):
            out[language] = render(text.as_json(), str(text))
    return out


def _say(msgid: str, params: dict[str, Any]) -> str:
    translated = gettext(msgid)
    if not params and "%(" not in msgid:
        return translated
    values = {k: _said(v) for k, v in params.items()}
    try:
        return translated % values
    except (KeyError, ValueError, TypeError):
        return msgid % values  # a broken translation must not lose the sentence


def _said(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    return str(value) if isinstance(value, (Text, Choice)) else value


def _choose(languages: dict[str, str]) -> str:
    lang = (get_language() or "nb").split("-")[0]
    return languages.get(lang) or languages.get("nb") or next(iter(languages.values()), "")


def _value_json(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return {"j": [_value_json(v) for v in value]}
    if isinstance(value, (Text, Choice)):
        return value.as_json()
    if isinstance(value, (int, float, bool)) or value is None:
        return value
    return str(value)


def _value(value: Any) -> Any:
    if isinstance(value, dict) and isinstance(value.get("j"), list):
        return [_value(v) for v in value["j"]]
    if isinstance(value, dict) and isinstance(value.get("m"), str):
        return Text.from_json(value, "")
    if isinstance(value, dict) and isinstance(value.get("l"), dict):
        return Choice(value["l"])
    return value
