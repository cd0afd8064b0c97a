"""Pathway pages: the patient's pathways, one pathway with its gate and tasks, task
actions, the timeline, the worklists and the discharge-ready report.

Every patient-scoped view gets the patient from policy.get_patient_for (404 and an audit
row when not allowed) and looks pathways and tasks up *within* that patient.
"""

from __future__ import annotations

import datetime as dt
import importlib
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from django.apps import apps
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from samhand.access import policy
from samhand.alerts.models import Alert
from samhand.audit.models import AuditEvent
from samhand.lib.errors import DomainError
from samhand.lib.paging import counted_page
from samhand.orgs.models import Organisation
from samhand.patients.models import CareTeamMember, Patient
from samhand.web.forms import show_domain_error
from samhand.web.views.common import is_htmx, user_of

from . import gate as gates
from . import services as svc
from . import worklists as wl
from .forms import (
    CommentForm,
    CompleteTaskForm,
    EventForm,
    JudgementForm,
    ReassignForm,
    StartPathwayForm,
    TaskForm,
)
from .models import EVENT_LABELS, GateJudgement, GateOverride, Pathway, PathwayEvent, Task

ROLE_LABELS = dict(CareTeamMember.Role.choices)


def _can_write(grant: policy.Grant) -> bool:
    return grant.basis in (AuditEvent.Basis.CARE_RELATION, AuditEvent.Basis.EMERGENCY)


def _pathway(patient: Patient, pathway_id: UUID) -> Pathway:
    return get_object_or_404(Pathway, pk=pathway_id, patient=patient)


def _task(patient: Patient, task_id: UUID) -> Task:
    return get_object_or_404(Task.objects.select_related("pathway", "owner_organisation"),
                             pk=task_id, patient=patient)


# --------------------------------------------------------------------------- the patient

@require_GET
def patient_pathways(request: HttpRequest, patient_id: UUID) -> HttpResponse:
    patient, grant = policy.get_patient_for(request, patient_id, code="samhand.pathway.read",
                                            object_type="CarePlan")
    pathways = list(Pathway.objects.filter(patient=patient).order_by("status", "-started_at"))
    return render(request, "pathways/patient_pathways.html", {
        "nav": "patients", "section": "pathways", "patient": patient, "grant": grant,
        "pathways": pathways, "can_write": _can_write(grant),
        "start_form": StartPathwayForm()})


@require_POST
def start(request: HttpRequest, patient_id: UUID) -> HttpResponse:
    patient, grant = policy.get_patient_for(request, patient_id, code="samhand.pathway.read",
                                            object_type="CarePlan")
    form = StartPathwayForm(request.POST)
    if form.is_valid():
        try:
            pathway = svc.start_pathway(policy.actor_for(request), grant, patient,
                                        template_key=form.cleaned_data["template"],
                                        entry=form.cleaned_data["entry"],
                                        at=form.cleaned_data.get("at"))
        except DomainError as exc:
            show_domain_error(form, exc)
        else:
            messages.success(request, _("The pathway is started."))
            return redirect("pathways:detail", patient_id=patient.pk, pathway_id=pathway.pk)
    return render(request, "pathways/patient_pathways.html", {
        "nav": "patients", "section": "pathways", "patient": patient, "grant": grant,
        "pathways": list(Pathway.objects.filter(patient=patient)), "can_write": _can_write(grant),
        "start_form": form}, status=422)


@dataclass
class CriterionView:
    status: gates.CriterionStatus
    owner_label: str
    owner_org: Organisation | None
    form: JudgementForm | None = None


def _owner_orgs(patient: Patient) -> dict[str, Organisation | None]:
    return svc._owners(patient)


