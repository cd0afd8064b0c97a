"""GET /api/v1/patients/{id}: the patient through the access layer; 404 otherwise."""

from __future__ import annotations

import uuid

import pytest

from samhand.audit.models import AuditEvent
from samhand.patients.models import Consent


def test_care_team_member_reads_identity_team_consents_relatives(world, token_client, audit):
    watch = audit()

    response = token_client(world.home_nurse_a).get(f"/api/v1/patients/{world.patient_a.pk}")

    assert response.status_code == 200
    body = response.json()
    assert body["id"] == str(world.patient_a.pk)
    assert body["national_id"] == world.patient_a.national_id
    assert body["national_id_system"] == "urn:oid:2.16.578.1.12.4.1.4.1"
    assert body["access"] == {"basis": "care_relation", "blocked_data": False}
    assert {m["organisation"]["name"] for m in body["care_team"] if m["organisation"]} == {
        "Lungemedisinsk avdeling", "Hjemmesykepleien Fjordby sentrum",
        "Koordinerende enhet Fjordby", "Fjordby legesenter"}
    pulm = next(m for m in body["care_team"] if m["role"] == "ltmv_nurse")
    assert pulm["phone_24h"] == "77 00 10 00"
    assert [r["name"] for r in body["relatives"]] == ["Rolf Aasen"]
    assert [(c["scope"], c["status"], c["in_force"]) for c in body["consents"]] == [
        ("share_health_info", "given", True)]
    rows = watch.rows()
    assert [(r.code, r.client, r.action, r.patient_id, r.object_ids, r.outcome)
            for r in rows] == [("samhand.patient.read", "api", "R", world.patient_a.pk,
                                [str(world.patient_a.pk)], AuditEvent.Outcome.SUCCESS)]
    # The token that authorised the read is named in the row (BALP OAUTHaccessTokenUse).
    assert rows[0].token_jti == str(world.home_nurse_a.api_tokens.get().pk)


def test_diagnoses_from_the_other_sector_show_while_sharing_consent_is_active(world,
                                                                              token_client):
    body = token_client(world.home_nurse_a).get(f"/api/v1/patients/{world.patient_a.pk}").json()

    assert [d["code"] for d in body["diagnoses"]] == ["G12.2"]
    assert body["diagnoses_hidden"] == 0


def test_diagnoses_from_the_other_sector_are_hidden_without_consent(world, token_client):
    nurse = token_client(world.home_nurse_b).get(f"/api/v1/patients/{world.patient_b.pk}")
    doctor = token_client(world.consultant).get(f"/api/v1/patients/{world.patient_b.pk}")

    assert nurse.json()["diagnoses"] == []
    assert nurse.json()["diagnoses_hidden"] == 1
    assert [d["code"] for d in doctor.json()["diagnoses"]] == ["J44.1"]


def test_withdrawn_consent_hides_them_again(world, token_client):
    Consent.objects.create(patient=world.patient_a, scope=Consent.Scope.SHARE_HEALTH_INFO,
                           status=Consent.Status.WITHDRAWN, recorded_by=world.ltmv_nurse,
                           recorded_by_organisation=world.pulm)

    body = token_client(world.home_nurse_a).get(f"/api/v1/patients/{world.patient_a.pk}").json()

    assert body["diagnoses"] == []
    assert body["diagnoses_hidden"] == 1
    assert [(c["status"], c["in_force"]) for c in body["consents"]] == [
        ("withdrawn", True), ("given", False)]


@pytest.mark.parametrize("who", ["home_nurse_b", "nobody", "relative_a"])
def test_outsider_gets_404_identical_to_a_random_uuid(world, token_client, audit, who):
    client = token_client(world.users[who])
    watch = audit()

    foreign = client.get(f"/api/v1/patients/{world.patient_a.pk}")
    random = client.get(f"/api/v1/patients/{uuid.uuid4()}")
    garbage = client.get("/api/v1/patients/not-a-uuid")

    assert foreign.status_code == random.status_code == garbage.status_code == 404
    assert foreign.content == random.content == garbage.content
    assert foreign["Content-Type"] == random["Content-Type"]
    denied = watch.rows(patient_id=world.patient_a.pk)
    assert [(r.code, r.client, r.outcome) for r in denied] == [
        ("samhand.patient.read", "api", AuditEvent.Outcome.MINOR_FAILURE)]


def test_anonymous_gets_401_not_404(world):
    from django.test import Client

    response = Client().get(f"/api/v1/patients/{world.patient_a.pk}")

    assert response.status_code == 401
