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

`step()` is the pure rule (property-tested); `after_set()` applies it to the database.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _

from samhand.audit.models import AuditEvent
from samhand.audit.services import Actor, record

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
                      note=_("Vital signs recorded: NEWS2 %(total)s.") % {
                          "total": obs.news2_total})


def _create_task(actor: Actor, obs: ObservationSet, due: dt.datetime,
                 interval: dt.timedelta) -> None:
    from samhand.pathways.services import create_task

    from .escalation import target_for

    target = target_for(obs.patient, 0)
    if target is None:
        return  # no home-nursing unit on the care team: the missed rule still alerts
    org, role = target
    hours = int(interval.total_seconds() // 3600)
    create_task(patient=obs.patient, actor=actor, owner_organisation=org, owner_role=role,
                due_at=due, source=SOURCE,
                title=_("Vital signs (NEWS2): closer observation, every %(hours)s hours") % {
                    "hours": hours},
                description=_("After a raised NEWS2 the patient is observed every %(hours)s "
                              "hours until the sets are normal again.") % {"hours": hours})
