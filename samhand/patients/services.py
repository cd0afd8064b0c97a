"""Patient-level workflows: registering a patient, the care team, consents, relatives.

Views, the API and commands call these. Each applies whole or not at all
(`transaction.atomic`), writes its audit row in the same transaction, and raises a
named DomainError with a translated message on bad input.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from samhand.access.policy import Grant
from samhand.audit.models import AuditEvent
from samhand.audit.services import Actor, record
from samhand.lib.errors import Conflict, DomainError, Forbidden, NotFound
from samhand.orgs.models import Organisation

from .identifiers import InvalidIdentifier, parse_national_id
from .models import CareTeamMember, Consent, Patient, RelatedPerson

A = AuditEvent.Action


def _require_write(grant: Grant) -> None:
    """Writes need a care relation or emergency access; a relative's delegation is read-only."""
    if grant.basis not in (AuditEvent.Basis.CARE_RELATION, AuditEvent.Basis.EMERGENCY):
        raise Forbidden(_("You may not change this patient's record."), code="read_only")


def _organisation(org_id: Any, field: str = "organisation") -> Organisation:
    try:
        return Organisation.objects.get(pk=org_id, is_active=True)
    except (Organisation.DoesNotExist, ValidationError, ValueError):
        raise DomainError(_("Unknown organisation."), code="unknown_organisation",
                          field=field) from None


def register_patient(
    actor: Actor,
    *,
    national_id: str,
    given_name: str,
    family_name: str,
    registering_organisation: Organisation,
    care_team_role: str,
    municipality_id: Any = None,
    country: str | None = None,
    **details: Any,
) -> Patient:
    """Register a new patient and put the registering organisation on the care team, so
    that the person registering keeps a care relation (and nobody else gains one)."""
    try:
        ident = parse_national_id(national_id, country=country,
                                  allow_test=settings.SAMHAND_ALLOW_TEST_IDENTIFIERS,
                                  allow_help=settings.SAMHAND_ALLOW_HELP_NUMBERS)
    except InvalidIdentifier as exc:
        raise DomainError(exc.message, code=f"national_id_{exc.code}",
                          field="national_id") from None
    if not given_name.strip() or not family_name.strip():
        raise DomainError(_("Both given name and family name are required."),
                          code="name_required", field="family_name")
    if care_team_role not in CareTeamMember.Role.values:
        raise DomainError(_("Unknown care team role."), code="unknown_role",
                          field="care_team_role")
    municipality = None
    if municipality_id:
        municipality = _organisation(municipality_id, "municipality")
        if municipality.kind != Organisation.Kind.MUNICIPALITY:
            raise DomainError(_("Choose a municipality."), code="not_a_municipality",
                              field="municipality")
    allowed = {f.name for f in Patient._meta.get_fields()} - {"id", "national_id",
                                                              "national_id_kind",
                                                              "created_at", "updated_at"}
    unknown = set(details) - allowed
    if unknown:
        raise DomainError(_("Unknown field: %(field)s") % {"field": sorted(unknown)[0]},
                          code="unknown_field", field=sorted(unknown)[0])
    try:
        with transaction.atomic():
            patient = Patient.objects.create(
                national_id=ident.value, national_id_kind=ident.kind.value,
                given_name=given_name.strip(), family_name=family_name.strip(),
                municipality=municipality, **details)
            relation = CareTeamMember.objects.create(
                patient=patient, organisation=registering_organisation, role=care_team_role,
                user=actor.user if actor.user and actor.user.is_authenticated else None)
            record(actor, "samhand.patient.created", A.CREATE, patient_id=patient.pk,
                   object_type="Patient", object_ids=[patient.pk, relation.pk],
                   basis=AuditEvent.Basis.CARE_RELATION, basis_id=relation.pk,
                   organisation=registering_organisation)
    except IntegrityError:
        # Say that the patient exists (registration must not create a twin) but nothing
        # about them; the attempt is audited.
        record(actor, "samhand.patient.create_duplicate", A.CREATE, object_type="Patient",
               outcome=AuditEvent.Outcome.MINOR_FAILURE, organisation=registering_organisation)
        raise Conflict(_("A patient with this national identity number is already registered. "
                         "Ask the patient's care team to add your unit, or use emergency "
                         "access if the patient needs help now."),
                       code="duplicate_patient", field="national_id") from None
    return patient


