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

import contextlib
import dataclasses
import datetime as dt
import json
import logging
from collections import Counter
from collections.abc import Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import DatabaseError, IntegrityError, models, transaction
from django.db.models import Q
from django.utils import timezone

from samhand.audit.services import Actor, Entry, chained_at_end, record_many
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
    return receive_many([raw], via=via, caller=caller, now=now)[0]


def receive_many(raws: Sequence[bytes], *, via: str = Transmission.Via.HTTP,
                 caller: list[Partner] | None = None,
                 now: dt.datetime | None = None) -> list[Reply]:
    """Receive a batch in ONE transaction (group commit), one answer per message in order.

    Each message is applied inside its own savepoint: one that fails rolls back only
    itself (`transient-error`, the raw bytes kept as failed). The audit rows of the whole
    batch join the chain once, at the end (`chained_at_end`). A MessageHeader.id seen
    before — in the database or earlier in the same batch — is answered with the first
    answer and not applied again. A database problem answers every message of the batch
    `transient-error` with nothing stored. The answers are only returned after COMMIT:
    callers release them (files moved, HTTP answered) only then."""
    replies: list[Reply | None] = [None] * len(raws)
    todo: list[_Item] = []
    for index, raw in enumerate(raws):
        try:
            message = fhirmsg.parse(raw)
        except Unreadable as exc:
            keep(raw, via, Transmission.Outcome.UNREADABLE, exc.bundle_id, exc.header_id,
                  [exc.problem])
            replies[index] = _outcome(400, [exc.problem])
            continue
        if caller is not None:
            sender = find_partner(message.sender())
            if sender is None or sender.pk not in {p.pk for p in caller}:
                problem = Problem(fhirmsg.element_path(0, "sender"),
                                  "MSG_Receiver_Identifier_UNKNOWN",
                                  "The sender is not the partner this token belongs to.",
                                  "security")
                replies[index] = _outcome(403, [problem])
                continue
        if message.event == Event.ACKNOWLEDGEMENT:
            from .outbox import settle_acknowledgement

            replies[index] = settle_acknowledgement(message, raw, via=via)
            continue
        # Checking needs no database: done before the transaction opens.
        try:
            problems = fhirmsg.check(message, max_attachment_bytes=max_attachment_bytes())
        except RecursionError:
            problems = [Problem("Bundle", "MSG_BAD_SYNTAX",
                                "The message is nested too deeply to check.", "structure")]
        todo.append(_Item(index, raw, message, problems))
    one = len(todo) == 1
    for attempt in range(2):
        if not todo:
            break
        try:
            done, again = _in_transaction(todo, via=via, now=now, single=one)
        except IntegrityError:
            # A MessageHeader.id committed meanwhile by another receiver: the next
            # round answers it as a duplicate.
            logger.warning("integrity error while receiving a batch of %s (attempt %s)",
                           len(todo), attempt + 1, exc_info=True)
            if attempt:
                break
            continue
        except DatabaseError:
            logger.exception("database error while receiving a batch of %s", len(todo))
            break
        for index, reply in done.items():
            replies[index] = reply
        # Messages that met a concurrent copy of their content inside the batch: each
        # again on its own, with the single-message retry.
        for item in again:
            replies[item.index] = receive_many([item.raw], via=via, now=now)[0]
        todo = []
    for item in todo:
        replies[item.index] = _transient(item.message)
    assert all(reply is not None for reply in replies)
    return [reply for reply in replies if reply is not None]


@dataclass
class _Item:
    index: int
    raw: bytes
    message: Message
    problems: list[Problem]


def _transient(message: Message) -> Reply:
    problem = Problem("Bundle", "MSG_Mailbox_Out_Of_Operation",
                      "The receiver could not store the message now; send it again later.",
                      "transient")
    body = _ack(message, AckCode.TRANSIENT_ERROR, [problem], _us(message, None))
    return Reply(200, body, AckCode.TRANSIENT_ERROR, "transient", problems=[problem])


