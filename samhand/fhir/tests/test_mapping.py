"""samhand models → FHIR R4 resources; each validates with fhir.resources (R4B)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from samhand.fhir import mapping
from samhand.patients.models import CareTeamMember, Consent, Patient

from .conftest import validate


def test_patient_carries_identifier_name_address_gp_and_interpreter_flag(world):
    patient = world.patient_a
    patient.interpreter_needed = True
    patient.birth_date = dt.date(1961, 3, 14)

    resource = mapping.patient(patient, general_practitioners=[world.gp_office])

    validate(resource)
    assert resource["identifier"] == [{"use": "official", "system": mapping.FNR,
                                       "value": patient.national_id}]
    assert resource["name"][0]["family"] == "Aasen"
    assert resource["birthDate"] == "1961-03-14"
    assert resource["address"][0]["city"] == "Fjordby"
    assert resource["generalPractitioner"] == [
        {"reference": f"Organization/{world.gp_office.pk}", "display": "Fjordby legesenter"}]
    assert resource["managingOrganization"] == {"reference": f"Organization/{world.fjordby.pk}"}
    assert {"url": mapping.EXT_INTERPRETER, "valueBoolean": True} in resource["extension"]


@pytest.mark.parametrize(("kind", "system"), [
    ("fnr", "urn:oid:2.16.578.1.12.4.1.4.1"),
    ("dnr", "urn:oid:2.16.578.1.12.4.1.4.2"),
    ("hnr", "urn:oid:2.16.578.1.12.4.1.4.3"),
    ("test", "urn:oid:2.16.578.1.12.4.1.4.1"),
    ("cpr", "urn:oid:1.2.208.176.1.2"),
])
def test_each_kind_of_national_id_gets_its_system(db, kind, system):
    patient = Patient(national_id="0101011234", national_id_kind=kind, given_name="A",
                      family_name="B", updated_at=timezone.now())

    resource = mapping.patient(patient)

    validate(resource)
    assert resource["identifier"][0]["system"] == system


def test_a_patient_with_few_details_has_no_empty_elements(db):
    patient = Patient(national_id="0101011234", national_id_kind="cpr", given_name="A",
                      family_name="B", language="")

    resource = mapping.patient(patient)

    validate(resource)
    assert "address" not in resource and "telecom" not in resource
    assert "communication" not in resource and "birthDate" not in resource


def test_organization_identifiers_24h_number_and_parent(world):
    pulm = mapping.organization(world.pulm)
    fjordby = mapping.organization(world.fjordby)
    hospital = mapping.organization(world.hospital)

    for resource in (pulm, fjordby, hospital):
        validate(resource)
    assert pulm["partOf"] == {"reference": f"Organization/{world.hospital.pk}"}
    assert {"system": mapping.HER_ID, "value": "1002"} in pulm["identifier"]
    assert any(t["value"] == "77 00 10 00" and t.get("rank") == 1 for t in pulm["telecom"])
    assert {"use": "official", "system": mapping.ORG_NUMBER, "value": "983974899"} in \
        hospital["identifier"]
    assert {"system": mapping.KOMMUNENUMMER, "value": "5501"} in fjordby["identifier"]


def test_practitioner_carries_the_hpr_number(world):
    resource = mapping.practitioner(world.ltmv_nurse)

    validate(resource)
    assert resource["identifier"] == [{"use": "official", "system": mapping.HPR,
                                       "value": "1000001"}]
    assert resource["name"][0]["family"] == "Lunde"


def test_practitioner_without_hpr_has_no_identifier(world):
    resource = mapping.practitioner(world.clerk_a)

    validate(resource)
    assert "identifier" not in resource


def test_care_team_lists_organisations_people_and_relatives_with_periods(world):
    patient = world.patient_a
    CareTeamMember.objects.filter(patient=patient, role=CareTeamMember.Role.GP).update(
        period_end=timezone.now())
    members = patient.care_team.select_related("organisation", "user", "related_person")

    resource = mapping.care_team(patient, members)

    validate(resource)
    assert resource["id"] == str(patient.pk)
    assert resource["subject"]["reference"] == f"Patient/{patient.pk}"
    by_role = {p["role"][0]["coding"][0]["code"]: p for p in resource["participant"]}
    assert by_role["ltmv_nurse"]["member"]["reference"] == f"Practitioner/{world.ltmv_nurse.pk}"
    assert by_role["ltmv_nurse"]["onBehalfOf"]["reference"] == f"Organization/{world.pulm.pk}"
    assert by_role["home_nursing"]["member"]["reference"] == f"Organization/{world.hn_a.pk}"
    assert by_role["relative"]["member"]["reference"].startswith("RelatedPerson/")
    assert "end" in by_role["gp"]["period"]


@pytest.mark.parametrize(("status", "provision"), [("given", "permit"),
                                                   ("withdrawn", "deny")])
def test_consent_decisions_permit_or_deny(world, status, provision):
    consent = Consent.objects.create(patient=world.patient_b, scope="individual_plan",
                                     status=status, given_by="guardian",
                                     given_by_name="Verge Vik", recorded_by=world.home_nurse_b,
                                     recorded_by_organisation=world.hn_b)

    resource = mapping.consent(consent, in_force=True)

    validate(resource)
    assert resource["provision"] == {"type": provision}
    assert resource["status"] == "active"
    assert resource["scope"]["coding"][0]["code"] == "treatment"
    assert resource["performer"] == [{"display": "Verge Vik"}]
    assert resource["organization"][0]["reference"] == f"Organization/{world.hn_b.pk}"
    assert "note" not in str(resource)


def test_superseded_consent_is_inactive(world):
    consent = world.patient_a.consents.get()

    resource = mapping.consent(consent, in_force=False)

    validate(resource)
    assert resource["status"] == "inactive"
    assert resource["performer"] == [{"reference": f"Patient/{world.patient_a.pk}"}]
