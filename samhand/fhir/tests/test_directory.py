"""/fhir/Organization and /fhir/Practitioner: the directory (not patient data)."""

from __future__ import annotations

import uuid

from samhand.fhir import mapping

from .conftest import entry_ids, validate


def test_search_organisations_by_each_identifier_system(world, fhir, audit):
    client = fhir(world.home_nurse_a)
    watch = audit()

    by_number = client.get(f"/fhir/Organization?identifier={mapping.ORG_NUMBER}|983974899")
    by_her = client.get(f"/fhir/Organization?identifier={mapping.HER_ID}|3001")
    by_kommune = client.get(f"/fhir/Organization?identifier={mapping.KOMMUNENUMMER}|5502")
    any_system = client.get("/fhir/Organization?identifier=2001")

    validate(by_number.json())
    assert entry_ids(by_number.json()) == {str(world.hospital.pk)}
    assert entry_ids(by_her.json()) == {str(world.hn_b.pk)}
    assert entry_ids(by_kommune.json()) == {str(world.nesvik.pk)}
    assert entry_ids(any_system.json()) == {str(world.hn_a.pk)}
    assert watch.rows() == []


def test_search_organisations_by_name_type_and_parent(world, fhir):
    client = fhir(world.home_nurse_a)

    named = client.get("/fhir/Organization?name=hjemmesykepleien").json()
    typed = client.get("/fhir/Organization?type=municipality").json()
    children = client.get(f"/fhir/Organization?partof=Organization/{world.fjordby.pk}").json()

    assert entry_ids(named) == {str(world.hn_a.pk), str(world.hn_b.pk)}
    assert entry_ids(typed) == {str(world.fjordby.pk), str(world.nesvik.pk)}
    assert entry_ids(children) == {str(world.hn_a.pk), str(world.ke_a.pk),
                                   str(world.gp_office.pk)}


def test_read_organisation_and_404(world, fhir):
    client = fhir(world.home_nurse_a)

    resource = client.get(f"/fhir/Organization/{world.pulm.pk}").json()

    validate(resource)
    assert client.get(f"/fhir/Organization/{uuid.uuid4()}").status_code == 404


def test_unknown_organisation_identifier_system_is_a_bad_request(world, fhir):
    response = fhir(world.home_nurse_a).get("/fhir/Organization?identifier=urn:x|1")

    assert response.status_code == 400


def test_practitioners_by_hpr_and_name(world, fhir):
    client = fhir(world.home_nurse_a)

    by_hpr = client.get(f"/fhir/Practitioner?identifier={mapping.HPR}|1000006").json()
    by_name = client.get("/fhir/Practitioner?family=Lunde").json()

    validate(by_hpr)
    assert entry_ids(by_hpr) == {str(world.gp_a.pk)}
    assert entry_ids(by_name) == {str(world.ltmv_nurse.pk)}


def test_people_without_a_membership_are_not_practitioners(world, fhir):
    client = fhir(world.home_nurse_a)

    everyone = client.get("/fhir/Practitioner?_count=200").json()

    assert str(world.relative_a.pk) not in entry_ids(everyone)
    assert str(world.nobody.pk) not in entry_ids(everyone)
    assert client.get(f"/fhir/Practitioner/{world.relative_a.pk}").status_code == 404
    assert client.get(f"/fhir/Practitioner/{world.ltmv_nurse.pk}").status_code == 200
