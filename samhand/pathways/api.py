"""REST endpoints of samhand.pathways, mounted under /api/v1/ by samhand/api/api.py.

    GET  /pathway-templates                                     the template library
    GET  /patients/{patient_id}/pathways                        the patient's pathways
    POST /patients/{patient_id}/pathways                        start one
    GET  /patients/{patient_id}/pathways/{pathway_id}           with events, tasks, gates
    POST /patients/{patient_id}/pathways/{pathway_id}/events    record an event
    GET  /patients/{patient_id}/tasks                           the patient's tasks
    POST /patients/{patient_id}/tasks/{task_id}/complete        done, with a note
    POST /patients/{patient_id}/tasks/{task_id}/reassign        to another unit / person

Thin: the patient comes from `policy.get_patient_for(..., client="api")` (404 and an
audit row for what the caller may not see), pathways and tasks are looked up *within*
that patient, and every change goes through samhand.pathways.services, which checks
the grant, applies whole or not at all and audits. A DomainError becomes the API's
error JSON (samhand/api/errors.py): 400 with `code` and `field`, 403, 409.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Literal

from django.db.models import Prefetch, QuerySet
from django.http import Http404, HttpRequest
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema, Status
from pydantic import ConfigDict, Field

from samhand.access import policy
from samhand.access.policy import Grant
from samhand.accounts.models import User
from samhand.api.schemas import ERRORS, OrganisationRef, PersonRef
from samhand.audit.models import AuditEvent
from samhand.lib.errors import DomainError
from samhand.patients.models import Patient

from . import gate as gates
from . import services
from .definitions import Template, Text
from .fhir_resources import describe_due
from .loader import load_library
from .models import EVENT_LABELS, Pathway, PathwayEvent, Task, TaskNote, chain_prefetch

router = Router(tags=["pathways"])
CLIENT = "api"
READ = "samhand.pathway.read"
AT_DOC = ("ISO 8601 date (YYYY-MM-DD, taken as 12:00) or date and time; without a time "
          "zone it is Europe/Oslo wall time. Default: now.")


# --------------------------------------------------------------------------- schemas

class Input(Schema):
    model_config = ConfigDict(extra="forbid")


class KeyTitle(Schema):
    key: str
    title: str


class TemplateRef(Schema):
    key: str
    version: int
    title: str


class PathwayStartIn(Input):
    template: str = Field(max_length=64, description="Template key, e.g. `ltmv_invasive` "
                                                     "(see GET /pathway-templates).")
    entry: str = Field(max_length=32, description="Entry variant, e.g. `elective`.")
    at: str | None = Field(None, max_length=40, description=AT_DOC)
    note: str = Field("", max_length=4000)


class EventIn(Input):
    kind: str = Field(max_length=32, description="referral, meeting_held, application_sent, "
                                                 "municipal_decision, admitted, discharged, …")
    at: str | None = Field(None, max_length=40, description=AT_DOC)
    data: dict[str, Any] = Field(default_factory=dict, description=(
        "municipal_decision: `{\"discharge_ready_from\": \"YYYY-MM-DD\"}`; "
        "discharge_ready: `{\"received_at\": \"<when the municipality got the notice>\"}`; "
        "discharge_ready_answered: `{\"receive_from\": \"YYYY-MM-DD\" or null, "
        "\"can_receive\": true|false}`; "
        "phase_changed: `{\"phase\": \"<phase key>\"}`."))
    note: str = Field("", max_length=4000)
    override_reason: str = Field("", max_length=4000, description=(
        "Only the responsible consultant, only to record an event behind an unmet gate "
        "(e.g. discharge): why it is recorded anyway. Audited and shown on the pathway."))


class CompleteIn(Input):
    note: str = Field("", max_length=4000, description="Required for a supervised task: "
                                                       "who supervised it.")
    at: str | None = Field(None, max_length=40, description=AT_DOC)


class ReassignIn(Input):
    organisation_id: uuid.UUID
    role: str = Field("", max_length=32, description=(
        "The care-team role that owns the task there (e.g. `municipal_coordinator`); "
        "empty keeps the task's role."))
    assignee_id: uuid.UUID | None = Field(None, description="A person in that organisation.")
    reason: str = Field("", max_length=2000)


class JudgementOut(Schema):
    met: bool
    note: str
    judged_by: PersonRef
    judged_at: dt.datetime


class CriterionOut(Schema):
    key: str
    title: str
    kind: str
    met: bool
    missing: str
    owner_role: str
    judgement: JudgementOut | None


class GateOut(Schema):
    key: str
    title: str
    before_event: str
    met: bool
    criteria: list[CriterionOut]


class OverrideOut(Schema):
    gate: str
    reason: str
    unmet: list[dict[str, Any]]
    by: PersonRef
    at: dt.datetime


class EventOut(Schema):
    id: uuid.UUID
    kind: str
    label: str
    occurred_at: dt.datetime
    recorded_at: dt.datetime
    recorded_by: PersonRef | None
    recorded_by_organisation: OrganisationRef | None
    data: dict[str, Any]
    note: str
    source: str
    override: OverrideOut | None


class TaskNoteOut(Schema):
    kind: str
    text: str
    author: PersonRef | None
    organisation: OrganisationRef | None
    created_at: dt.datetime


class TaskOut(Schema):
    id: uuid.UUID
    patient_id: uuid.UUID
    pathway_id: uuid.UUID | None
    kind: str
    task_key: str
    seq: int
    title: str
    description: str
    side: str
    phase: str
    owner_role: str
    owner_organisation: OrganisationRef | None
    assignee: PersonRef | None
    status: Task.Status
    overdue: bool
    supervised: bool
    due_at: dt.datetime | None
    warn_at: dt.datetime | None
    latest_at: dt.datetime | None
    created_at: dt.datetime
    completed_at: dt.datetime | None
    completed_by: PersonRef | None
    completion_note: str
    paused_reason: str
    notes: list[TaskNoteOut]


class TaskPage(Schema):
    count: int
    limit: int
    offset: int
    items: list[TaskOut]


class PathwayOut(Schema):
    id: uuid.UUID
    patient_id: uuid.UUID
    template: TemplateRef
    entry: KeyTitle
    phase: KeyTitle | None
    status: Pathway.Status
    started_at: dt.datetime
    ended_at: dt.datetime | None
    discharged_at: dt.datetime | None
    admitted: bool
    discharge_ready_from: dt.date | None
    days_discharge_ready: int | None = Field(
        description="Days as discharge-ready: from the discharge-ready notice (or the "
                    "municipal decision's date) until discharge, withdrawal or today.")
    days_payable: int | None = Field(
        description="Of those, the days the municipality pays for (forskrift om kommunal "
                    "betaling for utskrivningsklare pasienter § 13).")


class PathwayDetail(PathwayOut):
    events: list[EventOut]
    tasks: list[TaskOut]
    gates: list[GateOut]


class PathwayList(Schema):
    count: int
    items: list[PathwayOut]


class TemplateTaskOut(Schema):
    key: str
    title: str
    side: str
    role: str
    phase: str
    measure: str | None
    entries: list[str]
    due: str = Field(description="When the task falls due, in words.")


class TemplateCriterionOut(Schema):
    key: str
    title: str
    kind: str
    owner_role: str


class TemplateGateOut(Schema):
    key: str
    title: str
    before_event: str
    criteria: list[TemplateCriterionOut]


class TemplateOut(Schema):
    key: str
    version: int
    title: str
    description: str
    entries: list[KeyTitle]
    phases: list[KeyTitle]
    measures: list[KeyTitle]
    events: list[str]
    tasks: list[TemplateTaskOut]
    gates: list[TemplateGateOut]


class TemplateList(Schema):
    count: int
    items: list[TemplateOut]


class TaskFilter(Schema):
    state: Literal["open", "overdue", "closed", "all"] = Field(
        "open", description="open: to do, in progress or paused; overdue: open and past "
                            "due; closed: done or cancelled; all.")
    pathway_id: uuid.UUID | None = None
    limit: int = Field(50, ge=1, le=200)
    offset: int = Field(0, ge=0, le=1_000_000)


# --------------------------------------------------------------------------- shapes

def _text(text: Text | None) -> str:
    return text.get(get_language()) if text else ""


def _org(org: Any) -> dict[str, Any] | None:
    return {"id": org.pk, "name": org.name} if org is not None else None


def _person(user: Any) -> dict[str, Any] | None:
    if user is None:
        return None
    return {"id": user.pk, "name": user.get_full_name() or user.username,
            "hpr_number": user.hpr_number}


def _pathway(p: Pathway) -> dict[str, Any]:
    template = p.template
    return {
        "id": p.pk, "patient_id": p.patient_id,
        "template": {"key": p.template_key, "version": p.template_version,
                     "title": _text(template.title)},
        "entry": {"key": p.entry, "title": p.entry_title()},
        "phase": {"key": p.phase, "title": p.phase_title()} if p.phase else None,
        "status": p.status, "started_at": p.started_at, "ended_at": p.ended_at,
        "discharged_at": p.discharged_at, "admitted": p.admitted,
        "discharge_ready_from": p.discharge_ready_from,
        "days_discharge_ready": p.days_discharge_ready(),
        "days_payable": p.payable_days(),
    }


def _task(t: Task, now: dt.datetime) -> dict[str, Any]:
    return {
        "id": t.pk, "patient_id": t.patient_id, "pathway_id": t.pathway_id, "kind": t.kind,
        "task_key": t.task_key, "seq": t.seq, "title": t.display_title(),
        "description": t.description, "side": t.side, "phase": t.phase,
        "owner_role": t.owner_role, "owner_organisation": _org(t.owner_organisation),
        "assignee": _person(t.assignee), "status": t.status, "overdue": t.is_overdue(now),
        "supervised": t.supervised, "due_at": t.due_at, "warn_at": t.warn_at,
        "latest_at": t.latest_at, "created_at": t.created_at,
        "completed_at": t.completed_at, "completed_by": _person(t.completed_by),
        "completion_note": t.completion_note, "paused_reason": t.paused_reason,
        "notes": [{"kind": n.kind, "text": n.text, "author": _person(n.author),
                   "organisation": _org(n.organisation), "created_at": n.created_at}
                  for n in t.notes.all()],
    }


def _event(e: PathwayEvent) -> dict[str, Any]:
    override = getattr(e, "override", None)  # reverse one-to-one: None when absent
    return {
        "id": e.pk, "kind": e.kind, "label": str(EVENT_LABELS.get(e.kind, e.kind)),
        "occurred_at": e.occurred_at, "recorded_at": e.recorded_at,
        "recorded_by": _person(e.recorded_by),
        "recorded_by_organisation": _org(e.recorded_by_organisation),
        "data": e.data, "note": e.note, "source": e.source,
        "override": {"gate": override.gate_key, "reason": override.reason,
                     "unmet": override.unmet, "by": _person(override.by), "at": override.at}
        if override is not None else None,
    }


def _gate(status: gates.GateStatus) -> dict[str, Any]:
    return {
        "key": status.key, "title": status.title,
        "before_event": status.definition.before_event, "met": status.met,
        "criteria": [{"key": c.key, "title": c.title, "kind": c.kind, "met": c.met,
                      "missing": c.missing, "owner_role": c.owner_role,
                      "judgement": {"met": c.judgement.met, "note": c.judgement.note,
                                    "judged_by": _person(c.judgement.judged_by),
                                    "judged_at": c.judgement.judged_at}
                      if c.judgement is not None else None}
                     for c in status.criteria],
    }


def _template(t: Template) -> dict[str, Any]:
    return {
        "key": t.key, "version": t.version, "title": _text(t.title),
        "description": _text(t.description),
        "entries": [{"key": k, "title": _text(v)} for k, v in t.entries.items()],
        "phases": [{"key": p.key, "title": _text(p.title)} for p in t.phases],
        "measures": [{"key": m.key, "title": _text(m.title)} for m in t.measures],
        "events": list(t.events),
        "tasks": [{"key": d.key, "title": _text(d.title), "side": d.side, "role": d.role,
                   "phase": d.phase, "measure": d.measure, "entries": sorted(d.entries),
                   "due": describe_due(t, d)} for d in t.tasks],
        "gates": [{"key": g.key, "title": _text(g.title), "before_event": g.before_event,
                   "criteria": [{"key": c.key, "title": _text(c.title), "kind": c.kind,
                                 "owner_role": c.owner_role} for c in g.criteria]}
                  for g in t.gates],
    }


def _tasks() -> QuerySet[Task]:
    notes = TaskNote.objects.select_related("author", "organisation").order_by("created_at")
    return (Task.objects.select_related("owner_organisation", "assignee", "completed_by")
            .prefetch_related(Prefetch("notes", queryset=notes)))


# --------------------------------------------------------------------------- helpers

def _open(request: HttpRequest, patient_id: uuid.UUID, *, write: bool = False,
          object_type: str = "CarePlan") -> tuple[Patient, Grant]:
    """The patient if the caller may see it (else 404 and an audit row)."""
    return policy.get_patient_for(
        request, patient_id, code=READ, client=CLIENT, object_type=object_type,
        action=AuditEvent.Action.UPDATE if write else AuditEvent.Action.READ)


def _pathway_of(patient: Patient, pathway_id: uuid.UUID) -> Pathway:
    pathway = Pathway.objects.filter(pk=pathway_id, patient=patient).first()
    if pathway is None:
        raise Http404
    return pathway


def _task_of(patient: Patient, task_id: uuid.UUID) -> Task:
    task = Task.objects.filter(pk=task_id, patient=patient).select_related("pathway").first()
    if task is None:
        raise Http404
    return task


@contextmanager
def _fields(**names: str) -> Iterator[None]:
    """Name the request's fields in a DomainError raised by a service (the services
    speak of `organisation`, the API of `organisation_id`)."""
    try:
        yield
    except DomainError as exc:
        if exc.field in names:
            exc.field = names[exc.field]
        raise


def _detail(pathway: Pathway) -> dict[str, Any]:
    now = timezone.now()
    events = (pathway.events.select_related("recorded_by", "recorded_by_organisation",
                                            "override__by")
              .order_by("occurred_at", "recorded_at"))
    tasks = _tasks().filter(pathway=pathway).order_by("due_at", "created_at", "id")
    return {**_pathway(pathway), "events": [_event(e) for e in events],
            "tasks": [_task(t, now) for t in tasks],
            "gates": [_gate(g) for g in gates.gates(pathway)]}


# --------------------------------------------------------------------------- templates

@router.get("/pathway-templates", response={200: TemplateList, **ERRORS},
            summary="The pathway template library")
def list_pathway_templates(request: HttpRequest) -> Any:
    """The newest version of every shipped template: entries, phases, tasks with their
    owners and due rules in words, gates with their criteria. No patient data."""
    items = [_template(t) for _key, t in sorted(load_library().items())]
    return {"count": len(items), "items": items}


# --------------------------------------------------------------------------- pathways

@router.get("/patients/{uuid:patient_id}/pathways", response={200: PathwayList, **ERRORS},
            summary="The patient's care pathways")
def list_pathways(request: HttpRequest, patient_id: uuid.UUID) -> Any:
    patient, _grant = _open(request, patient_id)
    items = [_pathway(p) for p in Pathway.objects.filter(patient=patient)
             .prefetch_related(chain_prefetch()).order_by("-started_at", "id")]
    return {"count": len(items), "items": items}


@router.post("/patients/{uuid:patient_id}/pathways", response={201: PathwayDetail, **ERRORS},
             summary="Start a care pathway")
def start_pathway(request: HttpRequest, patient_id: uuid.UUID,
                  payload: PathwayStartIn) -> Any:
    """From the newest version of the template, at the entry given. The tasks due from
    the start are created at once, each owned by the care team's organisation in the
    task's role. 409 `pathway_exists` when one of the kind is already active."""
    patient, grant = _open(request, patient_id, write=True)
    pathway = services.start_pathway(policy.actor_for(request, CLIENT), grant, patient,
                                     template_key=payload.template, entry=payload.entry,
                                     at=payload.at, note=payload.note)
    return Status(201, _detail(pathway))


