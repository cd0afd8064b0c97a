"""The Norwegian PLO flows (standards.md §B) on the MedCom messaging model.

Each PLO message is a FHIR message Bundle built and parsed by the same code as the
MedCom messages: MessageHeader with a samhand event code (codes.Event.PLO_*), sender
and receiver with HER-ids, the Provenance chain, and a Communication as focus (text
segments with author and time, like a CareCommunication). Structured facts travel as
extensions on the Communication:

* `urn:samhand:extension:discharge-ready-at` (dateTime) — discharge-ready notice;
* `urn:samhand:extension:can-receive` (boolean) and `…:receive-from` (date) — the
  municipality's answer and decision (vedtak);
* `urn:samhand:extension:applies-for-services` (boolean) — health information with an
  application for services.

docs/messages.md shows each flow with an example.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _

from samhand.audit.services import Actor
from samhand.patients.models import CareTeamMember, Patient

from . import effects
from .bundle import Message
from .codes import Activity, Event
from .hospital import _when
from .models import (
    CareMessage,
    DischargeReadiness,
    HospitalStay,
    InboundMessage,
    OutboundMessage,
    Partner,
)
from .receive import SYSTEM_ACTOR
from .threads import apply_care_communication, send_care_communication

PLO_CATEGORY_SYSTEM = "urn:samhand:codesystem:plo-message"
EXT_READY_AT = "urn:samhand:extension:discharge-ready-at"
EXT_CAN_RECEIVE = "urn:samhand:extension:can-receive"
EXT_RECEIVE_FROM = "urn:samhand:extension:receive-from"
EXT_APPLIES = "urn:samhand:extension:applies-for-services"

# Which service address each flow goes to (ehelse.no addressing note; MS-4: the
# hospital goes through the coordinating unit where the municipality has one).
SERVICE_FOR_EVENT: dict[str, str] = {
    Event.PLO_ADMISSION_NOTICE: Partner.Service.HOME_NURSING,
    Event.PLO_HEALTH_INFO_APPLICATION: Partner.Service.CASE_HANDLING,
    Event.PLO_DISCHARGE_READY: Partner.Service.COORDINATING_UNIT,
    Event.PLO_DISCHARGE_READY_WITHDRAWN: Partner.Service.COORDINATING_UNIT,
    Event.PLO_DISCHARGE_REPORT: Partner.Service.HOME_NURSING,
    Event.PLO_ADMISSION_REPORT: Partner.Service.HOSPITAL,
    Event.PLO_MUNICIPAL_DECISION: Partner.Service.HOSPITAL,
    Event.PLO_MEDICAL_INFO: Partner.Service.HOME_NURSING,
    Event.PLO_HEALTH_INFO_TO_GP: Partner.Service.GP,
    Event.PLO_MEDICATION_INFO: Partner.Service.HOME_NURSING,
    Event.PLO_SERVICE_INFO: Partner.Service.GP,
    Event.PLO_REQUEST: Partner.Service.COORDINATING_UNIT,
    Event.PLO_ANSWER: Partner.Service.GENERAL,
    Event.PLO_DEVIATION: Partner.Service.COORDINATING_UNIT,
    Event.PLO_MEETING_MINUTES: Partner.Service.COORDINATING_UNIT,
    Event.PLO_ISBAR: Partner.Service.HOME_NURSING,
}

TITLES: dict[str, str] = {
    Event.PLO_ADMISSION_NOTICE: "Melding om innlagt pasient",
    Event.PLO_ADMISSION_REPORT: "Innleggelsesrapport",
    Event.PLO_HEALTH_INFO_APPLICATION: "Helseopplysninger ved søknad om kommunale tjenester",
    Event.PLO_DISCHARGE_READY: "Melding om utskrivningsklar pasient",
    Event.PLO_DISCHARGE_READY_WITHDRAWN: "Avmelding av utskrivningsklar pasient",
    Event.PLO_MUNICIPAL_DECISION: "Svar og vedtak fra kommunen",
    Event.PLO_DISCHARGE_REPORT: "Utskrivningsrapport",
    Event.PLO_MEDICAL_INFO: "Medisinske opplysninger",
    Event.PLO_HEALTH_INFO_TO_GP: "Helseopplysninger til lege",
    Event.PLO_MEDICATION_INFO: "Legemiddelopplysninger",
    Event.PLO_SERVICE_INFO: "Orientering om tjenestetilbud",
    Event.PLO_REQUEST: "Forespørsel",
    Event.PLO_ANSWER: "Svar på forespørsel",
    Event.PLO_DEVIATION: "Avviksmelding",
    Event.PLO_MEETING_MINUTES: "Referat fra samarbeidsmøte",
    Event.PLO_ISBAR: "ISBAR-oppsummering",
}


def route(organisation_partners: list[Partner], event: str) -> Partner | None:
    """The service address a flow requires among a municipality's addresses; the
    coordinating unit stands in for any other service, then a general address."""
    wanted = SERVICE_FOR_EVENT.get(event, Partner.Service.GENERAL)
    by_service = {p.service: p for p in organisation_partners if p.is_active}
    return (by_service.get(wanted) or by_service.get(Partner.Service.COORDINATING_UNIT)
            or by_service.get(Partner.Service.GENERAL))


def _ext(comm: dict[str, Any], url: str) -> Any:
    for ext in comm.get("extension") or []:
        if isinstance(ext, dict) and ext.get("url") == url:
            return next((v for k, v in ext.items() if k.startswith("value")), None)
    return None


# --------------------------------------------------------------------------- receiving

def apply_plo(message: Message, inbound: InboundMessage, patient: Patient | None,
              receiver: Partner) -> CareMessage:
    care = apply_care_communication(message, inbound, patient, receiver)
    if patient is None:
        return care
    comm = message.focus() or {}
    at = _when((message.current_provenance() or {}).get("occurredDateTime")) or timezone.now()
    event = message.event
    if event == Event.PLO_ADMISSION_NOTICE:
        stay = HospitalStay.objects.create(
            patient=patient, episode_ids=[care.thread.thread_key], sender=inbound.sender,
            state=HospitalStay.State.ADMITTED, state_at=at, last_code="PLO_INNLAGT",
            started_at=at, hospital_name=care.from_name, report_requested=True,
            history=[{"code": "PLO_INNLAGT", "at": at.isoformat(),
                      "header_id": inbound.header_id, "applied": True}])
        effects.admitted(patient, stay, SYSTEM_ACTOR)
    elif event == Event.PLO_DISCHARGE_READY:
        ready_at = _when(_ext(comm, EXT_READY_AT)) or at
        notice = DischargeReadiness.objects.create(
            patient=patient, declared_at=ready_at, notice_header_id=inbound.header_id)
        effects.discharge_ready(patient, notice, SYSTEM_ACTOR)
        return care
    readiness = _open_readiness(patient) if event in (
        Event.PLO_DISCHARGE_READY_WITHDRAWN, Event.PLO_MUNICIPAL_DECISION,
        Event.PLO_DISCHARGE_REPORT) else None
    if event == Event.PLO_DISCHARGE_READY_WITHDRAWN:
        if readiness is not None:
            withdraw(readiness, at=at, actor=SYSTEM_ACTOR)
    elif event == Event.PLO_MUNICIPAL_DECISION:
        if readiness is not None:
            record_decision(readiness, at=at, can_receive=bool(_ext(comm, EXT_CAN_RECEIVE)),
                            receive_from=_date(_ext(comm, EXT_RECEIVE_FROM)),
                            header_id=inbound.header_id)
    elif event == Event.PLO_DISCHARGE_REPORT:
        if readiness is not None:
            readiness.discharged_at = at
            readiness.save(update_fields=["discharged_at"])
        current = HospitalStay.objects.filter(patient=patient).order_by("-state_at").first()
        if current is not None and current.is_in_hospital and current.state_at <= at:
            stay = current
            stay.state, stay.state_at, stay.ended_at = HospitalStay.State.DISCHARGED, at, at
            stay.last_code = "PLO_UTSKREVET"
            stay.save()
            effects.discharged(patient, stay, SYSTEM_ACTOR)
    return care


def _date(value: Any) -> dt.date | None:
    return parse_date(value) if isinstance(value, str) else None


def _open_readiness(patient: Patient) -> DischargeReadiness | None:
    return (DischargeReadiness.objects.select_for_update()
            .filter(patient=patient, withdrawn_at__isnull=True, discharged_at__isnull=True)
            .order_by("-declared_at").first())


def withdraw(readiness: DischargeReadiness, *, at: dt.datetime, actor: Actor) -> None:
    """The notice is withdrawn (avmelding): on the readiness, the pathway and the alert."""
    readiness.withdrawn_at = at
    readiness.save(update_fields=["withdrawn_at"])
    effects.discharge_ready_withdrawn(readiness.patient, readiness, actor)


def record_decision(readiness: DischargeReadiness, *, at: dt.datetime, can_receive: bool,
                    receive_from: dt.date | None, header_id: str = "") -> None:
    readiness.answered_at = at
    readiness.can_receive = can_receive
    readiness.receive_from = receive_from
    readiness.decision_header_id = header_id
    readiness.save()
    effects.municipal_decision(readiness.patient, readiness, SYSTEM_ACTOR)


# --------------------------------------------------------------------------- sending

def admission_report_text(patient: Patient) -> str:
    """The municipality's admission report, pre-filled from samhand: services and
    contacts from the care team, and what other apps can say (plans, equipment)."""
    lines = [_("Admission report for %(name)s") % {"name": patient.full_name}, ""]
    lines.append(_("Services and contacts:"))
    for member in (CareTeamMember.objects.active().filter(patient=patient)
                   .select_related("organisation", "user", "related_person")):
        who = member.organisation or member.related_person
        phone = ""
        if member.organisation is not None:
            phone = member.organisation.display_24h() or member.organisation.phone
        elif member.related_person is not None:
            phone = member.related_person.phone
        lines.append(f"- {member.get_role_display()}: {who}" + (f" ({phone})" if phone else ""))
    for app, title in (("plans", _("Plans:")), ("equipment", _("Equipment:"))):
        summary = effects._service(f"samhand.{app}.services", "summary_for_message")
        if summary is not None:
            lines += ["", title, str(summary(patient))]
    lines += ["", _("Function and practical information: (fill in)")]
    return "\n".join(lines)


def send_plo(*, event: str, patient: Patient, sender: Partner, receiver: Partner,
             actor: Actor, author_name: str, author_phone: str, text: str,
             thread: Any = None, activity: str = Activity.NEW,
             ready_at: dt.datetime | None = None, can_receive: bool | None = None,
             receive_from: dt.date | None = None, applies: bool | None = None,
             attachments: list[dict[str, str]] | None = None,
             ) -> CareMessage:
    """Build and queue one PLO message; the sender's own records change in the same
    transaction (a discharge-ready notice starts the count on the sending side too)."""
    extensions: list[dict[str, Any]] = []
    if ready_at is not None:
        ready_at = ready_at.replace(microsecond=0)
        extensions.append({"url": EXT_READY_AT,
                           "valueDateTime": ready_at.isoformat(timespec="seconds")})
    if can_receive is not None:
        extensions.append({"url": EXT_CAN_RECEIVE, "valueBoolean": can_receive})
    if receive_from is not None:
        extensions.append({"url": EXT_RECEIVE_FROM, "valueDate": receive_from.isoformat()})
    if applies is not None:
        extensions.append({"url": EXT_APPLIES, "valueBoolean": applies})

    def own_records(out: OutboundMessage) -> None:
        # The sender's own chain. Its pathway events are recorded here only when the
        # message leaves this installation: a local receiver records them on the same
        # pathway (with the time it received the notice), and twice would be refused.
        now = timezone.now()
        if event == Event.PLO_DISCHARGE_READY:
            notice = DischargeReadiness.objects.create(
                patient=patient, declared_at=ready_at or now, notice_header_id=out.header_id)
            if not receiver.is_local:
                effects.discharge_ready_sent(patient, notice, actor)
        elif event == Event.PLO_DISCHARGE_READY_WITHDRAWN:
            readiness = _open_readiness(patient)
            if readiness is not None:
                if receiver.is_local:
                    readiness.withdrawn_at = now
                    readiness.save(update_fields=["withdrawn_at"])
                else:
                    withdraw(readiness, at=now, actor=actor)
        elif event == Event.PLO_MUNICIPAL_DECISION:
            readiness = _open_readiness(patient)
            if readiness is not None:
                record_decision(readiness, at=now, can_receive=bool(can_receive),
                                receive_from=receive_from, header_id=out.header_id)

    return send_care_communication(
        patient=patient, sender=sender, receiver=receiver, actor=actor,
        author_name=author_name, author_phone=author_phone, text=text,
        category=event, topic=TITLES.get(event, ""), thread=thread, activity=activity,
        event=event, category_system=PLO_CATEGORY_SYSTEM, extensions=extensions,
        attachments=attachments, also=own_records)
