"""GET /fhir/metadata: the CapabilityStatement (public, like every FHIR server's)."""

from __future__ import annotations

from django.test import Client

from .conftest import validate

TYPES = {"Patient", "Organization", "Practitioner", "CareTeam", "Consent", "AuditEvent"}


def test_capability_statement_is_public_valid_r4_json(db):
    response = Client().get("/fhir/metadata")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/fhir+json; charset=utf-8"
    body = response.json()
    validate(body)
    assert body["fhirVersion"] == "4.0.1"
    assert body["kind"] == "instance"
    assert "json" in body["format"]


def test_it_lists_every_resource_with_read_search_and_its_parameters(db):
    rest = Client().get("/fhir/metadata").json()["rest"][0]

    resources = {r["type"]: r for r in rest["resource"]}
    assert set(resources) >= TYPES  # apps add their own types (samhand/<app>/fhir_resources.py)
    for resource in resources.values():
        assert {i["code"] for i in resource["interaction"]} == {"read", "search-type"}
        assert "_id" in {p["name"] for p in resource["searchParam"]}
    params = {name: {p["name"]: p for p in r["searchParam"]} for name, r in resources.items()}
    assert {"identifier", "name", "family", "given"} <= set(params["Patient"])
    assert params["Patient"]["identifier"]["type"] == "token"
    assert "_search" in params["Patient"]["identifier"]["documentation"]
    assert {"identifier", "name", "type", "partof"} <= set(params["Organization"])
    assert {"identifier", "name"} <= set(params["Practitioner"])
    assert {"patient"} <= set(params["CareTeam"]) & set(params["Consent"]) & set(
        params["AuditEvent"])


def test_it_names_the_norwegian_identifier_systems(db):
    text = Client().get("/fhir/metadata").content.decode()

    for system in ("urn:oid:2.16.578.1.12.4.1.4.1", "urn:oid:2.16.578.1.12.4.1.4.2",
                   "urn:oid:2.16.578.1.12.4.1.4.3", "urn:oid:2.16.578.1.12.4.1.4.4",
                   "urn:oid:2.16.578.1.12.4.1.2", "urn:oid:2.16.578.1.12.4.1.4.101",
                   "urn:oid:1.2.208.176.1.2", "http://hl7.no/fhir/NamingSystem/kommunenummer"):
        assert system in text


def test_metadata_only_answers_get(db):
    response = Client().post("/fhir/metadata")

    assert response.status_code == 405
    assert response.json()["resourceType"] == "OperationOutcome"
