"""The shape of each plan's content, checked before a version is stored.

`clean_*` take what a form, the API or a service built, and return the content in
canonical form (trimmed strings, known keys only, dates as ISO text), or raise a
DomainError with a translated message that names the field. Versions hold exactly
this shape, so two versions can be compared key by key (`compare`).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from samhand.lib.errors import DomainError

from .content import CALL_KEYS, PARTIES

PHONE = re.compile(r"^\+?[0-9][0-9 \-]{1,18}[0-9]$")
MAX_TEXT = 4000
MAX_ITEMS = 100

# Who carries a measure of the individual plan (the split of tasks between services).
MEASURE_PARTIES: dict[str, Any] = {
    "hospital": gettext_lazy("Hospital"),
    "municipality": gettext_lazy("Municipality"),
    "gp": gettext_lazy("GP"),
    "relatives": gettext_lazy("Relatives"),
    "patient": gettext_lazy("Patient"),
}
VENTILATION_KINDS: dict[str, Any] = {
    "": gettext_lazy("No ventilation"),
    "invasive": gettext_lazy("Ventilator by tracheostomy (invasive)"),
    "mask_ventilator": gettext_lazy("Ventilator by mask"),
    "niv": gettext_lazy("Non-invasive ventilation (BiPAP, mask)"),
}


def _text(value: Any, field: str, *, required: bool = False, limit: int = MAX_TEXT) -> str:
    text = value.strip() if isinstance(value, str) else ("" if value is None else None)
    if text is None:
        raise DomainError(_("This must be text."), code="invalid", field=field)
    if required and not text:
        raise DomainError(_("This field is required."), code="required", field=field)
    if len(text) > limit:
        raise DomainError(_("At most %(limit)s characters.") % {"limit": limit},
                          code="too_long", field=field)
    return text


def _list(value: Any, field: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise DomainError(_("This must be a list."), code="invalid", field=field)
    if len(value) > MAX_ITEMS:
        raise DomainError(_("At most %(limit)s entries.") % {"limit": MAX_ITEMS},
                          code="too_many", field=field)
    return value


def _dict(value: Any, field: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise DomainError(_("This must be a group of fields."), code="invalid", field=field)
    return value


def _date(value: Any, field: str, *, required: bool = False) -> str:
    if value in (None, ""):
        if required:
            raise DomainError(_("Give a date."), code="required", field=field)
        return ""
    if isinstance(value, dt.date):
        return value.isoformat()
    try:
        return dt.date.fromisoformat(str(value)).isoformat()
    except ValueError:
        raise DomainError(_("Give a date as YYYY-MM-DD."), code="invalid_date",
                          field=field) from None


def phone(value: Any, field: str, *, required: bool = False) -> str:
    text = _text(value, field, required=required, limit=30)
    if text and not PHONE.match(text):
        raise DomainError(_("A phone number has digits, spaces and an optional + only."),
                          code="invalid_phone", field=field)
    return text


# --------------------------------------------------------------------------- individual plan

def clean_individual_plan(content: dict[str, Any]) -> dict[str, Any]:
    content = _dict(content, "content")
    goals = []
    for i, goal in enumerate(_list(content.get("goals"), "goals")):
        goal = _dict(goal, f"goals.{i}")
        text = _text(goal.get("text"), "goals")
        if text:
            goals.append({"text": text})
    measures = []
    for i, measure in enumerate(_list(content.get("measures"), "measures")):
        measure = _dict(measure, f"measures.{i}")
        text = _text(measure.get("text"), "measures")
        if not text:
            continue
        party = measure.get("party", "")
        if party not in MEASURE_PARTIES:
            raise DomainError(_("Say who carries the measure: hospital, municipality, GP, "
                                "relatives or the patient."), code="invalid_party",
                              field="measures")
        measures.append({"text": text, "party": party,
                         "service": _text(measure.get("service"), "measures", limit=200)})
    contacts = []
    for i, contact in enumerate(_list(content.get("contacts"), "contacts")):
        contact = _dict(contact, f"contacts.{i}")
        name = _text(contact.get("name"), "contacts", limit=200)
        if not name:
            continue
        contacts.append({
            "name": name, "role": _text(contact.get("role"), "contacts", limit=200),
            "phone": phone(contact.get("phone"), "contacts"),
            "around_the_clock": bool(contact.get("around_the_clock")),
            "confirmed_on": _date(contact.get("confirmed_on"), "contacts", required=True)})
    revision = _dict(content.get("revision"), "revision")
    every = revision.get("every_months", 6)
    if not isinstance(every, int) or isinstance(every, bool) or not 1 <= every <= 24:
        raise DomainError(_("Revise the plan every 1 to 24 months."), code="invalid_revision",
                          field="revision_every_months")
    return {
        "summary": _text(content.get("summary"), "summary"),
        "goals": goals,
        "measures": measures,
        "contacts": contacts,
        "revision": {"every_months": every,
                     "next_on": _date(revision.get("next_on"), "revision_next_on",
                                      required=True)},
    }


# --------------------------------------------------------------------------- treatment plan

def clean_treatment_plan(content: dict[str, Any]) -> dict[str, Any]:
    content = _dict(content, "content")
    vent = _dict(content.get("ventilation"), "ventilation")
    kind = vent.get("kind", "") or ""
    if kind not in VENTILATION_KINDS:
        raise DomainError(_("Unknown kind of ventilation."), code="invalid_kind",
                          field="ventilation_kind")
    settings = []
    for i, row in enumerate(_list(vent.get("settings"), "ventilation_settings")):
        row = _dict(row, f"ventilation.settings.{i}")
        name = _text(row.get("name"), "ventilation_settings", limit=80)
        value = _text(row.get("value"), "ventilation_settings", limit=80)
        if name or value:
            if not (name and value):
                raise DomainError(_("Each setting needs a name and a value."),
                                  code="invalid_setting", field="ventilation_settings")
            settings.append({"name": name, "value": value,
                             "unit": _text(row.get("unit"), "ventilation_settings", limit=30)})
    hours = vent.get("hours_per_day")
    if hours in (None, ""):
        hours_text = ""
    else:
        try:
            hours_value = float(str(hours).replace(",", "."))
        except ValueError:
            hours_value = -1.0
        if not 0 < hours_value <= 24:
            raise DomainError(_("Hours per day is a number from 0 to 24."),
                              code="invalid_hours", field="ventilation_hours_per_day")
        hours_text = f"{hours_value:g}"
    if kind and not hours_text:
        raise DomainError(_("Say how many hours a day the ventilation is used."),
                          code="required", field="ventilation_hours_per_day")
    if kind and not _text(vent.get("resume_how"), "ventilation_resume_how"):
        raise DomainError(_("Say how the ventilation is resumed after a pause."),
                          code="required", field="ventilation_resume_how")
    oxygen = _dict(content.get("oxygen"), "oxygen")
    with_niv = _text(oxygen.get("with_niv"), "oxygen_with_niv", limit=300)
    without_niv = _text(oxygen.get("without_niv"), "oxygen_without_niv", limit=300)
    switch = _text(oxygen.get("how_to_switch"), "oxygen_how_to_switch")
    if with_niv and without_niv and not switch:
        # Seed 004, first case: oxygen with and without NIV, and nobody wrote how to switch.
        raise DomainError(_("Oxygen is ordered both with and without ventilation: say how to "
                            "switch between them."), code="required",
                          field="oxygen_how_to_switch")
    return {
        "physiotherapy": _text(content.get("physiotherapy"), "physiotherapy"),
        "secretion_clearance": _text(content.get("secretion_clearance"), "secretion_clearance"),
        "ventilation": {
            "kind": kind,
            "device": _text(vent.get("device"), "ventilation_device", limit=200),
            "interface": _text(vent.get("interface"), "ventilation_interface", limit=300),
            "mode": _text(vent.get("mode"), "ventilation_mode", limit=80),
            "settings": settings,
            "hours_per_day": hours_text,
            "battery": _text(vent.get("battery"), "ventilation_battery", limit=300),
            "pause_when": _text(vent.get("pause_when"), "ventilation_pause_when"),
            "resume_how": _text(vent.get("resume_how"), "ventilation_resume_how"),
        },
        "oxygen": {"without_niv": without_niv, "with_niv": with_niv, "how_to_switch": switch,
                   "saturation_target": _text(oxygen.get("saturation_target"),
                                              "oxygen_saturation_target", limit=100)},
        "humidifier": _text(content.get("humidifier"), "humidifier"),
        "cough_assist": _text(content.get("cough_assist"), "cough_assist"),
        "suction": _text(content.get("suction"), "suction"),
        "other": _text(content.get("other"), "other"),
    }


# --------------------------------------------------------------------------- action plan

def clean_scenario(scenario: dict[str, Any]) -> dict[str, Any]:
    scenario = _dict(scenario, "scenario")
    key = _text(scenario.get("key"), "key", required=True, limit=40)
    title = _text(scenario.get("title"), "title", required=True, limit=200)

    def lines(name: str) -> list[str]:
        return [t for t in (_text(x, name, limit=1000) for x in _list(scenario.get(name), name))
                if t]

    signs, steps = lines("signs"), lines("steps")
    if not steps:
        raise DomainError(_("Scenario “%(title)s”: write what to do.") % {"title": title},
                          code="no_steps", field="steps")
    call = [c for c in _list(scenario.get("call"), "call") if c]
    unknown = [c for c in call if c not in CALL_KEYS]
    if unknown:
        raise DomainError(_("Unknown contact: %(key)s.") % {"key": unknown[0]},
                          code="unknown_call", field="call")
    extra = []
    for i, row in enumerate(_list(scenario.get("extra_numbers"), "extra_numbers")):
        row = _dict(row, f"extra_numbers.{i}")
        label = _text(row.get("label"), "extra_numbers", limit=200)
        number = phone(row.get("number"), "extra_numbers")
        if label or number:
            if not (label and number):
                raise DomainError(_("Scenario “%(title)s”: an extra number needs a name and "
                                    "a number.") % {"title": title}, code="invalid_number",
                                  field="extra_numbers")
            extra.append({"label": label, "number": number})
    return {"key": key, "title": title, "signs": signs, "steps": steps,
            "call": list(dict.fromkeys(call)), "extra_numbers": extra,
            "gp": _text(scenario.get("gp"), "gp"),
            "specialist": _text(scenario.get("specialist"), "specialist")}


def clean_action_plan(content: dict[str, Any]) -> dict[str, Any]:
    content = _dict(content, "content")
    scenarios = [clean_scenario(s) for s in _list(content.get("scenarios"), "scenarios")]
    keys = [s["key"] for s in scenarios]
    if len(set(keys)) != len(keys):
        raise DomainError(_("A scenario is in the plan twice."), code="duplicate_scenario",
                          field="scenarios")
    if not scenarios:
        raise DomainError(_("Choose at least one scenario."), code="no_scenarios",
                          field="scenarios")
    roles = _dict(content.get("roles"), "roles")
    return {"language": _text(content.get("language"), "language", limit=5) or "nb",
            "pathway": _text(content.get("pathway"), "pathway", limit=40),
            "scenarios": scenarios,
            "roles": {party: _text(roles.get(party), f"role_{party}") for party in PARTIES}}


# --------------------------------------------------------------------------- comparing

@dataclass
class Row:
    label: str
    left: str
    right: str

    @property
    def changed(self) -> bool:
        return self.left != self.right


def _flatten(value: Any, prefix: str, out: dict[str, str],
             label: Callable[[str], str]) -> None:
    if isinstance(value, dict):
        for key, inner in value.items():
            _flatten(inner, f"{prefix}.{key}" if prefix else key, out, label)
    elif isinstance(value, list):
        if all(not isinstance(v, dict | list) for v in value):
            out[prefix] = "\n".join(str(v) for v in value)
        else:
            for index, inner in enumerate(value, start=1):
                _flatten(inner, f"{prefix}.{index}", out, label)
    else:
        out[prefix] = "" if value is None else str(value)


def compare(left: dict[str, Any], right: dict[str, Any]) -> list[Row]:
    """Two versions side by side: one row per field, in the order the fields appear."""
    flat_left: dict[str, str] = {}
    flat_right: dict[str, str] = {}
    _flatten(left, "", flat_left, str)
    _flatten(right, "", flat_right, str)
    keys = list(dict.fromkeys([*flat_left, *flat_right]))
    return [Row(key, flat_left.get(key, ""), flat_right.get(key, "")) for key in keys]
