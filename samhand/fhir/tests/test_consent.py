"""/fhir/Consent: consent decisions of patients I may see."""

from __future__ import annotations

import uuid

from samhand.audit.models import AuditEvent
from samhand.patients.models import Consent

from .conftest import entry_ids, validate


def _withdraw(world):
    return Consent.objects.create(patient=world.patient_a, scope="share_health_info",
                                  status="withdrawn", recorded_by=world.home_nurse_a,
                                  recorded_by_organisation=world.hn_a)


def test_read_a_consent_of_my_patient(world, fhir, audit):
    consent = world.patient_a.consents.get()
    watch = audit()

    response = fhir(world.home_nurse_a).get(f"/fhir/Consent/{consent.pk}")

    assert response.status_code == 200
    resource = response.json()
    validate(resource)
    assert resource["status"] == "active"
    assert resource["provision"] == {"type": "permit"}
    assert [(r.code, r.client, r.object_type, r.patient_id) for r in watch.rows()] == [
        ("samhand.consent.read", "fhir", "Consent", world.patient_a.pk)]


def test_outsider_gets_404_identical_to_a_random_id(world, fhir, audit):
    consent = world.patient_a.consents.get()
    client = fhir(world.home_nurse_b)
    watch = audit()

    foreign = client.get(f"/fhir/Consent/{consent.pk}")
    random = client.get(f"/fhir/Consent/{uuid.uuid4()}")
    garbage = client.get("/fhir/Consent/zzz")

    assert foreign.status_code == random.status_code == garbage.status_code == 404
    assert foreign.content == random.content == garbage.content
    rows = watch.rows()
    assert all(r.outcome == AuditEvent.Outcome.MINOR_FAILURE for r in rows)
    assert [r.patient_id for r in rows] == [world.patient_a.pk, None, None]


def test_search_shows_which_decision_is_in_force(world, fhir):
    withdrawal = _withdraw(world)
    old = world.patient_a.consents.get(status="given")
    client = fhir(world.consultant)

    everything = client.get(f"/fhir/Consent?patient={world.patient_a.pk}").json()
    active = client.get("/fhir/Consent?status=active").json()
    inactive = client.get("/fhir/Consent?status=inactive").json()

    validate(everything)
    statuses = {e["resource"]["id"]: e["resource"]["status"] for e in everything["entry"]}
    assert statuses == {str(withdrawal.pk): "active", str(old.pk): "inactive"}
    assert entry_ids(active) == {str(withdrawal.pk)}
    assert entry_ids(inactive) == {str(old.pk)}


def test_search_lists_only_consents_of_my_patients(world, fhir, audit):
    Consent.objects.create(patient=world.patient_b, scope="individual_plan", status="given",
                           recorded_by=world.home_nurse_b, recorded_by_organisation=world.hn_b)
    watch = audit()

    bundle = fhir(world.home_nurse_a).get("/fhir/Consent").json()

    assert entry_ids(bundle) == {str(world.patient_a.consents.get().pk)}
    assert [(r.code, r.patient_id, r.object_type) for r in watch.rows()] == [
        ("samhand.consent.search", world.patient_a.pk, "Consent")]


def test_unknown_status_is_a_malformed_search(world, fhir):
    response = fhir(world.consultant).get("/fhir/Consent?status=draft")

    assert response.status_code == 400
