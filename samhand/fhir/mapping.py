"""samhand models as FHIR R4 resources (plain dicts, ready for JSON).

FHIR lives at the edge (style.md §9): the domain models stay relational, and these
functions shape them for the /fhir/ facade. Identifier systems follow HL7 Norway's
basis profiles and MedCom (../shared/standards.md §C). AuditEvent is mapped in
`samhand.fhir.audit`.

The output is R4 (4.0.1). Patient, Organization, Practitioner, CareTeam, Consent,
AuditEvent, Bundle, OperationOutcome and CapabilityStatement are the same in R4 and
R4B, so the tests validate with `fhir.resources.R4B` (fhir.resources 8 defaults to R5
and ships no pure R4 package).

Nothing here decides who may see what: callers pass only objects the access layer
let through.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from samhand.orgs.models import Organisation
from samhand.patients.identifiers import IdKind
from samhand.patients.models import CareTeamMember, Consent, Patient

# Norwegian and Danish identifier systems (standards.md §C).
FNR = "urn:oid:2.16.578.1.12.4.1.4.1"
DNR = "urn:oid:2.16.578.1.12.4.1.4.2"
HNR = "urn:oid:2.16.578.1.12.4.1.4.3"  # felles hjelpenummer (HL7 Norway)
HPR = "urn:oid:2.16.578.1.12.4.1.4.4"
HER_ID = "urn:oid:2.16.578.1.12.4.1.2"
ORG_NUMBER = "urn:oid:2.16.578.1.12.4.1.4.101"  # organisasjonsnummer (ENH)
KOMMUNENUMMER = "http://hl7.no/fhir/NamingSystem/kommunenummer"
CPR = "urn:oid:1.2.208.176.1.2"
SOR = "urn:oid:1.2.208.176.1.1"  # Danish SOR
# Aliases clients may send for the same systems.
SYSTEM_ALIASES = {
    "http://hl7.no/fhir/NamingSystem/FNR": FNR,
    "http://hl7.no/fhir/NamingSystem/DNR": DNR,
    "http://hl7.no/fhir/NamingSystem/HPR": HPR,
    "urn:oid:2.16.578.1.12.4.1.4.1": FNR,
}
PATIENT_SYSTEMS = {IdKind.FNR: FNR, IdKind.TEST: FNR, IdKind.DNR: DNR, IdKind.HNR: HNR,
                   IdKind.CPR: CPR}

# samhand's own code systems (local, not registered).
CS_ORGANISATION_KIND = "urn:samhand:codesystem:organisation-kind"
CS_CARE_TEAM_ROLE = "urn:samhand:codesystem:care-team-role"
CS_CONSENT_SCOPE = "urn:samhand:codesystem:consent-scope"
CS_PROFESSION = "urn:samhand:codesystem:profession"
CS_PATIENT_GROUP = "urn:samhand:codesystem:patient-group"
EXT_PHONE_24H = "urn:samhand:extension:phone-24h"
EXT_ADDRESS_KIND = "urn:samhand:extension:address-kind"
EXT_PATIENT_GROUP = "urn:samhand:extension:patient-group"
# Core FHIR extension: the patient needs an interpreter.
EXT_INTERPRETER = "http://hl7.org/fhir/StructureDefinition/patient-interpreterRequired"

HL7_CONSENT_SCOPE = "http://terminology.hl7.org/CodeSystem/consentscope"
LOINC = "http://loinc.org"
BCP47 = "urn:ietf:bcp:47"
ORG_TYPE = "http://terminology.hl7.org/CodeSystem/organization-type"


def instant(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _coding(system: str, code: str, display: str | None = None) -> dict[str, str]:
    out = {"system": system, "code": code}
    if display:
        out["display"] = str(display)
    return out


def _concept(system: str, code: str, display: str | None = None) -> dict[str, Any]:
    concept: dict[str, Any] = {"coding": [_coding(system, code, display)]}
    if display:
        concept["text"] = str(display)
    return concept


def _drop_empty(data: dict[str, Any]) -> dict[str, Any]:
    """FHIR forbids empty strings, lists and objects."""
    return {k: v for k, v in data.items() if v not in ("", None, [], {})}


def reference(resource_type: str, obj: Any, display: str | None = None) -> dict[str, Any]:
    ref = {"reference": f"{resource_type}/{obj.pk}"}
    if display:
        ref["display"] = display
    return ref


def _address(street: str, postal_code: str, city: str, use: str,
             extension: list[dict[str, Any]] | None = None) -> dict[str, Any] | None:
    if not (street or postal_code or city):
        return None
    address = _drop_empty({"use": use, "type": "physical",
                           "line": [street] if street else [],
                           "postalCode": postal_code, "city": city})
    if extension:
        address["extension"] = extension
    return address


# --------------------------------------------------------------------------- directory

def organisation_identifiers(org: Organisation) -> list[dict[str, str]]:
    identifiers = []
    if org.org_number:
        identifiers.append({"use": "official", "system": ORG_NUMBER, "value": org.org_number})
    if org.her_id:
        identifiers.append({"system": HER_ID, "value": org.her_id})
    if org.sor_id:
        identifiers.append({"system": SOR, "value": org.sor_id})
    if org.municipality_number:
        identifiers.append({"system": KOMMUNENUMMER, "value": org.municipality_number})
    return identifiers


def organization(org: Organisation) -> dict[str, Any]:
    kind_codes = [_coding(CS_ORGANISATION_KIND, org.kind, org.get_kind_display())]
    if org.kind in Organisation.SPECIALIST_KINDS:
        kind_codes.append(_coding(ORG_TYPE, "prov", "Healthcare Provider"))
    elif org.kind == Organisation.Kind.MUNICIPALITY:
        kind_codes.append(_coding(ORG_TYPE, "govt", "Government"))
    telecom: list[dict[str, Any]] = []
    if org.phone:
        telecom.append({"system": "phone", "value": org.phone, "use": "work"})
    phone_24h = org.display_24h()
    if phone_24h:
        telecom.append({"system": "phone", "value": phone_24h, "use": "work", "rank": 1,
                        "extension": [{"url": EXT_PHONE_24H, "valueBoolean": True}]})
    address = _address(org.street, org.postal_code, org.city, "work")
    resource = _drop_empty({
        "resourceType": "Organization",
        "id": str(org.pk),
        "identifier": organisation_identifiers(org),
        "active": org.is_active,
        "type": [{"coding": kind_codes, "text": str(org.get_kind_display())}],
        "name": org.name,
        "telecom": telecom,
        "address": [address] if address else [],
    })
    if org.parent_id:
        resource["partOf"] = {"reference": f"Organization/{org.parent_id}"}
    resource["active"] = org.is_active
    return resource


def practitioner(user: Any) -> dict[str, Any]:
    identifiers = []
    if user.hpr_number:
        identifiers.append({"use": "official", "system": HPR, "value": user.hpr_number})
    name = _drop_empty({"use": "official", "family": user.last_name,
                        "given": [user.first_name] if user.first_name else [],
                        "text": user.get_full_name() or user.username})
    resource = _drop_empty({
        "resourceType": "Practitioner",
        "id": str(user.pk),
        "identifier": identifiers,
        "name": [name],
        "qualification": [{"code": _concept(CS_PROFESSION, user.profession,
                                            user.get_profession_display())}]
        if user.profession else [],
    })
    resource["active"] = bool(user.is_active)
    return resource


# --------------------------------------------------------------------------- patients

def patient_identifier(patient: Patient) -> dict[str, str]:
    system = PATIENT_SYSTEMS.get(IdKind(patient.national_id_kind), FNR)
    return {"use": "official", "system": system, "value": patient.national_id}


def patient(obj: Patient, *, general_practitioners: Iterable[Any] = ()) -> dict[str, Any]:
    extension = [{"url": EXT_INTERPRETER, "valueBoolean": obj.interpreter_needed}]
    if obj.group:
        extension.append({"url": EXT_PATIENT_GROUP, "valueCodeableConcept": _concept(
            CS_PATIENT_GROUP, obj.group, obj.get_group_display())})
    address = _address(obj.street, obj.postal_code, obj.city, "home", extension=[
        {"url": EXT_ADDRESS_KIND, "valueCode": obj.address_kind}])
    resource = _drop_empty({
        "resourceType": "Patient",
        "id": str(obj.pk),
        "extension": extension,
        "identifier": [patient_identifier(obj)],
        "active": True,
        "name": [{"use": "official", "family": obj.family_name, "given": [obj.given_name],
                  "text": obj.full_name}],
        "telecom": [{"system": "phone", "value": obj.phone, "use": "home"}]
        if obj.phone else [],
        "birthDate": obj.birth_date.isoformat() if obj.birth_date else "",
        "address": [address] if address else [],
        "communication": [{"language": {"coding": [_coding(BCP47, obj.language)]},
                           "preferred": True}] if obj.language else [],
        "generalPractitioner": [reference("Organization", org, org.name)
                                for org in general_practitioners],
    })
    if obj.municipality_id:
        resource["managingOrganization"] = {
            "reference": f"Organization/{obj.municipality_id}"}
    return resource


def care_team(obj: Patient, members: Iterable[CareTeamMember]) -> dict[str, Any]:
    """The patient's one cross-sector care team; its id is the patient's id."""
    participants = []
    for member in members:
        role = [_concept(CS_CARE_TEAM_ROLE, member.role, member.get_role_display())]
        period = _drop_empty({"start": instant(member.period_start),
                              "end": instant(member.period_end) if member.period_end else ""})
        participant: dict[str, Any] = {"role": role, "period": period}
        if member.user is not None:
            participant["member"] = reference(
                "Practitioner", member.user, member.user.get_full_name() or None)
            if member.organisation is not None:
                participant["onBehalfOf"] = reference("Organization", member.organisation,
                                                      member.organisation.name)
        elif member.organisation is not None:
            participant["member"] = reference("Organization", member.organisation,
                                              member.organisation.name)
        elif member.related_person is not None:
            participant["member"] = reference("RelatedPerson", member.related_person,
                                              member.related_person.name)
        participants.append(participant)
    return _drop_empty({
        "resourceType": "CareTeam",
        "id": str(obj.pk),
        "status": "active",
        "name": f"Care team: {obj.full_name}",
        "subject": reference("Patient", obj, obj.full_name),
        "participant": participants,
    })


# FHIR consent scope for each samhand scope.
_CONSENT_SCOPE = {
    Consent.Scope.SHARE_HEALTH_INFO: ("patient-privacy", "Privacy Consent"),
    Consent.Scope.RELATIVES_ACCESS: ("patient-privacy", "Privacy Consent"),
    Consent.Scope.INDIVIDUAL_PLAN: ("treatment", "Treatment"),
}


def consent(obj: Consent, *, in_force: bool) -> dict[str, Any]:
    """One consent decision. The newest decision per scope is `active`; older ones are
    `inactive`. A withdrawal is a decision whose provision denies."""
    scope_code, scope_display = _CONSENT_SCOPE[Consent.Scope(obj.scope)]
    performer = (reference("Patient", obj.patient) if obj.given_by == Consent.GivenBy.PATIENT
                 else {"display": obj.given_by_name or str(obj.get_given_by_display())})
    return {
        "resourceType": "Consent",
        "id": str(obj.pk),
        "status": "active" if in_force else "inactive",
        "scope": _concept(HL7_CONSENT_SCOPE, scope_code, scope_display),
        "category": [
            {"coding": [_coding(LOINC, "59284-0", "Patient Consent"),
                        _coding(CS_CONSENT_SCOPE, obj.scope, obj.get_scope_display())],
             "text": str(obj.get_scope_display())}],
        "patient": reference("Patient", obj.patient),
        "dateTime": instant(obj.recorded_at),
        "performer": [performer],
        "organization": [reference("Organization", obj.recorded_by_organisation,
                                   obj.recorded_by_organisation.name)],
        "policyRule": _concept(CS_CONSENT_SCOPE, obj.scope, obj.get_scope_display()),
        "provision": {"type": "permit" if obj.status == Consent.Status.GIVEN else "deny"},
    }
