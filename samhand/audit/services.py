"""Writing and verifying the audit chain.

`record()` must be called inside the same transaction as the write it describes, and
before the response for reads; if it fails, the request fails (security.md #26). It
never swallows an error, and nothing in samhand may catch and ignore one from it.

The chain: rows get `seq` 1, 2, 3 … with no gaps, assigned while the single
`ChainHead` row is locked (`SELECT … FOR UPDATE` on PostgreSQL; SQLite serialises
writers with IMMEDIATE transactions). Each row's `hash` is SHA-256 over the previous
row's hash and a canonical JSON of the row's own fields (`HASHED_FIELDS`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import json
import re
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from samhand.lib.middleware import correlation_id_var

from .models import GENESIS_HASH, AuditEvent, ChainHead, ReviewItem

GENESIS = GENESIS_HASH

# Namespaced action codes: samhand.<object>.<verb>[.<detail>] (style.md §8).
CODE_PATTERN = re.compile(r"^samhand(\.[a-z0-9_]+){2,}$")

# Format version of the hashed payload; part of every hash.
CHAIN_VERSION = 1

# Fields covered by the hash, in a fixed order. Every model field is either here or
# in NOT_HASHED (a test checks this). Changing the list means a new CHAIN_VERSION.
HASHED_FIELDS = (
    "seq", "uuid", "recorded_at", "code", "action", "outcome",
    "user_id", "user_name", "user_sub", "user_hpr", "user_role", "user_profession",
    "organisation_id", "organisation_name", "organisation_number", "organisation_her_id",
    "on_behalf_of", "patient_id", "object_type", "object_ids", "query",
    "recipient_id", "recipient_name", "client", "client_id", "source_ip", "network",
    "correlation_id", "token_jti", "basis", "basis_id", "reason_code", "reason_text",
    "blocked_data",
)
# `prev_hash` is covered by chaining: it is the input the hash is computed over.
NOT_HASHED = ("id", "prev_hash", "hash")

MAX_OBJECT_ID_LENGTH = 100


@dataclass
class Actor:
    """Who does something, from where. Built once per request by the access layer."""

    user: Any = None
    role: str = ""
    organisation: Any = None
    on_behalf_of: str = ""
    client: str = "web"
    source_ip: str | None = None
    client_id: str = ""  # OAuth client (API, FHIR)
    network: str = ""  # helsenett / internett, from the identity provider
    token_jti: str = ""  # the access token's jti, when a token authorised the call
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Entry:
    """One audit row to be written; `record_many` writes several under one lock."""

    code: str
    action: str
    patient_id: Any = None
    object_type: str = ""
    object_ids: Sequence[Any] = ()
    query: str = ""
    outcome: str = AuditEvent.Outcome.SUCCESS
    basis: str = AuditEvent.Basis.NONE
    basis_id: Any = ""
    reason_code: str = ""
    reason_text: str = ""
    blocked_data: bool = False
    organisation: Any = None  # overrides the actor's organisation (e.g. the grant's)
    recipient: Any = None  # disclosure: the receiving organisation (pk and name)


# --------------------------------------------------------------------------- hashing

def _canonical(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat(timespec="microseconds")
    if isinstance(value, list | tuple):
        return [str(item) for item in value]
    return str(value)  # UUID


def compute_hash(prev_hash: str, event: AuditEvent) -> str:
    payload: dict[str, Any] = {name: _canonical(getattr(event, name))
                               for name in HASHED_FIELDS}
    payload["_v"] = CHAIN_VERSION
    body = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256((prev_hash + body).encode()).hexdigest()


# --------------------------------------------------------------------------- writing

def _uuid_or_none(value: Any) -> uuid.UUID | None:
    if value is None or value == "":
        return None
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


def _ip_or_none(value: str | None) -> str | None:
    """The address as the database will give it back (so the hash still matches)."""
    if not value:
        return None
    try:
        return str(ipaddress.ip_address(value.split("%", 1)[0].strip()))
    except ValueError:
        return None


_CHAR_LIMITS: dict[str, int] = {}


def _char_limits() -> dict[str, int]:
    if not _CHAR_LIMITS:
        for f in AuditEvent._meta.concrete_fields:
            if isinstance(f, models.CharField) and f.max_length:
                _CHAR_LIMITS[f.attname] = f.max_length
    return _CHAR_LIMITS


def _truncated(values: dict[str, Any]) -> dict[str, Any]:
    """Store exactly what PostgreSQL would accept, so the hash covers what is stored."""
    for attname, limit in _char_limits().items():
        value = values.get(attname)
        if isinstance(value, str) and len(value) > limit:
            values[attname] = value[:limit]
    return values


_VALID_CODES: set[str] = set()
# (code, action, outcome, basis) already checked: a list of 1,000 rows checks once.
_VALID_KINDS: set[tuple[str, str, str, str]] = set()


def _check(entry: Entry) -> None:
    kind = (entry.code, entry.action, entry.outcome, entry.basis)
    if kind in _VALID_KINDS:
        return
    if entry.code not in _VALID_CODES:
        if not CODE_PATTERN.match(entry.code):
            raise ValueError(
                f"audit code must look like samhand.<object>.<verb>: {entry.code!r}")
        _VALID_CODES.add(entry.code)
    if entry.action not in AuditEvent.Action.values:
        raise ValueError(f"unknown audit action {entry.action!r}")
    if entry.outcome not in AuditEvent.Outcome.values:
        raise ValueError(f"unknown audit outcome {entry.outcome!r}")
    if entry.basis not in AuditEvent.Basis.values:
        raise ValueError(f"unknown audit basis {entry.basis!r}")
    _VALID_KINDS.add(kind)


class _Rows:
    """Builds the rows of one `record_many` call. Who, from where and when are the
    same for every row, so they are worked out once; a list of 25 patients costs 25
    small dicts, not 25 full snapshots."""

    def __init__(self, actor: Actor, now: dt.datetime) -> None:
        user = actor.user if actor.user is not None and actor.user.is_authenticated else None
        self.common: dict[str, Any] = _truncated({
            "recorded_at": now,
            "user_id": user.pk if user else None,
            "user_name": (user.get_full_name() or user.get_username()) if user else "",
            "user_sub": (getattr(user, "oidc_subject", "") or user.get_username())
            if user else "",
            "user_hpr": getattr(user, "hpr_number", "") if user else "",
            "user_role": actor.role or "",
            "user_profession": getattr(user, "profession", "") if user else "",
            "on_behalf_of": actor.on_behalf_of or "",
            "client": actor.client or "",
            "client_id": actor.client_id or "",
            "source_ip": _ip_or_none(actor.source_ip),
            "network": actor.network or "",
            "correlation_id": correlation_id_var.get() if correlation_id_var.get() != "-" else "",
            "token_jti": actor.token_jti or "",
        })
        self.actor = actor
        self._orgs: dict[int, dict[str, Any]] = {}

    def _organisation(self, org: Any) -> dict[str, Any]:
        key = id(org)
        fields = self._orgs.get(key)
        if fields is None:
            fields = self._orgs[key] = _truncated({
                "organisation_id": _uuid_or_none(org.pk) if org is not None else None,
                "organisation_name": org.name if org is not None else "",
                "organisation_number": getattr(org, "org_number", "") if org is not None else "",
                "organisation_her_id": getattr(org, "her_id", "") if org is not None else "",
            })
        return fields

    def values(self, entry: Entry, seq: int) -> dict[str, Any]:
        """Every column of the row except id, prev_hash and hash."""
        org = entry.organisation if entry.organisation is not None else self.actor.organisation
        recipient = entry.recipient
        values = {
            "seq": seq,
            "uuid": uuid.uuid4(),
            "code": entry.code,
            "action": entry.action,
            "outcome": entry.outcome,
            "patient_id": _uuid_or_none(entry.patient_id),
            "object_type": entry.object_type,
            "object_ids": [str(i)[:MAX_OBJECT_ID_LENGTH] for i in entry.object_ids or ()],
            "query": entry.query or "",
            "recipient_id": _uuid_or_none(recipient.pk) if recipient is not None else None,
            "recipient_name": str(getattr(recipient, "name", "")) if recipient is not None
            else "",
            "basis": entry.basis,
            "basis_id": str(entry.basis_id or ""),
            "reason_code": entry.reason_code or "",
            "reason_text": entry.reason_text or "",
            "blocked_data": bool(entry.blocked_data),
        }
        _truncated(values)
        values.update(self.common)
        values.update(self._organisation(org))
        return values


def _build(actor: Actor, entry: Entry, seq: int, now: dt.datetime) -> AuditEvent:
    _check(entry)
    return AuditEvent(**_Rows(actor, now).values(entry, seq))


def _append(events: list[AuditEvent], *, savepoint: bool = True) -> None:
    """Give the built rows their place in the chain and write them: lock the head,
    number and hash them, one INSERT, move the head. Holds the lock until COMMIT.
    `savepoint=False` where a failure must fail the caller's whole transaction anyway
    (the end of `chained_at_end`): two statements less."""
    with transaction.atomic(savepoint=savepoint):
        seq, prev_hash = _lock_head()
        for offset, event in enumerate(events, start=1):
            event.seq = seq + offset
            event.prev_hash = prev_hash
            event.hash = compute_hash(prev_hash, event)
            prev_hash = event.hash
        _insert(events)
        with transaction.get_connection().cursor() as cursor:
            cursor.execute(_MOVE_HEAD, [events[-1].seq, events[-1].hash])


# The head's two statements are written out: every audited request runs them, and the
# ORM's compiling of them cost more CPU than the statements (bench/observations_bench.py).
_LOCK_HEAD = "SELECT seq, hash FROM audit_chainhead WHERE id = 1 FOR UPDATE"
_READ_HEAD = "SELECT seq, hash FROM audit_chainhead WHERE id = 1"  # SQLite locks the file
_MOVE_HEAD = "UPDATE audit_chainhead SET seq = %s, hash = %s WHERE id = 1"


def _lock_head() -> tuple[int, str]:
    """The head's seq and hash, locked until COMMIT (created on first use)."""
    db = transaction.get_connection()
    with db.cursor() as cursor:
        if db.features.has_select_for_update:
            cursor.execute(_LOCK_HEAD)
        else:
            cursor.execute(_READ_HEAD)
        row = cursor.fetchone()
    if row is None:
        head, _created = ChainHead.objects.select_for_update().get_or_create(pk=1)
        return head.seq, head.hash
    return int(row[0]), str(row[1])


