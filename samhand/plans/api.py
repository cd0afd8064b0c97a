"""REST endpoints of samhand.plans, mounted under /api/v1/ by samhand/api/api.py.

    GET  /patients/{patient_id}/plans                              every plan's latest version
    POST /patients/{patient_id}/individual-plan/versions           a new IP version
    POST /patients/{patient_id}/treatment-plan/versions            a new treatment plan version
    POST /patients/{patient_id}/treatment-plan/signatures          sign the version read
    POST /patients/{patient_id}/action-plan/versions               a new action plan version
    POST /patients/{patient_id}/action-plan/approvals              approve the version read
    POST /patients/{patient_id}/meetings/{meeting_id}/signatures   sign the agreement read
    GET  /patients/{patient_id}/documents                          binder versions and documents
    POST /patients/{patient_id}/documents/binder                   make the binder if out of date
    GET  /patients/{patient_id}/documents/{document_id}/pdf        the PDF (audited download)

Thin: the patient comes from `policy.get_patient_for(..., client="api")` (404 and an
audit row for what the caller may not see), objects are looked up within that patient,
and every change goes through the plans' services (DomainError → the API's error JSON).
Plan content is the same JSON the pages store (samhand/plans/schema.py).
"""

from __future__ import annotations

import uuid
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from ninja import Router, Schema, Status
from pydantic import ConfigDict, Field

from samhand.access import policy
from samhand.access.policy import Grant
from samhand.api.schemas import ERRORS
from samhand.patients.models import Delegation, Patient

from . import binder, meetings, services
from .models import (
    ActionPlan,
    ActionPlanVersion,
    Document,
    IndividualPlanVersion,
    Meeting,
    TreatmentPlan,
    TreatmentPlanVersion,
)

router = Router(tags=["plans"])
CLIENT = "api"


class Input(Schema):
    model_config = ConfigDict(extra="forbid")


class VersionIn(Input):
    content: dict[str, Any] = Field(description="The whole content of the new version "
                                                "(the shape of samhand/plans/schema.py).")
    note: str = Field("", max_length=300, description="What changed.")
    based_on: int | None = Field(None, ge=0, description="The version the change starts "
                                                         "from; refused (409) if not the "
                                                         "latest.")


class SeenIn(Input):
    number: int = Field(ge=1, description="The version read.")
    seen_hash: str = Field(max_length=64, description="Its content_hash, as read.")


class AgreementSeenIn(Input):
    seen_hash: str = Field(max_length=64, description="The agreement_hash, as read.")


class VersionOut(Schema):
    number: int
    content_hash: str
    created_at: Any
    created_by: str
    organisation: str
    note: str
    content: dict[str, Any]


class DocumentOut(Schema):
    id: uuid.UUID
    kind: str
    number: int
    code: str
    pages: int
    size: int
    created_at: Any
    reason: str
    meeting_id: uuid.UUID | None = None


def _open(request: HttpRequest, patient_id: uuid.UUID, code: str, object_type: str = "CarePlan",
          scope: str | None = None) -> tuple[Patient, Grant]:
    return policy.get_patient_for(request, patient_id, code=code, object_type=object_type,
                                  client=CLIENT, scope=scope)


def _actor(request: HttpRequest) -> Any:
    return policy.actor_for(request, CLIENT)


def _version(version: Any) -> dict[str, Any] | None:
    if version is None:
        return None
    return {"number": version.number, "content_hash": version.content_hash,
            "created_at": version.created_at,
            "created_by": version.created_by.get_full_name() or version.created_by.username,
            "organisation": version.created_by_organisation.name, "note": version.note,
            "content": version.content}


def _visible(patient: Patient, grant: Grant, version: Any) -> bool:
    """The access layer's sharing rule for the version's recording unit."""
    return version is None or policy.sees_health_info(
        grant, patient, version.created_by_organisation)


def _document(document: Document) -> dict[str, Any]:
    return {"id": document.pk, "kind": document.kind, "number": document.number,
            "code": document.code, "pages": document.pages, "size": document.size,
            "created_at": document.created_at, "reason": document.reason,
            "meeting_id": document.meeting_id}


@router.get("/patients/{uuid:patient_id}/plans", response={200: dict[str, Any], **ERRORS},
            summary="The patient's plans: latest versions, signature, approval, binder",
            url_name="plans_get")
