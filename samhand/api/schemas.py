"""Request and response shapes of API v1 (they become the OpenAPI schema).

Input schemas forbid unknown fields: a client cannot slip in an organisation, an
author or a patient the server sets itself (security.md #4); it gets 400
`unknown_field` instead.
"""

from __future__ import annotations

import datetime as dt
import uuid

from ninja import Schema
from pydantic import ConfigDict, Field

from samhand.orgs.models import Organisation
from samhand.patients.models import CareTeamMember, Consent, Patient, RelatedPerson


class Input(Schema):
    model_config = ConfigDict(extra="forbid")


# --------------------------------------------------------------------------- errors

class ErrorDetail(Schema):
    code: str = Field(description="Stable machine-readable code, e.g. `duplicate_patient`.")
    message: str = Field(description="Human-readable message in the request's language.")
    field: str | None = Field(None, description="The input field at fault, if any.")


class ErrorOut(Schema):
    error: ErrorDetail


ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut,
          429: ErrorOut}


# --------------------------------------------------------------------------- directory

class OrganisationRef(Schema):
    id: uuid.UUID
    name: str


class OrganisationOut(Schema):
    id: uuid.UUID
    name: str
    kind: Organisation.Kind
    parent_id: uuid.UUID | None
    country: str
    org_number: str
    her_id: str
    sor_id: str
    municipality_number: str
    street: str
    postal_code: str
    city: str
    phone: str
    phone_24h: str = Field(description="The 24-hour number, inherited from the parent "
                                       "unit when the unit has none of its own.")


class OrganisationPage(Schema):
    count: int
    limit: int
    offset: int
    items: list[OrganisationOut]


class MembershipOut(Schema):
    organisation: OrganisationRef
    kind: Organisation.Kind
    role: str


class MeOut(Schema):
    id: uuid.UUID
    username: str
    name: str
    profession: str
    hpr_number: str
    is_health_personnel: bool
    auth: str = Field(description="How this request was authenticated: `session` or `token`.")
    memberships: list[MembershipOut]


# --------------------------------------------------------------------------- patients

class PatientSummary(Schema):
    id: uuid.UUID
    given_name: str
    family_name: str
    birth_date: dt.date | None
    group: str
    municipality: OrganisationRef | None


class PatientPage(Schema):
    count: int
    limit: int
    offset: int
    items: list[PatientSummary]


class PersonRef(Schema):
    id: uuid.UUID
    name: str
    hpr_number: str = ""


class RelativeRef(Schema):
    id: uuid.UUID
    name: str


class CareTeamMemberOut(Schema):
    id: uuid.UUID
    role: CareTeamMember.Role
    organisation: OrganisationRef | None
    phone_24h: str
    person: PersonRef | None
    relative: RelativeRef | None = Field(None, description="A relative on the team.")
    period_start: dt.datetime
    period_end: dt.datetime | None
    active: bool


class ConsentOut(Schema):
    id: uuid.UUID
    scope: Consent.Scope
    status: Consent.Status
    in_force: bool = Field(description="True for the newest decision in its scope.")
    given_by: Consent.GivenBy
    given_by_name: str
    recorded_at: dt.datetime
    recorded_by: PersonRef
    recorded_by_organisation: OrganisationRef


class RelativeOut(Schema):
    id: uuid.UUID
    name: str
    relation: RelatedPerson.Relation
    phone: str
    email: str
    is_primary_contact: bool
    is_guardian: bool
    may_be_told: RelatedPerson.MayBeTold


class DiagnosisOut(Schema):
    id: uuid.UUID
    code: str
    text: str
    recorded_by_organisation: OrganisationRef
    recorded_at: dt.datetime


class AccessOut(Schema):
    basis: str = Field(description="Why you may see the patient: `care_relation` or "
                                   "`emergency`.")
    blocked_data: bool


class PatientDetail(Schema):
    id: uuid.UUID
    national_id: str
    national_id_kind: str
    national_id_system: str
    given_name: str
    family_name: str
    birth_date: dt.date | None
    group: str
    address_kind: Patient.AddressKind
    street: str
    postal_code: str
    city: str
    phone: str
    municipality: OrganisationRef | None
    language: str
    interpreter_needed: bool
    access: AccessOut
    care_team: list[CareTeamMemberOut]
    consents: list[ConsentOut]
    relatives: list[RelativeOut]
    diagnoses: list[DiagnosisOut]
    diagnoses_hidden: int = Field(description="Diagnoses recorded in the other sector that "
                                              "you may not see while the patient has not "
                                              "consented to sharing.")


class LookupIn(Input):
    national_id: str = Field(max_length=20, description="Fødselsnummer, D-number, "
                                                        "H-number or CPR. Sent in the body, "
                                                        "never in the URL.")


class PatientIn(Input):
    national_id: str = Field(max_length=20)
    given_name: str = Field(max_length=100)
    family_name: str = Field(max_length=100)
    registering_organisation_id: uuid.UUID | None = Field(
        None, description="One of your own organisations, if you work in several; "
                          "defaults to your first. Any other organisation is refused.")
    care_team_role: CareTeamMember.Role | None = Field(
        None, description="Your organisation's role on the care team; a default follows "
                          "from the kind of organisation.")
    municipality_id: uuid.UUID | None = None
    birth_date: dt.date | None = None
    group: Patient.Group | None = None
    address_kind: Patient.AddressKind = Patient.AddressKind.HOME
    street: str = Field("", max_length=200)
    postal_code: str = Field("", max_length=10)
    city: str = Field("", max_length=100)
    phone: str = Field("", max_length=30)
    language: str = Field("nb", max_length=10)
    interpreter_needed: bool = False


class CareTeamMemberIn(Input):
    organisation_id: uuid.UUID
    role: CareTeamMember.Role
    user_id: uuid.UUID | None = None
    period_start: dt.datetime | None = None
    period_end: dt.datetime | None = None


class ConsentIn(Input):
    scope: Consent.Scope
    status: Consent.Status
    given_by: Consent.GivenBy = Consent.GivenBy.PATIENT
    given_by_name: str = Field("", max_length=200)
    note: str = Field("", max_length=2000)


class RelativeIn(Input):
    name: str = Field(max_length=200)
    relation: RelatedPerson.Relation
    phone: str = Field("", max_length=30)
    email: str = Field("", max_length=254)
    is_primary_contact: bool = False
    is_guardian: bool = False
    may_be_told: RelatedPerson.MayBeTold = RelatedPerson.MayBeTold.PRACTICAL
