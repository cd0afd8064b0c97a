"""What received messages do to the rest of samhand: alerts, tasks, pathway events.

The one place where messaging calls samhand.alerts and samhand.pathways. Each call is
made only when the other app provides the service (they are built at the same time),
so that messaging works, and is tested, on its own; the functions here are the wiring.
All run inside the receiving transaction: an effect that fails rolls the message back
and the sender gets `transient-error` (it will resend).
"""

from __future__ import annotations

import importlib
import logging
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from samhand.audit.services import Actor
from samhand.lib.i18n import Text
from samhand.orgs.models import Organisation
from samhand.patients.models import CareTeamMember, Patient

logger = logging.getLogger("samhand.messaging")

HOME_NURSING_ROLES = (CareTeamMember.Role.HOME_NURSING, CareTeamMember.Role.HOME_NURSING_PRIMARY)


def _service(module: str, name: str) -> Any:
    """`module.name` when the other app provides it, else None."""
    found: ModuleType | None = sys.modules.get(module)  # the common case, without import
    if found is None:
        try:
            found = importlib.import_module(module)
        except ImportError:
            return None
    return getattr(found, name, None)


def _team_orgs(patient: Patient, roles: tuple[str, ...] | None = None) -> list[Organisation]:
    members = CareTeamMember.objects.active().filter(patient=patient,
                                                     organisation__isnull=False)
    if roles is not None:
        members = members.filter(role__in=roles)
    seen: dict[Any, Organisation] = {}
    for member in members.select_related("organisation").order_by("period_start"):
        assert member.organisation is not None
        seen.setdefault(member.organisation.pk, member.organisation)
    return list(seen.values())


def home_nursing_units(patient: Patient) -> list[Organisation]:
    facts = _facts(patient)
    if facts is not None:
        return facts.home_nursing_units
    return _team_orgs(patient, HOME_NURSING_ROLES)


# --------------------------------------------------------------------------- batch facts

@dataclass
class PatientFacts:
    """What the effects of a patient's message read, for many patients at once (a batch
    of received messages reads them in a fixed number of queries instead of a few per
    message). Valid for the FIRST message of the patient in the batch only: its effects
    may change them, so later messages of the same patient read them again (`take`)."""

    home_nursing_units: list[Organisation] = field(default_factory=list)
    active_pathways: bool = False
    open_home_tasks: bool = False
    stays: list[Any] | None = None  # the patient's HospitalStay rows, locked (the receiver)


def read_facts(patient_ids: Iterable[Any]) -> dict[Any, PatientFacts]:
    """The facts of these patients, in three queries whatever their number."""
    ids = list(set(patient_ids))
    facts: dict[Any, PatientFacts] = {pk: PatientFacts() for pk in ids}
    if not ids:
        return facts
    units: dict[Any, dict[Any, None]] = {}
    for patient_id, organisation_id in CareTeamMember.objects.active().filter(
            patient_id__in=ids, organisation__isnull=False, role__in=HOME_NURSING_ROLES
    ).order_by("period_start").values_list("patient_id", "organisation_id"):
        units.setdefault(patient_id, {})[organisation_id] = None
    # The few units of many patients, each read once (not once a patient).
    organisations = Organisation.objects.in_bulk({o for found in units.values()
                                                  for o in found})
    for pk, found in units.items():
        facts[pk].home_nursing_units = [organisations[o] for o in found]
    pathway = _service("samhand.pathways.models", "Pathway")
    task = _service("samhand.pathways.models", "Task")
    if pathway is None or task is None:
        return facts
    for pk in pathway.objects.filter(patient_id__in=ids, status="active").values_list(
            "patient_id", flat=True).distinct():
        facts[pk].active_pathways = True
    for pk in task.objects.filter(
            patient_id__in=ids, status__in=task.OPEN_STATUSES, side="municipality",
            owner_organisation__kind=Organisation.Kind.HOME_NURSING,
    ).values_list("patient_id", flat=True).distinct():
        facts[pk].open_home_tasks = True
    return facts


_current: ContextVar[tuple[Any, PatientFacts] | None] = ContextVar("messaging_facts",
                                                                   default=None)


