"""/fhir/Patient: read and search through the access layer; identifiers by POST."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.test import Client

from samhand.audit.models import AuditEvent
from samhand.conftest import fnr
from samhand.fhir import mapping

from .conftest import entry_ids, validate

FORM = "application/x-www-form-urlencoded"


def search_post(client: Client, body: str, resource: str = "Patient"):
    return client.post(f"/fhir/{resource}/_search", body, content_type=FORM)


# --------------------------------------------------------------------------- read

def test_care_team_member_reads_the_patient(world, fhir, audit):
    watch = audit()

    response = fhir(world.home_nurse_a).get(f"/fhir/Patient/{world.patient_a.pk}")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/fhir+json; charset=utf-8"
    resource = response.json()
    validate(resource)
    assert resource["id"] == str(world.patient_a.pk)
    assert resource["generalPractitioner"][0]["reference"] == \
        f"Organization/{world.gp_office.pk}"
    rows = watch.rows()
    assert [(r.code, r.client, r.action, r.patient_id, r.object_ids) for r in rows] == [
        ("samhand.patient.read", "fhir", "R", world.patient_a.pk, [str(world.patient_a.pk)])]
    token = world.home_nurse_a.api_tokens.get()
    assert rows[0].token_jti == str(token.pk)


@pytest.mark.parametrize("who", ["home_nurse_b", "nobody", "relative_a"])
def test_outsider_gets_404_identical_to_a_random_id(world, fhir, audit, who):
    client = fhir(world.users[who])
    watch = audit()

    foreign = client.get(f"/fhir/Patient/{world.patient_a.pk}")
    random = client.get(f"/fhir/Patient/{uuid.uuid4()}")
    garbage = client.get("/fhir/Patient/abc")

    assert foreign.status_code == random.status_code == garbage.status_code == 404
    assert foreign.content == random.content == garbage.content
    outcome = foreign.json()
    validate(outcome)
    assert outcome["issue"][0]["code"] == "not-found"
    denied = watch.rows(patient_id=world.patient_a.pk)
    assert [(r.client, r.outcome) for r in denied] == [
        ("fhir", AuditEvent.Outcome.MINOR_FAILURE)]


# --------------------------------------------------------------------------- search

def test_search_without_parameters_lists_only_my_patients(world, fhir, audit):
    watch = audit()

    bundle = fhir(world.home_nurse_b).get("/fhir/Patient").json()

    validate(bundle)
    assert bundle["type"] == "searchset"
    assert bundle["total"] == 1
    assert entry_ids(bundle) == {str(world.patient_b.pk)}
    assert bundle["entry"][0]["fullUrl"].endswith(f"/fhir/Patient/{world.patient_b.pk}")
    assert [(r.code, r.client, r.patient_id) for r in watch.rows()] == [
        ("samhand.patient.search", "fhir", world.patient_b.pk)]


def test_search_by_name_never_reaches_other_municipalities(world, fhir):
    mine = fhir(world.home_nurse_a).get("/fhir/Patient?name=Astrid").json()
    theirs = fhir(world.home_nurse_a).get("/fhir/Patient?name=Bernt").json()
    family = fhir(world.consultant).get("/fhir/Patient?family:exact=Bakke").json()
    contains = fhir(world.consultant).get("/fhir/Patient?name:contains=sen").json()

    assert entry_ids(mine) == {str(world.patient_a.pk)}
    assert theirs["total"] == 0 and "entry" not in theirs
    assert entry_ids(family) == {str(world.patient_b.pk)}
    assert entry_ids(contains) == {str(world.patient_a.pk)}


def test_search_by_identifier_with_post_finds_my_patient(world, fhir, audit):
    watch = audit()
    number = world.patient_a.national_id

    response = search_post(fhir(world.home_nurse_a), f"identifier={mapping.FNR}|{number}")

    assert response.status_code == 200
    bundle = response.json()
    validate(bundle)
    assert entry_ids(bundle) == {str(world.patient_a.pk)}
    # The number is neither echoed in links nor written to the audit query.
    assert all(number not in link["url"] for link in bundle["link"])
    rows = watch.rows()
    assert [r.code for r in rows] == ["samhand.patient.search"]
    assert number not in rows[0].query
    assert rows[0].query == f"identifier={mapping.FNR}|***"


def test_search_by_identifier_with_get_is_answered_too(world, fhir):
    number = world.patient_a.national_id

    bundle = fhir(world.home_nurse_a).get(
        "/fhir/Patient", {"identifier": f"{mapping.FNR}|{number}"}).json()

    assert entry_ids(bundle) == {str(world.patient_a.pk)}
    assert all(number not in link["url"] for link in bundle["link"])


def test_identifier_without_system_and_the_hl7_no_alias_work(world, fhir):
    client = fhir(world.home_nurse_a)
    number = world.patient_a.national_id

    plain = search_post(client, f"identifier={number}").json()
    alias = search_post(client, f"identifier=http://hl7.no/fhir/NamingSystem/FNR|{number}"
                        ).json()

    assert entry_ids(plain) == entry_ids(alias) == {str(world.patient_a.pk)}


def test_identifier_of_someone_elses_patient_looks_like_an_unknown_number(world, fhir):
    client = fhir(world.home_nurse_a)

    foreign = search_post(client, f"identifier={mapping.FNR}|{world.patient_b.national_id}")
    unknown = search_post(client, f"identifier={mapping.FNR}|"
                                  f"{fnr(dt.date(1970, 1, 1), start=300)}")

    assert foreign.status_code == unknown.status_code == 200
    assert foreign.json()["total"] == unknown.json()["total"] == 0
    assert "entry" not in foreign.json()


@pytest.mark.parametrize(("query", "expression"), [
    ("identifier=urn:oid:2.16.578.1.12.4.1.4.1|12345", "identifier"),
    ("identifier=urn:oid:9.9.9|01010112345", "identifier"),
    (f"identifier={mapping.FNR}|", "identifier"),
    ("birthdate=1961-03-14", "birthdate"),
    ("name=", "name"),
    ("name:fuzzy=Aa", "name:fuzzy"),
    ("_id=not-a-uuid", "_id"),
    ("_count=abc", "_count"),
    ("_count=100000", "_count"),
    ("_sort=name", "_sort"),
])
def test_malformed_search_gets_400_operation_outcome_naming_the_parameter(world, fhir, audit,
                                                                           query, expression):
    watch = audit()

    response = fhir(world.home_nurse_a).get(f"/fhir/Patient?{query}")

    assert response.status_code == 400
    outcome = response.json()
    validate(outcome)
    assert outcome["issue"][0]["severity"] == "error"
    assert outcome["issue"][0]["code"] in {"invalid", "not-supported"}
    assert outcome["issue"][0]["expression"] == [expression]
    assert outcome["issue"][0]["diagnostics"]
    assert watch.rows() == []


def test_only_json_is_served(world, fhir):
    response = fhir(world.home_nurse_a).get("/fhir/Patient?_format=xml")

    assert response.status_code == 406
    assert response.json()["resourceType"] == "OperationOutcome"


def test_paging_with_count_and_offset_and_a_next_link(world, fhir):
    client = fhir(world.consultant)

    first = client.get("/fhir/Patient?_count=1").json()
    second = client.get("/fhir/Patient?_count=1&_offset=1").json()

    assert first["total"] == second["total"] == 2
    assert len(first["entry"]) == len(second["entry"]) == 1
    assert entry_ids(first) != entry_ids(second)
    next_link = next(link["url"] for link in first["link"] if link["relation"] == "next")
    assert "_offset=1" in next_link and "_count=1" in next_link


def test_count_zero_gives_only_the_total(world, fhir):
    bundle = fhir(world.consultant).get("/fhir/Patient?_count=0").json()

    assert bundle["total"] == 2
    assert "entry" not in bundle


def test_post_search_needs_form_encoding(world, fhir):
    response = fhir(world.home_nurse_a).post("/fhir/Patient/_search", "{}",
                                             content_type="application/json")

    assert response.status_code == 415
    assert response.json()["resourceType"] == "OperationOutcome"


def test_session_post_search_needs_the_csrf_token(world):
    client = world.login(Client(enforce_csrf_checks=True), world.home_nurse_a)

    response = search_post(client, "name=Astrid")

    assert response.status_code == 403
    assert response.json()["issue"][0]["code"] == "security"


def test_session_get_search_works_for_a_verified_user(world):
    client = world.login(Client(), world.home_nurse_a)

    bundle = client.get("/fhir/Patient").json()

    assert entry_ids(bundle) == {str(world.patient_a.pk)}


def test_create_is_not_offered(world, fhir):
    response = fhir(world.home_nurse_a).post("/fhir/Patient", "{}",
                                             content_type="application/fhir+json")

    assert response.status_code == 405
    assert response.json()["issue"][0]["code"] == "not-supported"


def test_a_huge_offset_is_a_bad_request_not_a_server_error(world, fhir):
    response = fhir(world.consultant).get("/fhir/Patient?_offset=32636079694868848640")

    assert response.status_code == 400
