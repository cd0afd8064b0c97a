"""The treatment plan: read, edit (hospital; a new version), sign (responsible doctor)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from samhand.access.policy import actor_for
from samhand.orgs.models import Sector

from .. import services
from ..forms import TreatmentPlanForm, VersionForm
from ..models import TreatmentPlan
from ..schema import VENTILATION_KINDS
from .common import apply_form, base_context, may_see, open_patient, page, refuse_read_only


def _context(request: HttpRequest, patient: Any, grant: Any) -> dict[str, Any]:
    plan = TreatmentPlan.objects.filter(patient=patient).first()
    versions = list(plan.versions.select_related("created_by", "created_by_organisation")
                    .order_by("-number")) if plan else []
    version = versions[0] if versions else None
    visible = version is None or may_see(request, patient, grant,
                                         version.created_by_organisation)
    org = grant.organisation
    return {
        **base_context(request, patient, grant, "treatment"),
        "version": version if visible else None, "hidden": not visible,
        "versions": versions if visible else [],
        "signature": version.valid_signature() if version and visible else None,
        "kind_label": VENTILATION_KINDS.get(version.content["ventilation"]["kind"], "")
        if version and visible else "",
        "may_sign": services.is_responsible_doctor(request.user, patient),
        "may_edit": org is not None and org.sector == Sector.SPECIALIST,
        "sign_form": VersionForm(initial={"number": version.number,
                                          "seen_hash": version.content_hash})
        if version else None,
    }


@require_GET
def treatment(request: HttpRequest, patient_id: UUID) -> HttpResponse:
    patient, grant = open_patient(request, patient_id, "samhand.treatment_plan.read",
                                  "CarePlan")
    return page(request, "plans/treatment.html", _context(request, patient, grant))


@require_http_methods(["GET", "POST"])
def treatment_edit(request: HttpRequest, patient_id: UUID) -> HttpResponse:
    patient, grant = open_patient(request, patient_id, "samhand.treatment_plan.change",
                                  "CarePlan")
    refused = refuse_read_only(request, grant)
    if refused:
        return refused
    plan = TreatmentPlan.objects.filter(patient=patient).first()
    latest = plan.latest() if plan else None
    if latest is not None and not may_see(request, patient, grant,
                                          latest.created_by_organisation):
        return page(request, "plans/hidden.html",
                    base_context(request, patient, grant, "treatment"))
    status = 200
    if request.method == "POST":
        form = TreatmentPlanForm(request.POST)
        version, status = apply_form(form, lambda: services.save_treatment_plan(
            actor_for(request), patient, grant, content=form.content(),
            note=form.cleaned_data["note"], based_on=form.cleaned_data["based_on"] or 0))
        if version is not None:
            messages.success(request, _("Version %(n)s of the treatment plan is saved. The "
                                        "responsible doctor must sign it.")
                             % {"n": version.number})
            return redirect("plans:treatment", patient_id=patient.pk)
    else:
        form = TreatmentPlanForm(initial=TreatmentPlanForm.initial_from(
            latest.content, latest.number) if latest else {"based_on": 0})
    context = {**base_context(request, patient, grant, "treatment"), "form": form,
               "version": latest}
    return page(request, "plans/treatment_edit.html", context, status=status)


@require_POST
def treatment_sign(request: HttpRequest, patient_id: UUID) -> HttpResponse:
    patient, grant = open_patient(request, patient_id, "samhand.treatment_plan.change",
                                  "CarePlan")
    refused = refuse_read_only(request, grant)
    if refused:
        return refused
    form = VersionForm(request.POST)
    signature, status = apply_form(form, lambda: services.sign_treatment_plan(
        actor_for(request), patient, grant, number=form.cleaned_data["number"],
        seen_hash=form.cleaned_data["seen_hash"]))
    if signature is not None:
        messages.success(request, _("The treatment plan is signed."))
        return redirect("plans:treatment", patient_id=patient.pk)
    context = _context(request, patient, grant)
    context["sign_errors"] = form.non_field_errors() or [_("The signature was not saved.")]
    return page(request, "plans/treatment.html", context, status=status)