# From this many rows on, PostgreSQL gets them through COPY (a batch of observations
# for 1,000 patients writes 1,000 rows); fewer go through bulk_create.
COPY_FROM_ROWS = 100
_COPY_COLUMNS: list[str] = []


def _insert(events: list[AuditEvent]) -> None:
    """The rows as built (hashes included), then their ids. COPY stores the same values
    that bulk_create would; the chain trigger checks every row either way."""
    db = transaction.get_connection()
    if db.vendor != "postgresql" or len(events) < COPY_FROM_ROWS:
        AuditEvent.objects.bulk_create(events)
        return
    from psycopg import sql

    if not _COPY_COLUMNS:
        _COPY_COLUMNS.extend(f.attname for f in AuditEvent._meta.concrete_fields
                             if not f.primary_key)
    columns = _COPY_COLUMNS
    ids_at = columns.index("object_ids")
    table = AuditEvent._meta.db_table
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns)))
    with db.cursor() as cursor, cursor.cursor.copy(statement) as out:
        for event in events:
            row = [getattr(event, name) for name in columns]
            row[ids_at] = json.dumps(event.object_ids)
            out.write_row(row)
    ids = (AuditEvent.objects.filter(seq__range=(events[0].seq, events[-1].seq))
           .order_by("seq").values_list("pk", flat=True))
    for event, pk in zip(events, ids, strict=True):
        event.pk = pk
        event._state.adding = False
        event._state.db = db.alias