def _detail_context(request: HttpRequest, patient: Patient, grant: policy.Grant,
                    pathway: Pathway, **forms: Any) -> dict[str, Any]:
    template = pathway.template
    today = timezone.localdate()
    ready = [(p, p.ready_days(today), p.payable_days(today)) for p in pathway.ready_periods()]
    owners = _owner_orgs(patient)
    gate_views = []
    for status in gates.gates(pathway):
        rows = []
        for c in status.criteria:
            form = None
            if c.kind == "judgement" and _can_write(grant):
                form = JudgementForm(initial={"gate": status.key, "criterion": c.key,
                                              "met": "yes"}, prefix=f"j-{c.key}")
            rows.append(CriterionView(c, str(ROLE_LABELS.get(c.owner_role, c.owner_role)),
                                      owners.get(c.owner_role), form))
        gate_views.append((status, rows))
    tasks = list(pathway.tasks.select_related("owner_organisation", "assignee",
                                              "completed_by").order_by("due_at", "created_at"))
    now = timezone.now()
    phases = []
    for phase in template.phases:
        in_phase = [t for t in tasks if t.phase == phase.key]
        phases.append({"key": phase.key, "title": phase.title.get(None),
                       "current": phase.key == pathway.phase,
                       "open": [t for t in in_phase if t.is_open or t.status == "paused"],
                       "done": [t for t in in_phase if t.status in ("done", "cancelled")]})
    other = [t for t in tasks if t.phase not in {p.key for p in template.phases}]
    events = list(pathway.events.select_related("recorded_by", "recorded_by_organisation")
                  .order_by("-occurred_at"))
    overrides = list(GateOverride.objects.filter(pathway=pathway).select_related("by"))
    discharge_gate = template.gate_before("discharged")
    discharge_unmet = bool(discharge_gate) and any(
        not s.met for s, _rows in gate_views if s.definition == discharge_gate)
    return {
        "nav": "patients", "section": "pathways", "patient": patient, "grant": grant,
        "pathway": pathway, "template": template, "can_write": _can_write(grant),
        "gate_views": gate_views, "phases": phases, "other_tasks": other,
        "events": events, "event_labels": EVENT_LABELS, "overrides": overrides,
        "now": now, "role_labels": ROLE_LABELS,
        "may_override": discharge_unmet and svc.may_override(policy.actor_for(request),
                                                             patient),
        "event_form": forms.get("event_form") or EventForm(template=template),
        "task_form": forms.get("task_form") or TaskForm(),
        "open_form": forms.get("open_form", ""),
        "days_ready": sum(r for _p, r, _paid in ready) if ready else None,
        "payable_days": sum(paid for _p, _r, paid in ready) if ready else None,
        "ready_periods": ready,
        "other_pathways": Pathway.objects.filter(patient=patient).exclude(pk=pathway.pk).count(),
    }


@require_GET
def detail(request: HttpRequest, patient_id: UUID, pathway_id: UUID) -> HttpResponse:
    patient, grant = policy.get_patient_for(request, patient_id, code="samhand.pathway.read",
                                            object_type="CarePlan")
    pathway = _pathway(patient, pathway_id)
    return render(request, "pathways/detail.html",
                  _detail_context(request, patient, grant, pathway))


def _back(patient: Patient, pathway: Pathway | None, anchor: str = "") -> HttpResponse:
    if pathway is None:
        return redirect(reverse("pathways:patient_pathways", args=[patient.pk]) + "?list=1")
    return redirect(reverse("pathways:detail", args=[patient.pk, pathway.pk])
                    + (f"#{anchor}" if anchor else ""))


def _refused(request: HttpRequest, grant: policy.Grant) -> HttpResponse | None:
    if _can_write(grant):
        return None
    from samhand.web.errors import render_error

    return render_error(request, 403, _("You may not change this record"),
                        _("You can see this patient, but not change the record."))


