"""A patient's hospital stay as HospitalNotifications build it up, with the effects.

One `HospitalStay` per episode of care (matched on any Encounter.episodeOfCare
identifier). A notification changes the stay only when its event time is not older
than the event that set the current state: messages that arrive late are kept in the
history ("late") and change nothing — MedCom test TEK_STIN_B (a STIN after the
SLHJ of the same stay) must not re-admit the patient.
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from samhand.patients.models import Patient

from . import effects
from .bundle import Message
from .hospital import STATE_AFTER_CANCEL, STATE_BY_BASE, Notification, read
from .models import HospitalStay, InboundMessage, Partner
from .receive import RECENT_STAYS, SYSTEM_ACTOR, insert

S = HospitalStay.State


def _find_stay(patient: Patient, note: Notification) -> HospitalStay | None:
    facts = effects.facts_for(patient)
    if facts is not None and facts.stays is not None:  # read (and locked) for the batch
        candidates = sorted(facts.stays, key=lambda s: s.state_at,
                            reverse=True)[:RECENT_STAYS]
    else:
        candidates = list(HospitalStay.objects.select_for_update().filter(patient=patient)
                          .order_by("-state_at")[:RECENT_STAYS])
    for stay in candidates:
        if set(stay.episode_ids) & set(note.episode_ids):
            return stay
    return None


def apply_notification(message: Message, inbound: InboundMessage, patient: Patient,
                       receiver: Partner) -> HospitalStay:
    note = read(message)
    at = note.event_at or timezone.now()
    stay = _find_stay(patient, note)
    code = note.code
    if stay is not None and code == "MORS" and stay.state == S.DECEASED:
        code = "RE_MORS"
    elif stay is not None and not note.deceased and stay.state == S.DECEASED \
            and note.base != "MORS":
        code = "AN_MORS"
    inbound.notification_code = code
    inbound.event_at = at
    entry = {"code": code, "at": at.isoformat(), "header_id": inbound.header_id,
             "applied": True}
    if stay is None:
        stay = HospitalStay(patient=patient, episode_ids=list(note.episode_ids),
                            hospital_name=note.hospital_name, sender=inbound.sender,
                            state_at=at, last_code=code, started_at=note.period_start,
                            report_requested=note.report_requested)
        stay.state = _state_for(code, note, None) or S.ADMITTED
        before = ""
    else:
        if at < stay.state_at and code not in ("AN_MORS",):
            entry["applied"] = False  # late: history only
            stay.history = [*stay.history, entry]
            stay.save(update_fields=["history", "updated_at"])
            return stay
        before = stay.state
        new_state = _state_for(code, note, stay)
        if new_state:
            if new_state == S.DECEASED and stay.state != S.DECEASED:
                stay.state_before_death = stay.state
            stay.state = new_state
        stay.state_at = at
        stay.last_code = code
        stay.episode_ids = sorted(set(stay.episode_ids) | set(note.episode_ids))
        stay.hospital_name = note.hospital_name or stay.hospital_name
        stay.report_requested = stay.report_requested or note.report_requested
    if note.period_start and (note.base in ("STIN", "STAA") or stay.started_at is None):
        stay.started_at = note.period_start
    if stay.state in (S.DISCHARGED, S.DECEASED):
        stay.ended_at = note.period_end or at
    elif stay.state in (S.ADMITTED, S.ACUTE_AMBULANT, S.ON_LEAVE):
        stay.ended_at = None
    if note.leave_start:
        stay.leave_started_at = note.leave_start
    if note.leave_end or code == "SLOR":
        stay.leave_ended_at = note.leave_end or at
    if code == "AN_STOR":
        stay.leave_started_at = None
    stay.history = [*stay.history, entry]
    if stay._state.adding:
        if not effects.store_with_batch(stay):
            insert(stay)  # one compiled INSERT for every new stay
    else:
        stay.save()
    _effects(patient, stay, before, code)
    return stay


def _state_for(code: str, note: Notification, stay: HospitalStay | None) -> str:
    if code == "AN_MORS":
        return (stay.state_before_death if stay else "") or S.ADMITTED
    variant, base = (code.split("_", 1) if "_" in code else ("", code))
    if variant == "AN":
        state = STATE_AFTER_CANCEL.get(base, "")
        if state == S.ADMITTED and note.encounter_class == "EMER":
            return S.ACUTE_AMBULANT
        return state
    return STATE_BY_BASE.get(base, "")


def _effects(patient: Patient, stay: HospitalStay, before: str, code: str) -> None:
    """Effects follow the change of state, so that a correction (RE_) or a repeated
    admission at another hospital does not alert twice (the alerts are idempotent too)."""
    actor = SYSTEM_ACTOR
    after = stay.state
    if after == before and not code.startswith("AN_"):
        return
    in_hospital = (S.ADMITTED, S.ACUTE_AMBULANT)
    if after in in_hospital and before in ("", S.CANCELLED, S.DISCHARGED):
        effects.admitted(patient, stay, actor)
    elif after == S.ON_LEAVE:
        effects.leave_started(patient, stay, actor)
    elif after in in_hospital and before == S.ON_LEAVE:
        effects.leave_ended(patient, stay, actor)
    elif after == S.DISCHARGED:
        effects.discharged(patient, stay, actor)
    elif after == S.DECEASED:
        effects.deceased(patient, stay, actor)
    elif after == S.CANCELLED:
        effects.cancelled(patient, stay, actor)
    elif after in in_hospital and before == S.DECEASED:
        effects.admitted(patient, stay, actor)  # AN_MORS: the death was sent in error


def current_stay(patient: Patient) -> HospitalStay | None:
    return HospitalStay.objects.filter(patient=patient).order_by("-state_at").first()


def stays_for(patient: Patient) -> list[Any]:
    return list(HospitalStay.objects.filter(patient=patient).order_by("-state_at")[:10])
