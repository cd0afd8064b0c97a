"""Domain content shipped as data files that clinicians can read and change (style.md §10):
the action-plan scenario libraries (scenarios/*.yaml), the role descriptions
(library/roles.yaml) and the standard topics of a collaboration meeting
(library/meeting_topics.yaml).

Files are read once and validated; a malformed file raises `ContentError` naming the
file and the entry, so that a mistake is found at start-up (PlansConfig.ready) and
not in front of a patient.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

HERE = Path(__file__).parent
SCENARIO_DIR = HERE / "scenarios"
LIBRARY_DIR = HERE / "library"
LANGUAGES = ("nb", "en", "da")
KEY = re.compile(r"^[a-z][a-z0-9_]{0,39}$")

# Whom a scenario may tell you to call; the number comes from the care team
# (samhand.plans.contacts). Labels are UI strings.
CALL_KEYS: dict[str, Promise] = {
    "emergency": _("Emergency number"),
    "home_nursing": _("Home nursing (24 h)"),
    "gp": _("GP"),
    "out_of_hours": _("Out-of-hours service (legevakt)"),
    "hospital_team": _("Hospital team"),
    "palliative_team": _("Palliative team"),
    "supplier": _("Equipment supplier"),
    "coordinator": _("Municipal coordinator"),
    "relative": _("Primary contact among relatives"),
}
PARTIES = ("patient", "municipality", "hospital", "supplier")


class ContentError(Exception):
    pass


def language_of(lang: str | None) -> str:
    code = (lang or "nb").lower().replace("_", "-").split("-")[0]
    return "nb" if code in ("no", "nn") else code


@dataclass(frozen=True)
class Text:
    """A text in one or more languages; nb is required and the fallback."""

    values: tuple[tuple[str, Any], ...]

    def get(self, lang: str | None = "nb") -> Any:
        found = dict(self.values)
        return found.get(language_of(lang)) or found["nb"]

    def has(self, lang: str | None) -> bool:
        return language_of(lang) in dict(self.values)


@dataclass(frozen=True)
class ScenarioTemplate:
    key: str
    title: Text
    signs: Text  # lists of strings
    steps: Text
    call: tuple[str, ...]
    gp: Text
    specialist: Text

    def for_language(self, lang: str) -> dict[str, Any]:
        """The scenario as stored in a patient's action plan (one language)."""
        return {"key": self.key, "title": self.title.get(lang),
                "signs": list(self.signs.get(lang)), "steps": list(self.steps.get(lang)),
                "call": list(self.call), "gp": self.gp.get(lang),
                "specialist": self.specialist.get(lang)}


@dataclass(frozen=True)
class Library:
    pathway: str
    title: Text
    scenarios: tuple[ScenarioTemplate, ...]
    source: str

    def scenario(self, key: str) -> ScenarioTemplate | None:
        return next((s for s in self.scenarios if s.key == key), None)

    def languages(self) -> set[str]:
        return {lang for lang in LANGUAGES if self.title.has(lang)}


@dataclass(frozen=True)
class Topic:
    key: str
    text: Text


def _text(value: Any, where: str, *, lists: bool = False) -> Text:
    if not isinstance(value, dict) or "nb" not in value:
        raise ContentError(f"{where}: needs a text per language with at least 'nb'")
    out: list[tuple[str, Any]] = []
    for lang, text in value.items():
        if lang not in LANGUAGES:
            raise ContentError(f"{where}: unknown language {lang!r}")
        if lists:
            if not isinstance(text, list) or not text or not all(
                    isinstance(t, str) and t.strip() for t in text):
                raise ContentError(f"{where}.{lang}: needs a non-empty list of texts")
            out.append((lang, tuple(t.strip() for t in text)))
        else:
            if not isinstance(text, str) or not text.strip():
                raise ContentError(f"{where}.{lang}: needs a text")
            out.append((lang, text.strip()))
    return Text(tuple(out))