@router.get("/patients/{uuid:patient_id}/pathways/{uuid:pathway_id}",
            response={200: PathwayDetail, **ERRORS},
            summary="One pathway with its events, tasks and gate status")
def get_pathway(request: HttpRequest, patient_id: uuid.UUID, pathway_id: uuid.UUID) -> Any:
    """Each gate criterion says met or not, what is missing and which care-team role
    owns it."""
    patient, _grant = _open(request, patient_id)
    return _detail(_pathway_of(patient, pathway_id))


@router.post("/patients/{uuid:patient_id}/pathways/{uuid:pathway_id}/events",
             response={201: EventOut, **ERRORS}, summary="Record a pathway event")
def record_pathway_event(request: HttpRequest, patient_id: uuid.UUID,
                         pathway_id: uuid.UUID, payload: EventIn) -> Any:
    """Refused with nothing stored: an unknown kind (400 `unknown_event`), a date in
    the wrong format (400 `bad_date`), an event out of order (400 `out_of_order`, e.g.
    discharged before admitted), an event behind an unmet gate (409 `gate_unmet`,
    saying what is missing) unless the responsible consultant gives
    `override_reason` (anyone else: 403 `override_forbidden`)."""
    patient, grant = _open(request, patient_id, write=True)
    pathway = _pathway_of(patient, pathway_id)
    with _fields(discharge_ready_from="data.discharge_ready_from", phase="data.phase",
                 receive_from="data.receive_from", received_at="data.received_at",
                 can_receive="data.can_receive"):
        event = services.record_event(
            pathway, payload.kind, actor=policy.actor_for(request, CLIENT), grant=grant,
            at=payload.at, data=payload.data, note=payload.note,
            override_reason=payload.override_reason, source=PathwayEvent.Source.API)
    event = (PathwayEvent.objects.select_related("recorded_by", "recorded_by_organisation",
                                                 "override__by").get(pk=event.pk))
    return Status(201, _event(event))


