"""HospitalNotification (MedCom §A.3): derive the notification code and keep the stay.

The Danish use-case code (STIN, STAA, STOR, SLOR, SLHJ, MORS and their RE_/AN_
variants) is not in the message: it is derived from the current Provenance activity,
the Encounter's class and status, and Patient.deceased (standards.md §A.3 table).

`apply_notification()` updates the patient's `HospitalStay` for the episode of care and
calls the effects (samhand.messaging.effects). Messages may arrive out of order: a
notification whose event time is older than the one that set the stay's state is kept
in the stay's history but changes nothing (a late STIN never overrides a discharge).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.utils.dateparse import parse_datetime

from . import codes
from .bundle import Message, activity_of, identifiers
from .codes import Activity

# Current activity -> notification code.
CODE_BY_ACTIVITY: dict[str, str] = {
    Activity.ADMIT_EMERGENCY: "STAA",
    Activity.REVISE_ADMIT_EMERGENCY: "RE_STAA",
    Activity.CANCEL_ADMIT_EMERGENCY: "AN_STAA",
    Activity.ADMIT_INPATIENT: "STIN",
    Activity.REVISE_ADMIT_INPATIENT: "RE_STIN",
    Activity.CANCEL_ADMIT_INPATIENT: "AN_STIN",
    Activity.START_LEAVE: "STOR",
    Activity.REVISE_START_LEAVE: "RE_STOR",
    Activity.CANCEL_START_LEAVE: "AN_STOR",
    Activity.END_LEAVE: "SLOR",
    Activity.REVISE_END_LEAVE: "RE_SLOR",
    Activity.CANCEL_END_LEAVE: "AN_SLOR",
    Activity.DISCHARGE_EMERGENCY: "SLHJ",
    Activity.REVISE_DISCHARGE_EMERGENCY: "RE_SLHJ",
    Activity.CANCEL_DISCHARGE_EMERGENCY: "AN_SLHJ",
    Activity.DISCHARGE_INPATIENT: "SLHJ",
    Activity.REVISE_DISCHARGE_INPATIENT: "RE_SLHJ",
    Activity.CANCEL_DISCHARGE_INPATIENT: "AN_SLHJ",
}
ALL_CODES = frozenset({*CODE_BY_ACTIVITY.values(), "MORS", "RE_MORS", "AN_MORS"})


@dataclass(frozen=True)
class Notification:
    code: str  # e.g. "STIN", "RE_SLHJ", "MORS"
    base: str  # the code without RE_/AN_
    variant: str  # "", "RE" or "AN"
    encounter_class: str
    encounter_status: str
    deceased: bool
    event_at: dt.datetime | None  # the current Provenance's occurredDateTime
    period_start: dt.datetime | None
    period_end: dt.datetime | None
    leave_start: dt.datetime | None
    leave_end: dt.datetime | None
    episode_ids: tuple[str, ...]
    report_requested: bool
    hospital_name: str


def _when(value: Any) -> dt.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return parse_datetime(value)
    except ValueError:
        return None


def derive_code(activity: str, encounter_class: str, encounter_status: str,
                deceased: bool) -> str:
    """The notification code from the four inputs of MedCom's table. MORS wins: a
    death keeps the current activity and sets Patient.deceased. RE_MORS and AN_MORS
    need the stay's history (see apply_notification)."""
    if deceased:
        return "MORS"
    code = CODE_BY_ACTIVITY.get(activity, "")
    # A cancelled leave start goes back to in-progress, a cancelled leave end to onleave;
    # a cancelled admission is entered-in-error. The class tells STAA from STIN.
    if code in ("STIN", "RE_STIN", "AN_STIN") and encounter_class == "EMER":
        code = code.replace("STIN", "STAA")
    return code


def read(message: Message) -> Notification:
    focus = message.focus() or {}
    patient = (message.patients() or [(0, {})])[0][1]
    deceased = bool(patient.get("deceasedBoolean") is True or patient.get("deceasedDateTime"))
    klass = str((focus.get("class") or {}).get("code") or "")
    status = str(focus.get("status") or "")
    current = message.current_provenance()
    code = derive_code(activity_of(current), klass, status, deceased)
    base = code.split("_", 1)[1] if "_" in code else code
    variant = code.split("_", 1)[0] if "_" in code else ""
    period = focus.get("period") or {}
    leave: dict[str, Any] = {}
    for ext in focus.get("extension") or []:
        if isinstance(ext, dict) and ext.get("url") == codes.LEAVE_PERIOD_URL:
            leave = ext.get("valuePeriod") or {}
    episode_ids = tuple(str(e["identifier"].get("value"))
                        for e in focus.get("episodeOfCare") or []
                        if isinstance(e, dict) and isinstance(e.get("identifier"), dict)
                        and e["identifier"].get("value"))
    report = any(isinstance(x, dict) and x.get("url") == codes.REPORT_OF_ADMISSION_URL
                 and x.get("valueBoolean") is True
                 for x in message.header.get("extension") or [])
    provider = message.resolve(focus.get("serviceProvider"))
    hospital = str(provider[1].get("name") or "") if provider else ""
    if not hospital:
        sender = message.sender()
        hospital = str((sender or {}).get("name") or identifiers(sender).get(codes.SOR, ""))
    return Notification(
        code=code, base=base, variant=variant, encounter_class=klass, encounter_status=status,
        deceased=deceased,
        event_at=_when((current or {}).get("occurredDateTime")) or _when(
            message.bundle.get("timestamp")),
        period_start=_when(period.get("start")), period_end=_when(period.get("end")),
        leave_start=_when(leave.get("start")), leave_end=_when(leave.get("end")),
        episode_ids=episode_ids, report_requested=report, hospital_name=hospital[:200])


# State each (non-cancelling) code puts the stay in.
STATE_BY_BASE = {
    "STAA": "acute_ambulant",
    "STIN": "admitted",
    "STOR": "on_leave",
    "SLOR": "admitted",
    "SLHJ": "discharged",
    "MORS": "deceased",
}
# Where a cancellation sends the stay back to.
STATE_AFTER_CANCEL = {
    "STAA": "cancelled",
    "STIN": "cancelled",
    "STOR": "admitted",
    "SLOR": "on_leave",
    "SLHJ": "admitted",
}
