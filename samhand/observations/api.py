"""REST endpoints of samhand.observations, mounted under /api/v1/ by samhand/api/api.py.

    POST /patients/{patient_id}/observations   one set (finished, or a draft)
    GET  /patients/{patient_id}/observations   the latest sets, newest first
    POST /observations/batch                   up to 1,000 finished sets, any of my patients

Everything goes through samhand.access.policy; a refused answer refuses the whole
request (422 with every problem named); nothing is half-stored.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from django.db import transaction
from django.http import Http404, HttpRequest, JsonResponse
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status

from samhand.access import policy
from samhand.api.errors import json_error
from samhand.api.schemas import ERRORS, ErrorDetail
from samhand.audit.models import AuditEvent
from samhand.audit.services import chained_at_end
from samhand.lib.errors import DomainError
from samhand.orgs.models import Organisation
from samhand.patients.models import CareTeamMember

from . import services
from .access import visible_sets_q
from .models import ObservationSet

router = Router(tags=["observations"])
CLIENT = "api"
MAX_BATCH = 1000


class ObservationIn(Schema):
    form: str = Field(..., max_length=50, description="Form key, e.g. vital_signs.")
    answers: dict[str, Any] = Field(..., description="Question key → answer.")
    taken_at: dt.datetime | None = None
    confirmed: list[str] = Field(default_factory=list, max_length=20,
                                 description="Unusual values confirmed after measuring again.")
    final: bool = True


class BatchItemIn(ObservationIn):
    patient_id: uuid.UUID


class BatchIn(Schema):
    items: list[BatchItemIn] = Field(..., min_length=1, max_length=MAX_BATCH)


class News2Out(Schema):
    total: int | None
    risk: str
    scale: int
    subscores: dict[str, int | None]
    missing: list[str]


class ObservationOut(Schema):
    id: uuid.UUID
    patient_id: uuid.UUID
    form: str
    form_version: int
    status: str
    taken_at: dt.datetime
    answers: dict[str, Any]
    news2: News2Out | None


class ObservationPage(Schema):
    count: int
    limit: int
    offset: int
    items: list[ObservationOut]


class BatchOut(Schema):
    count: int
    ids: list[uuid.UUID]


class ListFilter(Schema):
    limit: int = Field(10, ge=1, le=200)
    offset: int = Field(0, ge=0, le=1_000_000)
    form: str = Field("", max_length=50)


def _out(obs: ObservationSet) -> dict[str, Any]:
    news = None
    if obs.news2_subscores or obs.news2_total is not None:
        news = {"total": obs.news2_total, "risk": obs.news2_risk, "scale": obs.spo2_scale,
                "subscores": obs.news2_subscores, "missing": obs.news2_missing}
    return {"id": obs.pk, "patient_id": obs.patient_id, "form": obs.form_key,
            "form_version": obs.form_version, "status": obs.status, "taken_at": obs.taken_at,
            "answers": obs.answers, "news2": news}


class RejectedDetail(ErrorDetail):
    problems: dict[str, str] = Field(default_factory=dict,
                                     description="Every answer that does not fit: question "
                                     "key (or [item].key in a batch) → message.")
    needs_confirmation: list[str] = Field(
        default_factory=list, description="Unusual values to confirm (send them in "
        "`confirmed` after measuring again).")


class RejectedOut(Schema):
    error: RejectedDetail


RESPONSES = {**ERRORS, 422: RejectedOut}


def _rejected(exc: services.ObservationRejected) -> JsonResponse:
    return json_error(422, exc.code, exc.message, exc.field, problems=exc.problems,
                      needs_confirmation=exc.needs_confirmation)


@router.post("/patients/{uuid:patient_id}/observations",
             response={201: ObservationOut, **RESPONSES},
             summary="Record one observation set")
def create_observation(request: HttpRequest, patient_id: uuid.UUID,
                       payload: ObservationIn) -> Any:
    """A finished set is scored (NEWS2 when the form carries it) and the patient's
    escalation rules are evaluated; `final: false` saves a draft."""
    # The access row and the write's rows are one transaction and join the audit chain
    # together at its end: one chain lock and one durable COMMIT a request instead of
    # two (writers from several connections queue on that lock). A refusal (404, 403,
    # 422) still commits its audit row before it is answered.
    refused: Exception | None = None
    with transaction.atomic(), chained_at_end():
        try:
            patient, grant = policy.get_patient_for(
                request, patient_id, code="samhand.observation.read",
                action=AuditEvent.Action.UPDATE, client=CLIENT, object_type="Observation")
            obs = services.save_observation(
                policy.actor_for(request, CLIENT), patient, grant, form_key=payload.form,
                answers=payload.answers, final=payload.final, taken_at=payload.taken_at,
                confirmed=payload.confirmed, source=ObservationSet.Source.API)
        except (Http404, DomainError) as exc:
            refused = exc
    if isinstance(refused, services.ObservationRejected):
        return _rejected(refused)
    if refused is not None:
        raise refused
    return Status(201, _out(obs))


@router.get("/patients/{uuid:patient_id}/observations",
            response={200: ObservationPage, **ERRORS},
            summary="Latest observation sets of a patient")
def list_observations(request: HttpRequest, patient_id: uuid.UUID,
                      filters: Query[ListFilter]) -> Any:
    patient, grant = policy.get_patient_for(request, patient_id,
                                            code="samhand.observation.read", client=CLIENT,
                                            object_type="Observation")
    qs = ObservationSet.objects.filter(patient=patient).filter(
        visible_sets_q(patient, grant)).exclude(
        status=ObservationSet.Status.ENTERED_IN_ERROR)
    if filters.form:
        qs = qs.filter(form_key=filters.form)
    rows = list(qs.order_by("-taken_at")[filters.offset:filters.offset + filters.limit])
    count = qs.count() if len(rows) == filters.limit or filters.offset else len(rows)
    return {"count": count, "limit": filters.limit, "offset": filters.offset,
            "items": [_out(o) for o in rows]}


@router.post("/observations/batch", response={201: BatchOut, **RESPONSES},
             summary="Record up to 1,000 finished sets")
def create_batch(request: HttpRequest, payload: BatchIn) -> Any:
    """Finished sets for any of your patients (a care relation; emergency access and
    delegations do not cover batches). An unknown or foreign patient refuses the whole
    batch with 404, exactly like an id that does not exist."""
    user = request.user
    actor = policy.actor_for(request, CLIENT)
    ids = {item.patient_id for item in payload.items}
    patients = {p.pk: p for p in policy.visible_patients(user).filter(pk__in=ids)}
    if len(patients) != len(ids):
        policy.audit_list(request, "samhand.observation.list", list(patients.values()),
                          client=CLIENT, object_type="Observation")
        raise Http404
    org_ids = policy.user_org_ids(user)
    # The care relation behind each patient's grant: ids only, and each of my units
    # loaded once (1,000 patients of one unit are 1,000 rows but one organisation).
    relations: dict[Any, tuple[Any, Any]] = {}
    for pid, rel_id, org_id in (CareTeamMember.objects.active()
                                .filter(patient_id__in=ids, organisation_id__in=org_ids)
                                .order_by("period_start")
                                .values_list("patient_id", "pk", "organisation_id")):
        relations.setdefault(pid, (rel_id, org_id))
    orgs = Organisation.objects.in_bulk({org_id for _rel, org_id in relations.values()})
    grants = {pid: policy.Grant(AuditEvent.Basis.CARE_RELATION, str(rel_id), orgs[org_id])
              for pid, (rel_id, org_id) in relations.items()}
    if any(not item.final for item in payload.items):
        return _rejected(services.ObservationRejected(
            {"final": _("A batch holds finished sets only.")}))
    items = [services.BatchItem(patients[i.patient_id], grants[i.patient_id], i.form,
                                i.answers, i.taken_at, i.confirmed) for i in payload.items]
    try:
        sets = services.ingest_batch(actor, items)
    except services.ObservationRejected as exc:
        return _rejected(exc)
    return Status(201, {"count": len(sets), "ids": [o.pk for o in sets]})