@contextmanager
def known(patient: Patient | None, facts: PatientFacts | None) -> Iterator[None]:
    """The effects applied in this block use `facts` for `patient` instead of queries."""
    if patient is None or facts is None:
        yield
        return
    token = _current.set((patient.pk, facts))
    try:
        yield
    finally:
        _current.reset(token)


def facts_for(patient: Patient) -> PatientFacts | None:
    """The facts given for this patient by the enclosing `known()` block, if any."""
    return _facts(patient)


def _facts(patient: Patient) -> PatientFacts | None:
    current = _current.get()
    return current[1] if current is not None and current[0] == patient.pk else None


# --------------------------------------------------------------------------- rows with the batch

_may_wait: ContextVar[bool] = ContextVar("messaging_rows_may_wait", default=False)


@contextmanager
def rows_may_wait(allowed: bool) -> Iterator[None]:
    """Inside (with `allowed`: the patient has no other message in the batch being
    received, so nothing in the batch reads the patient's new rows back), the new
    hospital stay and the alerts raised are stored with the batch at its end — the stays
    by COPY, the alerts by one statement — instead of one statement each."""
    token = _may_wait.set(allowed)
    try:
        yield
    finally:
        _may_wait.reset(token)


def store_with_batch(row: Any) -> bool:
    """Keep the new row for the end of the batch, where allowed (True); else the caller
    saves it now."""
    from .receive import store_later

    return _may_wait.get() and store_later(row)


def store_together(model: type, rows: list[Any]) -> bool:
    """At the end of a batch: store kept rows that need more than an INSERT — alerts,
    each unless an open alert of its episode exists, audited (True); False for others."""
    alert = _service("samhand.alerts.models", "Alert")
    raise_new_alerts = _service("samhand.alerts.services", "raise_new_alerts")
    if alert is None or model is not alert or raise_new_alerts is None:
        return False
    from .receive import SYSTEM_ACTOR

    raise_new_alerts(rows, SYSTEM_ACTOR)
    return True


def _raise(patient: Patient, organisation: Organisation, *, kind: str, episode_key: str,
           text: str | Text, actor: Actor, severity: str = "warning") -> None:
    from .receive import SYSTEM_ACTOR

    new_alert = _service("samhand.alerts.services", "new_alert")
    if new_alert is not None and actor == SYSTEM_ACTOR and _may_wait.get():
        alert = new_alert(patient=patient, organisation=organisation, kind=kind,
                          episode_key=episode_key, text=text, severity=severity,
                          source="messaging")
        if store_with_batch(alert):
            return
    raise_alert = _service("samhand.alerts.services", "raise_alert")
    if raise_alert is None:
        logger.info("alerts not available: %s for patient %s not raised", kind, patient.pk)
        return
    raise_alert(patient=patient, organisation=organisation, kind=kind, episode_key=episode_key,
                text=text, actor=actor, severity=severity, source="messaging")


def _close(patient: Patient, episode_key_prefix: str, actor: Actor, note: str) -> None:
    """Close open alerts raised by messaging whose key starts with the prefix."""
    models = _service("samhand.alerts.models", "Alert")
    close = _service("samhand.alerts.services", "close")
    if models is None or close is None:
        return
    for alert in models.objects.filter(patient=patient, closed_at__isnull=True,
                                       episode_key__startswith=episode_key_prefix):
        close(alert, actor, note=note)


def _pathways(patient: Patient) -> list[Any]:
    pathway = _service("samhand.pathways.models", "Pathway")
    facts = _facts(patient)
    if pathway is None or (facts is not None and not facts.active_pathways):
        return []
    queryset = pathway.objects.filter(patient=patient)
    field_names = {f.name for f in pathway._meta.get_fields()}
    if "status" in field_names:
        queryset = queryset.filter(status="active")
    return list(queryset)