def keep(raw: bytes, via: str, outcome: str, bundle_id: str, header_id: str,
          problems: list[Problem]) -> None:
    """Keep what could not be processed, for the operator; never fails the answer."""
    try:
        Transmission.objects.create(raw=raw, via=via, outcome=outcome,
                                    bundle_id=fhirmsg.storable(bundle_id[:64]),
                                    header_id=fhirmsg.storable(header_id[:64]),
                                    problems=fhirmsg.storable([p.as_dict() for p in problems]))
    except DatabaseError:
        logger.exception("could not keep an unprocessed transmission")


def keep_failed(raw: bytes, via: str) -> dict[str, Any]:
    """A defect in the receiver on this message (not a database outage, which is
    answered transient-error): its bytes are kept as a failed transmission for the
    operator queue; the OperationOutcome to answer is returned."""
    logger.exception("the receiver failed on a message; kept for the operator")
    problem = Problem("Bundle", "MSG_UNKNOWN_CONTENT",
                      "The receiver failed on this message; it is kept for the operator.",
                      "exception")
    keep(raw, via, Transmission.Outcome.FAILED, "", "", [problem])
    return fhirmsg.operation_outcome([problem])


class Lookups:
    """What the messages of one batch need from the address book and the patient list,
    read with one query each instead of one per message."""

    def __init__(self, messages: Sequence[Message]) -> None:
        self._parties: dict[Any, tuple[Partner | None, Partner | None]] = {}
        self._orgs: dict[Any, list[Any]] = {}
        self._served: dict[Any, set[Any]] = {}
        wanted: dict[int, list[str]] = {}  # by id(message): a Message is not hashable
        for message in messages:
            wanted[id(message)] = _national_ids(message)
        values = {v for ids in wanted.values() for v in ids}
        ordered = list(Patient.objects.filter(national_id__in=values).order_by(
            *(Patient._meta.ordering or ["pk"]))) if values else []
        self._patients: dict[int, Patient | None] = {
            key: next((p for p in ordered if p.national_id in ids), None)
            for key, ids in wanted.items()}
        self._patient_ids = [p.pk for p in ordered]
        counts = Counter(p.pk for p in self._patients.values() if p is not None)
        self._alone = {pk for pk, n in counts.items() if n == 1}
        self._facts: dict[Any, Any] | None = None
        self._messages = messages
        self._new_threads: set[str] | None = None

    def take_facts(self, patient: Patient) -> Any:
        """What the effects of the patient's message read (`effects.PatientFacts`, with
        its hospital stays locked), read for every patient of the batch at the first call;
        given once per patient: the first message may change them, so a later message of
        the same patient in the batch reads them itself (None)."""
        from . import effects
        from .models import HospitalStay

        if self._facts is None:
            self._facts = effects.read_facts(self._patient_ids)
            stays: dict[Any, list[HospitalStay]] = {pk: [] for pk in self._facts}
            for stay in recent_stays_locked(self._patient_ids):
                stays[stay.patient_id].append(stay)
            for pk, facts in self._facts.items():
                facts.stays = stays[pk]
        return self._facts.pop(patient.pk, None)

    def new_thread(self, message: Message) -> bool:
        """Whether the message's thread (CareCommunication and the PLO flows) is unknown
        and no other message of the batch is in it: read for the batch at the first call."""
        from .models import CareThread
        from .threads import thread_key

        if self._new_threads is None:
            keys = Counter(thread_key(m.focus() or {}) for m in self._messages
                           if m.event == Event.CARE_COMMUNICATION or m.event in codes.PLO_EVENTS)
            known = set(CareThread.objects.filter(thread_key__in=list(keys))
                        .values_list("thread_key", flat=True)) if keys else set()
            self._new_threads = {key for key, n in keys.items() if n == 1 and key not in known}
        return thread_key(message.focus() or {}) in self._new_threads

    def alone(self, patient: Patient) -> bool:
        """Whether the patient's message is the only one of the batch about the patient
        (nothing else in the batch reads the rows it adds)."""
        return patient.pk in self._alone

    def parties(self, message: Message) -> tuple[Partner | None, Partner | None]:
        key = (tuple(sorted(fhirmsg.identifiers(message.primary_receiver()).items())),
               tuple(sorted(fhirmsg.identifiers(message.sender()).items())),
               message.primary_receiver() is None)
        if key not in self._parties:
            self._parties[key] = find_parties(message)
        return self._parties[key]

    def patient(self, message: Message) -> Patient | None:
        if id(message) in self._patients:
            return self._patients[id(message)]
        return find_patient(message)

    def is_served(self, patient: Patient, receiver: Partner) -> bool:
        """As `is_served`; a yes is remembered for the batch, a no asked again (an
        earlier message of the batch may have put the patient on a care team)."""
        if receiver.organisation is None:
            return False
        org = receiver.organisation
        if org.pk not in self._served:
            self._orgs[org.pk] = organisations_under(org)
            self._served[org.pk] = set(
                CareTeamMember.objects.active()
                .filter(patient_id__in=self._patient_ids, organisation_id__in=self._orgs[org.pk])
                .values_list("patient_id", flat=True))
        if patient.pk in self._served[org.pk]:
            return True
        if CareTeamMember.objects.active().filter(
                patient=patient, organisation_id__in=self._orgs[org.pk]).exists():
            self._served[org.pk].add(patient.pk)
            return True
        return False


