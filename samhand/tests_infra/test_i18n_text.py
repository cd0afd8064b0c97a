"""lib.i18n: a sentence kept as msgid and values is said again in the reader's
language; a sentence that cannot be said again falls back to the stored text."""

from __future__ import annotations

import json

from django.utils import translation
from django.utils.translation import gettext_noop

from samhand.lib.i18n import Choice, Text, render

HIGH = gettext_noop("NEWS2 %(total)s (high): emergency response — assess at once.")


def test_a_sentence_written_in_english_is_read_in_norwegian_and_danish():
    with translation.override("en"):
        text = Text(HIGH, total=8)
    assert str(text) == "NEWS2 8 (high): emergency response — assess at once."
    stored = json.loads(json.dumps(text.as_json()))  # as the database keeps it
    with translation.override("nb"):
        assert render(stored, str(text)).startswith("NEWS2 8 (høy)")
    with translation.override("da"):
        said = render(stored, str(text))
        assert said.startswith("NEWS2 8") and said != str(text)


def test_sentences_within_sentences_words_per_language_and_lists_are_said_again():
    with translation.override("en"):
        text = Text(gettext_noop("%(question)s: %(answer)s"),
                    question=Choice({"nb": "Pust", "en": "Breathing", "da": "Vejrtrækning"}),
                    answer=[Text(gettext_noop("oxygen")), "x"])
    assert str(text) == "Breathing: oxygen, x"
    stored = json.loads(json.dumps(text.as_json()))
    with translation.override("nb"):
        assert render(stored, "") == "Pust: oksygen, x"
    with translation.override("da"):
        assert render(stored, "").startswith("Vejrtrækning: ")


def test_a_text_not_kept_as_a_sentence_or_no_longer_fitting_shows_as_stored():
    assert render({}, "Lagret tekst") == "Lagret tekst"
    assert render(None, "Lagret tekst") == "Lagret tekst"
    assert render({"m": "%(missing)s and more", "p": {}}, "Lagret tekst") == "Lagret tekst"
    assert render({"m": 3}, "Lagret tekst") == "Lagret tekst"


def test_a_choice_falls_back_to_norwegian_then_any_language():
    with translation.override("da"):
        assert str(Choice({"nb": "Pust", "en": "Breathing"})) == "Pust"
        assert str(Choice({"en": "Breathing"})) == "Breathing"


def test_a_sentence_is_said_in_each_language_for_rows_that_store_them_all():
    from samhand.lib.i18n import in_languages

    with translation.override("en"):
        said = in_languages(Text(HIGH, total=5))
    assert said["en"] == "NEWS2 5 (high): emergency response — assess at once."
    assert said["nb"].startswith("NEWS2 5 (høy)")
    assert set(said) == {"nb", "en", "da"} and said["da"] not in (said["en"], "")
    assert translation.get_language() != "da"  # the active language is restored