def _record_event(patient: Patient, kind: str, actor: Actor, at: Any, data: dict[str, Any],
                  *, fallback: str = "") -> None:
    """Record the event on each active pathway; a pathway that refuses it (its template
    has no such event, or it is out of order) keeps its state and the refusal is logged:
    the message is still received."""
    from samhand.lib.errors import DomainError

    record_event = _service("samhand.pathways.services", "record_event")
    if record_event is None:
        return
    for pathway in _pathways(patient):
        for name in filter(None, (kind, fallback)):
            try:
                with transaction.atomic():
                    record_event(pathway, name, at=at, actor=actor, data=data,
                                 source=_source())
                break
            except DomainError as exc:
                logger.info("pathway %s refused event %s from a message: %s", pathway.pk,
                            name, exc.code)


def _source() -> str:
    event = _service("samhand.pathways.models", "PathwayEvent")
    sources = getattr(getattr(event, "Source", None), "values", []) if event else []
    return "message" if "message" in sources else ("system" if "system" in sources
                                                   else sources[0] if sources else "")


# --------------------------------------------------------------------------- hospital stays

def admitted(patient: Patient, stay: Any, actor: Actor) -> None:
    """Admission (STIN/STAA): pause home-service tasks; alert home nursing at once
    (MS-2: also at weekends, so an alert, not a working-hours task)."""
    pause = _service("samhand.pathways.services", "pause_home_service_tasks")
    facts = _facts(patient)
    if pause is not None and (facts is None or facts.open_home_tasks or facts.active_pathways):
        pause(patient, actor=actor, reason="admitted")
    for unit in home_nursing_units(patient):
        _raise(patient, unit, kind="admission", episode_key=f"messaging:stay:{stay.pk}:admitted",
               text=Text(gettext_noop("Admitted to %(hospital)s. Pause home visits and send "
                                      "the admission report."),
                         hospital=stay.hospital_name or Text(gettext_noop("hospital"))),
               actor=actor, severity="urgent")
    _record_event(patient, "admitted", actor, stay.started_at, {"stay": str(stay.pk)},
                  fallback="readmitted")


def leave_started(patient: Patient, stay: Any, actor: Actor) -> None:
    for unit in home_nursing_units(patient):
        _raise(patient, unit, kind="hospital_leave", episode_key=f"messaging:stay:{stay.pk}:leave",
               text=Text(gettext_noop("On leave at home from hospital.")), actor=actor,
               severity="info")


def leave_ended(patient: Patient, stay: Any, actor: Actor) -> None:
    _close(patient, f"messaging:stay:{stay.pk}:leave", actor, note=_("Back at hospital."))


def discharged(patient: Patient, stay: Any, actor: Actor) -> None:
    """Discharge (SLHJ): resume tasks; the pathway's after-discharge timers start."""
    resume = _service("samhand.pathways.services", "resume_home_service_tasks")
    if resume is not None:
        resume(patient, actor=actor)
    _close(patient, f"messaging:stay:{stay.pk}:", actor, note=_("Discharged."))
    for unit in home_nursing_units(patient):
        _raise(patient, unit, kind="discharge", episode_key=f"messaging:stay:{stay.pk}:discharged",
               text=Text(gettext_noop("Discharged home from %(hospital)s."),
                         hospital=stay.hospital_name or Text(gettext_noop("hospital"))),
               actor=actor, severity="warning")
    _record_event(patient, "discharged", actor, stay.ended_at, {"stay": str(stay.pk)})


def cancelled(patient: Patient, stay: Any, actor: Actor) -> None:
    """An admission sent in error (AN_STIN/AN_STAA): undo the pause and the alerts."""
    resume = _service("samhand.pathways.services", "resume_home_service_tasks")
    if resume is not None:
        resume(patient, actor=actor)
    _close(patient, f"messaging:stay:{stay.pk}:", actor, note=_("The admission was cancelled."))


def deceased(patient: Patient, stay: Any, actor: Actor) -> None:
    """Death (MORS): end the pathways, notify the whole care team."""
    _record_event(patient, "ended", actor, stay.ended_at, {"reason": "deceased",
                                                          "stay": str(stay.pk)})
    _close(patient, f"messaging:stay:{stay.pk}:", actor, note=_("The patient has died."))
    for unit in _team_orgs(patient):
        _raise(patient, unit, kind="death", episode_key=f"messaging:stay:{stay.pk}:deceased",
               text=Text(gettext_noop("The hospital reports that the patient has died.")),
               actor=actor,
               severity="warning")


