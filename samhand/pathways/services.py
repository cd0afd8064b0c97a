"""Pathway workflows: start, record events, materialise tasks, gates, the sweep.

Views, the API, commands and other apps (meetings, messages, observations) call these.
Each applies whole or not at all (`transaction.atomic`), writes its audit rows in the
same transaction, and raises a DomainError with a translated message on bad input.
Patients reach these functions only from the access layer (the caller got the patient
and its Grant from samhand.access.policy).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop

from samhand.access.policy import Grant
from samhand.alerts.services import raise_alert
from samhand.audit.models import AuditEvent
from samhand.audit.services import Actor, record
from samhand.lib.errors import Conflict, DomainError, Forbidden
from samhand.lib.i18n import Choice, Text, in_languages
from samhand.orgs.models import Organisation
from samhand.patients.models import CareTeamMember, Patient

from . import gate as gates
from .definitions import EVENT_KINDS, Template
from .loader import TemplateError, get_template, load_library
from .models import EVENT_LABELS, GateJudgement, GateOverride, Pathway, PathwayEvent, Task, TaskNote
from .schedule import flag_intervals, plan, validate_event_order

A = AuditEvent.Action
SYSTEM = Actor(client="system")

# Care-team roles that may stand in for a template role when the team has no member
# with exactly that role (e.g. a patient whose home nursing is only "primary contact").
ROLE_FALLBACKS: dict[str, tuple[str, ...]] = {
    "home_nursing_primary": ("home_nursing",),
    "home_nursing": ("home_nursing_primary",),
    "hospital_coordinator": ("ltmv_nurse",),
    "ltmv_nurse": ("hospital_coordinator",),
}


# Tasks that exist to bring an event about are done when the event is recorded.
EVENT_COMPLETES: dict[str, tuple[str, ...]] = {
    "meeting_held": ("meeting_called",),
    "application_sent": ("application_written",),
    "municipal_decision": ("municipal_decision_made",),
}


# validate_event_order (pure, English) says what is wrong; these are its sentences as
# translatable msgids. The ones that name events are matched and rebuilt with the
# translated event names.
_FIXED_ORDER_MESSAGES = {
    "The pathway has ended; no events can be added":
        gettext_lazy("The pathway has ended; no events can be added"),
    "Ended before the last event of the pathway":
        gettext_lazy("Ended before the last event of the pathway"),
    "Discharged before admitted": gettext_lazy("Discharged before admitted"),
    "Discharged, but the patient is not admitted":
        gettext_lazy("Discharged, but the patient is not admitted"),
    "Admitted, but the patient is already admitted":
        gettext_lazy("Admitted, but the patient is already admitted"),
    "Readmitted, but the patient is already admitted":
        gettext_lazy("Readmitted, but the patient is already admitted"),
    "The patient is already marked vulnerable":
        gettext_lazy("The patient is already marked vulnerable"),
    "The patient is not marked vulnerable": gettext_lazy("The patient is not marked vulnerable"),
    "Discharge-ready, but the patient is not admitted":
        gettext_lazy("Discharge-ready, but the patient is not admitted"),
    "The patient is already discharge-ready":
        gettext_lazy("The patient is already discharge-ready"),
    "An answer, but no discharge-ready notice is open":
        gettext_lazy("An answer, but no discharge-ready notice is open"),
    "Withdrawn, but the patient is not discharge-ready":
        gettext_lazy("Withdrawn, but the patient is not discharge-ready"),
}


def order_message(problem: str) -> str:
    """validate_event_order's English sentence in the user's language."""
    from .schedule import _NAMES

    if problem in _FIXED_ORDER_MESSAGES:
        return str(_FIXED_ORDER_MESSAGES[problem])
    label = {v: str(EVENT_LABELS[k]) for k, v in _NAMES.items()}
    lower = {v.lower(): str(EVENT_LABELS[k]) for k, v in _NAMES.items()}
    for suffix, template in (
            (" before the previous admission or discharge",
             _("%(event)s before the previous admission or discharge")),
            (" dated before an earlier step of the pathway",
             _("%(event)s dated before an earlier step of the pathway"))):
        if problem.endswith(suffix) and problem[:-len(suffix)] in label:
            return template % {"event": label[problem[:-len(suffix)]]}
    for middle, template in ((" dated before ", _("%(event)s dated before %(earlier)s")),
                             (" before ", _("%(event)s before %(earlier)s"))):
        first, sep, rest = problem.partition(middle)
        if sep and first in label and rest in lower:
            return template % {"event": label[first], "earlier": lower[rest].lower()}
    return problem


def require_write(grant: Grant | None) -> None:
    """Writes need a care relation or emergency access; a relative's delegation is read-only."""
    if grant is None or grant.basis not in (AuditEvent.Basis.CARE_RELATION,
                                            AuditEvent.Basis.EMERGENCY):
        raise Forbidden(_("You may not change this patient's record."), code="read_only")


