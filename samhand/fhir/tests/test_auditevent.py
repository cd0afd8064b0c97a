"""/fhir/AuditEvent: who looked at the records of patients I may see."""

from __future__ import annotations

import uuid

from samhand.audit.models import AuditEvent

from .conftest import entry_ids, validate


def _a_read_of(world, fhir, patient, user):
    fhir(user).get(f"/fhir/Patient/{patient.pk}")
    return AuditEvent.objects.filter(patient_id=patient.pk, code="samhand.patient.read"
                                     ).order_by("-seq").first()


def test_search_by_patient_returns_valid_audit_events(world, fhir):
    event = _a_read_of(world, fhir, world.patient_a, world.home_nurse_a)

    bundle = fhir(world.consultant).get(f"/fhir/AuditEvent?patient={world.patient_a.pk}"
                                        ).json()

    validate(bundle)
    assert str(event.uuid) in entry_ids(bundle)
    resource = next(e["resource"] for e in bundle["entry"] if e["resource"]["id"] ==
                    str(event.uuid))
    assert resource["action"] == "R"
    assert {"reference": f"Patient/{world.patient_a.pk}"} in [
        entity.get("what") for entity in resource["entity"]]


def test_events_of_other_patients_never_appear(world, fhir):
    _a_read_of(world, fhir, world.patient_b, world.home_nurse_b)

    bundle = fhir(world.home_nurse_a).get("/fhir/AuditEvent?_count=200").json()

    patients = {entity["what"]["reference"] for e in bundle.get("entry", [])
                for entity in e["resource"].get("entity", [])
                if entity.get("what", {}).get("reference", "").startswith("Patient/")}
    assert patients <= {f"Patient/{world.patient_a.pk}"}
    assert f"Patient/{world.patient_b.pk}" not in str(bundle)


def test_read_one_event_and_404_for_a_foreign_one(world, fhir):
    mine = _a_read_of(world, fhir, world.patient_a, world.home_nurse_a)
    theirs = _a_read_of(world, fhir, world.patient_b, world.home_nurse_b)
    client = fhir(world.home_nurse_a)

    own = client.get(f"/fhir/AuditEvent/{mine.uuid}")
    foreign = client.get(f"/fhir/AuditEvent/{theirs.uuid}")
    random = client.get(f"/fhir/AuditEvent/{uuid.uuid4()}")

    assert own.status_code == 200
    validate(own.json())
    assert foreign.status_code == random.status_code == 404
    assert foreign.content == random.content


def test_reading_the_log_is_itself_audited(world, fhir):
    _a_read_of(world, fhir, world.patient_a, world.home_nurse_a)

    fhir(world.consultant).get(f"/fhir/AuditEvent?patient={world.patient_a.pk}")

    assert AuditEvent.objects.filter(code="samhand.audit.search", client="fhir",
                                     patient_id=world.patient_a.pk,
                                     object_type="AuditEvent").exists()


def test_date_filter(world, fhir):
    _a_read_of(world, fhir, world.patient_a, world.home_nurse_a)
    client = fhir(world.consultant)

    future = client.get(f"/fhir/AuditEvent?patient={world.patient_a.pk}&date=ge2999-01-01"
                        ).json()
    past = client.get(f"/fhir/AuditEvent?patient={world.patient_a.pk}&date=ge2000-01-01T00:00"
                      "Z").json()
    bad = client.get("/fhir/AuditEvent?date=yesterday")

    assert future["total"] == 0
    assert past["total"] >= 1
    assert bad.status_code == 400
