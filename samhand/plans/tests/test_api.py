"""The plans API: reads through the access layer, writes through the services,
refusals as error JSON, the audited PDF download."""

from __future__ import annotations

import json

from django.test import Client

from samhand.api.models import ApiToken
from samhand.plans import binder

from .helpers import LTMV_TREATMENT, actor_and_grant, full_ltmv_patient


def api(user):
    _token, secret = ApiToken.issue(user, days=1, name="test")
    return Client(HTTP_AUTHORIZATION=f"Bearer {secret}")


def post(client, url, body):
    return client.post(url, json.dumps(body), content_type="application/json")


def test_the_plans_of_a_full_ltmv_patient(world, audit):
    patient = full_ltmv_patient(world)
    watch = audit()
    response = api(world.ltmv_nurse).get(f"/api/v1/patients/{patient.pk}/plans")
    assert response.status_code == 200
    data = response.json()
    assert data["treatment_plan"]["signed"] is True
    assert data["action_plan"]["approved"] is True and data["action_plan"]["missing_numbers"] == []
    assert data["individual_plan"]["latest"]["number"] == 2
    assert data["binder"]["is_current"] is False
    assert watch.rows(code="samhand.plans.read")


def test_an_outsider_gets_404(world):
    response = api(world.home_nurse_b).get(f"/api/v1/patients/{world.patient_a.pk}/plans")
    assert response.status_code == 404


def test_a_treatment_plan_version_and_a_stale_signature(world):
    client = api(world.ltmv_nurse)
    response = post(client, f"/api/v1/patients/{world.patient_a.pk}/treatment-plan/versions",
                    {"content": LTMV_TREATMENT, "note": "Første"})
    assert response.status_code == 201, response.content
    version = response.json()
    doctor = api(world.consultant)
    url = f"/api/v1/patients/{world.patient_a.pk}/treatment-plan/signatures"
    stale = post(doctor, url, {"number": 1, "seen_hash": "0" * 64})
    assert stale.status_code == 409 and stale.json()["error"]["code"] == "plan_changed"
    ok = post(doctor, url, {"number": 1, "seen_hash": version["content_hash"]})
    assert ok.status_code == 201


def test_an_action_plan_without_a_number_is_refused(world):
    scenario = {"key": "x", "title": "Noe skjer", "steps": ["Gjør noe"], "call": ["supplier"]}
    response = post(api(world.ltmv_nurse),
                    f"/api/v1/patients/{world.patient_a.pk}/action-plan/versions",
                    {"content": {"scenarios": [scenario]}})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "no_number"


def test_the_pdf_download_is_audited(world, audit):
    patient = full_ltmv_patient(world)
    actor, _grant = actor_and_grant(world.ltmv_nurse, patient)
    document, _ = binder.generate_binder(actor, patient)
    client = api(world.gp_a)
    listing = client.get(f"/api/v1/patients/{patient.pk}/documents").json()
    assert [d["code"] for d in listing] == [document.code]
    watch = audit()
    response = client.get(f"/api/v1/patients/{patient.pk}/documents/{document.pk}/pdf")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    [row] = watch.rows(code="samhand.binder.downloaded")
    assert row.client == "api"


def test_making_the_binder_twice_makes_one_version(world):
    patient = full_ltmv_patient(world)
    client = api(world.ltmv_nurse)
    first = post(client, f"/api/v1/patients/{patient.pk}/documents/binder", {})
    second = post(client, f"/api/v1/patients/{patient.pk}/documents/binder", {})
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["id"] == second.json()["id"]