def _parse_at(value: Any, field: str = "at") -> dt.datetime:
    """A datetime from a form or JSON value; naive values are Europe/Oslo wall time."""
    if isinstance(value, dt.datetime):
        at = value
    elif isinstance(value, dt.date):
        at = dt.datetime.combine(value, dt.time(12, 0))
    else:
        text = str(value or "").strip()
        try:
            at = dt.datetime.fromisoformat(text) if "T" in text or " " in text else (
                dt.datetime.combine(dt.date.fromisoformat(text), dt.time(12, 0)))
        except ValueError:
            raise DomainError(_("Write the date as YYYY-MM-DD (and the time as HH:MM)."),
                              code="bad_date", field=field) from None
    if timezone.is_naive(at):
        at = timezone.make_aware(at)
    return at


def _parse_date(value: Any, field: str) -> dt.date:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    try:
        return dt.date.fromisoformat(str(value or "").strip())
    except ValueError:
        raise DomainError(_("Write the date as YYYY-MM-DD."), code="bad_date",
                          field=field) from None


# --------------------------------------------------------------------------- owners

def team_owner(patient: Patient, role: str, at: dt.datetime | None = None
               ) -> Organisation | None:
    """The organisation on the patient's active care team in `role` (or a fallback role)."""
    return _owners(patient, at).get(role)


def _owners(patient: Patient, at: dt.datetime | None = None
            ) -> dict[str, Organisation | None]:
    """For every care-team role, the organisation that holds it on the patient's active
    care team (the earliest member first), or else the first of its ROLE_FALLBACKS."""
    by_role: dict[str, Organisation] = {}
    for m in CareTeamMember.objects.active(at).filter(
            patient=patient, organisation__isnull=False).select_related("organisation") \
            .order_by("period_start"):
        by_role.setdefault(m.role, m.organisation)  # type: ignore[arg-type]
    return {role: by_role.get(role) or next(
        (by_role[r] for r in ROLE_FALLBACKS.get(role, ()) if r in by_role), None)
        for role in CareTeamMember.Role.values}


# --------------------------------------------------------------------------- start

@transaction.atomic
def start_pathway(actor: Actor, grant: Grant, patient: Patient, *, template_key: str,
                  entry: str, at: Any = None, note: str = "") -> Pathway:
    """Start a pathway from the newest version of a template, at `entry`."""
    require_write(grant)
    library = load_library()
    template = library.get(template_key)
    if template is None:
        raise DomainError(_("Unknown pathway template."), code="unknown_template",
                          field="template")
    if entry not in template.entries:
        raise DomainError(_("The pathway has no such entry."), code="unknown_entry",
                          field="entry")
    if Pathway.objects.filter(patient=patient, template_key=template_key,
                              status=Pathway.Status.ACTIVE).exists():
        raise Conflict(_("The patient already has an active pathway of this kind."),
                       code="pathway_exists")
    started = _parse_at(at, "at") if at else timezone.now()
    if started > timezone.now() + dt.timedelta(minutes=5):
        raise DomainError(_("A pathway cannot start in the future."), code="future",
                          field="at")
    pathway = Pathway.objects.create(
        patient=patient, template_key=template.key, template_version=template.version,
        template_hash=template.content_hash, entry=entry,
        phase=template.phases[0].key if template.phases else "", started_at=started,
        started_by=actor.user, started_by_organisation=actor.organisation)
    record(actor, "samhand.pathway.started", A.CREATE, patient_id=patient.pk,
           object_type="CarePlan", object_ids=[pathway.pk])
    sync_tasks(pathway, actor=actor)
    return pathway


