"""REST endpoints of samhand.messaging, mounted under /api/v1/ by samhand/api/api.py.

    GET /patients/{patient_id}/messages        threads with their messages (newest first)
    GET /patients/{patient_id}/message-log     every message sent or received (newest first)
    GET /patients/{patient_id}/hospital-stays  stays built from hospital notifications

All go through samhand.access.policy (404 without a care relation) and show the same
messages as the message page (samhand.messaging.views.visible_threads; across sectors
only with the patient's consent to share). Filters: `status` (delivery status of sent
messages; accepted/rejected for received ones), `since` and `until` (time).
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Field, Query, Router, Schema

from samhand.access import policy
from samhand.api.schemas import ERRORS

from .fhir_resources import sees_message
from .models import HospitalStay, InboundMessage, OutboundMessage
from .views import visible_threads

router = Router(tags=["messaging"])
CLIENT = "api"


class SegmentOut(Schema):
    id: str
    kind: str
    text: str = ""
    title: str = ""
    author: str = ""
    phone: str = ""
    by: str = ""
    at: str = ""


class MessageOut(Schema):
    header_id: str
    direction: str
    activity: str
    sent_at: dt.datetime
    from_name: str
    to_name: str
    delivery_status: str | None
    segments: list[SegmentOut]


class ThreadOut(Schema):
    id: uuid.UUID
    category: str
    topic: str
    counterpart: str | None
    last_message_at: dt.datetime
    messages: list[MessageOut]


class ThreadFilter(Schema):
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    status: str | None = Field(None, description="pending, sent, delivered, failed")
    limit: int = Field(50, ge=1, le=200)


class StayOut(Schema):
    id: uuid.UUID
    state: str
    last_code: str
    hospital_name: str
    started_at: dt.datetime | None
    ended_at: dt.datetime | None
    leave_started_at: dt.datetime | None
    leave_ended_at: dt.datetime | None


@router.get("/patients/{uuid:patient_id}/messages", response={200: list[ThreadOut], **ERRORS},
            summary="Message threads about a patient")
def list_threads(request: HttpRequest, patient_id: uuid.UUID,
                 filters: Query[ThreadFilter]) -> Any:
    patient, grant = policy.get_patient_for(request, patient_id, code="samhand.message.read",
                                            client=CLIENT, object_type="Communication")
    threads = visible_threads(patient, grant).select_related("counterpart")
    if filters.since is not None:
        threads = threads.filter(last_message_at__gte=filters.since)
    if filters.until is not None:
        threads = threads.filter(last_message_at__lt=filters.until)
    if filters.status:
        threads = threads.filter(messages__outbound__status=filters.status).distinct()
    out = []
    for thread in threads.order_by("-last_message_at")[:filters.limit]:
        out.append({
            "id": thread.pk, "category": thread.category, "topic": thread.topic,
            "counterpart": thread.counterpart.name if thread.counterpart else None,
            "last_message_at": thread.last_message_at,
            "messages": [{
                "header_id": m.header_id, "direction": m.direction, "activity": m.activity,
                "sent_at": m.sent_at, "from_name": m.from_name, "to_name": m.to_name,
                "delivery_status": m.outbound.status if m.outbound else None,
                "segments": [{k: v for k, v in s.items() if k != "data"}
                             for s in m.segments if s.get("new", True)],
            } for m in thread.messages.select_related("outbound")],
        })
    return out


class LogFilter(Schema):
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    status: str | None = Field(None, description="sent: pending, sent, delivered, failed, "
                               "cancelled; received: accepted, rejected")
    direction: str | None = Field(None, pattern="^(in|out)$")
    limit: int = Field(50, ge=1, le=200)


class LogEntryOut(Schema):
    id: uuid.UUID
    direction: str
    header_id: str
    event: str
    activity: str
    status: str
    at: dt.datetime
    counterpart: str | None
    ack_code: str


def _log_entry(row: OutboundMessage | InboundMessage) -> dict[str, Any]:
    out = isinstance(row, OutboundMessage)
    other = row.receiver if out else row.sender
    return {"id": row.pk, "direction": "out" if out else "in", "header_id": row.header_id,
            "event": row.event, "activity": row.activity, "status": row.status,
            "at": row.created_at if isinstance(row, OutboundMessage) else row.received_at,
            "counterpart": other.name if other is not None else None,
            "ack_code": row.ack_code}


@router.get("/patients/{uuid:patient_id}/message-log",
            response={200: list[LogEntryOut], **ERRORS},
            summary="Every message sent or received about a patient")
def message_log(request: HttpRequest, patient_id: uuid.UUID, filters: Query[LogFilter]) -> Any:
    patient, grant = policy.get_patient_for(request, patient_id, code="samhand.message.read",
                                            client=CLIENT, object_type="MessageHeader")
    rows: list[OutboundMessage | InboundMessage] = []
    sources: list[tuple[str, QuerySet[Any], str]] = [
        ("out", OutboundMessage.objects.filter(patient=patient), "created_at"),
        ("in", InboundMessage.objects.filter(patient=patient, hidden=False), "received_at")]
    for direction, qs, field in sources:
        if filters.direction and filters.direction != direction:
            continue
        qs = qs.select_related("sender__organisation", "receiver__organisation").defer(
            "content", "ack")
        if filters.status:
            qs = qs.filter(status=filters.status)
        if filters.since is not None:
            qs = qs.filter(**{f"{field}__gte": filters.since})
        if filters.until is not None:
            qs = qs.filter(**{f"{field}__lt": filters.until})
        rows.extend(r for r in qs.order_by(f"-{field}")[:filters.limit]
                    if sees_message(patient, grant, [r.sender, r.receiver]))
    entries = sorted((_log_entry(r) for r in rows), key=lambda e: e["at"], reverse=True)
    return entries[:filters.limit]


@router.get("/patients/{uuid:patient_id}/hospital-stays",
            response={200: list[StayOut], **ERRORS},
            summary="Hospital stays from hospital notifications")
def list_stays(request: HttpRequest, patient_id: uuid.UUID) -> Any:
    patient, _grant = policy.get_patient_for(request, patient_id, code="samhand.message.read",
                                             client=CLIENT, object_type="Encounter")
    return list(HospitalStay.objects.filter(patient=patient).order_by("-state_at")[:50])
