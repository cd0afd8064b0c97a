"""API v1 endpoints: thin functions over the access layer and the patient services.

Every patient read goes through `samhand.access.policy` (`visible_patients`,
`get_patient_for`, `audit_list`, `filter_health_info`); every write through
`samhand.patients.services`. Nothing here filters patients on its own.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema, Status
from pydantic import ConfigDict, Field

from samhand.access import policy
from samhand.access.policy import Grant
from samhand.audit.models import AuditEvent
from samhand.lib.errors import DomainError, Forbidden
from samhand.orgs.models import Membership, Organisation
from samhand.patients import services
from samhand.patients.identifiers import InvalidIdentifier, parse_national_id
from samhand.patients.models import CareTeamMember, Consent, Patient, RelatedPerson

from . import schemas as s

CLIENT = "api"

directory = Router(tags=["directory"])
patients = Router(tags=["patients"])

# A long run of digits in a search box is almost certainly a national id; those
# belong in a POST body (security.md #23), so the query is refused, not run. It is a
# pattern in the schema, so that clients and fuzzers know the rule too; errors.py
# turns a mismatch into `national_id_in_url`.
NO_NATIONAL_ID = r"^(?!.*\d{6}).*$"


class Page(Schema):
    limit: int = Field(50, ge=1, le=200)
    offset: int = Field(0, ge=0, le=1_000_000)


class PatientFilter(Page):
    model_config = ConfigDict(regex_engine="python-re")  # the pattern needs a lookahead

    q: str = Field("", max_length=100, pattern=NO_NATIONAL_ID,
                   description="Name, or the start of a name. Six or more digits in a row "
                               "are refused: look national ids up with POST "
                               "/patients/lookup.")


class OrganisationFilter(Page):
    q: str = Field("", max_length=100, description="Part of the name.")
    kind: Organisation.Kind | None = None


# --------------------------------------------------------------------------- helpers

def _ref(obj: Any) -> dict[str, Any] | None:
    if obj is None:
        return None
    return {"id": obj.pk, "name": getattr(obj, "full_name", None) or str(obj)}


def _person(user: Any) -> dict[str, Any] | None:
    if user is None:
        return None
    return {"id": user.pk, "name": user.get_full_name() or user.username,
            "hpr_number": user.hpr_number}


def _summary(patient: Patient) -> dict[str, Any]:
    return {"id": patient.pk, "given_name": patient.given_name,
            "family_name": patient.family_name, "birth_date": patient.birth_date,
            "group": patient.group, "municipality": _ref(patient.municipality)}


def _organisation(org: Organisation) -> dict[str, Any]:
    return {"id": org.pk, "name": org.name, "kind": org.kind, "parent_id": org.parent_id,
            "country": org.country, "org_number": org.org_number, "her_id": org.her_id,
            "sor_id": org.sor_id, "municipality_number": org.municipality_number,
            "street": org.street, "postal_code": org.postal_code, "city": org.city,
            "phone": org.phone, "phone_24h": org.display_24h()}


def _member(member: CareTeamMember) -> dict[str, Any]:
    return {"id": member.pk, "role": member.role, "organisation": _ref(member.organisation),
            "phone_24h": member.organisation.display_24h() if member.organisation else "",
            "person": _person(member.user), "relative": _ref(member.related_person),
            "period_start": member.period_start, "period_end": member.period_end,
            "active": member.is_active}


def _consent(consent: Consent, in_force: bool) -> dict[str, Any]:
    return {"id": consent.pk, "scope": consent.scope, "status": consent.status,
            "in_force": in_force, "given_by": consent.given_by,
            "given_by_name": consent.given_by_name, "recorded_at": consent.recorded_at,
            "recorded_by": _person(consent.recorded_by),
            "recorded_by_organisation": _ref(consent.recorded_by_organisation)}


def _relative(relative: RelatedPerson) -> dict[str, Any]:
    return {"id": relative.pk, "name": relative.name, "relation": relative.relation,
            "phone": relative.phone, "email": relative.email,
            "is_primary_contact": relative.is_primary_contact,
            "is_guardian": relative.is_guardian, "may_be_told": relative.may_be_told}


def _consents(patient: Patient) -> list[dict[str, Any]]:
    rows = list(patient.consents.select_related("recorded_by", "recorded_by_organisation")
                .order_by("-recorded_at", "-status"))
    seen: set[str] = set()
    out = []
    for consent in rows:
        out.append(_consent(consent, consent.scope not in seen))
        seen.add(consent.scope)
    return out


def _detail(request: HttpRequest, patient: Patient, grant: Grant) -> dict[str, Any]:
    team = (patient.care_team.select_related("organisation__parent__parent", "user",
                                             "related_person")
            .order_by("period_start"))
    diagnoses, hidden = policy.filter_health_info(
        request.user, patient, grant,
        patient.diagnoses.select_related("recorded_by_organisation"))
    return {
        "id": patient.pk, "national_id": patient.national_id,
        "national_id_kind": patient.national_id_kind,
        "national_id_system": patient.identifier_system,
        "given_name": patient.given_name, "family_name": patient.family_name,
        "birth_date": patient.birth_date, "group": patient.group,
        "address_kind": patient.address_kind, "street": patient.street,
        "postal_code": patient.postal_code, "city": patient.city, "phone": patient.phone,
        "municipality": _ref(patient.municipality), "language": patient.language,
        "interpreter_needed": patient.interpreter_needed,
        "access": {"basis": grant.basis, "blocked_data": grant.blocked},
        "care_team": [_member(m) for m in team],
        "consents": _consents(patient),
        "relatives": [_relative(r) for r in policy.relatives_visible(patient, grant)],
        "diagnoses": [{"id": d.pk, "code": d.code, "text": d.text,
                       "recorded_by_organisation": _ref(d.recorded_by_organisation),
                       "recorded_at": d.recorded_at} for d in diagnoses],
        "diagnoses_hidden": hidden,
    }


def _page(qs: QuerySet[Any], page: Page) -> tuple[int, list[Any]]:
    return qs.count(), list(qs[page.offset:page.offset + page.limit])


def _open(request: HttpRequest, patient_id: uuid.UUID, code: str,
          object_type: str) -> tuple[Patient, Grant]:
    """The gate before a write: the patient if the caller may see it, else 404."""
    return policy.get_patient_for(request, patient_id, code=code,
                                  action=AuditEvent.Action.UPDATE, client=CLIENT,
                                  object_type=object_type)


# --------------------------------------------------------------------------- directory

@directory.get("/me", response={200: s.MeOut, **s.ERRORS}, summary="Who am I")
def me(request: HttpRequest) -> dict[str, Any]:
    user: Any = request.user
    memberships = (Membership.objects.active().filter(user=user)
                   .select_related("organisation").order_by("valid_from"))
    caller = getattr(request, "samhand_caller", None)
    return {
        "id": user.pk, "username": user.get_username(),
        "name": user.get_full_name() or user.get_username(),
        "profession": getattr(user, "profession", ""),
        "hpr_number": getattr(user, "hpr_number", ""),
        "is_health_personnel": bool(getattr(user, "is_health_personnel", False)),
        "auth": caller.method if caller else "session",
        "memberships": [{"organisation": _ref(m.organisation), "kind": m.organisation.kind,
                         "role": m.role} for m in memberships],
    }


@directory.get("/organisations", response={200: s.OrganisationPage, **s.ERRORS},
               summary="Organisation directory")
def list_organisations(request: HttpRequest,
                       filters: Query[OrganisationFilter]) -> dict[str, Any]:
    """Hospitals, departments, municipal units, GP offices and suppliers, with their
    identifiers and 24-hour numbers. Not patient data."""
    qs = Organisation.objects.filter(is_active=True).select_related("parent__parent")
    for term in filters.q.split():
        qs = qs.filter(name__icontains=term)
    if filters.kind:
        qs = qs.filter(kind=filters.kind)
    count, rows = _page(qs.order_by("name", "id"), filters)
    return {"count": count, "limit": filters.limit, "offset": filters.offset,
            "items": [_organisation(o) for o in rows]}


@directory.get("/organisations/{organisation_id}",
               response={200: s.OrganisationOut, **s.ERRORS}, summary="One organisation")
def get_organisation(request: HttpRequest, organisation_id: str) -> Any:
    org = None
    if _is_uuid(organisation_id):
        org = (Organisation.objects.filter(pk=organisation_id, is_active=True)
               .select_related("parent__parent").first())
    if org is None:
        raise Http404
    return _organisation(org)


# --------------------------------------------------------------------------- patients

@patients.get("/patients", response={200: s.PatientPage, **s.ERRORS},
              summary="My patients")
def list_patients(request: HttpRequest, filters: Query[PatientFilter]) -> Any:
    """Patients on the active care team of an organisation you work in, searchable by
    name. National ids are never accepted here: use `POST /patients/lookup`."""
    qs = policy.visible_patients(request.user).select_related("municipality")
    for term in filters.q.split():
        qs = qs.filter(Q(given_name__istartswith=term) | Q(family_name__istartswith=term))
    count, rows = _page(qs.order_by("family_name", "given_name", "id"), filters)
    policy.audit_list(request, "samhand.patient.search", rows,
                      query=f"name={filters.q}" if filters.q else "", client=CLIENT)
    return {"count": count, "limit": filters.limit, "offset": filters.offset,
            "items": [_summary(p) for p in rows]}


@patients.post("/patients/lookup", response={200: s.PatientPage, **s.ERRORS},
               summary="Find one of my patients by national id")
def lookup_patient(request: HttpRequest, payload: s.LookupIn) -> Any:
    """Look a patient up by fødselsnummer, D-number, H-number or CPR, sent in the body.
    The result holds the patient only if you may see them; otherwise it is empty,
    exactly as for a number nobody has registered."""
    ident = _parse_national_id(payload.national_id)
    rows = list(policy.visible_patients(request.user).filter(national_id=ident.value)
                .select_related("municipality"))
    policy.audit_list(request, "samhand.patient.lookup", rows,
                      query=f"identifier={ident.kind.value}", client=CLIENT)
    return {"count": len(rows), "limit": 1, "offset": 0,
            "items": [_summary(p) for p in rows]}


@patients.post("/patients", response={201: s.PatientSummary, **s.ERRORS},
               summary="Register a patient")
def create_patient(request: HttpRequest, payload: s.PatientIn) -> Any:
    """Register a new patient. Your organisation (one you are an active member of) is
    put on the care team; the server decides it, not the request."""
    membership = _registering_membership(request, payload.registering_organisation_id)
    role = payload.care_team_role or DEFAULT_ROLE.get(membership.organisation.kind)
    if role is None:
        raise DomainError(_("Say which role your organisation has on the care team."),
                          code="care_team_role_required", field="care_team_role")
    if role == CareTeamMember.Role.RELATIVE:
        raise DomainError(_("Unknown care team role."), code="unknown_role",
                          field="care_team_role")
    details = payload.model_dump(exclude={"national_id", "given_name", "family_name",
                                          "registering_organisation_id", "care_team_role",
                                          "municipality_id"})
    details["group"] = details["group"] or ""
    patient = services.register_patient(
        policy.actor_for(request, CLIENT), national_id=payload.national_id,
        given_name=payload.given_name, family_name=payload.family_name,
        registering_organisation=membership.organisation, care_team_role=role,
        municipality_id=payload.municipality_id, **details)
    return Status(201, _summary(patient))


@patients.get("/patients/{uuid:patient_id}", response={200: s.PatientDetail, **s.ERRORS},
              summary="One patient: identity, care team, consents, relatives")
def get_patient(request: HttpRequest, patient_id: uuid.UUID) -> Any:
    """Diagnoses recorded in the other sector are shown only while the patient's consent
    to share health information is active; `diagnoses_hidden` counts the rest."""
    patient, grant = policy.get_patient_for(request, patient_id, client=CLIENT)
    return _detail(request, patient, grant)


@patients.post("/patients/{uuid:patient_id}/care-team",
               response={201: s.CareTeamMemberOut, **s.ERRORS},
               summary="Add an organisation or person to the care team")
def add_care_team_member(request: HttpRequest, patient_id: uuid.UUID,
                         payload: s.CareTeamMemberIn) -> Any:
    patient, grant = _open(request, patient_id, "samhand.careteam.change", "CareTeam")
    member = services.add_care_team_member(
        policy.actor_for(request, CLIENT), patient, grant,
        organisation_id=payload.organisation_id, role=payload.role, user_id=payload.user_id,
        period_start=payload.period_start, period_end=payload.period_end)
    member = CareTeamMember.objects.select_related(
        "organisation__parent__parent", "user", "related_person").get(pk=member.pk)
    return Status(201, _member(member))


@patients.post("/patients/{uuid:patient_id}/consents", response={201: s.ConsentOut, **s.ERRORS},
               summary="Record a consent given or withdrawn")
def record_consent(request: HttpRequest, patient_id: uuid.UUID, payload: s.ConsentIn) -> Any:
    """Recorded by you, for the organisation through which you see the patient: the
    server sets both."""
    patient, grant = _open(request, patient_id, "samhand.consent.change", "Consent")
    consent = services.record_consent(
        policy.actor_for(request, CLIENT), patient, grant, scope=payload.scope,
        status=payload.status, given_by=payload.given_by,
        given_by_name=payload.given_by_name, note=payload.note)
    return Status(201, _consent(consent, True))


@patients.post("/patients/{uuid:patient_id}/relatives", response={201: s.RelativeOut, **s.ERRORS},
               summary="Add a relative or guardian")
def add_relative(request: HttpRequest, patient_id: uuid.UUID, payload: s.RelativeIn) -> Any:
    patient, grant = _open(request, patient_id, "samhand.relative.change", "RelatedPerson")
    relative = services.add_relative(
        policy.actor_for(request, CLIENT), patient, grant, name=payload.name,
        relation=payload.relation, phone=payload.phone, email=payload.email,
        is_primary_contact=payload.is_primary_contact, is_guardian=payload.is_guardian,
        may_be_told=payload.may_be_told)
    return Status(201, _relative(relative))


# --------------------------------------------------------------------------- internals

K = Organisation.Kind
R = CareTeamMember.Role
DEFAULT_ROLE: dict[str, str] = {
    K.HOSPITAL: R.HOSPITAL_COORDINATOR,
    K.DEPARTMENT: R.HOSPITAL_COORDINATOR,
    K.HOME_NURSING: R.HOME_NURSING,
    K.COORDINATING_UNIT: R.MUNICIPAL_COORDINATOR,
    K.ALLOCATION_OFFICE: R.ALLOCATION_OFFICE,
    K.GP_OFFICE: R.GP,
}


def _registering_membership(request: HttpRequest, wanted: uuid.UUID | None) -> Membership:
    user: Any = request.user
    memberships = list(Membership.objects.active().filter(user=user)
                       .select_related("organisation").order_by("valid_from"))
    if not memberships:
        raise Forbidden(_("You must work in an organisation to register patients."),
                        code="no_organisation")
    if wanted is None:
        return memberships[0]
    for membership in memberships:
        if membership.organisation_id == wanted:
            return membership
    raise DomainError(_("You can only register patients for an organisation you work in."),
                      code="not_your_organisation", field="registering_organisation_id")


def _parse_national_id(value: str) -> Any:
    try:
        return parse_national_id(value, allow_test=settings.SAMHAND_ALLOW_TEST_IDENTIFIERS,
                                 allow_help=settings.SAMHAND_ALLOW_HELP_NUMBERS)
    except InvalidIdentifier as exc:
        raise DomainError(str(exc.message), code=f"national_id_{exc.code}",
                          field="national_id") from None


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True
