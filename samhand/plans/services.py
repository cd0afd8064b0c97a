"""Workflows of the individual plan, the treatment plan and the action plan.

Views, the API and the demo call these. Each applies whole or not at all
(`transaction.atomic`, the head row locked while the next version number is taken),
writes its audit row in the same transaction, and raises a named DomainError with a
translated message on bad input. Versions are never changed: every change is a new
version. A change also brings the patient binder up to date once the transaction has
committed (samhand.plans.binder).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from samhand.access.policy import Grant
from samhand.accounts.models import User
from samhand.audit.models import AuditEvent
from samhand.audit.services import Actor, record
from samhand.lib.errors import Conflict, DomainError, Forbidden
from samhand.lib.timeutil import today_oslo
from samhand.orgs.models import Membership, Organisation, Sector
from samhand.patients.models import CareTeamMember, Consent, Patient

from . import content as library
from . import schema
from .contacts import Resolver
from .models import (
    ActionPlan,
    ActionPlanApproval,
    ActionPlanVersion,
    IndividualPlan,
    IndividualPlanVersion,
    TreatmentPlan,
    TreatmentPlanSignature,
    TreatmentPlanVersion,
    content_hash,
)

A = AuditEvent.Action
R = CareTeamMember.Role
CONTACT_MAX_AGE_DAYS = 90  # the LTMV pathway checks the contact list every 3 months
DEFAULT_REVISION_MONTHS = 6


def require_write(grant: Grant) -> None:
    """Writes need a care relation or emergency access; a delegation is read-only."""
    if grant.basis not in (AuditEvent.Basis.CARE_RELATION, AuditEvent.Basis.EMERGENCY):
        raise Forbidden(_("You may not change this patient's plans."), code="read_only")


def acting_organisation(actor: Actor, grant: Grant) -> Organisation:
    org = grant.organisation or actor.organisation
    if org is None:
        raise Forbidden(_("You must work in an organisation to change a plan."),
                        code="no_organisation")
    return org


def _user(actor: Actor) -> User:
    if actor.user is None or not actor.user.is_authenticated:
        raise Forbidden(_("Sign in to change a plan."), code="not_signed_in")
    user: User = actor.user
    return user


def _audit(actor: Actor, code: str, action: str, patient: Patient, grant: Grant | None,
           object_type: str, object_ids: list[Any]) -> None:
    record(actor, code, action, patient_id=patient.pk, object_type=object_type,
           object_ids=object_ids,
           basis=grant.basis if grant else AuditEvent.Basis.NONE,
           basis_id=grant.basis_id if grant else "",
           organisation=(grant.organisation if grant else None) or actor.organisation)


def _after_change(patient: Patient, actor: Actor) -> None:
    from .binder import refresh_binder_on_commit

    refresh_binder_on_commit(patient.pk, actor)


def _add_months(day: dt.date, months: int) -> dt.date:
    month = day.month - 1 + months
    year = day.year + month // 12
    month = month % 12 + 1
    import calendar

    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


# --------------------------------------------------------------------------- individual plan

def municipal_coordinator(patient: Patient) -> CareTeamMember | None:
    return (patient.care_team.active().filter(role=R.MUNICIPAL_COORDINATOR,
                                              organisation__isnull=False)
            .select_related("organisation", "user").order_by("period_start").first())


def active_individual_plan(patient: Patient) -> IndividualPlan | None:
    return (IndividualPlan.objects.filter(patient=patient, status=IndividualPlan.Status.ACTIVE)
            .select_related("coordinator_organisation", "coordinator").first())


def initial_ip_content(patient: Patient, today: dt.date | None = None) -> dict[str, Any]:
    today = today or today_oslo()
    contacts = [{"name": row["name"], "role": row["role"], "phone": row["number"],
                 "around_the_clock": row["around_the_clock"], "confirmed_on": today}
                for row in Resolver(patient).contact_sheet() if row["number"]]
    return {"summary": "", "goals": [], "measures": [], "contacts": contacts,
            "revision": {"every_months": DEFAULT_REVISION_MONTHS,
                         "next_on": _add_months(today, DEFAULT_REVISION_MONTHS)}}


def start_individual_plan(actor: Actor, patient: Patient, grant: Grant, *,
                          content: dict[str, Any] | None = None) -> IndividualPlan:
    """Start the IP: only with the patient's active consent to an individual plan, and
    only when the care team has a municipal coordinator, who owns the plan (PL-1)."""
    require_write(grant)
    org = acting_organisation(actor, grant)
    user = _user(actor)
    if not Consent.objects.active_for(patient, Consent.Scope.INDIVIDUAL_PLAN):
        raise DomainError(_("The patient has not consented to an individual plan. Record the "
                            "consent first."), code="no_consent", field="consent")
    coordinator = municipal_coordinator(patient)
    if coordinator is None or coordinator.organisation is None:
        raise DomainError(_("An individual plan needs a coordinator: add the municipal "
                            "coordinator to the care team first."), code="no_coordinator",
                          field="coordinator")
    if coordinator.organisation.sector != Sector.PRIMARY:
        raise DomainError(_("The coordinator of an individual plan works in the "
                            "municipality."), code="coordinator_not_municipal",
                          field="coordinator")
    cleaned = schema.clean_individual_plan(content or initial_ip_content(patient))
    with transaction.atomic():
        Patient.objects.select_for_update().filter(pk=patient.pk).first()
        if active_individual_plan(patient) is not None:
            raise Conflict(_("The individual plan is already started."), code="already_started")
        plan = IndividualPlan.objects.create(
            patient=patient, coordinator_organisation=coordinator.organisation,
            coordinator=coordinator.user, started_by=user)
        version = IndividualPlanVersion.objects.create(
            plan=plan, number=1, content=cleaned, note=_("Started"), created_by=user,
            created_by_organisation=org)
        _audit(actor, "samhand.individual_plan.started", A.CREATE, patient, grant,
               "CarePlan", [plan.pk, version.pk])
        _after_change(patient, actor)
    return plan


def revise_individual_plan(actor: Actor, patient: Patient, grant: Grant, *,
                           content: dict[str, Any], note: str = "",
                           based_on: int | None = None) -> IndividualPlanVersion:
    """A new version of the IP. `based_on` is the version the writer started from: if
    someone saved another version meanwhile, the change is refused (no lost update)."""
    require_write(grant)
    org = acting_organisation(actor, grant)
    user = _user(actor)
    cleaned = schema.clean_individual_plan(content)
    if not Consent.objects.active_for(patient, Consent.Scope.INDIVIDUAL_PLAN):
        raise DomainError(_("The patient's consent to an individual plan is withdrawn: the "
                            "plan cannot be changed."), code="no_consent", field="consent")
    with transaction.atomic():
        plan = (IndividualPlan.objects.select_for_update()
                .filter(patient=patient, status=IndividualPlan.Status.ACTIVE).first())
        if plan is None:
            raise DomainError(_("Start the individual plan first."), code="not_started")
        latest = plan.latest()
        assert latest is not None
        if based_on is not None and based_on != latest.number:
            raise Conflict(_("Someone saved a newer version of the plan while you were "
                             "editing. Open the plan again and make your change there."),
                           code="stale_version")
        if content_hash(cleaned) == latest.content_hash:
            raise DomainError(_("Nothing was changed."), code="no_change")
        version = IndividualPlanVersion.objects.create(
            plan=plan, number=latest.number + 1, content=cleaned, note=note[:300],
            created_by=user, created_by_organisation=org)
        _audit(actor, "samhand.individual_plan.revised", A.UPDATE, patient, grant,
               "CarePlan", [plan.pk, version.pk])
        _after_change(patient, actor)
    return version


def confirm_contacts(actor: Actor, patient: Patient, grant: Grant, *,
                     based_on: int | None = None) -> IndividualPlanVersion:
    """Every contact in the IP confirmed today (a new version)."""
    plan = active_individual_plan(patient)
    if plan is None:
        raise DomainError(_("Start the individual plan first."), code="not_started")
    latest = plan.latest()
    assert latest is not None
    content = dict(latest.content)
    today = today_oslo().isoformat()
    content["contacts"] = [{**c, "confirmed_on": today} for c in content.get("contacts", [])]
    return revise_individual_plan(actor, patient, grant, content=content,
                                  note=_("Contact list confirmed"),
                                  based_on=based_on if based_on is not None else latest.number)


def stale_contacts(version: IndividualPlanVersion | None, *, today: dt.date | None = None,
                   max_age_days: int | None = None) -> list[dict[str, Any]]:
    """Contacts last confirmed longer ago than the pathway allows (its task
    "contact_list_checked"; 90 days without a pathway)."""
    if version is None:
        return []
    if max_age_days is None:
        from .pathway_link import contact_max_age_days

        max_age_days = contact_max_age_days(version.plan.patient, CONTACT_MAX_AGE_DAYS)
    today = today or today_oslo()
    limit = today - dt.timedelta(days=max_age_days)
    return [c for c in version.content.get("contacts", [])
            if dt.date.fromisoformat(c["confirmed_on"]) < limit]


def revision_due(version: IndividualPlanVersion | None, today: dt.date | None = None) -> bool:
    if version is None:
        return False
    next_on = version.content.get("revision", {}).get("next_on")
    return bool(next_on) and dt.date.fromisoformat(next_on) <= (today or today_oslo())


# --------------------------------------------------------------------------- treatment plan

def _hospital_writer(actor: Actor, grant: Grant) -> Organisation:
    org = acting_organisation(actor, grant)
    if org.sector != Sector.SPECIALIST:
        raise Forbidden(_("The hospital writes the treatment plan."), code="hospital_only")
    return org


def save_treatment_plan(actor: Actor, patient: Patient, grant: Grant, *,
                        content: dict[str, Any], note: str = "",
                        based_on: int | None = None) -> TreatmentPlanVersion:
    """A new version of the treatment plan (unsigned until the responsible doctor signs)."""
    require_write(grant)
    org = _hospital_writer(actor, grant)
    user = _user(actor)
    cleaned = schema.clean_treatment_plan(content)
    with transaction.atomic():
        plan, _created = TreatmentPlan.objects.get_or_create(patient=patient)
        plan = TreatmentPlan.objects.select_for_update().get(pk=plan.pk)
        latest = plan.latest()
        number = latest.number if latest else 0
        if based_on is not None and based_on != number:
            raise Conflict(_("Someone saved a newer version of the plan while you were "
                             "editing. Open the plan again and make your change there."),
                           code="stale_version")
        if latest is not None and content_hash(cleaned) == latest.content_hash:
            raise DomainError(_("Nothing was changed."), code="no_change")
        version = TreatmentPlanVersion.objects.create(
            plan=plan, number=number + 1, content=cleaned, note=note[:300], created_by=user,
            created_by_organisation=org)
        _audit(actor, "samhand.treatment_plan.revised", A.UPDATE if latest else A.CREATE,
               patient, grant, "CarePlan", [plan.pk, version.pk])
        _after_change(patient, actor)
    return version


def is_responsible_doctor(user: Any, patient: Patient) -> bool:
    """The responsible consultant on the care team: the named person, or a doctor of the
    consultant's unit when no person is named."""
    if not getattr(user, "is_authenticated", False) or not user.is_health_personnel:
        return False
    for member in patient.care_team.active().filter(role=R.RESPONSIBLE_CONSULTANT):
        if member.user_id is not None:
            if member.user_id == user.pk:
                return True
        elif member.organisation_id and Membership.objects.active().filter(
                user=user, organisation_id=member.organisation_id,
                role=Membership.Role.DOCTOR).exists():
            return True
    return False


