"""POST /api/v1/patients/lookup: national id in the body, never in the URL."""

from __future__ import annotations

import json

from samhand.conftest import fnr


def lookup(client, number: str):
    return client.post("/api/v1/patients/lookup", json.dumps({"national_id": number}),
                       content_type="application/json")


def test_lookup_finds_my_patient_by_national_id(world, token_client):
    response = lookup(token_client(world.home_nurse_a), world.patient_a.national_id)

    assert response.status_code == 200
    assert [i["id"] for i in response.json()["items"]] == [str(world.patient_a.pk)]


def test_lookup_of_someone_elses_patient_looks_like_an_unknown_number(world, token_client):
    import datetime as dt

    client = token_client(world.home_nurse_a)
    foreign = lookup(client, world.patient_b.national_id)
    unknown = lookup(client, fnr(dt.date(1970, 1, 1), start=300))

    assert foreign.status_code == unknown.status_code == 200
    assert foreign.json() == unknown.json() == {"count": 0, "limit": 1, "offset": 0,
                                                "items": []}


def test_lookup_is_audited_without_the_number(world, token_client, audit):
    watch = audit()

    lookup(token_client(world.home_nurse_a), world.patient_a.national_id)

    rows = watch.rows()
    assert [(r.code, r.client, r.patient_id) for r in rows] == [
        ("samhand.patient.lookup", "api", world.patient_a.pk)]
    assert world.patient_a.national_id not in rows[0].query


def test_invalid_national_id_gets_400_naming_the_field(world, token_client):
    response = lookup(token_client(world.home_nurse_a), "12345678901")

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["field"] == "national_id"
    assert error["code"].startswith("national_id_")
    assert error["message"]


def test_lookup_needs_the_number(world, token_client):
    response = token_client(world.home_nurse_a).post(
        "/api/v1/patients/lookup", "{}", content_type="application/json")

    assert response.status_code == 400
    assert response.json()["error"] | {"message": ""} == {
        "code": "required", "field": "national_id", "message": "",
        "details": response.json()["error"]["details"]}
