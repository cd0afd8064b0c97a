"""Marking a finished observation set as entered in error (a wrong patient, a value
typed wrongly, a measurement on a faulty device). The set stays in the record, marked,
with the reason, who and when; its values leave the NEWS2 history, the trend charts,
the trend rule and the timeline (services.mark_entered_in_error deletes its narrow
VitalSign rows and audits).

Who may: the person who recorded it, or a nurse of the unit that recorded it (for a
self-report, which has no recording unit: a nurse of the home-nursing unit on the
patient's care team).

What the set started is undone with it, in the same transaction (`undo_effects`): the
open alerts it raised — and their escalations to the GP or the hospital — are closed
with a note naming the reason, their tasks on the worklists cancelled; a period of
closer observation it started is worked out again from the sets after it (ended, with
its task cancelled, when none of them is raised). Alerts already closed, and what later
sets did, stay as they are.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from samhand.access.policy import Grant
from samhand.audit.services import Actor
from samhand.lib.errors import DomainError, Forbidden
from samhand.orgs.models import Membership
from samhand.patients.models import Patient

from .models import ObservationSet
from .services import mark_entered_in_error, require_write

REASON_MIN, REASON_MAX = 5, 500


def may_mark(user: Any, obs: ObservationSet) -> bool:
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    if obs.recorded_by_id is not None and obs.recorded_by_id == getattr(user, "pk", None):
        return True
    unit = obs.organisation
    if unit is None:
        from .escalation import target_for

        target = target_for(obs.patient, 0)
        unit = target[0] if target else None
    if unit is None:
        return False
    return Membership.objects.active().filter(user=user, organisation=unit,
                                              role=Membership.Role.NURSE).exists()


def mark_in_error(actor: Actor, patient: Patient, grant: Grant, obs: ObservationSet, *,
                  reason: str) -> ObservationSet:
    require_write(grant)
    if obs.patient_id != patient.pk:
        raise DomainError(_("The observations belong to another patient."),
                          code="wrong_patient")
    if obs.status != ObservationSet.Status.FINAL:
        raise DomainError(_("Only finished observations can be marked as entered in error."),
                          code="not_final")
    if not may_mark(actor.user, obs):
        raise Forbidden(_("Only the person who recorded the observations, or a nurse of the "
                          "unit that recorded them, can mark them as entered in error."),
                        code="not_allowed")
    reason = " ".join((reason or "").split())
    if len(reason) < REASON_MIN:
        raise DomainError(_("Say why the observations are wrong (at least %(n)s "
                            "characters).") % {"n": REASON_MIN}, code="reason",
                          field="reason")
    if len(reason) > REASON_MAX:
        raise DomainError(_("The reason is too long (at most %(n)s characters).") % {
            "n": REASON_MAX}, code="reason", field="reason")
    with transaction.atomic():
        locked = ObservationSet.objects.select_for_update().get(pk=obs.pk)
        if locked.status != ObservationSet.Status.FINAL:
            raise DomainError(_("Only finished observations can be marked as entered in "
                                "error."), code="not_final")
        mark_entered_in_error(actor, patient, grant, locked)
        ObservationSet.objects.filter(pk=obs.pk).update(
            error_reason=reason, error_by=actor.user, error_at=timezone.now())
        undo_effects(actor, locked, reason)
    obs.refresh_from_db()
    return obs


def undo_effects(actor: Actor, obs: ObservationSet, reason: str) -> None:
    """Close the open alerts the set raised (and their escalations, which carry the
    same source), cancel their tasks, and work the closer-observation period out again
    without the set."""
    from samhand.alerts.models import Alert
    from samhand.alerts.services import close
    from samhand.pathways.models import Task
    from samhand.pathways.services import set_task_status

    from .escalation import SOURCE

    note = _("The observations behind this alert were marked as entered in error: "
             "%(reason)s") % {"reason": reason}
    for alert in Alert.objects.filter(patient_id=obs.patient_id, closed_at__isnull=True,
                                      source=f"{SOURCE}:{obs.pk}"):
        close(alert, actor, note)
        for task in Task.objects.filter(patient_id=obs.patient_id, source=f"alert:{alert.pk}",
                                        status__in=Task.OPEN_STATUSES):
            set_task_status(task, Task.Status.CANCELLED, actor=actor, note=note)
    _replay_schedule(actor, obs, reason)


def _replay_schedule(actor: Actor, obs: ObservationSet, reason: str) -> None:
    """The set started the period of closer observation in force: replay the rule over
    the finished sets after it, from routine. The period ends (its task cancelled) when
    none of them is raised, or starts at the first raised one."""
    import datetime as dt

    from samhand.audit.models import AuditEvent
    from samhand.audit.services import record
    from samhand.pathways.models import Task
    from samhand.pathways.services import set_task_status

    from .escalation import is_normal
    from .models import EscalationSettings
    from .schedule import SOURCE as SCHEDULE
    from .schedule import State, step

    rules = EscalationSettings.objects.select_for_update().filter(
        patient_id=obs.patient_id).first()
    if rules is None or rules.close_since is None or rules.close_since != obs.taken_at:
        return
    state = State()
    interval = dt.timedelta(hours=rules.close_every_hours)
    later = (ObservationSet.objects.filter(patient_id=obs.patient_id, form_key="vital_signs",
                                           status=ObservationSet.Status.FINAL,
                                           taken_at__gt=obs.taken_at)
             .exclude(news2_total=None).order_by("taken_at", "pk"))
    for other in later:
        state = step(state, risk=other.news2_risk, normal=is_normal(other, rules),
                     taken_at=other.taken_at, interval=interval,
                     end_after=rules.normal_sets_to_end).state
    rules.close_since = state.since
    rules.normal_in_row = state.normal_in_row
    rules.close_hours = rules.close_hours if state.since else None
    rules.save(update_fields=["close_since", "normal_in_row", "close_hours", "updated_at"])
    if state.since is not None:
        return
    note = _("Closer observation ended: the observations that started it were marked as "
             "entered in error (%(reason)s).") % {"reason": reason}
    for task in Task.objects.filter(patient_id=obs.patient_id, source=SCHEDULE,
                                    status__in=Task.OPEN_STATUSES):
        set_task_status(task, Task.Status.CANCELLED, actor=actor, note=note)
    record(actor, "samhand.observation.schedule_ended", AuditEvent.Action.UPDATE,
           patient_id=obs.patient_id, object_type="EscalationSettings",
           object_ids=[obs.patient_id, obs.pk])