# As many of a patient's stays as one notification is matched against (stays._find_stay).
RECENT_STAYS = 20


def recent_stays_locked(patient_ids: Sequence[Any]) -> list[Any]:
    """The RECENT_STAYS newest hospital stays of each patient, locked (FOR UPDATE) to the
    end of the transaction: the ids by a window query (which cannot lock), then the rows."""
    from django.db.models import F, Window
    from django.db.models.functions import RowNumber

    from .models import HospitalStay

    if not patient_ids:
        return []
    newest = HospitalStay.objects.filter(patient_id__in=patient_ids).annotate(
        n=Window(RowNumber(), partition_by=[F("patient_id")], order_by=F("state_at").desc())
    ).filter(n__lte=RECENT_STAYS).values_list("pk", flat=True)
    ids = list(newest)
    if not ids:
        return []
    return list(HospitalStay.objects.select_for_update().filter(pk__in=ids).order_by("pk"))


def _national_ids(message: Message) -> list[str]:
    for _index, patient in message.patients()[:1]:
        ids = fhirmsg.identifiers(patient)
        return [ids[s].replace("-", "") for s in (codes.CPR, codes.FNR, codes.DNR, codes.HNR)
                if s in ids]
    return []


def _ids(message: Message) -> tuple[str, str]:
    """(MessageHeader.id, Bundle.id) as stored: cut to the column, and storable."""
    header_id, bundle_id = message.header_id[:64], message.bundle_id[:64]
    if message.may_hold_unstorable:
        return fhirmsg.storable(header_id), fhirmsg.storable(bundle_id)
    return header_id, bundle_id


# Rows that the messages of the batch being received add and nothing in the batch reads
# back (a received CareMessage): stored at the end of the batch with its InboundMessages
# (COPY on PostgreSQL) instead of one INSERT each. Rows of a message that fails are dropped
# with its savepoint.
_later: ContextVar[list[models.Model] | None] = ContextVar("messaging_store_later",
                                                             default=None)


def store_later(row: models.Model) -> bool:
    """Store the new row with the batch being received, if any (True); else the caller
    saves it. The row gets no database-made values (its pk is made in Python)."""
    rows = _later.get()
    if rows is None:
        return False
    rows.append(row)
    return True


class _Redo(Exception):
    """A message failed while applied without its own savepoint: the batch is rolled back
    and received again, each message in its own savepoint."""


def _in_transaction(items: Sequence[_Item], *, via: str, now: dt.datetime | None,
                    single: bool) -> tuple[dict[int, Reply], list[_Item]]:
    """The batch in one transaction. First without a savepoint per message (two
    statements less each); if a message fails while applied, the whole batch is rolled
    back and done again with a savepoint per message, so that the failing one rolls back
    only itself — the same answers and rows as with savepoints from the start."""
    try:
        with transaction.atomic(), chained_at_end():
            return _receive_batch(items, via=via, now=now, single=single, savepoints=False)
    except _Redo:
        logger.info("a message of a batch of %s failed: the batch again, with savepoints",
                    len(items))
    with transaction.atomic(), chained_at_end():
        return _receive_batch(items, via=via, now=now, single=single, savepoints=True)