@require_POST
def record_event(request: HttpRequest, patient_id: UUID, pathway_id: UUID) -> HttpResponse:
    patient, grant = policy.get_patient_for(request, patient_id, code="samhand.pathway.read",
                                            object_type="CarePlan")
    refused = _refused(request, grant)
    if refused:
        return refused
    pathway = _pathway(patient, pathway_id)
    form = EventForm(request.POST, template=pathway.template)
    if form.is_valid():
        d = form.cleaned_data
        data: dict[str, Any] = {}
        if d.get("discharge_ready_from"):
            data["discharge_ready_from"] = d["discharge_ready_from"].isoformat()
        if d.get("phase"):
            data["phase"] = d["phase"]
        if d["kind"] == "discharge_ready_answered":
            data["receive_from"] = d["receive_from"].isoformat() \
                if d.get("receive_from") else None
        try:
            svc.record_event(pathway, d["kind"], actor=policy.actor_for(request), grant=grant,
                             at=d.get("at"), data=data, note=d.get("note", ""),
                             override_reason=d.get("override_reason", ""))
        except DomainError as exc:
            if exc.code == "gate_unmet":  # long: above the form, not in the narrow field
                form.add_error(None, exc.message)
            else:
                show_domain_error(form, exc)
        else:
            messages.success(request, _("Recorded: %(event)s.") % {
                "event": EVENT_LABELS[d["kind"]]})
            return _back(patient, pathway, "events")
    context = _detail_context(request, patient, grant, pathway, event_form=form,
                              open_form="event")
    return render(request, "pathways/detail.html", context, status=422)


@require_POST
def judge(request: HttpRequest, patient_id: UUID, pathway_id: UUID) -> HttpResponse:
    patient, grant = policy.get_patient_for(request, patient_id, code="samhand.pathway.read",
                                            object_type="CarePlan")
    refused = _refused(request, grant)
    if refused:
        return refused
    pathway = _pathway(patient, pathway_id)
    prefix = request.POST.get("prefix", "")
    form = JudgementForm(request.POST, prefix=prefix or None)
    if form.is_valid():
        try:
            svc.judge_criterion(pathway, actor=policy.actor_for(request), grant=grant,
                                gate_key=form.cleaned_data["gate"],
                                criterion_key=form.cleaned_data["criterion"],
                                met=form.cleaned_data["met"], note=form.cleaned_data["note"])
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("The judgement is recorded."))
    else:
        messages.error(request, _("Choose met or not met, and write what the judgement is "
                                  "based on."))
    return _back(patient, pathway, "gate")


@require_POST
def add_task(request: HttpRequest, patient_id: UUID, pathway_id: UUID) -> HttpResponse:
    patient, grant = policy.get_patient_for(request, patient_id, code="samhand.pathway.read",
                                            object_type="Task")
    refused = _refused(request, grant)
    if refused:
        return refused
    pathway = _pathway(patient, pathway_id)
    form = TaskForm(request.POST)
    if form.is_valid():
        d = form.cleaned_data
        try:
            svc.create_task(patient=patient, pathway=pathway, title=d["title"],
                            actor=policy.actor_for(request), grant=grant,
                            owner_organisation=d["organisation"], owner_role=d.get("role", ""),
                            due_at=d.get("due_at"), description=d.get("description", ""))
        except DomainError as exc:
            show_domain_error(form, exc)
        else:
            messages.success(request, _("The task is added."))
            return _back(patient, pathway, "tasks")
    context = _detail_context(request, patient, grant, pathway, task_form=form,
                              open_form="task")
    return render(request, "pathways/detail.html", context, status=422)


def _task_action(request: HttpRequest, patient_id: UUID, task_id: UUID, form_class: Any,
                 apply: Any, done: str) -> HttpResponse:
    patient, grant = policy.get_patient_for(request, patient_id, code="samhand.pathway.read",
                                            object_type="Task")
    refused = _refused(request, grant)
    if refused:
        return refused
    task = _task(patient, task_id)
    form = form_class(request.POST)
    error = ""
    if form.is_valid():
        try:
            apply(task, policy.actor_for(request), grant, form.cleaned_data)
        except DomainError as exc:
            error = exc.message
    else:
        error = "; ".join(str(e) for errs in form.errors.values() for e in errs)
    if is_htmx(request):
        task.refresh_from_db()
        return render(request, "pathways/_task.html", {
            "task": task, "patient": patient, "can_write": True, "now": timezone.now(),
            "error": error, "saved": "" if error else done, "role_labels": ROLE_LABELS},
            status=422 if error else 200)
    if error:
        messages.error(request, error)
    else:
        messages.success(request, done)
    next_url = request.POST.get("next", "")
    if next_url.startswith("/worklists/"):
        return redirect(next_url)
    return _back(patient, task.pathway, f"task-{task.pk}")