def get_plans(request: HttpRequest, patient_id: uuid.UUID) -> Any:
    """Relatives with the `plans` scope get the individual plan only. Plans written in
    the other sector are left out (`hidden`) while the patient's consent to share health
    information is not active."""
    from samhand.audit.models import AuditEvent

    patient, grant = _open(request, patient_id, "samhand.plans.read",
                           scope=Delegation.Scope.PLANS)
    ip = services.active_individual_plan(patient)
    ip_version = ip.latest() if ip else None
    out: dict[str, Any] = {
        "individual_plan": None if ip is None else {
            "id": ip.pk, "coordinator_organisation": ip.coordinator_organisation.name,
            "latest": _version(ip_version),
            "stale_contacts": len(services.stale_contacts(ip_version)),
            "revision_due": services.revision_due(ip_version)},
        "treatment_plan": None, "action_plan": None, "binder": None, "hidden": []}
    if grant.basis == AuditEvent.Basis.DELEGATION:
        return out
    tp = TreatmentPlan.objects.filter(patient=patient).first()
    tp_version = tp.latest() if tp else None
    if tp_version is not None and not _visible(patient, grant, tp_version):
        out["hidden"].append("treatment_plan")
    elif tp is not None:
        signature = tp_version.valid_signature() if tp_version else None
        out["treatment_plan"] = {"id": tp.pk, "latest": _version(tp_version),
                                 "signed": signature is not None,
                                 "signed_by": signature.signed_by.get_full_name()
                                 if signature else ""}
    ap = ActionPlan.objects.filter(patient=patient).first()
    ap_version = ap.latest() if ap else None
    if ap_version is not None and not _visible(patient, grant, ap_version):
        out["hidden"].append("action_plan")
    elif ap is not None and ap_version is not None:
        approval = ap_version.valid_approval()
        out["action_plan"] = {
            "id": ap.pk, "latest": _version(ap_version), "approved": approval is not None,
            "missing_numbers": [{"scenario": t, "contact": c} for t, c in
                                services.missing_numbers(patient, ap_version.content)]}
    if not out["hidden"]:
        status = binder.binder_status(patient)
        out["binder"] = {"latest": _document(status.latest) if status.latest else None,
                         "current_code": status.current_code, "is_current": status.is_current}
    return out


@router.post("/patients/{uuid:patient_id}/individual-plan/versions",
             response={201: VersionOut, **ERRORS}, summary="A new version of the individual plan",
            url_name="plans_individual_plan_version")
def post_individual_plan_version(request: HttpRequest, patient_id: uuid.UUID,
                                 payload: VersionIn) -> Any:
    patient, grant = _open(request, patient_id, "samhand.individual_plan.change")
    version: IndividualPlanVersion = services.revise_individual_plan(
        _actor(request), patient, grant, content=payload.content, note=payload.note,
        based_on=payload.based_on)
    return Status(201, _version(version))


@router.post("/patients/{uuid:patient_id}/treatment-plan/versions",
             response={201: VersionOut, **ERRORS}, summary="A new version of the treatment plan",
            url_name="plans_treatment_plan_version")
def post_treatment_plan_version(request: HttpRequest, patient_id: uuid.UUID,
                                payload: VersionIn) -> Any:
    patient, grant = _open(request, patient_id, "samhand.treatment_plan.change")
    version: TreatmentPlanVersion = services.save_treatment_plan(
        _actor(request), patient, grant, content=payload.content, note=payload.note,
        based_on=payload.based_on)
    return Status(201, _version(version))


@router.post("/patients/{uuid:patient_id}/treatment-plan/signatures",
             response={201: dict[str, Any], **ERRORS},
             summary="The responsible doctor signs the version read",
            url_name="plans_treatment_plan_signature")
def sign_treatment_plan(request: HttpRequest, patient_id: uuid.UUID, payload: SeenIn) -> Any:
    patient, grant = _open(request, patient_id, "samhand.treatment_plan.change")
    signature = services.sign_treatment_plan(_actor(request), patient, grant,
                                             number=payload.number, seen_hash=payload.seen_hash)
    return Status(201, {"id": signature.pk, "number": payload.number,
                        "signed_at": signature.signed_at})


@router.post("/patients/{uuid:patient_id}/action-plan/versions",
             response={201: VersionOut, **ERRORS},
             summary="A new version of the action plan (refused without numbers to call)",
            url_name="plans_action_plan_version")
