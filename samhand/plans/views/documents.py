"""The patient binder's status and versions, generating it and the discharge summary,
and downloading a stored document (audited)."""

from __future__ import annotations

from uuid import UUID

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from samhand.access.policy import Grant, actor_for
from samhand.patients.models import Patient

from .. import binder
from ..models import ActionPlanVersion, Document, TreatmentPlanVersion
from .common import base_context, may_see, open_patient, page, refuse_read_only


def _may_see_documents(request: HttpRequest, patient: Patient, grant: Grant) -> bool:
    """Documents carry the plans: the sector that did not write them sees them while the
    patient's consent to share health information is active (the access layer decides,
    with the treatment or action plan's author as the source)."""
    for model in (TreatmentPlanVersion, ActionPlanVersion):
        version = (model.objects.filter(plan__patient=patient)
                   .select_related("created_by_organisation").order_by("-number").first())
        if version is not None and not may_see(request, patient, grant,
                                               version.created_by_organisation):
            return False
    return True


@require_GET
def binder_page(request: HttpRequest, patient_id: UUID) -> HttpResponse:
    patient, grant = open_patient(request, patient_id, "samhand.binder.read",
                                  "DocumentReference")
    visible = _may_see_documents(request, patient, grant)
    documents = list(Document.objects.filter(patient=patient).defer("pdf")
                     .select_related("created_by", "meeting")
                     .order_by("kind", "-number")) if visible else []
    context = {**base_context(request, patient, grant, "binder"),
               "status": binder.binder_status(patient) if visible else None,
               "hidden": not visible,
               "binders": [d for d in documents if d.kind == Document.Kind.BINDER],
               "others": [d for d in documents if d.kind != Document.Kind.BINDER]}
    return page(request, "plans/binder.html", context)


@require_POST
def binder_generate(request: HttpRequest, patient_id: UUID) -> HttpResponse:
    patient, grant = open_patient(request, patient_id, "samhand.binder.change",
                                  "DocumentReference")
    refused = refuse_read_only(request, grant)
    if refused:
        return refused
    document, created = binder.generate_binder(actor_for(request), patient,
                                               reason=_("Made by hand"), grant=grant)
    if created:
        messages.success(request, _("Binder version %(n)s is made (code %(code)s).")
                         % {"n": document.number, "code": document.code})
    else:
        messages.info(request, _("The binder is already current (code %(code)s).")
                      % {"code": document.code})
    return redirect("plans:binder", patient_id=patient.pk)


@require_POST
def discharge_summary(request: HttpRequest, patient_id: UUID) -> HttpResponse:
    patient, grant = open_patient(request, patient_id, "samhand.binder.change",
                                  "DocumentReference")
    refused = refuse_read_only(request, grant)
    if refused:
        return refused
    document = binder.generate_discharge_summary(actor_for(request), patient, grant)
    messages.success(request, _("The discharge summary is ready (code %(code)s).")
                     % {"code": document.code})
    return redirect("plans:binder", patient_id=patient.pk)


@require_GET
def document_download(request: HttpRequest, patient_id: UUID, document_id: UUID) -> HttpResponse:
    """The stored PDF. The download is the audited read (samhand.binder.downloaded /
    samhand.document.downloaded); the file name holds no name or national id."""
    from samhand.access import policy

    document = Document.objects.filter(pk=document_id, patient_id=patient_id).only("kind").first()
    code = "samhand.binder.downloaded" if document is not None and \
        document.kind == Document.Kind.BINDER else "samhand.document.downloaded"
    patient, grant = policy.get_patient_for(request, patient_id, code=code,
                                            object_type="DocumentReference")
    found = Document.objects.filter(pk=document_id, patient=patient).first()
    if found is None:
        raise Http404
    if not _may_see_documents(request, patient, grant):
        return page(request, "plans/hidden.html", base_context(request, patient, grant, "binder"))
    response = HttpResponse(bytes(found.pdf), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{found.filename}"'
    response["Cache-Control"] = "no-store"
    return response