@require_POST
def complete(request: HttpRequest, patient_id: UUID, task_id: UUID) -> HttpResponse:
    return _task_action(request, patient_id, task_id, CompleteTaskForm,
                        lambda t, a, g, d: svc.complete_task(t, actor=a, grant=g,
                                                             note=d.get("note", "")),
                        _("The task is done."))


@require_POST
def comment(request: HttpRequest, patient_id: UUID, task_id: UUID) -> HttpResponse:
    return _task_action(request, patient_id, task_id, CommentForm,
                        lambda t, a, g, d: svc.comment_task(t, d["text"], actor=a, grant=g),
                        _("The comment is saved."))


@require_POST
def reassign(request: HttpRequest, patient_id: UUID, task_id: UUID) -> HttpResponse:
    return _task_action(request, patient_id, task_id, ReassignForm,
                        lambda t, a, g, d: svc.reassign_task(
                            t, actor=a, grant=g, organisation=d["organisation"],
                            role=d.get("role", ""), reason=d.get("reason", "")),
                        _("The task is reassigned."))


@require_POST
def start_task(request: HttpRequest, patient_id: UUID, task_id: UUID) -> HttpResponse:
    return _task_action(request, patient_id, task_id, CompleteTaskForm,
                        lambda t, a, g, d: svc.set_task_status(t, "in_progress", actor=a,
                                                               grant=g),
                        _("The task is in progress."))


# --------------------------------------------------------------------------- timeline

@dataclass
class TimelineItem:
    at: dt.datetime
    kind: str  # event, task, gate, alert, message, observation, ...
    title: str
    detail: str = ""
    who: str = ""
    url: str = ""


TIMELINE_APPS = ("plans", "observations", "messaging")
# What the filter calls each kind of entry; apps add theirs as KIND_LABELS in timeline.py.
TIMELINE_KIND_LABELS = {"event": gettext_lazy("Pathway events"),
                        "task": gettext_lazy("Tasks done"),
                        "gate": gettext_lazy("Gate judgements"),
                        "override": gettext_lazy("Gate overrides"),
                        "alert": gettext_lazy("Alerts")}


def _timeline_modules() -> list[Any]:
    modules = []
    for app in TIMELINE_APPS:
        if not apps.is_installed(f"samhand.{app}"):
            continue
        try:
            modules.append(importlib.import_module(f"samhand.{app}.timeline"))
        except ModuleNotFoundError as exc:
            if exc.name != f"samhand.{app}.timeline":
                raise
    return modules


def _timeline_kinds(kinds: set[str]) -> list[tuple[str, str]]:
    """(kind, label) for the filter, in the order of the labels."""
    labels: dict[str, Any] = dict(TIMELINE_KIND_LABELS)
    for module in _timeline_modules():
        labels.update(getattr(module, "KIND_LABELS", {}))
    return sorted(((k, str(labels.get(k, k))) for k in kinds), key=lambda pair: pair[1])


