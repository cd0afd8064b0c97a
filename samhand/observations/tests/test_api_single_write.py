"""POST /api/v1/patients/{id}/observations writes its access row and its write's rows in
one transaction that joins the audit chain at its end. A refusal must still leave its
audit row behind; a success leaves both, in an intact chain."""

from __future__ import annotations

import json
from typing import Any

from samhand.alerts.models import Alert
from samhand.audit.models import AuditEvent
from samhand.audit.services import verify_chain
from samhand.observations.models import ObservationSet

from .conftest import VITALS_HIGH, VITALS_NORMAL


def post(client: Any, patient: Any, answers: dict[str, Any]) -> Any:
    return client.post(f"/api/v1/patients/{patient.pk}/observations",
                       json.dumps({"form": "vital_signs", "answers": answers}),
                       content_type="application/json")


def test_a_stored_set_leaves_the_access_row_and_the_write_rows_in_an_intact_chain(
        world, token_client, audit):
    watch = audit()
    response = post(token_client(world.home_nurse_a), world.patient_a, VITALS_HIGH)
    assert response.status_code == 201, response.content
    rows = watch.rows()
    codes = [r.code for r in rows]
    assert codes[0] == "samhand.observation.read"
    assert "samhand.observation.recorded" in codes and "samhand.alert.raised" in codes
    assert {r.patient_id for r in rows} == {world.patient_a.pk}
    assert Alert.objects.count() == 1
    assert verify_chain().ok


def test_a_foreign_patient_is_refused_and_the_refusal_is_audited(world, token_client, audit):
    watch = audit()
    response = post(token_client(world.home_nurse_b), world.patient_a, VITALS_NORMAL)
    assert response.status_code == 404
    [row] = watch.rows()
    assert row.code == "samhand.observation.read"
    assert row.outcome == AuditEvent.Outcome.MINOR_FAILURE
    assert not ObservationSet.objects.exists()


def test_a_refused_value_keeps_the_access_row_and_stores_no_set(world, token_client, audit):
    watch = audit()
    response = post(token_client(world.home_nurse_a), world.patient_a,
                    {**VITALS_NORMAL, "spo2": 140})
    assert response.status_code == 422
    assert [r.code for r in watch.rows()] == ["samhand.observation.read"]
    assert not ObservationSet.objects.exists()
    assert verify_chain().ok
