"""Observation forms as data: ``forms/<key>.v<version>.yaml``, validated on load.

A form has sections of questions. Every mistake in a file raises `FormFileError`
naming the file, the line and the field path (``vital_signs.v1.yaml:12:
sections[0].questions[2].type: unknown type 'number'``); line numbers come from the
YAML node tree. Texts are ``{nb, en, da}``; nb and en are required.

Answers are checked against the form by `Form.validate(answers, final=...)`: an
answer that does not fit its definition is refused whole (every problem named).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import cache
from pathlib import Path
from typing import Any

import yaml

FORMS_DIR = Path(__file__).resolve().parent / "forms"
FILE_NAME = re.compile(r"^(?P<key>[a-z][a-z0-9_]*)\.v(?P<version>[1-9][0-9]*)\.yaml$")
KEY = re.compile(r"^[a-z][a-z0-9_]*$")
LANGUAGES = ("nb", "en", "da")
REQUIRED_LANGUAGES = ("nb", "en")
TYPES = ("integer", "decimal", "boolean", "choice", "multi_choice", "text", "scale", "change")
KINDS = ("vital_signs", "ventilation", "change_checklist", "symptoms", "self_report")
# The vital-sign codes a question may feed (the narrow table, trends, FHIR LOINC codes).
VITALS = ("respiration_rate", "spo2", "on_oxygen", "systolic_bp", "diastolic_bp", "pulse",
          "consciousness", "temperature", "oxygen_flow", "weight", "ventilator_hours",
          "mask_leak")
# "What has changed": the built-in answer scale of a `change` question.
CHANGE_VALUES = ("unchanged", "better", "worse", "not_assessed")


class FormFileError(ValueError):
    """A form file that cannot be used; ``str()`` is ``file:line: field: message``."""

    def __init__(self, file: str, line: int, field: str, message: str) -> None:
        self.file, self.line, self.field, self.message = file, line, field, message
        super().__init__(f"{file}:{line}: {field}: {message}" if field else
                         f"{file}:{line}: {message}")


@dataclass(frozen=True)
class Text:
    values: dict[str, str]

    def get(self, language: str) -> str:
        return self.values.get(language) or self.values.get("en") or self.values["nb"]

    def __str__(self) -> str:
        from django.utils.translation import get_language

        return self.get((get_language() or "nb").split("-")[0])


@dataclass(frozen=True)
class Choice:
    value: str
    label: Text


@dataclass(frozen=True)
class Question:
    key: str
    type: str
    label: Text
    required: bool = False
    help: Text | None = None
    unit: str = ""
    minimum: Decimal | None = None
    maximum: Decimal | None = None
    choices: tuple[Choice, ...] = ()
    vital: str = ""
    alert_when: tuple[str, ...] = ()  # answers that breach the checklist rule

    def choice_label(self, value: Any) -> str:
        for choice in self.choices:
            if choice.value == value:
                return str(choice.label)
        return str(value)


@dataclass(frozen=True)
class Section:
    key: str
    title: Text
    questions: tuple[Question, ...]


@dataclass(frozen=True)
class Form:
    key: str
    version: int
    kind: str
    title: Text
    description: Text | None
    sections: tuple[Section, ...]
    news2: bool = False  # the form carries the NEWS2 parameters and is scored
    file: str = ""

    @property
    def questions(self) -> list[Question]:
        return [q for s in self.sections for q in s.questions]

    def question(self, key: str) -> Question | None:
        return next((q for q in self.questions if q.key == key), None)

    def validate(self, answers: Any, *, final: bool) -> tuple[dict[str, Any], list[AnswerError]]:
        """The answers cleaned (numbers as numbers), and every problem. Unknown keys and
        values that do not fit are problems; missing required answers only when final."""
        errors: list[AnswerError] = []
        if not isinstance(answers, dict):
            return {}, [AnswerError("", "not_a_mapping", "")]
        known = {q.key: q for q in self.questions}
        clean: dict[str, Any] = {}
        for key in answers:
            if key not in known:
                errors.append(AnswerError(str(key), "unknown", ""))
        for question in self.questions:
            raw = answers.get(question.key)
            empty = raw is None or (isinstance(raw, str) and not raw.strip()) or raw == []
            if empty:
                if final and question.required:
                    errors.append(AnswerError(question.key, "required", ""))
                continue
            value, problem = _clean(question, raw)
            if problem:
                errors.append(AnswerError(question.key, problem, str(raw)[:50]))
            else:
                clean[question.key] = value
        return clean, errors


@dataclass(frozen=True)
class AnswerError:
    key: str
    code: str  # unknown | required | not_a_number | not_whole | too_low | too_high | choice | ...
    value: str


def _number(raw: Any) -> Decimal | None:
    if isinstance(raw, bool):
        return None
    try:
        value = Decimal(str(raw).strip().replace(",", "."))
    except (InvalidOperation, ValueError):
        return None
    return value if value.is_finite() else None


def _clean(q: Question, raw: Any) -> tuple[Any, str]:
    if q.type in ("integer", "decimal", "scale"):
        number = _number(raw)
        if number is None:
            return None, "not_a_number"
        if q.type in ("integer", "scale") and number != number.to_integral_value():
            return None, "not_whole"
        low = q.minimum if q.minimum is not None else (Decimal(0) if q.type == "scale" else None)
        high = q.maximum if q.maximum is not None else (Decimal(10) if q.type == "scale" else None)
        if low is not None and number < low:
            return None, "too_low"
        if high is not None and number > high:
            return None, "too_high"
        if q.type == "decimal":
            return float(number), ""
        return int(number), ""
    if q.type == "boolean":
        if isinstance(raw, bool):
            return raw, ""
        text = str(raw).strip().lower()
        if text in ("true", "1", "yes", "on", "ja"):
            return True, ""
        if text in ("false", "0", "no", "off", "nei"):
            return False, ""
        return None, "not_boolean"
    if q.type in ("choice", "change"):
        allowed = [c.value for c in q.choices]
        return (str(raw), "") if str(raw) in allowed else (None, "choice")
    if q.type == "multi_choice":
        values = raw if isinstance(raw, list) else [raw]
        allowed = [c.value for c in q.choices]
        if any(str(v) not in allowed for v in values):
            return None, "choice"
        return [v for v in allowed if v in {str(x) for x in values}], ""
    text = str(raw).strip()
    if len(text) > 2000:
        return None, "too_long"
    return text, ""


# --------------------------------------------------------------------------- loading

CHANGE_LABELS = {
    "unchanged": {"nb": "Uendret", "en": "Unchanged", "da": "Uændret"},
    "better": {"nb": "Bedre", "en": "Better", "da": "Bedre"},
    "worse": {"nb": "Verre", "en": "Worse", "da": "Værre"},
    "not_assessed": {"nb": "Ikke vurdert", "en": "Not assessed", "da": "Ikke vurderet"},
}


@dataclass
class _Ctx:
    file: str

    def fail(self, node: yaml.Node | None, path: str, message: str) -> FormFileError:
        line = node.start_mark.line + 1 if node is not None else 1
        return FormFileError(self.file, line, path, message)


def _mapping(ctx: _Ctx, node: yaml.Node, path: str, required: set[str],
             optional: set[str]) -> dict[str, yaml.Node]:
    if not isinstance(node, yaml.MappingNode):
        raise ctx.fail(node, path or "(top)", "expected a mapping")
    out: dict[str, yaml.Node] = {}
    for key_node, value_node in node.value:
        key = str(key_node.value)
        sub = f"{path}.{key}" if path else key
        if key in out:
            raise ctx.fail(key_node, sub, f"duplicate key '{key}'")
        if key not in required | optional:
            raise ctx.fail(key_node, sub, f"unknown field '{key}' (allowed: "
                           f"{', '.join(sorted(required | optional))})")
        out[key] = value_node
    for key in sorted(required - set(out)):
        raise ctx.fail(node, f"{path}.{key}" if path else key, "missing required field")
    return out


def _scalar(ctx: _Ctx, node: yaml.Node, path: str, tag: str, what: str) -> str:
    if not isinstance(node, yaml.ScalarNode) or not node.tag.endswith(tag):
        raise ctx.fail(node, path, f"expected {what}")
    return str(node.value)


def _text(ctx: _Ctx, node: yaml.Node, path: str) -> Text:
    entries = _mapping(ctx, node, path, set(REQUIRED_LANGUAGES), set(LANGUAGES))
    values = {}
    for lang, value in entries.items():
        text = _scalar(ctx, value, f"{path}.{lang}", ":str", "text").strip()
        if not text:
            raise ctx.fail(value, f"{path}.{lang}", "must not be empty")
        values[lang] = text
    return Text(values)


def _key(ctx: _Ctx, node: yaml.Node, path: str) -> str:
    value = _scalar(ctx, node, path, ":str", "text")
    if not KEY.match(value):
        raise ctx.fail(node, path, f"'{value}' is not a key (lower case letters, digits, _)")
    return value


def _bool(ctx: _Ctx, node: yaml.Node, path: str) -> bool:
    return _scalar(ctx, node, path, ":bool", "true or false").lower() == "true"


def _decimal(ctx: _Ctx, node: yaml.Node, path: str) -> Decimal:
    if not isinstance(node, yaml.ScalarNode) or not node.tag.endswith((":int", ":float")):
        raise ctx.fail(node, path, "expected a number")
    return Decimal(str(node.value))


def _question(ctx: _Ctx, node: yaml.Node, path: str) -> Question:
    f = _mapping(ctx, node, path, {"key", "type", "label"},
                 {"required", "help", "unit", "min", "max", "choices", "vital", "alert_when"})
    qtype = _scalar(ctx, f["type"], f"{path}.type", ":str", "text")
    if qtype not in TYPES:
        raise ctx.fail(f["type"], f"{path}.type",
                       f"unknown type '{qtype}' (allowed: {', '.join(TYPES)})")
    choices: list[Choice] = []
    if "choices" in f:
        if qtype not in ("choice", "multi_choice"):
            raise ctx.fail(f["choices"], f"{path}.choices", f"a {qtype} question has no choices")
        if not isinstance(f["choices"], yaml.SequenceNode) or not f["choices"].value:
            raise ctx.fail(f["choices"], f"{path}.choices", "expected a list of choices")
        for i, c in enumerate(f["choices"].value):
            cf = _mapping(ctx, c, f"{path}.choices[{i}]", {"value", "label"}, set())
            value = _key(ctx, cf["value"], f"{path}.choices[{i}].value")
            if any(x.value == value for x in choices):
                raise ctx.fail(cf["value"], f"{path}.choices[{i}].value",
                               f"duplicate choice '{value}'")
            choices.append(Choice(value, _text(ctx, cf["label"], f"{path}.choices[{i}].label")))
    elif qtype in ("choice", "multi_choice"):
        raise ctx.fail(node, f"{path}.choices", "a choice question needs choices")
    if qtype == "change":
        choices = [Choice(v, Text(CHANGE_LABELS[v])) for v in CHANGE_VALUES]
    minimum = _decimal(ctx, f["min"], f"{path}.min") if "min" in f else None
    maximum = _decimal(ctx, f["max"], f"{path}.max") if "max" in f else None
    if ("min" in f or "max" in f) and qtype not in ("integer", "decimal", "scale"):
        raise ctx.fail(f.get("min") or f["max"], path, "only numbers have min and max")
    if minimum is not None and maximum is not None and minimum > maximum:
        raise ctx.fail(f["min"], f"{path}.min", "min is greater than max")
    vital = ""
    if "vital" in f:
        vital = _scalar(ctx, f["vital"], f"{path}.vital", ":str", "text")
        if vital not in VITALS:
            raise ctx.fail(f["vital"], f"{path}.vital",
                           f"unknown vital sign '{vital}' (allowed: {', '.join(VITALS)})")
    alert_when: list[str] = []
    if "alert_when" in f:
        if not isinstance(f["alert_when"], yaml.SequenceNode):
            raise ctx.fail(f["alert_when"], f"{path}.alert_when", "expected a list")
        allowed = {c.value for c in choices} | ({"true"} if qtype == "boolean" else set())
        for i, item in enumerate(f["alert_when"].value):
            value = str(item.value)
            if value not in allowed:
                raise ctx.fail(item, f"{path}.alert_when[{i}]",
                               f"'{value}' is not one of the answers")
            alert_when.append(value)
    return Question(
        key=_key(ctx, f["key"], f"{path}.key"), type=qtype,
        label=_text(ctx, f["label"], f"{path}.label"),
        required=_bool(ctx, f["required"], f"{path}.required") if "required" in f else False,
        help=_text(ctx, f["help"], f"{path}.help") if "help" in f else None,
        unit=_scalar(ctx, f["unit"], f"{path}.unit", ":str", "text") if "unit" in f else "",
        minimum=minimum, maximum=maximum, choices=tuple(choices), vital=vital,
        alert_when=tuple(alert_when))


NEWS2_VITALS = ("respiration_rate", "spo2", "on_oxygen", "systolic_bp", "pulse",
                "consciousness", "temperature")


def parse(text: str, file: str) -> Form:
    ctx = _Ctx(file)
    match = FILE_NAME.match(file)
    if not match:
        raise FormFileError(file, 1, "", "the file name must be <key>.v<version>.yaml")
    try:
        root = yaml.compose(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise FormFileError(file, mark.line + 1 if mark else 1, "", f"not YAML: {exc}") from None
    if root is None:
        raise FormFileError(file, 1, "", "the file is empty")
    f = _mapping(ctx, root, "", {"key", "version", "kind", "title", "sections"},
                 {"description", "news2"})
    key = _key(ctx, f["key"], "key")
    if key != match["key"]:
        raise ctx.fail(f["key"], "key", f"'{key}' does not match the file name")
    version = int(_scalar(ctx, f["version"], "version", ":int", "a whole number"))
    if version != int(match["version"]):
        raise ctx.fail(f["version"], "version", "does not match the file name")
    kind = _scalar(ctx, f["kind"], "kind", ":str", "text")
    if kind not in KINDS:
        raise ctx.fail(f["kind"], "kind", f"unknown kind '{kind}' (allowed: {', '.join(KINDS)})")
    if not isinstance(f["sections"], yaml.SequenceNode) or not f["sections"].value:
        raise ctx.fail(f["sections"], "sections", "expected a list of sections")
    sections: list[Section] = []
    seen: dict[str, str] = {}
    vitals_seen: set[str] = set()
    for i, s in enumerate(f["sections"].value):
        sf = _mapping(ctx, s, f"sections[{i}]", {"key", "title", "questions"}, set())
        if not isinstance(sf["questions"], yaml.SequenceNode) or not sf["questions"].value:
            raise ctx.fail(sf["questions"], f"sections[{i}].questions", "expected a list")
        questions = []
        for j, qn in enumerate(sf["questions"].value):
            path = f"sections[{i}].questions[{j}]"
            q = _question(ctx, qn, path)
            if q.key in seen:
                raise ctx.fail(qn, f"{path}.key", f"duplicate question key '{q.key}' "
                               f"(first at {seen[q.key]})")
            seen[q.key] = path
            if q.vital:
                if q.vital in vitals_seen:
                    raise ctx.fail(qn, f"{path}.vital", f"vital sign '{q.vital}' twice")
                vitals_seen.add(q.vital)
            questions.append(q)
        sections.append(Section(_key(ctx, sf["key"], f"sections[{i}].key"),
                                _text(ctx, sf["title"], f"sections[{i}].title"),
                                tuple(questions)))
    news2 = _bool(ctx, f["news2"], "news2") if "news2" in f else False
    if news2:
        lacking = [v for v in NEWS2_VITALS if v not in vitals_seen]
        if lacking:
            raise ctx.fail(f["news2"], "news2",
                           f"a NEWS2 form needs questions for {', '.join(lacking)}")
    return Form(key=key, version=version, kind=kind, title=_text(ctx, f["title"], "title"),
                description=_text(ctx, f["description"], "description")
                if "description" in f else None,
                sections=tuple(sections), news2=news2, file=file)


@cache
def library() -> dict[tuple[str, int], Form]:
    """Every form file, by (key, version); raises FormFileError on the first bad one."""
    forms = {}
    for path in sorted(FORMS_DIR.glob("*.yaml")):
        form = parse(path.read_text(encoding="utf-8"), path.name)
        forms[(form.key, form.version)] = form
    return forms


def get_form(key: str, version: int | None = None) -> Form | None:
    forms = library()
    if version is not None:
        return forms.get((key, version))
    versions = [v for (k, v) in forms if k == key]
    return forms[(key, max(versions))] if versions else None


def current_forms() -> list[Form]:
    latest: dict[str, Form] = {}
    for (key, _version), form in sorted(library().items()):
        latest[key] = form
    return list(latest.values())