def _receive_batch(items: Sequence[_Item], *, via: str, now: dt.datetime | None,
                   single: bool, savepoints: bool) -> tuple[dict[int, Reply], list[_Item]]:
    later: list[models.Model] = []
    token = _later.set(later)
    try:
        return _receive_batch_storing(items, later, via=via, now=now, single=single,
                                      savepoints=savepoints)
    finally:
        _later.reset(token)


def _receive_batch_storing(items: Sequence[_Item], later: list[models.Model], *, via: str,
                           now: dt.datetime | None, single: bool,
                           savepoints: bool) -> tuple[dict[int, Reply], list[_Item]]:
    """The batch inside its transaction: (answers by index, items to receive again).
    Without `savepoints`, a message that fails while applied raises _Redo."""
    header_ids = {_ids(item.message)[0] for item in items}
    bundle_ids = {_ids(item.message)[1] for item in items if item.message.bundle_id}
    known = {m.header_id: m for m in InboundMessage.objects.filter(header_id__in=header_ids)}
    bundles: dict[str, set[str]] = {}
    if bundle_ids:
        for bundle_id, header_id in Transmission.objects.filter(
                bundle_id__in=bundle_ids).values_list("bundle_id", "header_id"):
            bundles.setdefault(bundle_id, set()).add(header_id)
    lookups = Lookups([item.message for item in items])
    replies: dict[int, Reply] = {}
    again: list[_Item] = []
    inbounds: list[InboundMessage] = []
    received_text: dict[int, str] = {}  # by id(inbound): the JSON as received
    transmissions: list[Transmission] = []
    entries: list[Entry] = []
    for item in items:
        message, raw = item.message, item.raw
        header_id, bundle_id = _ids(message)
        at = now or timezone.now()

        def transmission(outcome: str, problems: Sequence[Problem] | list[dict[str, str]] = (),
                         inbound: InboundMessage | None = None, *,
                         _raw: bytes = raw, _h: str = header_id, _b: str = bundle_id,
                         _at: dt.datetime = at) -> None:
            transmissions.append(Transmission(
                raw=_raw, via=via, outcome=outcome, bundle_id=_b, header_id=_h,
                message=inbound, received_at=_at,
                problems=[p.as_dict() if isinstance(p, Problem) else p for p in problems]))
            if _b:
                bundles.setdefault(_b, set()).add(_h)

        existing = known.get(header_id)
        if existing is not None:
            transmission(Transmission.Outcome.DUPLICATE, inbound=existing)
            replies[item.index] = Reply(200, fhirmsg.restamp(existing.ack), existing.ack_code,
                                        "duplicate", message=existing)
            continue
        if bundle_id and bundles.get(bundle_id, set()) - {header_id}:
            problem = Problem("Bundle.id", "MSG_DUPLICATE_ID",
                              "This Bundle.id was used before for another message; every "
                              "transmission needs a new Bundle.id.", "duplicate")
            transmission(Transmission.Outcome.BUNDLE_REUSED, [problem])
            body = _ack(message, AckCode.FATAL_ERROR, [problem], _us(message, None))
            replies[item.index] = Reply(200, body, AckCode.FATAL_ERROR, "bundle_reused",
                                        problems=[problem])
            continue
        mark = len(later)
        try:
            if savepoints:
                with transaction.atomic():
                    reply, inbound = _accept(message, list(item.problems), lookups, at)
            else:
                try:
                    reply, inbound = _accept(message, list(item.problems), lookups, at)
                except Exception as exc:
                    raise _Redo from exc
        except _Redo:
            raise
        except IntegrityError:
            del later[mark:]  # rolled back with the savepoint
            if single:
                raise
            logger.warning("integrity error while applying message %s; received again "
                           "on its own", message.header_id, exc_info=True)
            again.append(item)
            continue
        except DatabaseError:
            raise
        except Exception:
            del later[mark:]
            logger.exception("error while applying message %s", message.header_id)
            transmission(Transmission.Outcome.FAILED,
                         [Problem("Bundle", "MSG_UNKNOWN_CONTENT",
                                  "Internal error at the receiver.", "exception")])
            replies[item.index] = _transient(message)
            continue
        known[header_id] = inbound
        inbounds.append(inbound)
        if not message.may_hold_unstorable and raw[:1] == b"{" \
                and inbound.content is message.bundle:
            with contextlib.suppress(UnicodeDecodeError):  # UTF-16 and the like: encoded
                received_text[id(inbound)] = raw.decode("utf-8")
        transmission(str(reply.outcome), inbound.problems, inbound)
        replies[item.index] = reply
        if inbound.status == InboundMessage.Status.ACCEPTED and inbound.patient_id is not None \
                and not inbound.hidden:
            assert inbound.receiver is not None
            organisation = inbound.receiver.organisation
            entries.append(Entry(code="samhand.message.received", action="C",
                                 patient_id=inbound.patient_id, object_type="MessageHeader",
                                 object_ids=[inbound.header_id], organisation=organisation,
                                 recipient=organisation))
    # In MessageHeader.id order: two receivers given overlapping batches (a resend while
    # the first copy is in flight) take the unique index's entries in the same order, so
    # the later one waits for the other's COMMIT and answers duplicates, never deadlocks.
    inbounds.sort(key=lambda inbound: inbound.header_id)
    _store(InboundMessage, inbounds, as_received={"content": received_text})
    _store(Transmission, transmissions)
    from . import effects

    for model in dict.fromkeys(type(row) for row in later):
        rows = [row for row in later if type(row) is model]
        if not effects.store_together(model, rows):
            _store(model, rows)
    record_many(SYSTEM_ACTOR, entries)
    return replies, again


