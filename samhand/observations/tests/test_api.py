"""REST: one set, the latest list, and batches, through the access layer."""

import json

from samhand.alerts.models import Alert
from samhand.observations.models import ObservationSet

from .conftest import VITALS_HIGH, VITALS_NORMAL


def post(client, url, payload):
    return client.post(url, json.dumps(payload), content_type="application/json")


def test_posting_a_set_scores_it_and_audits_it(world, token_client, audit):
    watch = audit()
    response = post(token_client(world.home_nurse_a),
                    f"/api/v1/patients/{world.patient_a.pk}/observations",
                    {"form": "vital_signs", "answers": VITALS_HIGH})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["news2"]["total"] == 8 and body["news2"]["risk"] == "high"
    obs = ObservationSet.objects.get()
    assert obs.source == "api"
    assert [r.client for r in watch.rows(code="samhand.observation.recorded")] == ["api"]
    assert Alert.objects.filter(patient=world.patient_a).count() == 1


def test_a_foreign_patient_answers_404_and_nothing_is_stored(world, token_client):
    response = post(token_client(world.home_nurse_b),
                    f"/api/v1/patients/{world.patient_a.pk}/observations",
                    {"form": "vital_signs", "answers": VITALS_NORMAL})
    assert response.status_code == 404
    assert not ObservationSet.objects.exists()


def test_an_impossible_value_answers_422_naming_every_problem(world, token_client):
    response = post(token_client(world.home_nurse_a),
                    f"/api/v1/patients/{world.patient_a.pk}/observations",
                    {"form": "vital_signs",
                     "answers": {**VITALS_NORMAL, "spo2": 140, "respiration_rate": -3}})
    assert response.status_code == 422
    assert set(response.json()["error"]["problems"]) == {"spo2", "respiration_rate"}
    assert not ObservationSet.objects.exists()


def test_the_list_gives_the_latest_sets_first(world, token_client):
    client = token_client(world.home_nurse_a)
    url = f"/api/v1/patients/{world.patient_a.pk}/observations"
    for pulse in (70, 80, 90):
        post(client, url, {"form": "vital_signs", "answers": {**VITALS_NORMAL, "pulse": pulse},
                           "taken_at": f"2026-01-0{pulse // 10 - 6}T10:00:00Z"})
    body = client.get(url + "?limit=2").json()
    assert body["count"] == 3
    assert [i["answers"]["pulse"] for i in body["items"]] == [90, 80]


def test_a_batch_for_several_patients_is_stored_whole(world, token_client, audit):
    watch = audit()
    items = [{"patient_id": str(p.pk), "form": "vital_signs", "answers": VITALS_NORMAL}
             for p in (world.patient_a, world.patient_b, world.patient_a)]
    response = post(token_client(world.ltmv_nurse), "/api/v1/observations/batch",
                    {"items": items})
    assert response.status_code == 201, response.content
    assert response.json()["count"] == 3
    assert len(watch.rows(code="samhand.observation.recorded")) == 2


def test_a_batch_with_a_foreign_patient_is_refused_whole(world, token_client):
    items = [{"patient_id": str(p.pk), "form": "vital_signs", "answers": VITALS_NORMAL}
             for p in (world.patient_a, world.patient_b)]
    response = post(token_client(world.home_nurse_a), "/api/v1/observations/batch",
                    {"items": items})
    assert response.status_code == 404
    assert not ObservationSet.objects.exists()