def sign_treatment_plan(actor: Actor, patient: Patient, grant: Grant, *, number: int,
                        seen_hash: str) -> TreatmentPlanSignature:
    """The responsible doctor signs the version they read. The signature pins that
    version's content hash; a later version needs a new signature."""
    require_write(grant)
    org = acting_organisation(actor, grant)
    user = _user(actor)
    if not is_responsible_doctor(user, patient):
        raise Forbidden(_("Only the patient's responsible doctor signs the treatment plan."),
                        code="not_responsible_doctor")
    with transaction.atomic():
        plan = TreatmentPlan.objects.select_for_update().filter(patient=patient).first()
        latest = plan.latest() if plan else None
        if plan is None or latest is None:
            raise DomainError(_("There is no treatment plan to sign."), code="no_plan")
        if latest.number != number or latest.content_hash != seen_hash:
            raise Conflict(_("The treatment plan was changed after you opened it. Read the "
                             "new version before you sign."), code="plan_changed")
        if latest.signatures.filter(signed_by=user).exists():
            raise Conflict(_("You have already signed this version."), code="already_signed")
        signature = TreatmentPlanSignature.objects.create(
            version=latest, content_hash=latest.content_hash, signed_by=user,
            signed_by_organisation=org)
        _audit(actor, "samhand.treatment_plan.signed", A.UPDATE, patient, grant, "CarePlan",
               [plan.pk, latest.pk, signature.pk])
        _after_change(patient, actor)
    return signature


