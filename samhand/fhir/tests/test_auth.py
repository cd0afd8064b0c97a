"""Who may call /fhir/, and what the errors look like (OperationOutcome everywhere)."""

from __future__ import annotations

import logging

import pytest
from django.test import Client

from .conftest import validate


@pytest.mark.parametrize("url", ["/fhir/Patient", "/fhir/Patient/x", "/fhir/Organization",
                                 "/fhir/Nonsense", "/fhir/a/b/c"])
def test_anonymous_gets_401_operation_outcome(db, url):
    response = Client().get(url)

    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    outcome = response.json()
    validate(outcome)
    assert outcome["issue"][0]["code"] == "login"


def test_a_bad_token_does_not_fall_back_to_the_session(world):
    client = world.login(Client(), world.home_nurse_a)

    response = client.get("/fhir/Patient", HTTP_AUTHORIZATION="Bearer shk_wrong")

    assert response.status_code == 401


def test_unknown_resource_type_gets_404_operation_outcome(world, fhir):
    response = fhir(world.home_nurse_a).get("/fhir/MedicationRequest")

    assert response.status_code == 404
    validate(response.json())
    assert response.json()["issue"][0]["code"] == "not-supported"


def test_past_the_budget_gets_429(world, fhir, settings):
    settings.SAMHAND_API_RATE_PER_MINUTE = 2
    client = fhir(world.home_nurse_a)

    statuses = [client.get("/fhir/Patient").status_code for _ in range(3)]

    assert statuses == [200, 200, 429]
    response = client.get("/fhir/Patient")
    assert response.json()["issue"][0]["code"] == "throttled"
    assert response["Retry-After"]


def test_an_unexpected_error_gives_500_without_details(world, fhir, monkeypatch, caplog):
    def explode(*args, **kwargs):
        raise RuntimeError("boom secret")

    monkeypatch.setattr("samhand.fhir.mapping.patient", explode)
    with caplog.at_level(logging.ERROR, logger="samhand.fhir"):
        response = fhir(world.home_nurse_a).get(f"/fhir/Patient/{world.patient_a.pk}")

    assert response.status_code == 500
    outcome = response.json()
    validate(outcome)
    assert outcome["issue"][0]["code"] == "exception"
    assert "boom" not in response.content.decode()
    assert response["X-Correlation-ID"] in outcome["issue"][0]["diagnostics"]
    assert any(response["X-Correlation-ID"] in r.getMessage() for r in caplog.records)