def _timeline(patient: Patient, grant: policy.Grant) -> list[TimelineItem]:
    items: list[TimelineItem] = []
    pathways = {p.pk: p for p in Pathway.objects.filter(patient=patient)}
    for e in PathwayEvent.objects.filter(pathway__patient=patient).select_related(
            "recorded_by", "pathway"):
        title = str(EVENT_LABELS.get(e.kind, e.kind))
        if e.kind == "phase_changed":
            title += f": {e.pathway.phase_title()}"
        detail = e.note
        if e.data.get("discharge_ready_from"):
            detail = (_("Discharge-ready from %(date)s") % {
                "date": e.data["discharge_ready_from"]} + (f" · {detail}" if detail else ""))
        items.append(TimelineItem(e.occurred_at, "event", title, detail,
                                  e.recorded_by.get_full_name() if e.recorded_by else "",
                                  reverse("pathways:detail", args=[patient.pk, e.pathway_id])))
    for t in Task.objects.filter(patient=patient, status=Task.Status.DONE).select_related(
            "completed_by"):
        items.append(TimelineItem(t.completed_at or t.created_at, "task",
                                  _("Done: %(task)s") % {"task": t.display_title()},
                                  t.completion_note,
                                  t.completed_by.get_full_name() if t.completed_by else ""))
    for j in GateJudgement.objects.filter(pathway__in=pathways).select_related("judged_by"):
        items.append(TimelineItem(j.judged_at, "gate", (_("Judged met: %(c)s") if j.met else
                                                        _("Judged not met: %(c)s")) % {
            "c": j.criterion_key.replace("_", " ")}, j.note, j.judged_by.get_full_name()))
    for o in GateOverride.objects.filter(pathway__in=pathways).select_related("by"):
        items.append(TimelineItem(o.at, "override", _("Discharged with the gate unmet"),
                                  o.reason, o.by.get_full_name()))
    for a in Alert.objects.filter(patient=patient).select_related("organisation"):
        items.append(TimelineItem(a.raised_at, "alert", a.display_text, a.organisation.name))
    for module in _timeline_modules():
        for item in module.items(patient, grant):
            items.append(TimelineItem(**item) if isinstance(item, dict) else item)
    items.sort(key=lambda i: i.at, reverse=True)
    return items


@require_GET
def timeline(request: HttpRequest, patient_id: UUID) -> HttpResponse:
    patient, grant = policy.get_patient_for(request, patient_id, code="samhand.pathway.read",
                                            object_type="CarePlan")
    items = _timeline(patient, grant)
    kinds = _timeline_kinds({i.kind for i in items})
    only = request.GET.get("kind", "")
    if only:
        items = [i for i in items if i.kind == only]
    page = Paginator(items, 50).get_page(request.GET.get("page"))
    return render(request, "pathways/timeline.html", {
        "nav": "patients", "section": "timeline", "patient": patient, "grant": grant,
        "page": page, "kinds": kinds, "only": only})


# --------------------------------------------------------------------------- worklists

def _unit_choice(request: HttpRequest, units: list[Organisation]) -> Organisation | None:
    wanted = request.GET.get("unit", "")
    return next((u for u in units if str(u.pk) == wanted), units[0] if units else None)


@require_GET
def worklist_home_nursing(request: HttpRequest) -> HttpResponse:
    user = user_of(request)
    units = wl.my_units(user)
    preferred = [u for u in units if u.kind == Organisation.Kind.HOME_NURSING] or units
    unit = _unit_choice(request, units) if request.GET.get("unit") else (
        preferred[0] if preferred else None)
    window = request.GET.get("window", "today")
    if window not in ("today", "week", "overdue"):
        window = "today"
    page = None
    alerts: list[Alert] = []
    if unit is not None:
        page = counted_page(wl.unit_tasks(user, unit, window=window), request.GET.get("page"),
                            25)
        alerts = list(wl.unit_alerts(user, unit)[:50])
        shown = {t.patient.pk: t.patient for t in page} | {a.patient.pk: a.patient
                                                           for a in alerts}
        policy.audit_list(request, "samhand.task.list", shown.values(), object_type="Task")
    return render(request, "pathways/worklist_home_nursing.html", {
        "nav": "worklists", "worklist": "home_nursing", "units": units, "unit": unit,
        "window": window, "page": page, "alerts": alerts, "now": timezone.now(),
        "role_labels": ROLE_LABELS})


