"""Discharge-gate criteria that the plans answer from data (PW-5, issue 4 §7).

Registered with samhand.pathways.gate when that module exists. Each evaluator takes a
pathway (with `.patient`) and says whether the criterion is met, what is missing, and
which care-team role must act.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from samhand.patients.models import CareTeamMember, Consent, Patient

from .binder import binder_status
from .models import ActionPlan, IndividualPlan, TreatmentPlan

R = CareTeamMember.Role


@dataclass(frozen=True)
class Answer:
    met: bool
    missing: str
    owner: str


def individual_plan_started(patient: Patient) -> Answer:
    owner = R.MUNICIPAL_COORDINATOR
    if IndividualPlan.objects.filter(patient=patient,
                                     status=IndividualPlan.Status.ACTIVE).exists():
        return Answer(True, "", owner)
    latest = (Consent.objects.filter(patient=patient, scope=Consent.Scope.INDIVIDUAL_PLAN)
              .order_by("-recorded_at", "-status").first())
    if latest is not None and latest.status == Consent.Status.WITHDRAWN:
        return Answer(True, "", owner)  # the patient said no: recorded, and respected
    if latest is None:
        return Answer(False, _("Ask the patient about an individual plan and record the "
                               "answer."), owner)
    return Answer(False, _("The individual plan is not started."), owner)


def action_plan_approved(patient: Patient) -> Answer:
    from .services import missing_numbers

    owner = R.RESPONSIBLE_CONSULTANT
    plan = ActionPlan.objects.filter(patient=patient).first()
    version = plan.latest() if plan else None
    if version is None:
        return Answer(False, _("There is no action plan for acute events."), owner)
    if version.valid_approval() is None:
        return Answer(False, _("The latest action plan is not approved."), owner)
    if missing_numbers(patient, version.content):
        return Answer(False, _("A scenario in the action plan has no number to call."), owner)
    return Answer(True, "", owner)


def treatment_plan_signed(patient: Patient) -> Answer:
    owner = R.RESPONSIBLE_CONSULTANT
    plan = TreatmentPlan.objects.filter(patient=patient).first()
    version = plan.latest() if plan else None
    if version is None:
        return Answer(False, _("There is no treatment plan."), owner)
    if version.valid_signature() is None:
        return Answer(False, _("The latest treatment plan is not signed by the responsible "
                               "doctor."), owner)
    return Answer(True, "", owner)


def binder_current(patient: Patient) -> Answer:
    owner = R.LTMV_NURSE
    status = binder_status(patient)
    if status.latest is None:
        return Answer(False, _("The patient binder has not been made."), owner)
    if not status.is_current:
        return Answer(False, _("The patient binder is older than the last change: make a "
                               "new one."), owner)
    return Answer(True, "", owner)


CRITERIA: dict[str, Callable[[Patient], Answer]] = {
    "plans.individual_plan_started": individual_plan_started,
    "plans.action_plan_approved": action_plan_approved,
    "plans.treatment_plan_signed": treatment_plan_signed,
    "plans.binder_current": binder_current,
}


TITLES: dict[str, Any] = {
    "plans.individual_plan_started": gettext_lazy("Individual plan started (or declined)"),
    "plans.action_plan_approved": gettext_lazy("Action plan for acute events approved"),
    "plans.treatment_plan_signed": gettext_lazy("Treatment plan signed"),
    "plans.binder_current": gettext_lazy("Patient binder made after the last change"),
}


def _adapter(evaluate: Callable[[Patient], Answer], result_class: Any) -> Callable[[Any], Any]:
    def evaluator(pathway: Any) -> Any:
        answer = evaluate(pathway.patient)
        return result_class(met=answer.met, missing=answer.missing, owner=answer.owner)

    evaluator.__name__ = evaluate.__name__
    return evaluator


def register() -> bool:
    """Register the evaluators with samhand.pathways.gate; False while it does not exist."""
    try:
        gate = importlib.import_module("samhand.pathways.gate")
    except ImportError:
        return False
    register_criterion = getattr(gate, "register_criterion", None)
    result_class = getattr(gate, "CriterionResult", None)
    if register_criterion is None or result_class is None:
        return False
    for name, evaluate in CRITERIA.items():
        register_criterion(name, _adapter(evaluate, result_class))
    return True
