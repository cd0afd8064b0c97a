"""Demo pathways: every demo patient on the pathway of their group, at different stages,
so that the worklists, gates and timelines have something true-looking to show."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from samhand.access import policy
from samhand.access.policy import Grant
from samhand.audit.models import AuditEvent
from samhand.audit.services import Actor
from samhand.lib.errors import DomainError
from samhand.orgs.models import Membership

from . import services as svc
from .models import Pathway

TEMPLATES = {
    "ltmv": ("ltmv_invasive", "elective"),
    "home_niv": ("home_niv", "elective"),
    "copd_hf": ("copd_hf_followup", "discharge"),
    "palliative": ("palliative_home", "from_hospital"),
}

# Stages: (event kind, days ago, data). A stage list is cut at a different length for
# each patient, so the demo has pathways in every phase.
LTMV_STAGES: list[tuple[str, float, dict[str, Any]]] = [
    ("referral", 200, {}),
    ("meeting_held", 185, {}),
    ("application_sent", 180, {}),
    ("municipal_decision", 150, {"ready_days_ago": 120}),
    ("admitted", 125, {}),
    ("training_date_set", 118, {}),
    ("discharged", 95, {}),
    ("phase_changed", 20, {"phase": "experienced"}),
]
NIV_STAGES: list[tuple[str, float, dict[str, Any]]] = [
    ("referral", 90, {}),
    ("admitted", 60, {}),
    ("meeting_held", 50, {}),
    ("discharged", 40, {}),
]
COPD_STAGES: list[tuple[str, float, dict[str, Any]]] = [
    ("admitted", 40, {}),
    ("vulnerable_marked", 35, {}),
    # The discharge-ready notice, answered the same day: it can receive her in 3 days.
    ("discharge_ready", 34, {}),
    ("discharge_ready_answered", 33.8, {"receive_days_ago": 31}),
    ("discharged", 30, {}),
]
PALLIATIVE_STAGES: list[tuple[str, float, dict[str, Any]]] = [
    ("referral", 30, {}),
    ("admitted", 25, {}),
    ("discharged", 14, {}),
]
STAGES = {"ltmv": LTMV_STAGES, "home_niv": NIV_STAGES, "copd_hf": COPD_STAGES,
          "palliative": PALLIATIVE_STAGES}


def _actor(user: Any) -> Actor:
    return policy.actor_for_user(user, client="system")


def _consultant(patient: Any, fallback: Actor) -> Actor:
    """The patient's responsible consultant (named, or a doctor in that department)."""
    from samhand.patients.models import CareTeamMember

    member = CareTeamMember.objects.active().filter(
        patient=patient, role=CareTeamMember.Role.RESPONSIBLE_CONSULTANT).first()
    if member is None:
        return fallback
    if member.user is not None:
        return _actor(member.user)
    doctor = Membership.objects.active().filter(
        organisation=member.organisation, user__profession="doctor").select_related(
        "user").first()
    return _actor(doctor.user) if doctor else fallback


def load(summary: Any) -> None:
    users = summary.users
    hospital = _actor(users["ltmv_nurse"])
    consultant = _actor(users["consultant"])
    grant = Grant(basis=AuditEvent.Basis.CARE_RELATION, basis_id="demo",
                  organisation=hospital.organisation)
    now = timezone.now()
    seen: dict[str, int] = {}
    for _key, patient in sorted(summary.patients.items()):
        group = patient.group
        if group not in TEMPLATES or Pathway.objects.filter(patient=patient).exists():
            continue
        template_key, entry = TEMPLATES[group]
        index = seen.get(group, 0)
        seen[group] = index + 1
        stages = STAGES[group]
        # The first patients of a group are furthest along.
        cut = len(stages) - index % len(stages)
        first = stages[0][1]
        try:
            pathway = svc.start_pathway(hospital, grant, patient, template_key=template_key,
                                        entry=entry,
                                        at=now - dt.timedelta(days=first + 5))
            for kind, days_ago, data in stages[:cut]:
                event_data = dict(data)
                if "ready_days_ago" in event_data:
                    event_data = {"discharge_ready_from": (
                        timezone.localdate() - dt.timedelta(days=data["ready_days_ago"])
                    ).isoformat()}
                if "receive_days_ago" in event_data:
                    event_data = {"receive_from": (
                        timezone.localdate() - dt.timedelta(days=data["receive_days_ago"])
                    ).isoformat()}
                actor = _consultant(patient, consultant) if kind == "discharged" \
                    else hospital
                svc.record_event(pathway, kind, actor=actor,
                                 at=now - dt.timedelta(days=days_ago),
                                 data=event_data, source="system",
                                 override_reason="Demo: planene ble ferdigstilt etter "
                                 "utskrivning" if kind == "discharged" else "")
        except DomainError:
            # A demo patient whose team lacks a role the template needs: leave the
            # pathway where it stopped rather than fail the whole demo.
            continue
    svc.sweep()