# --------------------------------------------------------------------------- Norwegian flows

def discharge_ready(patient: Patient, readiness: Any, actor: Actor) -> None:
    """Discharge-ready notice: the count of days as discharge-ready starts (PW-6); the
    pathway keeps when the notice was sent (declared) and when it was received."""
    from django.utils import timezone

    _record_event(patient, "discharge_ready", actor, readiness.declared_at,
                  {"readiness": str(readiness.pk), "received_at": timezone.now().isoformat()})
    for unit in _team_orgs(patient, (CareTeamMember.Role.MUNICIPAL_COORDINATOR,
                                     CareTeamMember.Role.ALLOCATION_OFFICE)):
        _raise(patient, unit, kind="discharge_ready",
               episode_key=f"messaging:ready:{readiness.pk}",
               text=Text(gettext_noop("The hospital reports the patient ready for discharge. "
                                      "Answer today whether the municipality can receive "
                                      "the patient.")), actor=actor,
               severity="urgent")


def discharge_ready_sent(patient: Patient, readiness: Any, actor: Actor) -> None:
    """The hospital sent a discharge-ready notice to another installation: its own
    pathway starts the count too, from when the notice was declared (the receiving
    side adds when it got it). For a receiver in this installation the receiving side
    records the notice on the same pathway, with the time it was received."""
    _record_event(patient, "discharge_ready", actor, readiness.declared_at,
                  {"readiness": str(readiness.pk)})


def discharge_ready_withdrawn(patient: Patient, readiness: Any, actor: Actor) -> None:
    """Withdrawal of the notice (avmelding: the patient needs hospital treatment again):
    the period as discharge-ready closes on each active pathway (the days before still
    count, samhand.pathways.readiness) and the open discharge-ready alert is closed. Used
    by the receiving side and by the sender for its own pathway."""
    _record_event(patient, "discharge_ready_withdrawn", actor, readiness.withdrawn_at,
                  {"readiness": str(readiness.pk)})
    _close(patient, f"messaging:ready:{readiness.pk}", actor,
           note=_("The discharge-ready notice was withdrawn."))


def municipal_decision(patient: Patient, readiness: Any, actor: Actor) -> None:
    """The municipality's answer and decision sets the date it can receive the patient on
    each active pathway (samhand.pathways.services.set_discharge_date: the answer to the
    open notice, or the planned decision's date); a pathway that refuses it keeps its
    state and the refusal is logged."""
    from samhand.lib.errors import DomainError

    set_date = _service("samhand.pathways.services", "set_discharge_date")
    if set_date is not None:
        for pathway in _pathways(patient):
            try:
                with transaction.atomic():
                    set_date(pathway, readiness.receive_from, actor=actor,
                             at=readiness.answered_at, can_receive=readiness.can_receive,
                             data={"readiness": str(readiness.pk)}, source=_source())
            except DomainError as exc:
                logger.info("pathway %s refused the municipal answer from a message: %s",
                            pathway.pk, exc.code)
    _close(patient, f"messaging:ready:{readiness.pk}", actor, note=_("Answered."))


# --------------------------------------------------------------------------- delivery

def delivery_failed(outbound: Any, actor: Actor, reason: str | Text) -> None:
    """A message could not be delivered: alert the sending unit (it shows in the
    operator queue as well)."""
    if outbound.patient is None or outbound.sending_organisation is None:
        return
    _raise(outbound.patient, outbound.sending_organisation, kind="message_not_delivered",
           episode_key=f"messaging:outbound:{outbound.pk}",
           text=Text(gettext_noop("A message to %(receiver)s was not delivered: "
                                  "%(reason)s"), receiver=outbound.receiver.name,
                     reason=reason),
           actor=actor, severity="warning")


def message_received(patient: Patient, organisation: Organisation | None, thread: Any,
                     actor: Actor) -> None:
    """New correspondence: nothing beyond the unread mark for now."""