# From this many rows on, PostgreSQL gets the batch's rows through COPY: bulk_create
# sends the raw bytes and JSON as escaped literals (UNNEST arrays), which costs the
# receiver more CPU per message than the rest of storing them.
COPY_FROM_ROWS = 2


def _store(model: type[models.Model], rows: Sequence[models.Model], *,
           as_received: dict[str, dict[int, str]] | None = None) -> None:
    """Insert the rows as `bulk_create` would (defaults and pre_save applied, the same
    constraints and triggers), without reading back auto ids (no caller needs them).

    `as_received`: for a JSON column, the JSON text a row's value was read from (by
    id(row)), which COPY gives PostgreSQL as it came instead of encoding the parsed value
    again (the same jsonb: PostgreSQL reads the text as Python's json did, keeping the
    last of repeated keys, and decimals exactly as written)."""
    db = transaction.get_connection()
    made_by_database = isinstance(model._meta.pk, models.AutoField | models.BigAutoField)
    if len(rows) == 1 and not made_by_database:
        insert(rows[0])  # one message (HTTP): the statement compiled once, not per call
        return
    if db.vendor != "postgresql" or len(rows) < COPY_FROM_ROWS:
        model._default_manager.bulk_create(rows)
        return
    from psycopg import sql

    fields = [f for f in model._meta.concrete_fields
              if not (f.primary_key and isinstance(f, models.AutoField | models.BigAutoField))]
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(model._meta.db_table),
        sql.SQL(", ").join(sql.Identifier(f.column) for f in fields))
    # Through Django's error wrapper: a unique violation is an IntegrityError here too.
    received = {f.attname: (as_received or {}).get(f.attname, {}) for f in fields}
    with db.wrap_database_errors, db.cursor() as cursor, cursor.cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row([received[f.attname][id(row)] if id(row) in received[f.attname]
                            else f.get_db_prep_save(f.pre_save(row, True), connection=db)
                            for f in fields])
    for row in rows:
        row._state.adding = False
        row._state.db = db.alias


_INSERT_SQL: dict[tuple[str, type[models.Model]], str] = {}


def insert(row: models.Model) -> None:
    """INSERT a new row (every concrete field, the pk made in Python) with the statement
    Django compiles for it, compiled once per model instead of for every row as `save()`
    does (no signals are sent: use it only for models without receivers)."""
    connection = transaction.get_connection()
    model = type(row)
    fields = model._meta.concrete_fields
    values = [f.pre_save(row, True) for f in fields]
    sql = _INSERT_SQL.get((connection.alias, model))
    if sql is None:
        from django.db.models.sql import InsertQuery

        query = InsertQuery(model)
        query.insert_values(fields, [row])
        ((sql, _params),) = query.get_compiler(connection=connection).as_sql()
        _INSERT_SQL[(connection.alias, model)] = sql
    params = [f.get_db_prep_save(v, connection=connection) for f, v in zip(fields, values,
                                                                         strict=True)]
    with connection.cursor() as cursor:
        # Compiled by Django from the model alone (no input in it); values are parameters.
        cursor.execute(sql, params)  # samhand: reviewed-sql
    row._state.adding = False
    row._state.db = connection.alias