# --------------------------------------------------------------------------- action plan

def plan_language(patient: Patient, lib: library.Library | None) -> str:
    lang = library.language_of(patient.language)
    return lang if lib is not None and lib.title.has(lang) else "nb"


def missing_numbers(patient: Patient, content: dict[str, Any],
                    resolver: Resolver | None = None) -> list[tuple[str, str]]:
    """(scenario title, contact label) for every entry without a number to call, and
    (title, "") for a scenario with nothing to call at all."""
    resolver = resolver or Resolver(patient)
    missing = []
    for scenario in content.get("scenarios", []):
        resolved = 0
        for key in scenario.get("call", []):
            if resolver.number(key) is None:
                missing.append((scenario["title"], str(library.CALL_KEYS.get(key, key))))
            else:
                resolved += 1
        if not resolved and not scenario.get("extra_numbers"):
            missing.append((scenario["title"], ""))
    return missing


def _refuse_missing_numbers(patient: Patient, content: dict[str, Any]) -> None:
    missing = missing_numbers(patient, content)
    if not missing:
        return
    title, label = missing[0]
    if label:
        message = _("Scenario “%(title)s”: there is no number for “%(who)s”. Add the number "
                    "to the organisation on the care team, or remove the contact from the "
                    "scenario.") % {"title": title, "who": label}
    else:
        message = _("Scenario “%(title)s” has no number to call.") % {"title": title}
    raise DomainError(message, code="no_number", field="call")