# --------------------------------------------------------------------------- events

def _facts(pathway: Pathway) -> list[tuple[str, dt.datetime]]:
    return list(pathway.events.order_by("occurred_at", "recorded_at")
                .values_list("kind", "occurred_at"))


def may_override(actor: Actor, patient: Patient) -> bool:
    """The responsible consultant: named on the care team, or a doctor in the
    organisation that holds the role without a named person."""
    user = actor.user
    if user is None or getattr(user, "profession", "") != "doctor":
        return False
    members = CareTeamMember.objects.active().filter(
        patient=patient, role=CareTeamMember.Role.RESPONSIBLE_CONSULTANT)
    if members.filter(user=user).exists():
        return True
    from samhand.orgs.models import Membership

    org_ids = Membership.objects.active().filter(user=user).values("organisation_id")
    return members.filter(user__isnull=True, organisation_id__in=org_ids).exists()


@transaction.atomic
def record_event(pathway: Pathway, kind: str, *, actor: Actor, grant: Grant | None = None,
                 at: Any = None, data: dict[str, Any] | None = None, note: str = "",
                 override_reason: str = "", source: str = PathwayEvent.Source.WEB,
                 ) -> PathwayEvent:
    """Record that `kind` happened at `at` (default now) and plan the tasks again.

    Refused (nothing stored): an unknown kind, a date in the wrong format or in the
    future, an event out of order, and an event behind a gate whose criteria are not
    all met — unless the responsible consultant overrides with a written reason.
    `grant` is required from the web and the API; other apps (messages, meetings)
    pass None and act as the system on behalf of the sender."""
    if grant is not None:
        require_write(grant)
    pathway = Pathway.objects.select_for_update().get(pk=pathway.pk)
    if pathway.status == Pathway.Status.ENDED:
        raise Conflict(_("The pathway has ended."), code="pathway_ended")
    template = pathway.template
    if kind not in EVENT_KINDS or (kind not in template.events and kind != "ended"):
        raise DomainError(_("This pathway has no event of that kind."), code="unknown_event",
                          field="kind")
    occurred = _parse_at(at, "at") if at else timezone.now()
    if occurred > timezone.now() + dt.timedelta(minutes=5) and kind != "training_date_set":
        raise DomainError(_("The event cannot be in the future."), code="future", field="at")
    data = dict(data or {})
    problem = validate_event_order(_facts(pathway), kind, occurred)
    if problem:
        raise DomainError(_("The event is out of order: %(problem)s.") % {
            "problem": order_message(problem)}, code="out_of_order", field="kind")
    update: list[str] = []
    if kind == "municipal_decision":
        ready = _parse_date(data.get("discharge_ready_from"), "discharge_ready_from")
        data["discharge_ready_from"] = ready.isoformat()
        pathway.discharge_ready_from = ready
        update.append("discharge_ready_from")
    if kind == "discharge_ready" and data.get("received_at"):
        data["received_at"] = _parse_at(data["received_at"], "received_at").isoformat()
    if kind == "discharge_ready_answered":
        receive_from = (_parse_date(data["receive_from"], "receive_from")
                        if data.get("receive_from") else None)
        can_receive = data.get("can_receive")
        if can_receive is not None and not isinstance(can_receive, bool):
            raise DomainError(_("Say whether the municipality can receive the patient "
                                "(true or false)."), code="invalid", field="can_receive")
        if can_receive is None:
            can_receive = receive_from is not None
        if can_receive and receive_from is None:
            receive_from = timezone.localtime(occurred).date()
        data["can_receive"] = bool(can_receive)
        data["receive_from"] = receive_from.isoformat() if receive_from else None
    if kind == "phase_changed":
        phase = str(data.get("phase", ""))
        if phase not in {p.key for p in template.phases}:
            raise DomainError(_("Unknown phase."), code="unknown_phase", field="phase")
        pathway.phase = phase
        update.append("phase")

    gate_def = template.gate_before(kind)
    unmet: list[gates.CriterionStatus] = []
    if gate_def is not None:
        unmet = gates.evaluate(pathway, gate_def).unmet
        if unmet:
            if not override_reason.strip():
                raise Conflict(_("The %(gate)s is not passed: %(missing)s") % {
                    "gate": gate_def.title.get(None).lower(),
                    "missing": "; ".join(f"{c.title} ({c.missing})" for c in unmet)},
                    code="gate_unmet", field="kind")
            if not may_override(actor, pathway.patient):
                raise Forbidden(_("Only the responsible consultant may record this with "
                                  "the gate unmet."), code="override_forbidden",
                                field="override_reason")

    event = PathwayEvent.objects.create(
        pathway=pathway, kind=kind, occurred_at=occurred, recorded_by=actor.user,
        recorded_by_organisation=actor.organisation, data=data, note=note.strip(),
        source=source)
    if kind in ("admitted", "readmitted"):
        pathway.admitted = True
        update.append("admitted")
    if kind == "discharged":
        pathway.admitted = False
        pathway.discharged_at = occurred
        update += ["admitted", "discharged_at"]
        if template.phases and len(template.phases) > 1 and pathway.phase == \
                template.phases[0].key:
            pathway.phase = template.phases[1].key
            update.append("phase")
    if kind == "ended":
        pathway.status = Pathway.Status.ENDED
        pathway.ended_at = occurred
        update += ["status", "ended_at"]
    if update:
        pathway.save(update_fields=sorted(set(update)))
    record(actor, "samhand.pathway.event", A.UPDATE, patient_id=pathway.patient_id,
           object_type="CarePlan", object_ids=[pathway.pk, event.pk])
    if unmet and gate_def is not None:
        GateOverride.objects.create(
            pathway=pathway, event=event, gate_key=gate_def.key, by=actor.user,
            reason=override_reason.strip(),
            unmet=[{"key": c.key, "title": c.title, "missing": c.missing} for c in unmet])
        record(actor, "samhand.pathway.gate_override", A.UPDATE,
               patient_id=pathway.patient_id, object_type="CarePlan",
               object_ids=[pathway.pk, event.pk], reason_code="gate_override",
               reason_text=override_reason.strip())
    done_keys = EVENT_COMPLETES.get(kind, ())
    if done_keys:
        Task.objects.filter(pathway=pathway, task_key__in=done_keys,
                            status__in=Task.OPEN_STATUSES).update(
            status=Task.Status.DONE, completed_at=occurred, completed_by=actor.user,
            completion_note=str(EVENT_LABELS[kind]))
    # An admission or discharge recorded by hand does what the hospital's message does
    # (MS-2): home-service tasks wait while the patient is in hospital and are open
    # again at discharge. Both are idempotent, so a message that also records the
    # event changes nothing twice.
    if kind in ("admitted", "readmitted"):
        pause_home_service_tasks(pathway.patient, actor=actor)
    elif kind == "discharged":
        resume_home_service_tasks(pathway.patient, actor=actor)
    if kind == "ended":
        Task.objects.filter(pathway=pathway, status__in=(*Task.OPEN_STATUSES,
                                                         Task.Status.PAUSED)).update(
            status=Task.Status.CANCELLED)
    else:
        sync_tasks(pathway, actor=actor)
    return event


