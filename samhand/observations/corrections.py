"""Marking a finished observation set as entered in error (a wrong patient, a value
typed wrongly, a measurement on a faulty device). The set stays in the record, marked,
with the reason, who and when; its values leave the NEWS2 history, the trend charts,
the trend rule and the timeline (services.mark_entered_in_error deletes its narrow
VitalSign rows and audits).

Who may: the person who recorded it, or a nurse of the unit that recorded it (for a
self-report, which has no recording unit: a nurse of the home-nursing unit on the
patient's care team). Alerts the set raised stay as they are: people close them.
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
    obs.refresh_from_db()
    return obs