@dataclass
class _Pending:
    """Rows recorded inside `chained_at_end()`, waiting for the end of the block."""

    events: list[tuple[AuditEvent, Any]] = field(default_factory=list)


def _pending() -> _Pending | None:
    connection = transaction.get_connection()
    pending = getattr(connection, "_samhand_audit_pending", None)
    return pending if connection.in_atomic_block else None


@contextmanager
def chained_at_end() -> Iterator[None]:
    """Inside a transaction: rows recorded in this block are built at once (and their
    codes checked) but joined to the chain only when the block ends, still inside the
    transaction — so the chain lock is held from the end of the block to COMMIT instead
    of from the first row (a batch of received messages takes it once).

    A row recorded inside a savepoint that is rolled back is dropped with it (each row
    carries a no-op `on_commit` marker, which Django removes on savepoint rollback).
    The rows returned by `record()` get their seq, hash and pk at the end of the block.
    Nested use joins the outer block. If the block raises, nothing is written (the
    caller's transaction is rolled back anyway)."""
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        raise RuntimeError("chained_at_end() must run inside a transaction")
    if getattr(connection, "_samhand_audit_pending", None) is not None:
        yield
        return
    pending = _Pending()
    connection._samhand_audit_pending = pending
    try:
        yield
    finally:
        connection._samhand_audit_pending = None
    live = {id(func) for _sids, func, _robust in connection.run_on_commit}
    events = [event for event, marker in pending.events if id(marker) in live]
    if events:
        now = timezone.now()
        for event in events:
            event.recorded_at = now
        _append(events, savepoint=False)


def record_many(actor: Actor | None, entries: Sequence[Entry]) -> list[AuditEvent]:
    """Append several rows under one lock: three queries whatever their number (lists
    and searches write one row per patient returned, BALP PatientQuery). Inside
    `chained_at_end()` the rows are only built here and written at the block's end."""
    if not entries:
        return []
    actor = actor or Actor(client="system")
    for entry in entries:
        _check(entry)
    rows = _Rows(actor, timezone.now())
    events = [AuditEvent(**rows.values(entry, 0)) for entry in entries]
    pending = _pending()
    if pending is not None:
        def marker() -> None:  # dropped by Django if its savepoint is rolled back
            pass

        transaction.on_commit(marker)
        pending.events.extend((event, marker) for event in events)
        return events
    _append(events)
    return events