@transaction.atomic
def set_discharge_date(pathway: Pathway, receive_from: dt.date | str | None, *, actor: Actor,
                       at: Any = None, can_receive: bool | None = None,
                       grant: Grant | None = None, data: dict[str, Any] | None = None,
                       source: str = PathwayEvent.Source.MESSAGE) -> PathwayEvent:
    """The municipality's answer with the date it can receive the patient (PW-6, issue 6
    point 6). With a discharge-ready notice open, it is the answer to that notice
    (`discharge_ready_answered`: the municipality stops paying from that date); without
    one, in a template that plans the discharge by decision (LTMV), it is the municipal
    decision with the final date for utskrivningsklar. `receive_from` None with
    `can_receive` False: the municipality cannot receive the patient yet."""
    from .schedule import ready_state

    extra = dict(data or {})
    state, _since = ready_state(_facts(pathway))
    if state == "notice":
        return record_event(pathway, "discharge_ready_answered", actor=actor, grant=grant,
                            at=at, source=source,
                            data={**extra, "receive_from": receive_from,
                                  "can_receive": can_receive})
    if receive_from is not None and "municipal_decision" in pathway.template.events:
        return record_event(pathway, "municipal_decision", actor=actor, grant=grant, at=at,
                            source=source,
                            data={**extra, "discharge_ready_from": receive_from})
    raise DomainError(_("There is no discharge-ready notice to answer."), code="no_notice",
                      field="receive_from")


