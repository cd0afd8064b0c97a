"""FHIR R4 read and search for messaging, registered by samhand/fhir/resources.py:

* MessageHeader — one per message sent (outbox) or received (inbox) about a patient;
  id = samhand's row id; the message's own MessageHeader.id is in the extension
  `urn:samhand:extension:message-id`, the direction and the delivery status in
  `...:message-direction` and `...:message-status`; `response` carries the
  acknowledgement (ok | transient-error | fatal-error) when there is one.
* Communication — one per CareCommunication message (new, reply, forward) of a
  thread; `identifier` is the MedCom thread id, shared by every message of a thread.
* Encounter — one per hospital stay built from HospitalNotifications.

All three are in the patient compartment: a read goes through
`policy.get_patient_for` (404 and an audit row for what the caller may not see, exactly
like an id that does not exist); a search starts from the patients the caller may see
(`policy.visible_q`) and audits one row per patient returned (`policy.audit_list`).
Messages follow the access layer's sharing rule (policy.health_info_q /
sees_health_info, with the sender and receiver as parties): across sectors only while
the patient's consent to share health information is active; otherwise only the
messages the caller's own organisation (municipality or hospital) sent or received.
Hidden messages (hospital notifications about patients the receiver does not serve)
never show.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext as _

from samhand.access import policy
from samhand.fhir import mapping
from samhand.fhir.resources import ResourceType, _denied, _id_param, _is_uuid, _param
from samhand.fhir.search import Search, date_q, patient_reference, status_codes, token, uuids
from samhand.patients.models import Patient

from . import codes
from .bundle import FHIR_ID_RE
from .models import CareMessage, HospitalStay, InboundMessage, OutboundMessage, Partner

CLIENT = "fhir"
Row = dict[str, Any]

EXT_MESSAGE_ID = "urn:samhand:extension:message-id"
EXT_DIRECTION = "urn:samhand:extension:message-direction"
EXT_STATUS = "urn:samhand:extension:message-status"
EXT_ACTIVITY = "urn:samhand:extension:message-activity"
EXT_NOTIFICATION = "urn:samhand:extension:hospital-notification-code"
CS_STAY_STATE = "urn:samhand:codesystem:hospital-stay-state"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
EPISODE_OF_CARE = "urn:samhand:identifier:episode-of-care"

OUT_STATUSES = [s.value for s in OutboundMessage.Status]
IN_STATUSES = [s.value for s in InboundMessage.Status]
COMMUNICATION_STATUS = {"pending": "in-progress", "sent": "in-progress",
                        "delivered": "completed", "failed": "not-done",
                        "cancelled": "stopped", "superseded": "stopped"}
S = HospitalStay.State
ENCOUNTER_STATUS = {S.ACUTE_AMBULANT: "in-progress", S.ADMITTED: "in-progress",
                    S.ON_LEAVE: "onleave", S.DISCHARGED: "finished", S.DECEASED: "finished",
                    S.CANCELLED: "entered-in-error"}


# --------------------------------------------------------------------------- who sees what

def _parties(sides: tuple[str, ...]) -> list[str]:
    return [f"{side}__organisation" for side in sides]


def visible_messages_q(user: Any, sides: tuple[str, ...]) -> Q:
    """The messages (rows with `patient` and the party foreign keys named in `sides`)
    the caller may see through a care relation (the access layer's sharing rule, with
    the parties and no recording sector)."""
    return policy.visible_q(user, "patient") & policy.health_info_q(
        user, party_fields=_parties(sides))


def sees_message(patient: Patient, grant: policy.Grant, parties: list[Partner | None]) -> bool:
    """The read rule for one message of a patient the caller may see (views.visible_threads)."""
    return policy.sees_health_info(
        grant, patient, parties=[p.organisation for p in parties if p is not None])


def _may_see(request: HttpRequest, patient: Patient | None,
             parties: list[Partner | None]) -> bool:
    """A message the caller may not see answers like one that does not exist: checked
    before get_patient_for, so that its audit row is a failure, not a read. A caller
    with no grant at all passes here and gets the 404 and audit row of get_patient_for."""
    if patient is None:
        return False
    grant = policy.grant_for(request.user, patient)
    return grant is None or sees_message(patient, grant, parties)


# --------------------------------------------------------------------------- search values

def _patients_of(rows: list[Any]) -> list[Patient]:
    return list({r.patient_id: r.patient for r in rows if r.patient_id}.values())


def _paged(search: Search, *querysets: tuple[QuerySet[Any], str]) -> tuple[int, list[Any]]:
    """Page over several querysets merged by a time field, newest first."""
    total = sum(qs.count() for qs, _field in querysets)
    if search.count == 0:
        return total, []
    end = search.offset + search.count
    rows: list[tuple[dt.datetime, str, Any]] = []
    for qs, field in querysets:
        for row in qs.order_by(f"-{field}", "-pk")[:end]:
            rows.append((getattr(row, field), str(row.pk), row))
    rows.sort(key=lambda r: (r[0], r[1]), reverse=True)
    return total, [r[2] for r in rows[search.offset:end]]


# --------------------------------------------------------------------------- shapes

def _party(partner: Partner | None) -> Row | None:
    if partner is None:
        return None
    if partner.organisation is not None:
        return mapping.reference("Organization", partner.organisation, partner.name)
    return {"display": partner.name}


def _endpoint(partner: Partner | None) -> str:
    if partner is None:
        return "urn:samhand:address:unknown"
    return partner.endpoint_url or f"urn:samhand:address:{partner.pk}"


def message_header(row: OutboundMessage | InboundMessage) -> Row:
    outbound = isinstance(row, OutboundMessage)
    at = row.created_at if isinstance(row, OutboundMessage) else row.received_at
    extension: list[Row] = [
        {"url": EXT_MESSAGE_ID, "valueString": row.header_id},
        {"url": EXT_DIRECTION, "valueCode": "out" if outbound else "in"},
        {"url": EXT_STATUS, "valueCode": row.status},
    ]
    if row.activity:
        extension.append({"url": EXT_ACTIVITY, "valueCode": row.activity})
    resource: Row = {
        "resourceType": "MessageHeader",
        "id": str(row.pk),
        "meta": {"lastUpdated": mapping.instant(at)},
        "extension": extension,
        "eventCoding": mapping._coding(codes.event_system(row.event), row.event or "unknown"),
        "destination": [mapping._drop_empty({
            "name": row.receiver.name if row.receiver else "",
            "endpoint": _endpoint(row.receiver),
            "receiver": _party(row.receiver)})],
        "sender": _party(row.sender),
        "source": mapping._drop_empty({"name": row.sender.name if row.sender else "",
                                       "endpoint": _endpoint(row.sender)}),
        "focus": [mapping.reference("Patient", row.patient, row.patient.full_name)]
        if row.patient is not None else [],
    }
    if row.ack_code and FHIR_ID_RE.fullmatch(row.header_id):
        resource["response"] = {"identifier": row.header_id, "code": row.ack_code}
    return mapping._drop_empty(resource)


def communication(care: CareMessage) -> Row:
    thread = care.thread
    outbound = care.outbound
    if care.direction == CareMessage.Direction.IN:
        status = "completed"
    else:
        status = COMMUNICATION_STATUS.get(outbound.status if outbound else "", "unknown")
    payload: list[Row] = []
    for seg in care.segments:
        if not seg.get("new", True):
            continue
        if seg.get("kind") == "text":
            payload.append({"contentString": seg.get("text") or "-"})
        else:
            payload.append({"contentAttachment": mapping._drop_empty({
                "title": seg.get("title") or "", "contentType": seg.get("content_type") or ""})})
    ours = _party(thread.local)
    theirs = _party(thread.counterpart)
    inbound = care.direction == CareMessage.Direction.IN
    resource: Row = {
        "resourceType": "Communication",
        "id": str(care.pk),
        "meta": {"lastUpdated": mapping.instant(care.sent_at)},
        "extension": [{"url": EXT_MESSAGE_ID, "valueString": care.header_id},
                      {"url": EXT_DIRECTION, "valueCode": care.direction},
                      {"url": EXT_ACTIVITY, "valueCode": care.activity}],
        "identifier": [{"value": thread.thread_key}],
        "status": status,
        "category": [mapping._concept(codes.CATEGORY_SYSTEM, thread.category)]
        if thread.category else [],
        "priority": thread.priority if thread.priority in ("routine", "asap") else "",
        "subject": mapping.reference("Patient", thread.patient, thread.patient.full_name)
        if thread.patient is not None else None,
        "topic": {"text": thread.topic} if thread.topic else None,
        "sent": mapping.instant(care.sent_at),
        "sender": (theirs if inbound else ours) or {"display": care.from_name or "-"},
        "recipient": [r for r in [ours if inbound else theirs] if r] or (
            [{"display": care.to_name}] if care.to_name else []),
        "payload": payload,
    }
    return mapping._drop_empty(resource)


def encounter(stay: HospitalStay) -> Row:
    emergency = stay.state == S.ACUTE_AMBULANT
    period = mapping._drop_empty({
        "start": mapping.instant(stay.started_at) if stay.started_at else "",
        "end": mapping.instant(stay.ended_at) if stay.ended_at else ""})
    history = [mapping._drop_empty({
        "status": ENCOUNTER_STATUS.get(S.ON_LEAVE), "period": mapping._drop_empty({
            "start": mapping.instant(stay.leave_started_at),
            "end": mapping.instant(stay.leave_ended_at) if stay.leave_ended_at else ""})})
    ] if stay.leave_started_at else []
    return mapping._drop_empty({
        "resourceType": "Encounter",
        "id": str(stay.pk),
        "meta": {"lastUpdated": mapping.instant(stay.updated_at)},
        "extension": [{"url": EXT_NOTIFICATION, "valueCode": stay.last_code}]
        if stay.last_code else [],
        "identifier": [{"system": EPISODE_OF_CARE, "value": str(e)} for e in stay.episode_ids
                       if str(e)],
        "status": ENCOUNTER_STATUS.get(S(stay.state), "unknown"),
        "statusHistory": history,
        "class": mapping._coding(ACT_CODE, "EMER" if emergency else "IMP",
                                 "emergency" if emergency else "inpatient encounter"),
        "type": [mapping._concept(CS_STAY_STATE, stay.state, stay.get_state_display())],
        "subject": mapping.reference("Patient", stay.patient, stay.patient.full_name),
        "period": period,
        "serviceProvider": {"display": stay.hospital_name} if stay.hospital_name else None,
    })


# --------------------------------------------------------------------------- types

def _patient_filters(search: Search, qs: QuerySet[Any]) -> QuerySet[Any]:
    for name in ("patient", "subject", "focus"):
        for _modifier, value in search.values(name):
            qs = qs.filter(patient_id__in=patient_reference(name, value))
    return qs


class MessageHeaderType(ResourceType):
    """Messages sent and received about a patient."""

    name = "MessageHeader"
    compartment = True
    search_params = dict([
        _id_param(),
        _param("patient", "reference", "The patient: Patient/<id>."),
        _param("focus", "reference", "The patient the message is about: Patient/<id>."),
        _param("status", "token", "Sent: pending, sent, delivered, failed, cancelled, "
               "superseded; "
               "received: accepted, rejected."),
        _param("event", "token", "The message's event code, e.g. hospital-notification-message "
               "or plo-admission-notice."),
        _param("_lastUpdated", "date", "When sent (made) or received: ge<date>, le<date>, "
               "gt, lt, eq (ISO 8601; a date is the Oslo day)."),
    ])

    @staticmethod
    def _outbox() -> QuerySet[OutboundMessage]:
        return OutboundMessage.objects.filter(patient__isnull=False).select_related(
            "patient", "sender__organisation", "receiver__organisation").defer("content", "ack")

    @staticmethod
    def _inbox() -> QuerySet[InboundMessage]:
        return InboundMessage.objects.filter(patient__isnull=False, hidden=False).select_related(
            "patient", "sender__organisation", "receiver__organisation").defer("content", "ack")

    def read(self, request: HttpRequest, resource_id: str) -> Row:
        row: OutboundMessage | InboundMessage | None = None
        if _is_uuid(resource_id):
            row = self._outbox().filter(pk=resource_id).first() or \
                self._inbox().filter(pk=resource_id).first()
        if row is None or not _may_see(request, row.patient, [row.sender, row.receiver]):
            raise _denied(request, "samhand.message.read", "MessageHeader")
        policy.get_patient_for(request, row.patient_id, client=CLIENT,
                               code="samhand.message.read", object_type="MessageHeader")
        return message_header(row)

    def search(self, request: HttpRequest, search: Search) -> tuple[int, list[Row]]:
        visible = visible_messages_q(request.user, ("sender", "receiver"))
        outbox = _patient_filters(search, self._outbox().filter(visible))
        inbox = _patient_filters(search, self._inbox().filter(visible))
        for _modifier, value in search.values("_id"):
            ids = uuids("_id", value)
            outbox, inbox = outbox.filter(pk__in=ids), inbox.filter(pk__in=ids)
        for _modifier, value in search.values("status"):
            wanted = status_codes("status", value, {c: c for c in OUT_STATUSES + IN_STATUSES})
            outbox = outbox.filter(status__in=wanted)
            inbox = inbox.filter(status__in=wanted)
        for _modifier, value in search.values("event"):
            events = [code for _system, code in token(value) if code]
            outbox, inbox = outbox.filter(event__in=events), inbox.filter(event__in=events)
        for _modifier, value in search.values("_lastUpdated"):
            outbox = outbox.filter(date_q("_lastUpdated", value, "created_at"))
            inbox = inbox.filter(date_q("_lastUpdated", value, "received_at"))
        total, rows = _paged(search, (outbox, "created_at"), (inbox, "received_at"))
        policy.audit_list(request, "samhand.message.search", _patients_of(rows),
                          query=search.audit_query(), client=CLIENT,
                          object_type="MessageHeader")
        return total, [message_header(r) for r in rows]


class CommunicationType(ResourceType):
    """CareCommunication: one Communication per message of a thread."""

    name = "Communication"
    compartment = True
    search_params = dict([
        _id_param(),
        _param("patient", "reference", "The patient: Patient/<id>."),
        _param("subject", "reference", "The patient: Patient/<id>."),
        _param("identifier", "token", "The thread id (urn:uuid:…): every message of a thread."),
        _param("status", "token", "completed (received, or delivered), in-progress (on its "
               "way), not-done (not delivered), stopped (replaced by a new message)."),
        _param("category", "token", "The MedCom CareCommunication category, e.g. nursing."),
        _param("sent", "date", "When sent: ge<date>, le<date>, gt, lt, eq (ISO 8601; a "
               "date is the Oslo day)."),
    ])

    @staticmethod
    def _qs() -> QuerySet[CareMessage]:
        return CareMessage.objects.filter(thread__patient__isnull=False).select_related(
            "thread__patient", "thread__local__organisation",
            "thread__counterpart__organisation", "outbound").defer(
            "outbound__content", "outbound__ack")

    def read(self, request: HttpRequest, resource_id: str) -> Row:
        care = self._qs().filter(pk=resource_id).first() if _is_uuid(resource_id) else None
        if care is None or not _may_see(request, care.thread.patient,
                                        [care.thread.local, care.thread.counterpart]):
            raise _denied(request, "samhand.message.read", "Communication")
        policy.get_patient_for(request, care.thread.patient_id, client=CLIENT,
                               code="samhand.message.read", object_type="Communication")
        return communication(care)

    def search(self, request: HttpRequest, search: Search) -> tuple[int, list[Row]]:
        qs = self._qs().filter(_prefix_q(request.user))
        for _modifier, value in search.values("_id"):
            qs = qs.filter(pk__in=uuids("_id", value))
        for name in ("patient", "subject"):
            for _modifier, value in search.values(name):
                qs = qs.filter(thread__patient_id__in=patient_reference(name, value))
        for _modifier, value in search.values("identifier"):
            qs = qs.filter(thread__thread_key__in=[c for _s, c in token(value) if c])
        for _modifier, value in search.values("category"):
            qs = qs.filter(thread__category__in=[c for _s, c in token(value) if c])
        for _modifier, value in search.values("status"):
            wanted = set(status_codes("status", value, {c: c for c in [
                "completed", "in-progress", "not-done", "stopped"]}))
            query = Q(pk__in=[])
            if "completed" in wanted:
                query |= Q(direction=CareMessage.Direction.IN)
            outs = [k for k, v in COMMUNICATION_STATUS.items() if v in wanted]
            query |= Q(direction=CareMessage.Direction.OUT, outbound__status__in=outs)
            qs = qs.filter(query)
        for _modifier, value in search.values("sent"):
            qs = qs.filter(date_q("sent", value, "sent_at"))
        total = qs.count()
        rows = list(qs.order_by("-sent_at", "-pk")[search.offset:search.offset + search.count]) \
            if search.count else []
        patients = [p for p in {c.thread.patient_id: c.thread.patient for c in rows}.values()
                    if p is not None]
        policy.audit_list(request, "samhand.message.search", patients,
                          query=search.audit_query(), client=CLIENT,
                          object_type="Communication")
        return total, [communication(c) for c in rows]


def _prefix_q(user: Any) -> Q:
    """visible_messages_q for CareMessage rows (the patient and parties sit on the thread)."""
    return policy.visible_q(user, "thread__patient") & policy.health_info_q(
        user, patient_field="thread__patient",
        party_fields=_parties(("thread__local", "thread__counterpart")))


class EncounterType(ResourceType):
    """Hospital stays, as hospital notifications describe them."""

    name = "Encounter"
    compartment = True
    search_params = dict([
        _id_param(),
        _param("patient", "reference", "The patient: Patient/<id>."),
        _param("subject", "reference", "The patient: Patient/<id>."),
        _param("status", "token", "in-progress, onleave, finished, entered-in-error."),
        _param("date", "date", "The time of the latest notification: ge<date>, le<date>, "
               "gt, lt, eq (ISO 8601; a date is the Oslo day)."),
    ])

    @staticmethod
    def _qs() -> QuerySet[HospitalStay]:
        return HospitalStay.objects.select_related("patient")

    def read(self, request: HttpRequest, resource_id: str) -> Row:
        stay = self._qs().filter(pk=resource_id).first() if _is_uuid(resource_id) else None
        if stay is None:
            raise _denied(request, "samhand.message.read", "Encounter")
        policy.get_patient_for(request, stay.patient_id, client=CLIENT,
                               code="samhand.message.read", object_type="Encounter")
        return encounter(stay)

    def search(self, request: HttpRequest, search: Search) -> tuple[int, list[Row]]:
        qs = self._qs().filter(policy.visible_q(request.user, "patient"))
        for _modifier, value in search.values("_id"):
            qs = qs.filter(pk__in=uuids("_id", value))
        qs = _patient_filters(search, qs)
        for _modifier, value in search.values("status"):
            wanted = set(status_codes("status", value,
                               {c: c for c in sorted(set(ENCOUNTER_STATUS.values()))}))
            qs = qs.filter(state__in=[k for k, v in ENCOUNTER_STATUS.items() if v in wanted])
        for _modifier, value in search.values("date"):
            qs = qs.filter(date_q("date", value, "state_at"))
        total = qs.count()
        rows = list(qs.order_by("-state_at", "-pk")[search.offset:search.offset + search.count]) \
            if search.count else []
        policy.audit_list(request, "samhand.message.search", _patients_of(rows),
                          query=search.audit_query(), client=CLIENT, object_type="Encounter")
        return total, [encounter(s) for s in rows]


RESOURCE_TYPES = [MessageHeaderType(), CommunicationType(), EncounterType()]


# --------------------------------------------------------------------------- capability

PROCESS_MESSAGE = "http://hl7.org/fhir/OperationDefinition/MessageHeader-process-message"
MESSAGE_TRANSPORT = "http://terminology.hl7.org/CodeSystem/message-transport"
SAMHAND_MESSAGE_DEFINITION = "urn:samhand:messagedefinition:"


def extend_capability(statement: Row, base: str) -> None:
    """/fhir/metadata: the $process-message operation and the messaging section (called
    by samhand/fhir/capability.py)."""
    address = f"{base}$process-message"
    rest = statement["rest"][0]
    rest.setdefault("operation", []).append({
        "name": "process-message", "definition": PROCESS_MESSAGE,
        "documentation": _(
            "Receives a FHIR message (a Bundle of type message) from a partner system "
            "with its bearer token, and answers with a MedCom Acknowledgement (ok, "
            "transient-error or fatal-error with an OperationOutcome naming the element). "
            "A MessageHeader.id seen before gets the first acknowledgement again.")})
    rest["documentation"] = rest.get("documentation", "") + " " + _(
        "Messages are received at %(address)s.") % {"address": address}
    definitions = [codes.CARE_COMMUNICATION_DEFINITION] + [
        f"{SAMHAND_MESSAGE_DEFINITION}{event}" for event in
        sorted(e.value for e in codes.RECEIVABLE_EVENTS
               if e not in (codes.Event.CARE_COMMUNICATION,))]
    statement.setdefault("messaging", []).append({
        "endpoint": [{"protocol": mapping._coding(MESSAGE_TRANSPORT, "http"),
                      "address": address}],
        "reliableCache": 0,
        "documentation": _(
            "MedCom messaging (HospitalNotification, CareCommunication, Acknowledgement) "
            "and samhand's Norwegian PLO flows on the same model: Bundle.id new on every "
            "transmission, MessageHeader.id kept on a resend; messages are stored byte for "
            "byte and applied once. The samhand definitions are described in "
            "docs/messages.md."),
        "supportedMessage": [{"mode": mode, "definition": definition}
                             for definition in definitions
                             for mode in ("sender", "receiver")],
    })
