"""Closer observation after a raised score ("daily after a high score", issue 5 §6).

A finished vital-signs set whose NEWS2 risk is medium or high — the levels at which the
NEWS2 response asks for more frequent monitoring than routine (RCP: at least hourly,
or continuous; the acute part at home is the alert and the doctor it reaches) — puts
the patient on closer observation: home nursing gets an observation task due
`close_every_hours` after the set (24 hours, "daily", unless the pathway's rule defaults
or the doctor say otherwise). Each new set completes the open task and, while closer
observation lasts, plans the next one from its own time. It ends after
`normal_sets_to_end` sets in a row are normal (below the threshold, risk low); a medium
or high set on the way starts the count again.

A task that is not done in time is a missed observation: the sweep's missed-observation
rule (escalation.missed_observations) uses the closer interval while it lasts, so a
missed one raises an alert for the unit.

`step()` is the pure rule (property-tested); `after_set()` applies it to the database
for one set (through samhand.pathways' create_task/complete_task), `after_sets()` for a
batch: the same steps, set by set in the order given, written in a fixed number of
queries whatever the number of patients (tests/test_schedule_batch.py holds the two to
the same tasks and audit rows).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from samhand.audit.models import AuditEvent
from samhand.audit.services import Actor, Entry, record, record_many

from .models import EscalationSettings, ObservationSet

RAISED = ("medium", "high")
SOURCE = "observations:schedule"


@dataclass(frozen=True)
class State:
    since: dt.datetime | None = None  # closer observation since (None: routine)
    normal_in_row: int = 0


@dataclass(frozen=True)
class Step:
    state: State
    next_due: dt.datetime | None  # the next observation task (None: no task)
    started: bool = False
    ended: bool = False


def step(state: State, *, risk: str, normal: bool, taken_at: dt.datetime,
         interval: dt.timedelta, end_after: int) -> Step:
    """The schedule after one finished set, taken at `taken_at`."""
    if risk in RAISED:
        return Step(State(state.since or taken_at, 0), taken_at + interval,
                    started=state.since is None)
    if state.since is None or taken_at < state.since:
        return Step(state, None)
    count = state.normal_in_row + 1 if normal else 0
    if count >= end_after:
        return Step(State(None, 0), None, ended=True)
    return Step(State(state.since, count), taken_at + interval)


def after_set(actor: Actor, obs: ObservationSet, rules: EscalationSettings) -> Step | None:
    """Apply `step` for a finished vital-signs set: the stored state, the patient's
    schedule task (completed, and the next one created), audit rows."""
    if obs.news2_total is None or obs.form_key != "vital_signs":
        return None
    state = State(rules.close_since, rules.normal_in_row)
    if state.since is None and obs.news2_risk not in RAISED:
        return None  # routine: nothing to do, no query
    from .escalation import is_normal

    # The rule in force now (a doctor's change applies from the next set on).
    interval = dt.timedelta(hours=rules.close_every_hours)
    result = step(state, risk=obs.news2_risk, normal=is_normal(obs, rules),
                  taken_at=obs.taken_at, interval=interval,
                  end_after=rules.normal_sets_to_end)
    if result.state == state and result.next_due is None:
        return result
    if rules._state.adding:
        rules, _created = EscalationSettings.objects.get_or_create(patient_id=obs.patient_id)
    rules.close_since = result.state.since
    rules.normal_in_row = result.state.normal_in_row
    rules.close_hours = int(interval.total_seconds() // 3600) if result.state.since else None
    rules.save(update_fields=["close_since", "normal_in_row", "close_hours", "updated_at"])
    _complete_open_task(actor, obs)
    if result.started:
        record(actor, "samhand.observation.schedule_started", AuditEvent.Action.UPDATE,
               patient_id=obs.patient_id, object_type="EscalationSettings",
               object_ids=[obs.patient_id, obs.pk])
    if result.ended:
        record(actor, "samhand.observation.schedule_ended", AuditEvent.Action.UPDATE,
               patient_id=obs.patient_id, object_type="EscalationSettings",
               object_ids=[obs.patient_id, obs.pk])
    if result.next_due is not None:
        _create_task(actor, obs, result.next_due, interval)
    return result


def _done_note(obs: ObservationSet) -> str:
    return (_("Vital signs recorded: NEWS2 %(total)s.") % {"total": obs.news2_total}).strip()


def _task_text(interval: dt.timedelta) -> tuple[str, str]:
    hours = int(interval.total_seconds() // 3600)
    return (_("Vital signs (NEWS2): closer observation, every %(hours)s hours") % {
        "hours": hours},
        _("After a raised NEWS2 the patient is observed every %(hours)s hours until the "
          "sets are normal again.") % {"hours": hours})


def _steps(sets: list[ObservationSet], rules: EscalationSettings,
           ) -> list[tuple[ObservationSet, Step]]:
    """`step` over a patient's sets in the order given, keeping the steps that change
    something (what `after_set` writes for)."""
    from .escalation import is_normal

    state = State(rules.close_since, rules.normal_in_row)
    interval = dt.timedelta(hours=rules.close_every_hours)
    out: list[tuple[ObservationSet, Step]] = []
    for obs in sets:
        if obs.news2_total is None or obs.form_key != "vital_signs":
            continue
        if state.since is None and obs.news2_risk not in RAISED:
            continue
        result = step(state, risk=obs.news2_risk, normal=is_normal(obs, rules),
                      taken_at=obs.taken_at, interval=interval,
                      end_after=rules.normal_sets_to_end)
        if result.state == state and result.next_due is None:
            continue
        out.append((obs, result))
        state = result.state
    return out


def after_sets(actor: Actor, by_patient: dict[Any, list[ObservationSet]],
               rules: dict[Any, EscalationSettings]) -> int:
    """`after_set` for each set of a batch (each patient's sets in the order given), in a
    fixed number of queries: the open schedule tasks (locked), the home-nursing units,
    the rules' state (one upsert), the completed tasks, the new tasks, the overdue alerts
    of the completed tasks; the audit rows in one `record_many`. Nothing when no patient
    is or comes on closer observation. Runs inside the caller's transaction. Returns the
    number of patients whose schedule changed."""
    from samhand.pathways.models import Task

    from .escalation import home_nursing_targets

    planned = {pid: steps for pid, sets in by_patient.items()
               if (steps := _steps(sets, rules[pid]))}
    if not planned:
        return 0
    now = timezone.now()
    open_tasks: dict[Any, list[Any]] = {}
    for task in (Task.objects.select_for_update()
                 .filter(patient_id__in=list(planned), source=SOURCE,
                         status__in=Task.OPEN_STATUSES).order_by("due_at", "created_at")):
        open_tasks.setdefault(task.patient_id, []).append(task)
    targets = home_nursing_targets([pid for pid, steps in planned.items()
                                    if any(r.next_due is not None for _o, r in steps)], now)
    A = AuditEvent.Action
    completed: list[Any] = []
    created: list[Any] = []
    states: list[EscalationSettings] = []
    entries: list[Entry] = []
    for pid, steps in planned.items():
        patient_rules = rules[pid]
        interval = dt.timedelta(hours=patient_rules.close_every_hours)
        pending = open_tasks.get(pid, [])
        completed += pending
        for obs, result in steps:
            for task in pending:
                task.status = Task.Status.DONE
                task.completed_at = max(obs.taken_at, task.created_at)
                task.completed_by = actor.user
                task.completion_note = _done_note(obs)
                entries.append(Entry("samhand.task.completed", A.UPDATE, patient_id=pid,
                                     object_type="Task", object_ids=[task.pk]))
            pending = []
            for happened, code in ((result.started, "samhand.observation.schedule_started"),
                                   (result.ended, "samhand.observation.schedule_ended")):
                if happened:
                    entries.append(Entry(code, A.UPDATE, patient_id=pid,
                                         object_type="EscalationSettings",
                                         object_ids=[pid, obs.pk]))
            target = targets.get(pid)
            if result.next_due is not None and target is not None:
                org, role = target
                title, description = _task_text(interval)
                task = Task(patient_id=pid, kind=Task.Kind.MANUAL, title=title.strip()[:300],
                            description=description.strip(), owner_organisation=org,
                            owner_role=role, due_at=result.next_due, created_by=actor.user,
                            source=SOURCE, created_at=now,
                            side="hospital" if org.sector == "specialist" else "municipality")
                created.append(task)
                pending = [task]
                entries.append(Entry("samhand.task.created", A.CREATE, patient_id=pid,
                                     object_type="Task", object_ids=[task.pk]))
        state = steps[-1][1].state
        row = patient_rules if not patient_rules._state.adding else \
            EscalationSettings(patient_id=pid)
        row.close_since = state.since
        row.normal_in_row = state.normal_in_row
        row.close_hours = int(interval.total_seconds() // 3600) if state.since else None
        states.append(row)
    EscalationSettings.objects.bulk_create(
        states, update_conflicts=True, unique_fields=["patient"],
        update_fields=["close_since", "normal_in_row", "close_hours", "updated_at"])
    if completed:
        Task.objects.bulk_update(completed, ["status", "completed_at", "completed_by",
                                             "completion_note"])
    if created:
        Task.objects.bulk_create(created)
    record_many(actor, entries)
    if completed:
        _close_overdue_alerts(actor, completed)
    return len(planned)


def _close_overdue_alerts(actor: Actor, tasks: list[Any]) -> None:
    """What complete_task does after the row: the task's overdue alert is closed."""
    from samhand.alerts.models import Alert
    from samhand.alerts.services import close

    keys = {f"task_overdue:{task.pk}": task.patient_id for task in tasks}
    for alert in Alert.objects.open().filter(patient_id__in=set(keys.values()),
                                             episode_key__in=list(keys)):
        if keys[alert.episode_key] == alert.patient_id:
            close(alert, actor, _("Task done"))


def open_task(patient_id: Any) -> Any:
    from samhand.pathways.models import Task

    return (Task.objects.filter(patient_id=patient_id, source=SOURCE,
                                status__in=Task.OPEN_STATUSES).order_by("due_at").first())


def _complete_open_task(actor: Actor, obs: ObservationSet) -> None:
    from samhand.pathways.models import Task
    from samhand.pathways.services import complete_task

    for task in Task.objects.filter(patient_id=obs.patient_id, source=SOURCE,
                                    status__in=Task.OPEN_STATUSES):
        complete_task(task, actor=actor, at=max(obs.taken_at, task.created_at),
                      note=_done_note(obs))


def _create_task(actor: Actor, obs: ObservationSet, due: dt.datetime,
                 interval: dt.timedelta) -> None:
    from samhand.pathways.services import create_task

    from .escalation import target_for

    target = target_for(obs.patient, 0)
    if target is None:
        return  # no home-nursing unit on the care team: the missed rule still alerts
    org, role = target
    title, description = _task_text(interval)
    create_task(patient=obs.patient, actor=actor, owner_organisation=org, owner_role=role,
                due_at=due, source=SOURCE, title=title, description=description)