# --------------------------------------------------------------------------- tasks

@router.get("/patients/{uuid:patient_id}/tasks", response={200: TaskPage, **ERRORS},
            summary="The patient's tasks")
def list_patient_tasks(request: HttpRequest, patient_id: uuid.UUID,
                       filters: Query[TaskFilter]) -> Any:
    patient, _grant = _open(request, patient_id, object_type="Task")
    now = timezone.now()
    qs = _tasks().filter(patient=patient)
    if filters.state == "open":
        qs = qs.filter(status__in=(*Task.OPEN_STATUSES, Task.Status.PAUSED))
    elif filters.state == "overdue":
        qs = qs.filter(status__in=Task.OPEN_STATUSES, due_at__lt=now)
    elif filters.state == "closed":
        qs = qs.filter(status__in=(Task.Status.DONE, Task.Status.CANCELLED))
    if filters.pathway_id:
        qs = qs.filter(pathway_id=filters.pathway_id)
    qs = qs.order_by("due_at", "created_at", "id")
    count = qs.count()
    rows = list(qs[filters.offset:filters.offset + filters.limit])
    return {"count": count, "limit": filters.limit, "offset": filters.offset,
            "items": [_task(t, now) for t in rows]}


@router.post("/patients/{uuid:patient_id}/tasks/{uuid:task_id}/complete",
             response={200: TaskOut, **ERRORS}, summary="Complete a task")
