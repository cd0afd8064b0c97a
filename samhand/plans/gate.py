"""Discharge-gate criteria that the plans answer from data (PW-5, issue 4 §7).

Registered with samhand.pathways.gate when that module exists. Each evaluator takes a
pathway (with `.patient`) and says whether the criterion is met, what is missing, and
which care-team role must act. Each also has a version for many patients at once
(`MANY`, registered with `many=`), reading a fixed number of queries however many
pathways a worklist shows, and answering what the single version answers.

The binder is the one that needs care: the single check builds the binder's content
and compares its hash with the latest binder's (binder.binder_status), ten queries a
patient. The batch reads the latest binder first (no binder: unmet, nothing built),
and then trusts the stored mark instead of the hash: `Document.current_at` is cleared in
the same transaction as every change to a source (binder.mark_binder_stale, called by
refresh_binder_on_commit from the plan services and the care-team, relative,
patient and organisation signals) and set again by the refresh after the commit, which
either stores a new version or finds that nothing printed changed. Comparing
created_at with the sources' change times would not do: the care team, relatives,
patients and organisations keep no change time. What the mark cannot see is time
itself: a care-team member whose period starts or ends after the binder was last
known current changes the printed team without any write, so the batch also treats
such a boundary in (current_at, now] as a change (a period ending exactly at current_at
was already left out of the printed team, one starting exactly now is in it). Left out,
knowingly: a change that bypasses the services and signals (a queryset `update()` or raw
SQL), which neither refreshes the binder nor marks it; and a refresh that failed after a
change that printed nothing new: current_at stays NULL and the gate asks for a new
binder while the exact check would not — the safe side, and pressing "make binder"
confirms the existing one (generate_binder) and meets the criterion.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db.models import OuterRef, Q, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from samhand.patients.models import CareTeamMember, Consent, Patient, RelatedPerson

from .binder import binder_status
from .contacts import Resolver, out_of_hours_units
from .models import (
    ActionPlan,
    ActionPlanApproval,
    ActionPlanVersion,
    Document,
    IndividualPlan,
    TreatmentPlan,
    TreatmentPlanSignature,
    TreatmentPlanVersion,
)

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
    return _ip_answer(False, latest.status if latest is not None else None)


def _ip_answer(active: bool, consent: str | None) -> Answer:
    owner = R.MUNICIPAL_COORDINATOR
    if active:
        return Answer(True, "", owner)
    if consent == Consent.Status.WITHDRAWN:
        return Answer(True, "", owner)  # the patient said no: recorded, and respected
    if consent is None:
        return Answer(False, _("Ask the patient about an individual plan and record the "
                               "answer."), owner)
    return Answer(False, _("The individual plan is not started."), owner)


def individual_plans_started(patient_ids: Sequence[Any]) -> dict[Any, Answer]:
    ids = list(patient_ids)
    active = set(IndividualPlan.objects.filter(patient_id__in=ids,
                                               status=IndividualPlan.Status.ACTIVE)
                 .values_list("patient_id", flat=True))
    newest: dict[Any, str] = {}
    for patient_id, status in (Consent.objects.filter(
            patient_id__in=ids, scope=Consent.Scope.INDIVIDUAL_PLAN)
            .order_by("patient_id", "-recorded_at", "-status")
            .values_list("patient_id", "status")):
        newest.setdefault(patient_id, status)
    return {pk: _ip_answer(pk in active, newest.get(pk)) for pk in ids}


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
    """Exact: builds the binder's content and compares hashes (see binders_current)."""
    status = binder_status(patient)
    return _binder_answer(status.latest is not None, status.is_current)


# --------------------------------------------------------------------------- many at once

def _latest_versions(model: Any, patient_ids: list[Any]) -> dict[Any, Any]:
    """{patient id: the latest version of the patient's plan} in one query."""
    newest = model.objects.filter(plan=OuterRef("plan")).order_by("-number").values("number")
    return {v.plan.patient_id: v for v in model.objects.filter(
        plan__patient_id__in=patient_ids, number=Subquery(newest[:1])).select_related("plan")}


def _resolvers(patient_ids: Sequence[Any]) -> dict[Any, Resolver]:
    """A Resolver per patient with the care team, the primary relative and the
    out-of-hours unit read for all of them at once (four queries)."""
    ids = list(patient_ids)
    by_pk = {p.pk: p for p in Patient.objects.filter(pk__in=ids).select_related("municipality")}
    teams: dict[Any, list[CareTeamMember]] = {pk: [] for pk in ids}
    for member in (CareTeamMember.objects.active().filter(patient_id__in=ids)
                   .select_related("organisation__parent__parent", "user", "related_person")
                   .order_by("period_start", "id")):
        teams[member.patient_id].append(member)
    relatives: dict[Any, RelatedPerson] = {}
    for relative in (RelatedPerson.objects.filter(patient_id__in=ids, is_primary_contact=True)
                     .order_by("patient_id", "-is_primary_contact", "name")):
        relatives.setdefault(relative.patient_id, relative)
    units = out_of_hours_units({p.municipality_id for p in by_pk.values()
                                if p.municipality_id is not None})
    return {pk: Resolver(p, teams[pk], primary_relative=relatives.get(pk),
                         out_of_hours_unit=units.get(p.municipality_id))
            for pk, p in by_pk.items()}