@transaction.atomic
def judge_criterion(pathway: Pathway, *, actor: Actor, grant: Grant, gate_key: str,
                    criterion_key: str, met: bool, note: str) -> GateJudgement:
    """Record a clinical judgement on a gate criterion of kind "judgement"."""
    require_write(grant)
    gate_def = next((g for g in pathway.template.gates if g.key == gate_key), None)
    criterion = next((c for c in gate_def.criteria if c.key == criterion_key), None) \
        if gate_def else None
    if criterion is None or criterion.kind != "judgement":
        raise DomainError(_("This criterion is not a clinical judgement."),
                          code="not_judgement", field="criterion")
    if not note.strip():
        raise DomainError(_("Write what the judgement is based on."), code="note_required",
                          field="note")
    if actor.user is None:
        raise Forbidden(_("A judgement needs a named person."), code="anonymous")
    judgement = GateJudgement.objects.create(
        pathway=pathway, gate_key=gate_key, criterion_key=criterion_key, met=met,
        note=note.strip(), judged_by=actor.user, judged_by_organisation=actor.organisation)
    record(actor, "samhand.pathway.gate_judged", A.UPDATE, patient_id=pathway.patient_id,
           object_type="CarePlan", object_ids=[pathway.pk, judgement.pk])
    return judgement


# --------------------------------------------------------------------------- tasks

def sync_tasks(pathway: Pathway, *, actor: Actor | None = None,
               now: dt.datetime | None = None) -> list[Task]:
    """Materialise the template's due rules as Task rows, idempotently.

    New occurrences become tasks owned by the care team's organisation in the task's
    role; open tasks follow a moved due time; open tasks the plan no longer holds
    (superseded by a newer anchor) are cancelled. Done tasks are never touched."""
    now = now or timezone.now()
    template = pathway.template
    events = _facts(pathway)
    existing = {(t.task_key, t.seq): t for t in Task.objects.filter(
        pathway=pathway, kind=Task.Kind.TEMPLATE)}
    completed: dict[str, list[dt.datetime]] = defaultdict(list)
    for t in existing.values():
        if t.status == Task.Status.DONE and t.completed_at:
            completed[t.task_key].append(t.completed_at)
    occurrences = plan(template, pathway.entry, events, completed, flag_intervals(events),
                       now, started_at=pathway.started_at)
    owners = _owners(pathway.patient)
    created: list[Task] = []
    planned: set[tuple[str, int]] = set()
    for o in occurrences:
        key = (o.task_key, o.seq)
        planned.add(key)
        task = existing.get(key)
        if task is None:
            definition = template.task(o.task_key)
            task = Task(
                patient_id=pathway.patient_id, pathway=pathway, kind=Task.Kind.TEMPLATE,
                task_key=o.task_key, seq=o.seq, series=o.series,
                title=definition.title.nb, titles=definition.title.as_dict(),
                description=definition.description.nb if definition.description else "",
                side=definition.side, phase=definition.phase, owner_role=definition.role,
                owner_organisation=owners.get(definition.role), supervised=o.supervised,
                due_at=o.due_at, warn_at=o.warn_at, latest_at=o.latest_at,
                status=Task.Status.PAUSED if pathway.admitted and _home_service(
                    definition.side, owners.get(definition.role)) else Task.Status.OPEN,
                paused_reason=_("The patient is in hospital") if pathway.admitted and
                _home_service(definition.side, owners.get(definition.role)) else "",
                created_by=actor.user if actor else None)
            created.append(task)
        elif task.is_open and (task.due_at, task.warn_at, task.latest_at) != (
                o.due_at, o.warn_at, o.latest_at):
            task.due_at, task.warn_at, task.latest_at = o.due_at, o.warn_at, o.latest_at
            task.save(update_fields=["due_at", "warn_at", "latest_at"])
    if created:
        Task.objects.bulk_create(created)
        record(actor or SYSTEM, "samhand.task.created", A.CREATE,
               patient_id=pathway.patient_id, object_type="Task",
               object_ids=[t.pk for t in created])
    stale = [t.pk for key, t in existing.items() if key not in planned
             and t.status in (*Task.OPEN_STATUSES, Task.Status.PAUSED)]
    if stale:
        Task.objects.filter(pk__in=stale).update(status=Task.Status.CANCELLED)
    future = [o.due_at for o in occurrences if o.due_at and o.due_at > now]
    resync = min(future) if future else None
    if pathway.resync_at != resync:
        Pathway.objects.filter(pk=pathway.pk).update(resync_at=resync)
        pathway.resync_at = resync
    return created


