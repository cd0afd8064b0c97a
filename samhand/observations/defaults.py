"""Escalation rule defaults per pathway template (samhand/observations/rules/<key>.yaml).

`seed_rules(patient, ...)` sets a patient's EscalationSettings from the file of the
patient's pathway template — when the pathway starts (signals.py) or, for a pathway that
started before, the first time the rules are used (`rules_for`). Rules a doctor has set
(a row exists) are never overwritten; the doctor adjusts the seeded ones afterwards.
SpO2 scale 2 is never ordered from a file: `suggest_scale_2` only shows the doctor that
it may apply.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from django.db import IntegrityError, transaction
from django.utils.translation import get_language

from samhand.audit.models import AuditEvent
from samhand.audit.services import Actor, record
from samhand.patients.models import Patient

from .models import EscalationSettings

RULES_DIR = Path(__file__).resolve().parent / "rules"
NUMBERS = {"news2_threshold": (1, 20), "trend_window": (2, 10), "trend_rise": (1, 20),
           "checklist_every_days": (1, 90), "vitals_every_hours": (1, 168),
           "close_every_hours": (1, 168), "normal_sets_to_end": (1, 10)}
OPTIONAL = ("checklist_every_days", "vitals_every_hours")
FLAGS = ("alert_on_red_parameter", "alert_on_checklist", "suggest_scale_2")


class RuleFileError(ValueError):
    pass


@dataclass(frozen=True)
class RuleDefaults:
    template_key: str
    values: dict[str, Any]
    note: dict[str, str]

    def note_text(self, language: str | None = None) -> str:
        lang = (language or get_language() or "nb").split("-")[0]
        return self.note.get(lang) or self.note.get("nb", "")


def parse(template_key: str, data: Any) -> RuleDefaults:
    """Check one file's content: every key known, every value in range."""
    if not isinstance(data, dict):
        raise RuleFileError(f"{template_key}: not a mapping")
    values: dict[str, Any] = {}
    for key, value in data.items():
        if key == "note":
            continue
        if key in NUMBERS:
            low, high = NUMBERS[key]
            if value is None and key in OPTIONAL:
                values[key] = None
                continue
            if isinstance(value, bool) or not isinstance(value, int) or not \
                    low <= value <= high:
                raise RuleFileError(f"{template_key}.{key}: a whole number {low}-{high}")
            values[key] = value
        elif key in FLAGS:
            if not isinstance(value, bool):
                raise RuleFileError(f"{template_key}.{key}: true or false")
            values[key] = value
        else:
            raise RuleFileError(f"{template_key}: unknown key {key!r}")
    note = data.get("note") or {}
    if not isinstance(note, dict) or "nb" not in note:
        raise RuleFileError(f"{template_key}.note: nb, en and da texts")
    return RuleDefaults(template_key, values, {str(k): str(v) for k, v in note.items()})


@cache
def load_all() -> dict[str, RuleDefaults]:
    out = {}
    for path in sorted(RULES_DIR.glob("*.yaml")):
        out[path.stem] = parse(path.stem, yaml.safe_load(path.read_text(encoding="utf-8")))
    return out


def defaults_for(template_key: str) -> RuleDefaults | None:
    return load_all().get(template_key)


def _active_template(patient: Patient) -> str | None:
    from samhand.pathways.models import Pathway

    keys = list(Pathway.objects.filter(patient=patient, status=Pathway.Status.ACTIVE)
                .order_by("-started_at").values_list("template_key", flat=True))
    return next((k for k in keys if defaults_for(k) is not None), None)


def seed_rules(patient: Patient, *, template_key: str | None = None,
               actor: Actor | None = None) -> EscalationSettings | None:
    """The patient's rules from the template's file, when the patient has none yet.
    Returns the new row (None when rules exist already or no file fits)."""
    key = template_key or _active_template(patient)
    found = defaults_for(key) if key else None
    if found is None or EscalationSettings.objects.filter(patient=patient).exists():
        return None
    try:
        with transaction.atomic():
            rules = EscalationSettings.objects.create(
                patient=patient, seeded_from=found.template_key, **found.values)
            record(actor or Actor(client="system"), "samhand.observation.rules_seeded",
                   AuditEvent.Action.CREATE, patient_id=patient.pk,
                   object_type="EscalationSettings", object_ids=[patient.pk],
                   query=found.template_key)
    except IntegrityError:  # seeded at the same moment by another request
        return None
    return rules


def preview_for(patient: Patient) -> EscalationSettings | None:
    """The rules the patient's pathway would seed, not stored (for a GET)."""
    key = _active_template(patient)
    found = defaults_for(key) if key else None
    if found is None:
        return None
    return EscalationSettings(patient=patient, seeded_from=found.template_key, **found.values)


def rules_for(patient: Patient) -> EscalationSettings:
    """The patient's rules: their row, else seeded from the pathway's defaults (first
    use), else the built-in defaults (not stored)."""
    from .escalation import DEFAULTS

    return (EscalationSettings.objects.filter(patient=patient).first()
            or seed_rules(patient) or DEFAULTS)


SCHEDULE_LIMITS = {"close_every_hours": (1, 168), "normal_sets_to_end": (1, 10)}


def update_schedule_rules(actor: Actor, patient: Patient, data: dict[str, Any]) -> None:
    """The schedule part of the rules page (after services.update_rules, which checks
    that the user is a doctor, in the same transaction): missing fields stay as they
    are."""
    from django.utils.translation import gettext as _

    from samhand.lib.errors import DomainError

    values: dict[str, Any] = {}
    for name, (low, high) in SCHEDULE_LIMITS.items():
        raw = data.get(name)
        if raw in (None, ""):
            continue
        try:
            number = int(str(raw))
        except ValueError:
            raise DomainError(_("Give a whole number."), code="rule", field=name) from None
        if not low <= number <= high:
            raise DomainError(_("Give a number from %(low)s to %(high)s.") % {
                "low": low, "high": high}, code="rule", field=name)
        values[name] = number
    if "close_every_hours" in data or "suggest_scale_2" in data:
        values["suggest_scale_2"] = str(data.get("suggest_scale_2", "")).lower() in (
            "1", "true", "on", "yes")
    if values:
        EscalationSettings.objects.filter(patient=patient).update(**values)