def record(
    actor: Actor | None,
    code: str,
    action: str,
    *,
    patient_id: Any = None,
    object_type: str = "",
    object_ids: Iterable[Any] | None = None,
    query: str = "",
    outcome: str = AuditEvent.Outcome.SUCCESS,
    basis: str = AuditEvent.Basis.NONE,
    basis_id: Any = "",
    reason_code: str = "",
    reason_text: str = "",
    blocked_data: bool = False,
    organisation: Any = None,
    recipient: Any = None,
) -> AuditEvent:
    """Append one audit row to the chain. Raises if it cannot: never swallow this."""
    entry = Entry(code=code, action=action, patient_id=patient_id, object_type=object_type,
                  object_ids=list(object_ids or ()), query=query, outcome=outcome,
                  basis=basis, basis_id=basis_id, reason_code=reason_code,
                  reason_text=reason_text, blocked_data=blocked_data,
                  organisation=organisation, recipient=recipient)
    return record_many(actor, [entry])[0]


def queue_for_review(event: AuditEvent, kind: str) -> ReviewItem:
    """Put an audited event on the security officer's review queue (once per kind)."""
    item, _created = ReviewItem.objects.get_or_create(
        audit_event=event, kind=kind,
        defaults={"patient_id": event.patient_id, "organisation_id": event.organisation_id})
    return item


# --------------------------------------------------------------------------- verifying

@dataclass
class VerifyResult:
    ok: bool
    checked: int
    first_bad_seq: int | None = None
    problem: str = ""
    head_seq: int = 0
    head_hash: str = GENESIS


def parse_anchor(text: str) -> tuple[int, str]:
    """`SEQ:HASH` as printed by `samhand audit verify`, noted down outside the database."""
    seq_text, _sep, hash_text = text.partition(":")
    if not seq_text.isdigit() or not re.fullmatch(r"[0-9a-f]{64}", hash_text):
        raise ValueError(_("An anchor looks like 1234:<64 hex digits>."))
    return int(seq_text), hash_text


def verify_chain(batch_size: int = 5000,
                 anchor: tuple[int, str] | None = None) -> VerifyResult:
    """Walk the chain in seq order; report the first altered, inserted or missing row.

    Without an anchor, someone who can rewrite the table *and* recompute every later
    hash is not caught; an anchor (a `seq:hash` noted elsewhere earlier) closes that.
    """
    prev_hash = GENESIS
    expected_seq = 1
    checked = 0
    last_seq = 0
    anchor_seen = anchor is None

    def fail(seq: int, problem: str) -> VerifyResult:
        return VerifyResult(False, checked, seq, problem)

    qs = AuditEvent.objects.order_by("seq")
    while True:
        batch = list(qs.filter(seq__gt=last_seq)[:batch_size])
        if not batch:
            break
        for event in batch:
            if event.seq != expected_seq:
                return fail(expected_seq, _("row %(seq)s is missing") % {"seq": expected_seq})
            if event.prev_hash != prev_hash:
                return fail(event.seq, _(
                    "row %(seq)s does not link to row %(prev)s: one of them was altered or "
                    "replaced") % {"seq": event.seq, "prev": event.seq - 1})
            if compute_hash(prev_hash, event) != event.hash:
                return fail(event.seq, _("row %(seq)s was altered: its content does not "
                                         "match its hash") % {"seq": event.seq})
            if anchor is not None and event.seq == anchor[0]:
                if event.hash != anchor[1]:
                    return fail(event.seq, _("row %(seq)s does not match the anchor: the "
                                             "chain was rewritten up to here")
                                % {"seq": event.seq})
                anchor_seen = True
            prev_hash = event.hash
            expected_seq += 1
            checked += 1
            last_seq = event.seq
    head = ChainHead.objects.filter(pk=1).first()
    if head is None:
        if checked:
            return fail(last_seq, _("the chain head is missing but %(count)s rows exist")
                        % {"count": checked})
    elif head.seq > last_seq:
        return fail(last_seq + 1, _("row %(seq)s is missing: rows after %(last)s were "
                                    "removed (the chain head is at %(head)s)")
                    % {"seq": last_seq + 1, "last": last_seq, "head": head.seq})
    elif head.seq < last_seq:
        return fail(head.seq + 1, _("row %(seq)s was added behind the chain head")
                    % {"seq": head.seq + 1})
    elif head.hash != prev_hash:
        return fail(last_seq, _("the chain head does not match row %(seq)s")
                    % {"seq": last_seq})
    if not anchor_seen:
        assert anchor is not None
        return fail(anchor[0], _("row %(seq)s from the anchor is missing")
                    % {"seq": anchor[0]})
    return VerifyResult(True, checked, head_seq=last_seq, head_hash=prev_hash)