def library_content(patient: Patient, keys: list[str] | None = None) -> dict[str, Any]:
    """A new action plan from the library of the patient's pathway: the chosen
    scenarios (all when `keys` is None) and the role descriptions, in the patient's
    language where the library has it."""
    lib = library.library_for(patient.group)
    if lib is None:
        raise DomainError(_("There is no scenario library for this patient group. Set the "
                            "patient's group first."), code="no_library", field="scenarios")
    lang = plan_language(patient, lib)
    chosen = [s for s in lib.scenarios if keys is None or s.key in keys]
    unknown = set(keys or ()) - {s.key for s in lib.scenarios}
    if unknown:
        raise DomainError(_("Unknown scenario: %(key)s.") % {"key": sorted(unknown)[0]},
                          code="unknown_scenario", field="scenarios")
    roles = library.role_descriptions().get(lib.pathway, {})
    return {"language": lang, "pathway": lib.pathway,
            "scenarios": [{**s.for_language(lang), "extra_numbers": []} for s in chosen],
            "roles": {party: text.get(lang) for party, text in roles.items()}}


def save_action_plan(actor: Actor, patient: Patient, grant: Grant, *, content: dict[str, Any],
                     note: str = "", based_on: int | None = None) -> ActionPlanVersion:
    """A new version of the action plan. Refused when a scenario has no number to call."""
    require_write(grant)
    org = acting_organisation(actor, grant)
    user = _user(actor)
    cleaned = schema.clean_action_plan(content)
    _refuse_missing_numbers(patient, cleaned)
    with transaction.atomic():
        plan, _created = ActionPlan.objects.get_or_create(patient=patient)
        plan = ActionPlan.objects.select_for_update().get(pk=plan.pk)
        latest = plan.latest()
        number = latest.number if latest else 0
        if based_on is not None and based_on != number:
            raise Conflict(_("Someone saved a newer version of the plan while you were "
                             "editing. Open the plan again and make your change there."),
                           code="stale_version")
        if latest is not None and content_hash(cleaned) == latest.content_hash:
            raise DomainError(_("Nothing was changed."), code="no_change")
        version = ActionPlanVersion.objects.create(
            plan=plan, number=number + 1, content=cleaned, note=note[:300], created_by=user,
            created_by_organisation=org)
        _audit(actor, "samhand.action_plan.revised", A.UPDATE if latest else A.CREATE,
               patient, grant, "CarePlan", [plan.pk, version.pk])
        _after_change(patient, actor)
    return version


