"""The individual plan: read (staff, and relatives with the "plans" scope), start,
edit (a new version), confirm the contacts, compare two versions side by side."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from samhand.lib.errors import DomainError
from samhand.lib.timeutil import today_oslo
from samhand.patients.models import Consent, Delegation

from .. import services
from ..forms import IndividualPlanForm
from ..models import IndividualPlan, IndividualPlanVersion
from ..schema import MEASURE_PARTIES, compare
from .common import apply_form, base_context, open_patient, page, refuse_read_only
from .labels import field_label

SCOPE = Delegation.Scope.PLANS


def _versions(plan: IndividualPlan | None) -> list[IndividualPlanVersion]:
    if plan is None:
        return []
    return list(plan.versions.select_related("created_by", "created_by_organisation")
                .order_by("-number"))


def _measures_by_party(content: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for party, label in MEASURE_PARTIES.items():
        rows = [m for m in content.get("measures", []) if m["party"] == party]
        if rows:
            out.append({"label": label, "measures": rows})
    return out


def _context(request: HttpRequest, patient: Any, grant: Any,
             version_number: str | None = None) -> dict[str, Any]:
    plan = services.active_individual_plan(patient)
    versions = _versions(plan)
    shown = versions[0] if versions else None
    if version_number and version_number.isdigit():
        shown = next((v for v in versions if v.number == int(version_number)), shown)
    return {
        **base_context(request, patient, grant, "individual"),
        "plan": plan, "versions": versions, "version": shown,
        "is_latest": bool(versions) and shown is versions[0],
        "measures": _measures_by_party(shown.content) if shown else [],
        "stale": services.stale_contacts(shown) if shown else [],
        "revision_due": services.revision_due(shown),
        "consent": Consent.objects.active_for(patient, Consent.Scope.INDIVIDUAL_PLAN),
        "coordinator": services.municipal_coordinator(patient),
    }


@require_GET
def individual(request: HttpRequest, patient_id: UUID) -> HttpResponse:
    patient, grant = open_patient(request, patient_id, "samhand.individual_plan.read",
                                  "CarePlan", scope=SCOPE)
    return page(request, "plans/individual.html",
                _context(request, patient, grant, request.GET.get("version")))


@require_POST
def individual_start(request: HttpRequest, patient_id: UUID) -> HttpResponse:
    patient, grant = open_patient(request, patient_id, "samhand.individual_plan.change",
                                  "CarePlan")
    refused = refuse_read_only(request, grant)
    if refused:
        return refused
    from samhand.access.policy import actor_for

    try:
        services.start_individual_plan(actor_for(request), patient, grant)
    except DomainError as exc:
        context = _context(request, patient, grant)
        context["start_error"] = exc.message
        return page(request, "plans/individual.html", context,
                    status=422 if exc.status == 400 else exc.status)
    messages.success(request, _("The individual plan is started."))
    return redirect("plans:individual", patient_id=patient.pk)


@require_http_methods(["GET", "POST"])
def individual_edit(request: HttpRequest, patient_id: UUID) -> HttpResponse:
    patient, grant = open_patient(request, patient_id, "samhand.individual_plan.change",
                                  "CarePlan")
    refused = refuse_read_only(request, grant)
    if refused:
        return refused
    plan = services.active_individual_plan(patient)
    latest = plan.latest() if plan else None
    if latest is None:  # nothing to change yet: the page that says how to start
        return page(request, "plans/individual.html", _context(request, patient, grant))
    status = 200
    if request.method == "POST":
        from samhand.access.policy import actor_for

        form = IndividualPlanForm(request.POST)
        version, status = apply_form(form, lambda: services.revise_individual_plan(
            actor_for(request), patient, grant,
            content=form.content(latest.content, today_oslo()),
            note=form.cleaned_data["note"], based_on=form.cleaned_data["based_on"]))
        if version is not None:
            messages.success(request, _("Version %(n)s of the individual plan is saved.")
                             % {"n": version.number})
            return redirect("plans:individual", patient_id=patient.pk)
    else:
        form = IndividualPlanForm(initial=IndividualPlanForm.initial_from(latest.content,
                                                                          latest.number))
    context = {**base_context(request, patient, grant, "individual"), "form": form,
               "version": latest}
    return page(request, "plans/individual_edit.html", context, status=status)


@require_POST
def individual_confirm(request: HttpRequest, patient_id: UUID) -> HttpResponse:
    patient, grant = open_patient(request, patient_id, "samhand.individual_plan.change",
                                  "CarePlan")
    refused = refuse_read_only(request, grant)
    if refused:
        return refused
    from samhand.access.policy import actor_for

    based_on = request.POST.get("based_on", "")
    try:
        services.confirm_contacts(actor_for(request), patient, grant,
                                  based_on=int(based_on) if based_on.isdigit() else None)
    except DomainError as exc:
        context = _context(request, patient, grant)
        context["start_error"] = exc.message
        return page(request, "plans/individual.html", context,
                    status=422 if exc.status == 400 else exc.status)
    messages.success(request, _("The contact list is confirmed."))
    return redirect("plans:individual", patient_id=patient.pk)


@require_GET
def individual_compare(request: HttpRequest, patient_id: UUID) -> HttpResponse:
    patient, grant = open_patient(request, patient_id, "samhand.individual_plan.compared",
                                  "CarePlan", scope=SCOPE)
    plan = services.active_individual_plan(patient)
    versions = _versions(plan)
    by_number = {v.number: v for v in versions}

    def pick(name: str, default: int) -> IndividualPlanVersion | None:
        value = request.GET.get(name, "")
        return by_number.get(int(value)) if value.isdigit() else by_number.get(default)

    newest = versions[0].number if versions else 0
    left, right = pick("a", newest - 1), pick("b", newest)
    rows = []
    if left is not None and right is not None:
        rows = [{"label": field_label(r.label), "left": r.left, "right": r.right,
                 "changed": r.changed} for r in compare(left.content, right.content)]
    context = {**base_context(request, patient, grant, "individual"), "versions": versions,
               "left": left, "right": right, "rows": rows,
               "changed": sum(1 for r in rows if r["changed"])}
    return page(request, "plans/individual_compare.html", context)
