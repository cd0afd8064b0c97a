"""Unexpected errors: generic JSON with a correlation id, nothing else (security.md #22)."""

from __future__ import annotations

import logging

import pytest


@pytest.fixture
def broken_summary(monkeypatch):
    def explode(patient):
        raise RuntimeError("boom: SELECT secret FROM settings")

    monkeypatch.setattr("samhand.api.views._summary", explode)


def test_an_unexpected_error_gives_500_json_with_only_a_correlation_id(world, token_client,
                                                                       broken_summary,
                                                                       caplog):
    with caplog.at_level(logging.ERROR, logger="samhand.api"):
        response = token_client(world.consultant).get("/api/v1/patients")

    assert response.status_code == 500
    error = response.json()["error"]
    assert error["code"] == "server_error"
    assert error["correlation_id"] == response["X-Correlation-ID"]
    assert error["correlation_id"] in error["message"]
    body = response.content.decode()
    assert "boom" not in body and "SELECT" not in body and "Traceback" not in body
    assert "Aasen" not in body
    logged = [r for r in caplog.records if r.name == "samhand.api" and r.exc_info]
    assert len(logged) == 1
    assert response["X-Correlation-ID"] in logged[0].getMessage()


def test_an_error_in_the_permission_layer_returns_no_data(world, token_client, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("policy failure")

    # Both ways to a grant: the one-statement care relation and the full check.
    monkeypatch.setattr("samhand.access.policy._by_care_relation", broken)
    monkeypatch.setattr("samhand.access.policy.grant_for", broken)

    response = token_client(world.consultant).get(f"/api/v1/patients/{world.patient_a.pk}")

    assert response.status_code == 500
    assert set(response.json()) == {"error"}
    assert "Astrid" not in response.content.decode()


@pytest.mark.parametrize("url", ["/api/v1/patients", "/api/v1/patients/{a}",
                                 "/fhir/Patient", "/fhir/Patient/{a}"])
def test_when_the_audit_cannot_be_written_no_patient_data_is_returned(world, token_client,
                                                                      monkeypatch, url):
    def broken(*args, **kwargs):
        raise RuntimeError("audit table unavailable")

    monkeypatch.setattr("samhand.access.policy.record", broken)
    monkeypatch.setattr("samhand.access.policy.record_many", broken)

    response = token_client(world.consultant).get(url.format(a=world.patient_a.pk))

    assert response.status_code == 500
    body = response.content.decode()
    assert "Astrid" not in body and world.patient_a.national_id not in body