def _accept(message: Message, problems: list[Problem], lookups: Lookups,
            now: dt.datetime) -> tuple[Reply, InboundMessage]:
    """Check the parties and apply a new message; the InboundMessage row is returned
    unsaved (the batch inserts them together; rows made by the effects point at it,
    and foreign keys are checked at COMMIT)."""
    receiver, sender = lookups.parties(message)
    if receiver is None and message.primary_receiver() is not None:
        index = next((i for i, use, _d in message.destinations() if use == "primary"), 0)
        problems.append(Problem(fhirmsg.element_path(0, "destination", index, "receiver"),
                                "MSG_Receiver_Identifier_UNKNOWN",
                                "The receiver is not an address of this system.", "not-found"))
    header_id, bundle_id = _ids(message)
    inbound = InboundMessage(
        header_id=header_id, bundle_id=bundle_id,
        event=message.event[:64], activity=message.current_activity()[:64],
        sender=sender, receiver=receiver, content=message.bundle, received_at=now)
    if message.may_hold_unstorable:  # refused by `check` if it does: kept as it can be
        inbound.event, inbound.activity = (fhirmsg.storable(inbound.event),
                                           fhirmsg.storable(inbound.activity))
        problems = [dataclasses.replace(p, path=fhirmsg.storable(p.path),
                                        text=fhirmsg.storable(p.text)) for p in problems]
    if problems:
        inbound.content = _keepable(message)
        inbound.status = InboundMessage.Status.REJECTED
        inbound.problems = [p.as_dict() for p in problems]
        inbound.ack_code = AckCode.FATAL_ERROR
        outcome = Transmission.Outcome.REJECTED
    else:
        assert receiver is not None
        inbound.status = InboundMessage.Status.ACCEPTED
        inbound.ack_code = AckCode.OK
        outcome = Transmission.Outcome.PROCESSED
        apply(message, inbound, receiver, lookups)
    inbound.ack = _ack(message, inbound.ack_code, problems, _us(message, receiver))
    if message.may_hold_unstorable:  # it names the message's MessageHeader.id
        inbound.ack = fhirmsg.storable(inbound.ack)
    return Reply(200, inbound.ack, inbound.ack_code, outcome, message=inbound,
                 problems=problems), inbound


def _keepable(message: Message) -> dict[str, Any]:
    """What a refused message keeps as parsed content: the Bundle, its unstorable text
    replaced, or nothing where it is nested too deeply to be written out again (an
    accepted message never is: FHIR validation refuses far shallower ones). The bytes
    are kept as received either way (Transmission)."""
    try:
        content = fhirmsg.storable(message.bundle) if message.may_hold_unstorable \
            else message.bundle
        json.dumps(content)
    except RecursionError:
        return {}
    return content


def apply(message: Message, inbound: InboundMessage, receiver: Partner,
          lookups: Lookups | None = None) -> None:
    """Derive what the message means and apply its effects (in the caller's transaction)."""
    lookups = lookups or Lookups([message])
    patient = lookups.patient(message)
    if message.event == Event.HOSPITAL_NOTIFICATION:
        from .stays import apply_notification

        if patient is None or not lookups.is_served(patient, receiver):
            inbound.hidden = True  # acknowledged, kept, never shown
        else:
            inbound.patient = patient
            from . import effects

            with effects.known(patient, lookups.take_facts(patient)), \
                    effects.rows_may_wait(lookups.alone(patient)):
                apply_notification(message, inbound, patient, receiver)
    elif message.event == Event.CARE_COMMUNICATION:
        from .threads import apply_care_communication

        inbound.patient = patient
        apply_care_communication(message, inbound, patient, receiver,
                                 new_thread=lookups.new_thread(message))
    elif message.event in codes.PLO_EVENTS:
        from .plo import apply_plo

        inbound.patient = patient
        apply_plo(message, inbound, patient, receiver)
