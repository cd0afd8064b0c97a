"""/fhir/CareTeam: one team per patient (id = the patient's id), through the access layer."""

from __future__ import annotations

import uuid

from samhand.audit.models import AuditEvent

from .conftest import entry_ids, validate


def test_read_the_care_team_of_my_patient(world, fhir, audit):
    watch = audit()

    response = fhir(world.gp_a).get(f"/fhir/CareTeam/{world.patient_a.pk}")

    assert response.status_code == 200
    team = response.json()
    validate(team)
    assert len(team["participant"]) == 6
    assert [(r.code, r.client, r.object_type, r.patient_id) for r in watch.rows()] == [
        ("samhand.careteam.read", "fhir", "CareTeam", world.patient_a.pk)]


def test_outsider_gets_404_identical_to_a_random_id(world, fhir, audit):
    client = fhir(world.home_nurse_b)
    watch = audit()

    foreign = client.get(f"/fhir/CareTeam/{world.patient_a.pk}")
    random = client.get(f"/fhir/CareTeam/{uuid.uuid4()}")

    assert foreign.status_code == random.status_code == 404
    assert foreign.content == random.content
    assert [(r.outcome, r.client) for r in watch.rows(patient_id=world.patient_a.pk)] == [
        (AuditEvent.Outcome.MINOR_FAILURE, "fhir")]


def test_search_by_patient_and_without_parameters(world, fhir, audit):
    client = fhir(world.consultant)
    watch = audit()

    everything = client.get("/fhir/CareTeam").json()
    one = client.get(f"/fhir/CareTeam?patient=Patient/{world.patient_b.pk}").json()

    validate(everything)
    assert entry_ids(everything) == {str(world.patient_a.pk), str(world.patient_b.pk)}
    assert entry_ids(one) == {str(world.patient_b.pk)}
    assert {(r.code, r.object_type, r.client) for r in watch.rows()} == {
        ("samhand.careteam.search", "CareTeam", "fhir")}
    assert len(watch.rows()) == 3  # two patients, then one


def test_search_for_a_foreign_patient_is_empty(world, fhir):
    bundle = fhir(world.home_nurse_a).get(
        f"/fhir/CareTeam?subject={world.patient_b.pk}").json()

    assert bundle["total"] == 0


def test_patient_parameter_must_refer_to_a_patient(world, fhir):
    response = fhir(world.home_nurse_a).get(f"/fhir/CareTeam?patient=Group/{uuid.uuid4()}")

    assert response.status_code == 400
    assert response.json()["issue"][0]["expression"] == ["patient"]
