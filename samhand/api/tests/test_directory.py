"""GET /api/v1/me and the organisation directory (not patient data: no audit rows)."""

from __future__ import annotations

import uuid


def test_me_describes_the_caller_and_their_organisations(world, token_client):
    body = token_client(world.consultant).get("/api/v1/me").json()

    assert body["username"] == "consultant"
    assert body["hpr_number"] == "1000002"
    assert body["is_health_personnel"] is True
    assert [(m["organisation"]["name"], m["role"]) for m in body["memberships"]] == [
        ("Lungemedisinsk avdeling", "doctor")]


def test_organisation_directory_lists_units_with_inherited_24h_numbers(world, token_client,
                                                                       audit):
    watch = audit()

    body = token_client(world.home_nurse_a).get("/api/v1/organisations?q=lunge").json()

    assert [o["name"] for o in body["items"]] == ["Lungemedisinsk avdeling"]
    assert body["items"][0]["phone_24h"] == "77 00 10 00"
    assert watch.rows() == []


def test_organisation_directory_filters_by_kind(world, token_client):
    body = token_client(world.home_nurse_a).get("/api/v1/organisations?kind=municipality"
                                                ).json()

    assert {o["name"] for o in body["items"]} == {"Fjordby kommune", "Nesvik kommune"}
    assert body["items"][0]["municipality_number"] in {"5501", "5502"}


def test_unknown_kind_gets_400(world, token_client):
    response = token_client(world.home_nurse_a).get("/api/v1/organisations?kind=castle")

    assert response.status_code == 400
    assert response.json()["error"]["field"] == "kind"


def test_one_organisation_and_a_404_for_unknown_ids(world, token_client):
    client = token_client(world.home_nurse_a)

    assert client.get(f"/api/v1/organisations/{world.hn_b.pk}").json()["her_id"] == "3001"
    assert client.get(f"/api/v1/organisations/{uuid.uuid4()}").status_code == 404
    assert client.get("/api/v1/organisations/x").status_code == 404