def add_care_team_member(
    actor: Actor,
    patient: Patient,
    grant: Grant,
    *,
    organisation_id: Any,
    role: str,
    user_id: Any = None,
    period_start: dt.datetime | None = None,
    period_end: dt.datetime | None = None,
) -> CareTeamMember:
    _require_write(grant)
    organisation = _organisation(organisation_id)
    if role not in CareTeamMember.Role.values or role == CareTeamMember.Role.RELATIVE:
        raise DomainError(_("Unknown care team role."), code="unknown_role", field="role")
    person = None
    if user_id:
        from samhand.accounts.models import User
        from samhand.orgs.models import Membership

        person = User.objects.filter(pk=user_id, is_active=True).first() if _uuid(user_id) \
            else None
        if person is None or not Membership.objects.active().filter(
                user=person, organisation=organisation).exists():
            raise DomainError(_("That person does not work in the chosen organisation."),
                              code="person_not_in_organisation", field="user")
    start = period_start or timezone.now()
    if period_end is not None and period_end <= start:
        raise DomainError(_("The period must end after it starts."), code="period",
                          field="period_end")
    with transaction.atomic():
        member = CareTeamMember.objects.create(
            patient=patient, organisation=organisation, role=role, user=person,
            period_start=start, period_end=period_end)
        record(actor, "samhand.careteam.member_added", A.CREATE, patient_id=patient.pk,
               object_type="CareTeam", object_ids=[member.pk], basis=grant.basis,
               basis_id=grant.basis_id, organisation=grant.organisation)
    return member


def end_care_team_member(actor: Actor, patient: Patient, grant: Grant, member_id: Any,
                         *, at: dt.datetime | None = None) -> CareTeamMember:
    _require_write(grant)
    member = CareTeamMember.objects.filter(pk=member_id, patient=patient).first() \
        if _uuid(member_id) else None
    if member is None:
        raise NotFound(_("No such care team member."), code="not_found")
    at = at or timezone.now()
    if member.period_end is not None and member.period_end <= at:
        raise Conflict(_("This member has already left the care team."), code="already_ended")
    with transaction.atomic():
        member.period_end = max(at, member.period_start + dt.timedelta(seconds=1))
        member.save(update_fields=["period_end"])
        record(actor, "samhand.careteam.member_ended", A.UPDATE, patient_id=patient.pk,
               object_type="CareTeam", object_ids=[member.pk], basis=grant.basis,
               basis_id=grant.basis_id, organisation=grant.organisation)
    return member


def record_consent(
    actor: Actor,
    patient: Patient,
    grant: Grant,
    *,
    scope: str,
    status: str,
    given_by: str = Consent.GivenBy.PATIENT,
    given_by_name: str = "",
    note: str = "",
) -> Consent:
    _require_write(grant)
    if scope not in Consent.Scope.values:
        raise DomainError(_("Unknown consent scope."), code="unknown_scope", field="scope")
    if status not in Consent.Status.values:
        raise DomainError(_("A consent is either given or withdrawn."), code="unknown_status",
                          field="status")
    if given_by not in Consent.GivenBy.values:
        raise DomainError(_("Say who gave or withdrew the consent."), code="given_by",
                          field="given_by")
    organisation = grant.organisation or actor.organisation
    if organisation is None:
        raise Forbidden(_("You must work in an organisation to record a consent."),
                        code="no_organisation")
    with transaction.atomic():
        consent = Consent.objects.create(
            patient=patient, scope=scope, status=status, given_by=given_by,
            given_by_name=given_by_name, note=note, recorded_by=actor.user,
            recorded_by_organisation=organisation)
        record(actor, f"samhand.consent.{status}", A.CREATE, patient_id=patient.pk,
               object_type="Consent", object_ids=[consent.pk], basis=grant.basis,
               basis_id=grant.basis_id, organisation=organisation)
    return consent


def add_relative(actor: Actor, patient: Patient, grant: Grant, *, name: str, relation: str,
                 phone: str = "", email: str = "", is_primary_contact: bool = False,
                 is_guardian: bool = False,
                 may_be_told: str = RelatedPerson.MayBeTold.PRACTICAL) -> RelatedPerson:
    _require_write(grant)
    if not name.strip():
        raise DomainError(_("The relative's name is required."), code="name_required",
                          field="name")
    if relation not in RelatedPerson.Relation.values:
        raise DomainError(_("Unknown relation."), code="unknown_relation", field="relation")
    if may_be_told not in RelatedPerson.MayBeTold.values:
        raise DomainError(_("Say what the relative may be told."), code="may_be_told",
                          field="may_be_told")
    with transaction.atomic():
        if is_primary_contact:
            patient.relatives.filter(is_primary_contact=True).update(is_primary_contact=False)
        relative = RelatedPerson.objects.create(
            patient=patient, name=name.strip(), relation=relation, phone=phone, email=email,
            is_primary_contact=is_primary_contact, is_guardian=is_guardian,
            may_be_told=may_be_told)
        record(actor, "samhand.relative.added", A.CREATE, patient_id=patient.pk,
               object_type="RelatedPerson", object_ids=[relative.pk], basis=grant.basis,
               basis_id=grant.basis_id, organisation=grant.organisation)
    return relative


def _uuid(value: Any) -> bool:
    import uuid

    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True