def complete_patient_task(request: HttpRequest, patient_id: uuid.UUID, task_id: uuid.UUID,
                          payload: CompleteIn) -> Any:
    """A supervised task needs a note (400 `note_required`); a task that is done or
    cancelled cannot be completed (409 `bad_transition`). A recurring series plans its
    next occurrence."""
    patient, grant = _open(request, patient_id, write=True, object_type="Task")
    task = _task_of(patient, task_id)
    services.complete_task(task, actor=policy.actor_for(request, CLIENT), grant=grant,
                           note=payload.note, at=payload.at)
    return _task(_tasks().get(pk=task.pk), timezone.now())


@router.post("/patients/{uuid:patient_id}/tasks/{uuid:task_id}/reassign",
             response={200: TaskOut, **ERRORS}, summary="Give a task to another unit")
def reassign_patient_task(request: HttpRequest, patient_id: uuid.UUID, task_id: uuid.UUID,
                          payload: ReassignIn) -> Any:
    """To another organisation (and role), optionally to a named person who works
    there (400 `not_member` otherwise). Kept in the task's history with the reason."""
    patient, grant = _open(request, patient_id, write=True, object_type="Task")
    task = _task_of(patient, task_id)
    assignee = None
    if payload.assignee_id is not None:
        assignee = User.objects.filter(pk=payload.assignee_id, is_active=True).first()
        if assignee is None:
            raise DomainError(_("Unknown person."), code="unknown_person",
                              field="assignee_id")
    with _fields(organisation="organisation_id", assignee="assignee_id"):
        services.reassign_task(task, actor=policy.actor_for(request, CLIENT), grant=grant,
                               organisation=payload.organisation_id, role=payload.role,
                               assignee=assignee, reason=payload.reason)
    return _task(_tasks().get(pk=task.pk), timezone.now())
