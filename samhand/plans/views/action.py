"""The action plan: read with the numbers from the care team, build from the library,
change one scenario (a new version), approve."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from samhand.access.policy import actor_for

from .. import content as library
from .. import services
from ..contacts import Resolver
from ..forms import BuildActionPlanForm, ScenarioForm, VersionForm
from ..models import ActionPlan
from .common import apply_form, base_context, may_see, open_patient, page, refuse_read_only


def _library_choices(patient: Any) -> list[tuple[str, str]]:
    lib = library.library_for(patient.group)
    if lib is None:
        return []
    lang = services.plan_language(patient, lib)
    return [(s.key, s.title.get(lang)) for s in lib.scenarios]


def _context(request: HttpRequest, patient: Any, grant: Any,
             build_form: BuildActionPlanForm | None = None) -> dict[str, Any]:
    plan = ActionPlan.objects.filter(patient=patient).first()
    versions = list(plan.versions.select_related("created_by", "created_by_organisation")
                    .order_by("-number")) if plan else []
    version = versions[0] if versions else None
    visible = version is None or may_see(request, patient, grant,
                                         version.created_by_organisation)
    scenarios = []
    resolver = Resolver(patient)
    if version is not None and visible:
        for scenario in version.content["scenarios"]:
            calls = []
            for key in scenario["call"]:
                number = resolver.number(key)
                calls.append({"label": library.CALL_KEYS.get(key, key), "number": number})
            scenarios.append({**scenario, "calls": calls})
    choices = _library_choices(patient)
    if build_form is None:
        current = [s["key"] for s in version.content["scenarios"]] if version else None
        build_form = BuildActionPlanForm(choices=choices,
                                         initial={"scenarios": current or [c[0] for c in choices]})
    roles = version.content.get("roles", {}) if version and visible else {}
    return {
        **base_context(request, patient, grant, "action"),
        "version": version if visible else None, "versions": versions if visible else [],
        "hidden": not visible, "scenarios": scenarios,
        "approval": version.valid_approval() if version and visible else None,
        "missing": services.missing_numbers(patient, version.content, resolver)
        if version and visible else [],
        "may_approve": services.may_approve_action_plan(request.user, patient),
        "approve_form": VersionForm(initial={"number": version.number,
                                             "seen_hash": version.content_hash})
        if version else None,
        "build_form": build_form, "has_library": bool(choices),
        "roles": [(_role_label(p), roles.get(p, "")) for p in library.PARTIES if roles.get(p)],
    }


def _role_label(party: str) -> str:
    return {"patient": _("The patient and relatives"), "municipality": _("Municipality"),
            "hospital": _("Hospital"), "supplier": _("Equipment supplier")}[party]


@require_GET
def action(request: HttpRequest, patient_id: UUID) -> HttpResponse:
    patient, grant = open_patient(request, patient_id, "samhand.action_plan.read", "CarePlan")
    return page(request, "plans/action.html", _context(request, patient, grant))


@require_POST
def action_build(request: HttpRequest, patient_id: UUID) -> HttpResponse:
    patient, grant = open_patient(request, patient_id, "samhand.action_plan.change",
                                  "CarePlan")
    refused = refuse_read_only(request, grant)
    if refused:
        return refused
    form = BuildActionPlanForm(request.POST, choices=_library_choices(patient))
    version, status = apply_form(form, lambda: services.build_action_plan(
        actor_for(request), patient, grant, keys=form.cleaned_data["scenarios"]))
    if version is not None:
        messages.success(request, _("Version %(n)s of the action plan is saved.")
                         % {"n": version.number})
        return redirect("plans:action", patient_id=patient.pk)
    return page(request, "plans/action.html", _context(request, patient, grant, form),
                status=status)


@require_http_methods(["GET", "POST"])
def action_scenario(request: HttpRequest, patient_id: UUID, key: str) -> HttpResponse:
    patient, grant = open_patient(request, patient_id, "samhand.action_plan.change",
                                  "CarePlan")
    refused = refuse_read_only(request, grant)
    if refused:
        return refused
    plan = ActionPlan.objects.filter(patient=patient).first()
    latest = plan.latest() if plan else None
    scenario = next((s for s in latest.content["scenarios"] if s["key"] == key), None) \
        if latest else None
    if latest is None or scenario is None:
        raise Http404
    if not may_see(request, patient, grant, latest.created_by_organisation):
        return page(request, "plans/hidden.html", base_context(request, patient, grant, "action"))
    status = 200
    if request.method == "POST":
        form = ScenarioForm(request.POST)
        version, status = apply_form(form, lambda: services.update_scenario(
            actor_for(request), patient, grant, key=key, scenario=form.scenario(),
            based_on=form.cleaned_data["based_on"]))
        if version is not None:
            messages.success(request, _("Version %(n)s of the action plan is saved.")
                             % {"n": version.number})
            return redirect("plans:action", patient_id=patient.pk)
    else:
        form = ScenarioForm(initial=ScenarioForm.initial_from(scenario, latest.number))
    context = {**base_context(request, patient, grant, "action"), "form": form,
               "scenario": scenario, "version": latest}
    return page(request, "plans/action_scenario.html", context, status=status)


@require_POST
def action_approve(request: HttpRequest, patient_id: UUID) -> HttpResponse:
    patient, grant = open_patient(request, patient_id, "samhand.action_plan.change",
                                  "CarePlan")
    refused = refuse_read_only(request, grant)
    if refused:
        return refused
    form = VersionForm(request.POST)
    approval, status = apply_form(form, lambda: services.approve_action_plan(
        actor_for(request), patient, grant, number=form.cleaned_data["number"],
        seen_hash=form.cleaned_data["seen_hash"]))
    if approval is not None:
        messages.success(request, _("The action plan is approved."))
        return redirect("plans:action", patient_id=patient.pk)
    context = _context(request, patient, grant)
    context["approve_errors"] = form.non_field_errors() or [_("The approval was not saved.")]
    return page(request, "plans/action.html", context, status=status)