def build_action_plan(actor: Actor, patient: Patient, grant: Grant, *,
                      keys: list[str] | None = None) -> ActionPlanVersion:
    plan = ActionPlan.objects.filter(patient=patient).first()
    latest = plan.latest() if plan else None
    return save_action_plan(actor, patient, grant, content=library_content(patient, keys),
                            note=_("Built from the scenario library"),
                            based_on=latest.number if latest else 0)


def update_scenario(actor: Actor, patient: Patient, grant: Grant, *, key: str,
                    scenario: dict[str, Any], based_on: int) -> ActionPlanVersion:
    plan = ActionPlan.objects.filter(patient=patient).first()
    latest = plan.latest() if plan else None
    if latest is None:
        raise DomainError(_("Build the action plan first."), code="no_plan")
    scenarios = list(latest.content["scenarios"])
    index = next((i for i, s in enumerate(scenarios) if s["key"] == key), None)
    if index is None:
        raise DomainError(_("Unknown scenario: %(key)s.") % {"key": key},
                          code="unknown_scenario", field="key")
    scenarios[index] = {**scenario, "key": key}
    content = {**latest.content, "scenarios": scenarios}
    return save_action_plan(actor, patient, grant, content=content,
                            note=_("Scenario “%(title)s” changed") % {
                                "title": scenario.get("title", key)}, based_on=based_on)


def may_approve_action_plan(user: Any, patient: Patient) -> bool:
    """The responsible doctor or the patient's GP (a doctor of the GP office)."""
    if is_responsible_doctor(user, patient):
        return True
    if not getattr(user, "is_authenticated", False) or not user.is_health_personnel:
        return False
    for member in patient.care_team.active().filter(role=R.GP):
        if member.user_id == user.pk:
            return True
        if member.user_id is None and member.organisation_id and Membership.objects.active(
                ).filter(user=user, organisation_id=member.organisation_id,
                         role__in=[Membership.Role.GP, Membership.Role.DOCTOR]).exists():
            return True
    return False


def approve_action_plan(actor: Actor, patient: Patient, grant: Grant, *, number: int,
                        seen_hash: str) -> ActionPlanApproval:
    require_write(grant)
    org = acting_organisation(actor, grant)
    user = _user(actor)
    if not may_approve_action_plan(user, patient):
        raise Forbidden(_("The responsible doctor or the patient's GP approves the action "
                          "plan."), code="not_approver")
    with transaction.atomic():
        plan = ActionPlan.objects.select_for_update().filter(patient=patient).first()
        latest = plan.latest() if plan else None
        if plan is None or latest is None:
            raise DomainError(_("There is no action plan to approve."), code="no_plan")
        if latest.number != number or latest.content_hash != seen_hash:
            raise Conflict(_("The action plan was changed after you opened it. Read the new "
                             "version before you approve it."), code="plan_changed")
        _refuse_missing_numbers(patient, latest.content)
        if latest.approvals.filter(approved_by=user).exists():
            raise Conflict(_("You have already approved this version."),
                           code="already_approved")
        approval = ActionPlanApproval.objects.create(
            version=latest, content_hash=latest.content_hash, approved_by=user,
            approved_by_organisation=org)
        _audit(actor, "samhand.action_plan.approved", A.UPDATE, patient, grant, "CarePlan",
               [plan.pk, latest.pk, approval.pk])
        _after_change(patient, actor)
    return approval