def action_plans_approved(patient_ids: Sequence[Any]) -> dict[Any, Answer]:
    from .services import missing_numbers

    owner = R.RESPONSIBLE_CONSULTANT
    ids = list(patient_ids)
    versions = _latest_versions(ActionPlanVersion, ids)
    approved = set(ActionPlanApproval.objects.filter(
        version__in=[v.pk for v in versions.values()]).values_list("version_id", "content_hash"))
    out: dict[Any, Answer] = {}
    to_check = [pk for pk in ids if pk in versions
                and (versions[pk].pk, versions[pk].content_hash) in approved]
    resolvers = _resolvers(to_check) if to_check else {}
    for pk in ids:
        version = versions.get(pk)
        if version is None:
            out[pk] = Answer(False, _("There is no action plan for acute events."), owner)
        elif (version.pk, version.content_hash) not in approved:
            out[pk] = Answer(False, _("The latest action plan is not approved."), owner)
        elif missing_numbers(resolvers[pk].patient, version.content, resolvers[pk]):
            out[pk] = Answer(False, _("A scenario in the action plan has no number to call."),
                             owner)
        else:
            out[pk] = Answer(True, "", owner)
    return out


def treatment_plans_signed(patient_ids: Sequence[Any]) -> dict[Any, Answer]:
    owner = R.RESPONSIBLE_CONSULTANT
    ids = list(patient_ids)
    versions = _latest_versions(TreatmentPlanVersion, ids)
    signed = set(TreatmentPlanSignature.objects.filter(
        version__in=[v.pk for v in versions.values()]).values_list("version_id", "content_hash"))
    out: dict[Any, Answer] = {}
    for pk in ids:
        version = versions.get(pk)
        if version is None:
            out[pk] = Answer(False, _("There is no treatment plan."), owner)
        elif (version.pk, version.content_hash) not in signed:
            out[pk] = Answer(False, _("The latest treatment plan is not signed by the "
                                      "responsible doctor."), owner)
        else:
            out[pk] = Answer(True, "", owner)
    return out


def binders_current(patient_ids: Sequence[Any]) -> dict[Any, Answer]:
    """The latest binder of each patient first (none: unmet); then its `current_at` mark
    and the care team's period boundaries since (see the module docstring): two
    queries however many patients."""
    ids = list(patient_ids)
    newest = Document.objects.filter(patient=OuterRef("patient"), kind=Document.Kind.BINDER)
    latest = {d["patient_id"]: d["current_at"] for d in Document.objects.filter(
        patient_id__in=ids, kind=Document.Kind.BINDER,
        number=Subquery(newest.order_by("-number").values("number")[:1]))
        .values("patient_id", "current_at")}
    now = timezone.now()
    known = [at for at in latest.values() if at is not None]
    moved: set[Any] = set()
    if known:
        since = min(known)
        for patient_id, start, end in (CareTeamMember.objects.filter(
                Q(period_start__gt=since, period_start__lte=now)
                | Q(period_end__gt=since, period_end__lte=now),
                patient_id__in=[pk for pk, at in latest.items() if at is not None])
                .values_list("patient_id", "period_start", "period_end")):
            at = latest[patient_id]
            assert at is not None
            if any(b is not None and at < b <= now for b in (start, end)):
                moved.add(patient_id)
    out: dict[Any, Answer] = {}
    for pk in ids:
        out[pk] = _binder_answer(pk in latest,
                                 latest.get(pk) is not None and pk not in moved)
    return out


def _binder_answer(exists: bool, current: bool) -> Answer:
    owner = R.LTMV_NURSE
    if not exists:
        return Answer(False, _("The patient binder has not been made."), owner)
    if not current:
        return Answer(False, _("The patient binder is older than the last change: make a "
                               "new one."), owner)
    return Answer(True, "", owner)


#: The same criteria for many patients at once, by patient id: {patient id: answer}.
MANY: dict[str, Callable[[Sequence[Any]], dict[Any, Answer]]] = {
    "plans.individual_plan_started": individual_plans_started,
    "plans.action_plan_approved": action_plans_approved,
    "plans.treatment_plan_signed": treatment_plans_signed,
    "plans.binder_current": binders_current,
}


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


def _many_adapter(evaluate: Callable[[Sequence[Any]], dict[Any, Answer]],
                  result_class: Any) -> Callable[[Sequence[Any]], dict[Any, Any]]:
    def evaluator(pathways: Sequence[Any]) -> dict[Any, Any]:
        answers = evaluate(list({p.patient_id for p in pathways}))
        return {p.pk: result_class(met=(a := answers[p.patient_id]).met, missing=a.missing,
                                   owner=a.owner) for p in pathways}

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
        register_criterion(name, _adapter(evaluate, result_class),
                           many=_many_adapter(MANY[name], result_class))
    return True