def _home_service(side: str, owner: Organisation | None) -> bool:
    return side == "municipality" and owner is not None and owner.kind in (
        Organisation.Kind.HOME_NURSING,)


@transaction.atomic
def create_task(*, patient: Patient, title: str | Text, actor: Actor, owner_organisation: Any,
                owner_role: str = "", due_at: Any = None, pathway: Pathway | None = None,
                description: str = "", kind: str = Task.Kind.MANUAL, source: str = "",
                grant: Grant | None = None) -> Task:
    """A task written by hand, decided in a meeting, or raised by an alert."""
    if grant is not None:
        require_write(grant)
    if not title.strip():
        raise DomainError(_("A task needs a title."), code="title_required", field="title")
    if pathway is not None and pathway.patient_id != patient.pk:
        raise DomainError(_("The pathway belongs to another patient."), code="wrong_patient")
    if not isinstance(owner_organisation, Organisation):
        owner_organisation = Organisation.objects.filter(pk=owner_organisation,
                                                         is_active=True).first()
        if owner_organisation is None:
            raise DomainError(_("Unknown organisation."), code="unknown_organisation",
                              field="owner_organisation")
    if owner_role and owner_role not in CareTeamMember.Role.values:
        raise DomainError(_("Unknown role."), code="unknown_role", field="owner_role")
    due = _parse_at(due_at, "due_at") if due_at else None
    # A title kept as a sentence (an alert's) is stored in every language: the worklist
    # shows each reader theirs (Task.display_title).
    titles = ({lang: said.strip()[:300] for lang, said in in_languages(title).items()}
              if isinstance(title, Text) else {})
    task = Task.objects.create(
        patient=patient, pathway=pathway, kind=kind, title=title.strip()[:300], titles=titles,
        description=description.strip(), owner_organisation=owner_organisation,
        owner_role=owner_role, due_at=due, created_by=actor.user, source=source,
        side="hospital" if owner_organisation.sector == "specialist" else "municipality")
    record(actor, "samhand.task.created", A.CREATE, patient_id=patient.pk,
           object_type="Task", object_ids=[task.pk])
    return task


def _change_status(task: Task, to: str) -> None:
    if to not in Task.TRANSITIONS[task.status]:
        raise Conflict(_("A task that is %(status)s cannot become %(to)s.") % {
            "status": task.get_status_display().lower(),
            "to": str(Task.Status(to).label).lower()}, code="bad_transition", field="status")


@transaction.atomic
def complete_task(task: Task, *, actor: Actor, grant: Grant | None = None, note: str = "",
                  at: Any = None) -> Task:
    """Mark the task done, with a note; recurring series plan their next occurrence."""
    if grant is not None:
        require_write(grant)
    task = Task.objects.select_for_update().get(pk=task.pk)
    _change_status(task, Task.Status.DONE)
    if task.supervised and not note.strip():
        raise DomainError(_("A supervised task needs a note on who supervised it."),
                          code="note_required", field="note")
    done_at = _parse_at(at, "at") if at else timezone.now()
    if done_at > timezone.now() + dt.timedelta(minutes=5):
        raise DomainError(_("A task cannot be done in the future."), code="future",
                          field="at")
    task.status = Task.Status.DONE
    task.completed_at = done_at
    task.completed_by = actor.user
    task.completion_note = note.strip()
    task.save(update_fields=["status", "completed_at", "completed_by", "completion_note"])
    record(actor, "samhand.task.completed", A.UPDATE, patient_id=task.patient_id,
           object_type="Task", object_ids=[task.pk])
    from samhand.alerts.services import close_episode

    close_episode(task.patient, f"task_overdue:{task.pk}", actor, _("Task done"))
    if task.pathway_id is not None and task.kind == Task.Kind.TEMPLATE:
        assert task.pathway is not None
        sync_tasks(task.pathway, actor=actor)
    return task


