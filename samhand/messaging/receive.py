"""Receiving a message: validate, store, apply once, acknowledge (standards.md §A.2).

`receive(raw)` is the whole receiver, used by POST /fhir/$process-message, by the
watched folder (`samhand messaging-receive-folder`) and by the benchmark:

1. Bytes that are not a message with a readable MessageHeader id: kept for the
   operator (`Transmission`, outcome unreadable), answered 400 with an OperationOutcome.
2. An Acknowledgement: settles the outbox row it answers; never acknowledged.
3. A MessageHeader.id seen before (MR8): the acknowledgement the first copy got, again
   (same content and acknowledgement id, new Bundle.id), nothing applied.
4. A Bundle.id seen before with another MessageHeader.id: fatal-error.
5. Otherwise check → store raw bytes, parsed content, effects and acknowledgement in
   one transaction. A database problem answers transient-error with nothing stored.

Security: the caller's partner (from its API token) must be the message's sender.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from samhand.audit.services import Actor, record
from samhand.orgs.models import Organisation
from samhand.patients.models import CareTeamMember, Patient

from . import bundle as fhirmsg
from . import codes
from .bundle import Message, Party, Problem, Unreadable
from .codes import AckCode, Event
from .models import InboundMessage, Partner, Transmission

logger = logging.getLogger("samhand.messaging")

SYSTEM_ACTOR = Actor(client="system", role="messaging")


def max_attachment_bytes() -> int:
    return int(getattr(settings, "SAMHAND_MESSAGE_MAX_ATTACHMENT_BYTES", 10 * 1024 * 1024))


@dataclass
class Reply:
    """What to answer the sender: an HTTP status and a FHIR resource (dict)."""

    status: int
    body: dict[str, Any]
    ack_code: str = ""
    outcome: str = ""
    message: InboundMessage | None = None
    problems: list[Problem] = field(default_factory=list)


# --------------------------------------------------------------------------- address book

def find_partner(org: dict[str, Any] | None, *, local: bool | None = None) -> Partner | None:
    """The address-book entry for a message Organization, by SOR, GLN or HER-id."""
    ids = fhirmsg.identifiers(org)
    query = Q()
    if ids.get(codes.SOR):
        query |= Q(sor_id=ids[codes.SOR])
    if ids.get(codes.GLN):
        query |= Q(gln=ids[codes.GLN])
    if ids.get(codes.HER_ID):
        query |= Q(her_id=ids[codes.HER_ID])
    if not query:
        return None
    partners = Partner.objects.filter(query, is_active=True).select_related("organisation")
    if local is not None:
        partners = partners.filter(is_local=local)
    return partners.first()


ID_COLUMNS = ((codes.SOR, "sor_id"), (codes.GLN, "gln"), (codes.HER_ID, "her_id"))


def find_parties(message: Message) -> tuple[Partner | None, Partner | None]:
    """(this installation's address the message is for, the sender's entry), one query."""
    receiver_ids = fhirmsg.identifiers(message.primary_receiver())
    sender_ids = fhirmsg.identifiers(message.sender())
    query = Q()
    for ids in (receiver_ids, sender_ids):
        for system, column in ID_COLUMNS:
            if ids.get(system):
                query |= Q(**{column: ids[system]})
    if not query:
        return None, None
    found = list(Partner.objects.filter(query, is_active=True).select_related("organisation"))

    def match(ids: dict[str, str], partner: Partner) -> bool:
        return any(ids.get(system) and ids[system] == getattr(partner, column)
                   for system, column in ID_COLUMNS)

    receiver = next((p for p in found if p.is_local and match(receiver_ids, p)), None) \
        if message.primary_receiver() else None
    sender = next((p for p in found if match(sender_ids, p)), None)
    return receiver, sender


def find_patient(message: Message) -> Patient | None:
    for _index, patient in message.patients()[:1]:
        ids = fhirmsg.identifiers(patient)
        values = [ids[s] for s in (codes.CPR, codes.FNR, codes.DNR, codes.HNR) if s in ids]
        if values:
            return Patient.objects.filter(national_id__in=[v.replace("-", "") for v in values]
                                          ).first()
    return None


def organisations_under(org: Organisation) -> list[Any]:
    top = org.top
    return list(Organisation.objects.filter(
        Q(pk=top.pk) | Q(parent=top) | Q(parent__parent=top)).values_list("pk", flat=True))


def is_served(patient: Patient, receiver: Partner) -> bool:
    """Whether the receiving organisation (its whole municipality or hospital) has the
    patient on an active care team, or the patient lives in the receiving municipality
    and is known to samhand."""
    if receiver.organisation is None:
        return False
    orgs = organisations_under(receiver.organisation)
    return CareTeamMember.objects.active().filter(patient=patient,
                                                  organisation_id__in=orgs).exists()


# --------------------------------------------------------------------------- replies

def _ack(message: Message, code: str, problems: list[Problem], us: Party) -> dict[str, Any]:
    return fhirmsg.build_ack(
        code=code, acked_header_id=message.header_id,
        acked_activity=message.current_activity(),
        original_sender=Party.from_resource(message.sender(),
                                            endpoint=str((message.header.get("source") or {})
                                                         .get("endpoint") or "")),
        us=us, problems=problems,
        acked_at=str((message.current_provenance() or {}).get("occurredDateTime") or ""))


def _us(message: Message, receiver: Partner | None) -> Party:
    if receiver is not None:
        return receiver.party
    return Party.from_resource(message.primary_receiver()) if message.primary_receiver() \
        else Party(name="samhand", her_id="0")


def _outcome(status: int, problems: list[Problem]) -> Reply:
    return Reply(status, fhirmsg.operation_outcome(problems), problems=problems)


# --------------------------------------------------------------------------- the receiver

def receive(raw: bytes, *, via: str = Transmission.Via.HTTP,
            caller: list[Partner] | None = None, now: dt.datetime | None = None) -> Reply:
    """`caller`: the address-book entries of the authenticated partner system (one token
    may serve several service addresses of one partner); None for trusted sources."""
    try:
        message = fhirmsg.parse(raw)
    except Unreadable as exc:
        _keep(raw, via, Transmission.Outcome.UNREADABLE, exc.bundle_id, exc.header_id,
              [exc.problem])
        return _outcome(400, [exc.problem])
    if caller is not None:
        sender = find_partner(message.sender())
        if sender is None or sender.pk not in {p.pk for p in caller}:
            problem = Problem(fhirmsg.element_path(0, "sender"), "MSG_Receiver_Identifier_UNKNOWN",
                              "The sender is not the partner this token belongs to.",
                              "security")
            return _outcome(403, [problem])
    if message.event == Event.ACKNOWLEDGEMENT:
        from .outbox import settle_acknowledgement

        return settle_acknowledgement(message, raw, via=via)
    for attempt in range(2):
        try:
            with transaction.atomic():
                return _receive_once(message, raw, via=via, now=now or timezone.now())
        except IntegrityError:
            # The same MessageHeader.id committed by a concurrent request: the next
            # round answers it as a duplicate.
            logger.warning("integrity error while receiving %s (attempt %s)",
                           message.header_id, attempt + 1, exc_info=True)
            if attempt:
                break
        except DatabaseError:
            logger.exception("database error while receiving message %s", message.header_id)
            break
        except Exception:
            logger.exception("error while applying message %s", message.header_id)
            _keep(raw, via, Transmission.Outcome.FAILED, message.bundle_id, message.header_id,
                  [Problem("Bundle", "MSG_UNKNOWN_CONTENT", "Internal error at the receiver.",
                           "exception")])
            break
    problem = Problem("Bundle", "MSG_Mailbox_Out_Of_Operation",
                      "The receiver could not store the message now; send it again later.",
                      "transient")
    body = _ack(message, AckCode.TRANSIENT_ERROR, [problem],
                _us(message, None))
    return Reply(200, body, AckCode.TRANSIENT_ERROR, "transient", problems=[problem])


def _keep(raw: bytes, via: str, outcome: str, bundle_id: str, header_id: str,
          problems: list[Problem]) -> None:
    """Keep what could not be processed, for the operator; never fails the answer."""
    try:
        Transmission.objects.create(raw=raw, via=via, outcome=outcome,
                                    bundle_id=bundle_id[:64], header_id=header_id[:64],
                                    problems=[p.as_dict() for p in problems])
    except DatabaseError:
        logger.exception("could not keep an unprocessed transmission")


def _receive_once(message: Message, raw: bytes, *, via: str, now: dt.datetime) -> Reply:
    existing = (InboundMessage.objects.select_for_update()
                .filter(header_id=message.header_id).first())
    if existing is not None:
        Transmission.objects.create(raw=raw, via=via, outcome=Transmission.Outcome.DUPLICATE,
                                    bundle_id=message.bundle_id[:64],
                                    header_id=message.header_id[:64], message=existing,
                                    received_at=now)
        return Reply(200, fhirmsg.restamp(existing.ack), existing.ack_code, "duplicate",
                     message=existing)
    if message.bundle_id and Transmission.objects.filter(bundle_id=message.bundle_id).exclude(
            header_id=message.header_id).exists():
        problem = Problem("Bundle.id", "MSG_DUPLICATE_ID",
                          "This Bundle.id was used before for another message; every "
                          "transmission needs a new Bundle.id.", "duplicate")
        Transmission.objects.create(raw=raw, via=via, outcome=Transmission.Outcome.BUNDLE_REUSED,
                                    bundle_id=message.bundle_id[:64],
                                    header_id=message.header_id[:64],
                                    problems=[problem.as_dict()], received_at=now)
        body = _ack(message, AckCode.FATAL_ERROR, [problem], _us(message, None))
        return Reply(200, body, AckCode.FATAL_ERROR, "bundle_reused", problems=[problem])

    problems = fhirmsg.check(message, max_attachment_bytes=max_attachment_bytes())
    receiver, sender = find_parties(message)
    if receiver is None and message.primary_receiver() is not None:
        index = next((i for i, use, _d in message.destinations() if use == "primary"), 0)
        problems.append(Problem(fhirmsg.element_path(0, "destination", index, "receiver"),
                                "MSG_Receiver_Identifier_UNKNOWN",
                                "The receiver is not an address of this system.", "not-found"))
    inbound = InboundMessage(
        header_id=message.header_id[:64], bundle_id=message.bundle_id[:64],
        event=message.event[:64], activity=message.current_activity()[:64],
        sender=sender, receiver=receiver, content=message.bundle, received_at=now)
    if problems:
        inbound.status = InboundMessage.Status.REJECTED
        inbound.problems = [p.as_dict() for p in problems]
        inbound.ack_code = AckCode.FATAL_ERROR
        outcome = Transmission.Outcome.REJECTED
    else:
        assert receiver is not None
        inbound.status = InboundMessage.Status.ACCEPTED
        inbound.ack_code = AckCode.OK
        outcome = Transmission.Outcome.PROCESSED
        # Rows made by the effects point at the inbound row, which is inserted below in
        # the same transaction (foreign keys are checked at commit).
        apply(message, inbound, receiver)
    inbound.ack = _ack(message, inbound.ack_code, problems, _us(message, receiver))
    inbound.save(force_insert=True)
    Transmission.objects.create(raw=raw, via=via, outcome=outcome,
                                bundle_id=message.bundle_id[:64],
                                header_id=message.header_id[:64], message=inbound,
                                problems=inbound.problems, received_at=now)
    if not problems and inbound.patient_id is not None and not inbound.hidden:
        assert receiver is not None
        record(SYSTEM_ACTOR, "samhand.message.received", "C", patient_id=inbound.patient_id,
               object_type="MessageHeader", object_ids=[inbound.header_id],
               organisation=receiver.organisation, recipient=receiver.organisation)
    return Reply(200, inbound.ack, inbound.ack_code, outcome, message=inbound,
                 problems=problems)


def apply(message: Message, inbound: InboundMessage, receiver: Partner) -> None:
    """Derive what the message means and apply its effects (in the caller's transaction)."""
    patient = find_patient(message)
    if message.event == Event.HOSPITAL_NOTIFICATION:
        from .stays import apply_notification

        if patient is None or not is_served(patient, receiver):
            inbound.hidden = True  # acknowledged, kept, never shown
        else:
            inbound.patient = patient
            apply_notification(message, inbound, patient, receiver)
    elif message.event == Event.CARE_COMMUNICATION:
        from .threads import apply_care_communication

        inbound.patient = patient
        apply_care_communication(message, inbound, patient, receiver)
    elif message.event in codes.PLO_EVENTS:
        from .plo import apply_plo

        inbound.patient = patient
        apply_plo(message, inbound, patient, receiver)