@require_GET
def worklist_hospital(request: HttpRequest) -> HttpResponse:
    user = user_of(request)
    units = wl.my_units(user)
    unit = _unit_choice(request, units)
    rows: list[wl.PathwayRow] = []
    page = None
    if unit is not None:
        page = Paginator(wl.active_pathways(user, unit), 25).get_page(request.GET.get("page"))
        rows = wl.with_gate_and_next(list(page), side="hospital")
        policy.audit_list(request, "samhand.pathway.list", [r.patient for r in rows],
                          object_type="CarePlan")
    by_phase: dict[str, list[wl.PathwayRow]] = {}
    for row in rows:
        by_phase.setdefault(row.pathway.phase_title() or "–", []).append(row)
    return render(request, "pathways/worklist_hospital.html", {
        "nav": "worklists", "worklist": "hospital", "units": units, "unit": unit,
        "by_phase": by_phase, "page": page, "now": timezone.now()})


@require_GET
def worklist_coordinator(request: HttpRequest) -> HttpResponse:
    user = user_of(request)
    units = wl.my_units(user)
    unit = _unit_choice(request, units)
    rows: list[wl.PathwayRow] = []
    page = None
    if unit is not None:
        page = Paginator(wl.active_pathways(user, unit), 25).get_page(request.GET.get("page"))
        rows = wl.with_gate_and_next(list(page))
        wl.with_tasks(rows, ("ip_revision", "contact_list_checked"),
                      before=timezone.now() + dt.timedelta(days=30))
        _plan_status(rows)
        policy.audit_list(request, "samhand.pathway.list", [r.patient for r in rows],
                          object_type="CarePlan")
    return render(request, "pathways/worklist_coordinator.html", {
        "nav": "worklists", "worklist": "coordinator", "units": units, "unit": unit,
        "rows": rows, "page": page, "now": timezone.now()})


def _plan_status(rows: list[wl.PathwayRow]) -> None:
    """The individual plan's revision and contact-list state, from samhand.plans: the
    active plans and their latest versions in two queries for all rows."""
    from django.db.models import OuterRef, Subquery

    from samhand.plans import services as plans
    from samhand.plans.models import IndividualPlan, IndividualPlanVersion
    from samhand.plans.pathway_link import template_contact_max_age_days

    active = {ip.patient_id: ip for ip in IndividualPlan.objects.filter(
        patient_id__in={r.patient.pk for r in rows}, status=IndividualPlan.Status.ACTIVE)
        .select_related("coordinator_organisation", "coordinator")}
    newest = IndividualPlanVersion.objects.filter(plan=OuterRef("plan")).order_by("-number")
    latest = {v.plan_id: v for v in IndividualPlanVersion.objects.filter(
        plan__in=list(active.values()), number=Subquery(newest.values("number")[:1]))}
    for row in rows:
        plan = active.get(row.patient.pk)
        version = latest.get(plan.pk) if plan else None
        if version is not None:
            assert plan is not None
            version.plan = plan  # no query for version.plan.patient
        row.ip = plan  # type: ignore[attr-defined]
        row.ip_revision_due = plans.revision_due(version)  # type: ignore[attr-defined]
        row.stale_contacts = plans.stale_contacts(  # type: ignore[attr-defined]
            version, max_age_days=template_contact_max_age_days(
                row.pathway.template, plans.CONTACT_MAX_AGE_DAYS))


@require_GET
def worklist_allocation(request: HttpRequest) -> HttpResponse:
    user = user_of(request)
    rows = wl.awaiting_decision(user)
    policy.audit_list(request, "samhand.pathway.list", [r.patient for r in rows],
                      object_type="CarePlan")
    return render(request, "pathways/worklist_allocation.html", {
        "nav": "worklists", "worklist": "allocation", "rows": rows, "now": timezone.now()})


@require_GET
def report_discharge_ready(request: HttpRequest) -> HttpResponse:
    """Days as discharge-ready per municipality and month: counts only, no names."""
    rows = wl.discharge_ready_report(user_of(request))
    return render(request, "pathways/report_discharge_ready.html", {
        "nav": "worklists", "worklist": "report", "rows": rows})
