"""REST endpoints of samhand.messaging, mounted under /api/v1/ by samhand/api/api.py.

    GET /patients/{patient_id}/messages        threads with their messages (newest first)
    GET /patients/{patient_id}/hospital-stays  stays built from hospital notifications

Both go through samhand.access.policy (404 without a care relation) and show the same
threads as the message page (samhand.messaging.views.visible_threads). Filters:
`status` (delivery status of sent messages) and `since` (time of the last message).
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema

from samhand.access import policy
from samhand.api.schemas import ERRORS

from .models import HospitalStay
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


@router.get("/patients/{uuid:patient_id}/hospital-stays",
            response={200: list[StayOut], **ERRORS},
            summary="Hospital stays from hospital notifications")
def list_stays(request: HttpRequest, patient_id: uuid.UUID) -> Any:
    patient, _grant = policy.get_patient_for(request, patient_id, code="samhand.message.read",
                                             client=CLIENT, object_type="Encounter")
    return list(HospitalStay.objects.filter(patient=patient).order_by("-state_at")[:50])
