"""Writing and verifying the audit chain.

`record()` must be called inside the same transaction as the write it describes, and
before the response for reads; if it fails, the request fails (security.md #26).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone

from samhand.lib.middleware import correlation_id_var

from .models import AuditEvent, ChainHead, ReviewItem

GENESIS = "0" * 64

# Fields covered by the hash, in a fixed order. Adding a field means a new chain
# version: append it here and never reorder.
HASHED_FIELDS = (
    "seq", "uuid", "recorded_at", "code", "action", "outcome", "user_id", "user_name",
    "user_sub", "user_hpr", "user_role", "organisation_id", "organisation_name",
    "organisation_number", "on_behalf_of", "patient_id", "object_type", "object_ids", "query",
    "client", "source_ip", "correlation_id", "basis", "basis_id", "reason_code", "reason_text",
    "blocked_data",
)


@dataclass
class Actor:
    """Who does something, from where. Built once per request by the access layer."""

    user: Any = None
    role: str = ""
    organisation: Any = None
    on_behalf_of: str = ""
    client: str = "web"
    source_ip: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _canonical(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat(timespec="microseconds")
    if value is None:
        return ""
    return str(value) if not isinstance(value, list | bool | int) else value


def compute_hash(prev_hash: str, event: AuditEvent) -> str:
    payload = {name: _canonical(getattr(event, name)) for name in HASHED_FIELDS}
    body = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256((prev_hash + body).encode()).hexdigest()


def record(
    actor: Actor | None,
    code: str,
    action: str,
    *,
    patient_id: Any = None,
    object_type: str = "",
    object_ids: list[Any] | None = None,
    query: str = "",
    outcome: str = AuditEvent.Outcome.SUCCESS,
    basis: str = AuditEvent.Basis.NONE,
    basis_id: Any = "",
    reason_code: str = "",
    reason_text: str = "",
    blocked_data: bool = False,
    organisation: Any = None,
) -> AuditEvent:
    """Append one audit row to the chain. Raises if it cannot: never swallow this."""
    actor = actor or Actor(client="system")
    user = actor.user if actor.user is not None and actor.user.is_authenticated else None
    org = organisation if organisation is not None else actor.organisation
    with transaction.atomic():
        head, _created = ChainHead.objects.select_for_update().get_or_create(pk=1)
        event = AuditEvent(
            seq=head.seq + 1,
            recorded_at=timezone.now(),
            code=code,
            action=action,
            outcome=outcome,
            user_id=user.pk if user else None,
            user_name=(user.get_full_name() or user.username) if user else "",
            user_sub=(user.oidc_subject or user.username) if user else "",
            user_hpr=user.hpr_number if user else "",
            user_role=actor.role,
            organisation_id=org.pk if org else None,
            organisation_name=org.name if org else "",
            organisation_number=(org.org_number or org.her_id or org.sor_id) if org else "",
            on_behalf_of=actor.on_behalf_of,
            patient_id=patient_id,
            object_type=object_type,
            object_ids=[str(i) for i in (object_ids or [])],
            query=query[:200],
            client=actor.client,
            source_ip=actor.source_ip,
            correlation_id=correlation_id_var.get() if correlation_id_var.get() != "-" else "",
            basis=basis,
            basis_id=str(basis_id or ""),
            reason_code=reason_code,
            reason_text=reason_text,
            blocked_data=blocked_data,
            prev_hash=head.hash,
        )
        event.hash = compute_hash(head.hash, event)
        event.save(force_insert=True)
        head.seq = event.seq
        head.hash = event.hash
        head.save(update_fields=["seq", "hash"])
    return event


def queue_for_review(event: AuditEvent, kind: str) -> ReviewItem:
    return ReviewItem.objects.create(kind=kind, audit_event=event, patient_id=event.patient_id)


@dataclass
class VerifyResult:
    ok: bool
    checked: int
    first_bad_seq: int | None = None
    problem: str = ""


def verify_chain(batch_size: int = 5000) -> VerifyResult:
    """Walk the chain in seq order; report the first altered, inserted or missing row."""
    prev_hash = GENESIS
    expected_seq = 1
    checked = 0
    last_seq = 0
    qs = AuditEvent.objects.order_by("seq")
    while True:
        batch = list(qs.filter(seq__gt=last_seq)[:batch_size])
        if not batch:
            break
        for event in batch:
            if event.seq != expected_seq:
                return VerifyResult(False, checked, expected_seq,
                                    f"row {expected_seq} is missing")
            if event.prev_hash != prev_hash:
                return VerifyResult(False, checked, event.seq,
                                    f"row {event.seq} does not follow row {event.seq - 1}")
            if compute_hash(prev_hash, event) != event.hash:
                return VerifyResult(False, checked, event.seq,
                                    f"row {event.seq} was altered")
            prev_hash = event.hash
            expected_seq += 1
            checked += 1
            last_seq = event.seq
    head = ChainHead.objects.filter(pk=1).first()
    if head is not None and head.seq != last_seq:
        missing = last_seq + 1
        return VerifyResult(False, checked, missing,
                            f"rows after {last_seq} are missing (head is at {head.seq})")
    return VerifyResult(True, checked)