def post_action_plan_version(request: HttpRequest, patient_id: uuid.UUID,
                             payload: VersionIn) -> Any:
    patient, grant = _open(request, patient_id, "samhand.action_plan.change")
    version: ActionPlanVersion = services.save_action_plan(
        _actor(request), patient, grant, content=payload.content, note=payload.note,
        based_on=payload.based_on)
    return Status(201, _version(version))


@router.post("/patients/{uuid:patient_id}/action-plan/approvals",
             response={201: dict[str, Any], **ERRORS}, summary="Approve the version read",
            url_name="plans_action_plan_approval")
def approve_action_plan(request: HttpRequest, patient_id: uuid.UUID, payload: SeenIn) -> Any:
    patient, grant = _open(request, patient_id, "samhand.action_plan.change")
    approval = services.approve_action_plan(_actor(request), patient, grant,
                                            number=payload.number, seen_hash=payload.seen_hash)
    return Status(201, {"id": approval.pk, "number": payload.number,
                        "approved_at": approval.approved_at})


@router.post("/patients/{uuid:patient_id}/meetings/{uuid:meeting_id}/signatures",
             response={201: dict[str, Any], **ERRORS},
             summary="Sign the collaboration agreement as read",
            url_name="plans_agreement_signature")
def sign_agreement(request: HttpRequest, patient_id: uuid.UUID, meeting_id: uuid.UUID,
                   payload: AgreementSeenIn) -> Any:
    patient, grant = _open(request, patient_id, "samhand.meeting.change", "Encounter")
    meeting = Meeting.objects.filter(pk=meeting_id, patient=patient).first()
    if meeting is None:
        raise Http404
    signature = meetings.sign_agreement(_actor(request), meeting, grant,
                                        seen_hash=payload.seen_hash)
    meeting.refresh_from_db()
    return Status(201, {"id": signature.pk, "side": signature.side,
                        "meeting_status": meeting.status})


def _documents_visible(patient: Patient, grant: Grant) -> bool:
    for model in (TreatmentPlanVersion, ActionPlanVersion):
        version = (model.objects.filter(plan__patient=patient)
                   .select_related("created_by_organisation").order_by("-number").first())
        if not _visible(patient, grant, version):
            return False
    return True


@router.get("/patients/{uuid:patient_id}/documents", response={200: list[DocumentOut], **ERRORS},
            summary="The patient's binder versions, discharge summaries, minutes, agreements",
            url_name="plans_documents")
def list_documents(request: HttpRequest, patient_id: uuid.UUID) -> Any:
    patient, grant = _open(request, patient_id, "samhand.document.search", "DocumentReference")
    if not _documents_visible(patient, grant):
        return []
    return [_document(d) for d in Document.objects.filter(patient=patient).defer("pdf")
            .order_by("kind", "-number")]


@router.post("/patients/{uuid:patient_id}/documents/binder",
             response={200: DocumentOut, 201: DocumentOut, **ERRORS},
             summary="Make the binder unless the latest one is current",
            url_name="plans_make_binder")
def make_binder(request: HttpRequest, patient_id: uuid.UUID) -> Any:
    patient, grant = _open(request, patient_id, "samhand.binder.change", "DocumentReference")
    services.require_write(grant)
    document, created = binder.generate_binder(_actor(request), patient, grant=grant)
    return Status(201 if created else 200, _document(document))


@router.get("/patients/{uuid:patient_id}/documents/{uuid:document_id}/pdf",
            response={200: dict[str, Any], **ERRORS},
            summary="The PDF (the download is audited)",
            url_name="plans_document_pdf")
def get_document_pdf(request: HttpRequest, patient_id: uuid.UUID,
                     document_id: uuid.UUID) -> Any:
    """application/pdf. When the plans in the document were written in the other sector
    and the patient's consent to share health information is not active, the answer is
    JSON `{"hidden": true}` instead (as the page says "hidden")."""
    kind = Document.objects.filter(pk=document_id, patient_id=patient_id).values_list(
        "kind", flat=True).first()
    code = "samhand.binder.downloaded" if kind == Document.Kind.BINDER \
        else "samhand.document.downloaded"
    patient, grant = _open(request, patient_id, code, "DocumentReference")
    document = Document.objects.filter(pk=document_id, patient=patient).first()
    if document is None:
        raise Http404
    if not _documents_visible(patient, grant):
        return {"hidden": True, "reason": "no_consent_to_share"}
    response = HttpResponse(bytes(document.pdf), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{document.filename}"'
    response["Cache-Control"] = "no-store"
    return response