def _read(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ContentError(f"{path.name}: not valid YAML: {exc}") from None


def load_library(path: Path) -> Library:
    data = _read(path)
    name = path.name
    if not isinstance(data, dict):
        raise ContentError(f"{name}: expected a mapping with pathway, title, scenarios")
    pathway = data.get("pathway")
    if not isinstance(pathway, str) or not KEY.match(pathway):
        raise ContentError(f"{name}: 'pathway' must be a key such as ltmv")
    scenarios = data.get("scenarios")
    if not isinstance(scenarios, list) or not scenarios:
        raise ContentError(f"{name}: 'scenarios' must be a non-empty list")
    seen: set[str] = set()
    parsed = []
    for index, item in enumerate(scenarios, start=1):
        where = f"{name}: scenario {index}"
        if not isinstance(item, dict):
            raise ContentError(f"{where}: expected a mapping")
        key = item.get("key")
        if not isinstance(key, str) or not KEY.match(key):
            raise ContentError(f"{where}: 'key' must be lower case letters, digits and _")
        where = f"{name}: scenario {key}"
        if key in seen:
            raise ContentError(f"{where}: the key is used twice")
        seen.add(key)
        unknown = set(item) - {"key", "title", "signs", "steps", "call", "responsibility"}
        if unknown:
            raise ContentError(f"{where}: unknown field(s) {sorted(unknown)}")
        call = item.get("call")
        if not isinstance(call, list) or not call:
            raise ContentError(f"{where}: 'call' must list whom to call")
        bad = [c for c in call if c not in CALL_KEYS]
        if bad:
            raise ContentError(f"{where}: unknown 'call' entries {bad}; use {sorted(CALL_KEYS)}")
        responsibility = item.get("responsibility")
        if not isinstance(responsibility, dict) or set(responsibility) != {"gp", "specialist"}:
            raise ContentError(f"{where}: 'responsibility' needs 'gp' and 'specialist'")
        parsed.append(ScenarioTemplate(
            key=key, title=_text(item.get("title"), f"{where}.title"),
            signs=_text(item.get("signs"), f"{where}.signs", lists=True),
            steps=_text(item.get("steps"), f"{where}.steps", lists=True),
            call=tuple(call), gp=_text(responsibility["gp"], f"{where}.responsibility.gp"),
            specialist=_text(responsibility["specialist"],
                             f"{where}.responsibility.specialist")))
    return Library(pathway=pathway, title=_text(data.get("title"), f"{name}: title"),
                   scenarios=tuple(parsed), source=name)


@functools.cache
def libraries() -> dict[str, Library]:
    found: dict[str, Library] = {}
    for path in sorted(SCENARIO_DIR.glob("*.yaml")):
        library = load_library(path)
        if library.pathway in found:
            raise ContentError(f"{path.name}: pathway {library.pathway} has two libraries")
        found[library.pathway] = library
    return found


def library_for(group: str) -> Library | None:
    return libraries().get(group or "")


@functools.cache
def role_descriptions() -> dict[str, dict[str, Text]]:
    data = _read(LIBRARY_DIR / "roles.yaml")
    if not isinstance(data, dict) or not isinstance(data.get("pathways"), dict):
        raise ContentError("roles.yaml: expected 'pathways'")
    out: dict[str, dict[str, Text]] = {}
    for pathway, parties in data["pathways"].items():
        if not isinstance(parties, dict) or set(parties) != set(PARTIES):
            raise ContentError(f"roles.yaml: {pathway} needs exactly {list(PARTIES)}")
        out[pathway] = {party: _text(parties[party], f"roles.yaml: {pathway}.{party}")
                        for party in PARTIES}
    return out


@functools.cache
def meeting_topics() -> tuple[Topic, ...]:
    data = _read(LIBRARY_DIR / "meeting_topics.yaml")
    if not isinstance(data, dict) or not isinstance(data.get("topics"), list):
        raise ContentError("meeting_topics.yaml: expected 'topics'")
    topics = []
    for index, item in enumerate(data["topics"], start=1):
        if not isinstance(item, dict) or not KEY.match(str(item.get("key", ""))):
            raise ContentError(f"meeting_topics.yaml: topic {index} needs a key")
        texts = {k: v for k, v in item.items() if k != "key"}
        topics.append(Topic(item["key"], _text(texts, f"meeting_topics.yaml: {item['key']}")))
    return tuple(topics)


def check_all() -> None:
    """Read every content file (PlansConfig.ready): a malformed file stops start-up."""
    libraries()
    role_descriptions()
    meeting_topics()