@transaction.atomic
def set_task_status(task: Task, status: str, *, actor: Actor, grant: Grant | None = None,
                    note: str = "") -> Task:
    if grant is not None:
        require_write(grant)
    if status == Task.Status.DONE:
        return complete_task(task, actor=actor, grant=grant, note=note)
    task = Task.objects.select_for_update().get(pk=task.pk)
    if status not in Task.Status.values:
        raise DomainError(_("Unknown status."), code="unknown_status", field="status")
    if status == Task.Status.CANCELLED and not note.strip():
        raise DomainError(_("Say why the task is cancelled."), code="note_required",
                          field="note")
    _change_status(task, status)
    before = task.get_status_display()
    task.status = status
    task.save(update_fields=["status"])
    TaskNote.objects.create(task=task, kind=TaskNote.Kind.STATUS, author=actor.user,
                            organisation=actor.organisation,
                            text=f"{before} → {task.get_status_display()}"
                            + (f": {note.strip()}" if note.strip() else ""))
    record(actor, "samhand.task.status", A.UPDATE, patient_id=task.patient_id,
           object_type="Task", object_ids=[task.pk])
    return task


@transaction.atomic
def comment_task(task: Task, text: str, *, actor: Actor, grant: Grant | None = None
                 ) -> TaskNote:
    if grant is not None:
        require_write(grant)
    if not text.strip():
        raise DomainError(_("Write a comment."), code="text_required", field="text")
    note = TaskNote.objects.create(task=task, text=text.strip(), author=actor.user,
                                   organisation=actor.organisation)
    record(actor, "samhand.task.commented", A.UPDATE, patient_id=task.patient_id,
           object_type="Task", object_ids=[task.pk])
    return note


@transaction.atomic
def reassign_task(task: Task, *, actor: Actor, grant: Grant | None = None,
                  organisation: Any, role: str = "", assignee: Any = None,
                  reason: str = "") -> Task:
    """Give the task to another unit (and role), optionally to a named person in it."""
    if grant is not None:
        require_write(grant)
    task = Task.objects.select_for_update().get(pk=task.pk)
    if not task.is_open and task.status != Task.Status.PAUSED:
        raise Conflict(_("Only open tasks can be reassigned."), code="task_closed")
    org = organisation if isinstance(organisation, Organisation) else \
        Organisation.objects.filter(pk=organisation, is_active=True).first()
    if org is None:
        raise DomainError(_("Unknown organisation."), code="unknown_organisation",
                          field="organisation")
    if role and role not in CareTeamMember.Role.values:
        raise DomainError(_("Unknown role."), code="unknown_role", field="role")
    if assignee is not None:
        from samhand.orgs.models import Membership

        if not Membership.objects.active().filter(user=assignee, organisation=org).exists():
            raise DomainError(_("The person does not work in that organisation."),
                              code="not_member", field="assignee")
    before = task.owner_organisation.name if task.owner_organisation else "—"
    task.owner_organisation = org
    task.owner_role = role or task.owner_role
    task.assignee = assignee
    task.save(update_fields=["owner_organisation", "owner_role", "assignee"])
    TaskNote.objects.create(task=task, kind=TaskNote.Kind.REASSIGNED, author=actor.user,
                            organisation=actor.organisation,
                            text=f"{before} → {org.name}"
                            + (f" ({assignee.get_full_name()})" if assignee else "")
                            + (f": {reason.strip()}" if reason.strip() else ""))
    record(actor, "samhand.task.reassigned", A.UPDATE, patient_id=task.patient_id,
           object_type="Task", object_ids=[task.pk], recipient=org)
    return task


@transaction.atomic
def pause_home_service_tasks(patient: Patient, *, actor: Actor | None = None,
                             reason: str = "") -> int:
    """The patient is admitted: the municipal home-service tasks wait (MS-2)."""
    qs = Task.objects.filter(patient=patient, status__in=Task.OPEN_STATUSES, side="municipality",
                             owner_organisation__kind=Organisation.Kind.HOME_NURSING)
    ids = list(qs.values_list("pk", flat=True))
    if ids:
        Task.objects.filter(pk__in=ids).update(
            status=Task.Status.PAUSED, paused_reason=reason or _("The patient is in hospital"))
        record(actor or SYSTEM, "samhand.task.paused", A.UPDATE, patient_id=patient.pk,
               object_type="Task", object_ids=ids)
    Pathway.objects.filter(patient=patient, status=Pathway.Status.ACTIVE).update(admitted=True)
    return len(ids)


@transaction.atomic
def resume_home_service_tasks(patient: Patient, *, actor: Actor | None = None) -> int:
    """The patient is home again: paused home-service tasks are open again."""
    ids = list(Task.objects.filter(patient=patient, status=Task.Status.PAUSED)
               .values_list("pk", flat=True))
    if ids:
        Task.objects.filter(pk__in=ids).update(status=Task.Status.OPEN, paused_reason="")
        record(actor or SYSTEM, "samhand.task.resumed", A.UPDATE, patient_id=patient.pk,
               object_type="Task", object_ids=ids)
    Pathway.objects.filter(patient=patient, status=Pathway.Status.ACTIVE).update(admitted=False)
    return len(ids)


# --------------------------------------------------------------------------- migration

@transaction.atomic
def migrate_pathway(pathway: Pathway, *, actor: Actor, grant: Grant,
                    version: int | None = None) -> Pathway:
    """Move a running pathway to another (default: the newest) template version."""
    require_write(grant)
    try:
        template: Template = get_template(pathway.template_key, version)
    except (KeyError, TemplateError):
        raise DomainError(_("No such template version."), code="unknown_version",
                          field="version") from None
    if template.version == pathway.template_version:
        raise Conflict(_("The pathway already follows this version."), code="same_version")
    if pathway.entry not in template.entries:
        raise DomainError(_("The new version has no entry %(entry)s.") % {
            "entry": pathway.entry}, code="unknown_entry")
    pathway.template_version = template.version
    pathway.template_hash = template.content_hash
    pathway.save(update_fields=["template_version", "template_hash"])
    record(actor, "samhand.pathway.migrated", A.UPDATE, patient_id=pathway.patient_id,
           object_type="CarePlan", object_ids=[pathway.pk])
    sync_tasks(pathway, actor=actor)
    return pathway


# --------------------------------------------------------------------------- the sweep

def sweep(now: dt.datetime | None = None, *, batch: int = 500) -> dict[str, int]:
    """The periodic worker: plan pathways whose next occurrence fell due, mark overdue
    tasks and alert the owning unit once per task. Idempotent: a second run at the same
    time changes nothing."""
    now = now or timezone.now()
    counts = {"pathways_planned": 0, "tasks_created": 0, "overdue": 0, "alerts": 0}
    for pathway in Pathway.objects.filter(status=Pathway.Status.ACTIVE,
                                          resync_at__lte=now).iterator(chunk_size=batch):
        with transaction.atomic():
            counts["tasks_created"] += len(sync_tasks(pathway, now=now))
            counts["pathways_planned"] += 1
    overdue = Task.objects.filter(status__in=Task.OPEN_STATUSES, due_at__lt=now,
                                  overdue_since__isnull=True)
    for task in overdue.select_related("patient", "owner_organisation").iterator(
            chunk_size=batch):
        with transaction.atomic():
            marked = Task.objects.filter(pk=task.pk, overdue_since__isnull=True).update(
                overdue_since=now)
            if not marked:
                continue
            counts["overdue"] += 1
            record(SYSTEM, "samhand.task.overdue", A.UPDATE, patient_id=task.patient_id,
                   object_type="Task", object_ids=[task.pk])
            if task.owner_organisation is not None:
                _alert, created = raise_alert(
                    patient=task.patient, organisation=task.owner_organisation,
                    kind="task_overdue", episode_key=f"task_overdue:{task.pk}",
                    text=Text(gettext_noop("Overdue: %(task)s"),
                              task=Choice({k: task.titles.get(k, task.title)
                                           for k in ("nb", "en", "da")})
                              if task.titles else task.title),
                    role=task.owner_role, source=f"pathways.task:{task.pk}")
                counts["alerts"] += int(created)
    return counts


def tasks_visible_to(org_ids: list[Any]) -> Q:
    """Tasks a unit works from: owned by one of its organisations."""
    return Q(owner_organisation_id__in=org_ids)
