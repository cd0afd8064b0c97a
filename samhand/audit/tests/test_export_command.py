"""`samhand audit export --patient UUID` prints a FHIR Bundle of that patient's events."""

import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from fhir.resources.R4B.bundle import Bundle as FhirBundle

from samhand.access import policy
from samhand.audit.models import AuditEvent
from samhand.audit.services import verify_chain

from .conftest import request_as

REASON_TEXT = "Pasienten ringte legevakten og trenger hjelp nå"


def export(patient_id):
    out = io.StringIO()
    call_command("audit", "export", "--patient", str(patient_id), stdout=out)
    return json.loads(out.getvalue())


def test_export_holds_only_this_patients_events_and_validates(world):
    policy.get_patient_for(request_as(world.home_nurse_a), world.patient_a.pk)
    policy.get_patient_for(request_as(world.home_nurse_b), world.patient_b.pk)
    policy.start_emergency_access(request_as(world.home_nurse_b), world.patient_a,
                                  reason_code="acute", reason_text=REASON_TEXT)
    bundle = export(world.patient_a.pk)
    FhirBundle.model_validate(bundle)
    assert bundle["type"] == "collection"
    expected = AuditEvent.objects.filter(patient_id=world.patient_a.pk,
                                         code__in=["samhand.patient.read",
                                                   "samhand.emergency.started"])
    assert {e["resource"]["id"] for e in bundle["entry"]} == {str(e.uuid) for e in expected}
    for entry in bundle["entry"]:
        assert entry["resource"]["entity"][0]["what"]["reference"] == \
            f"Patient/{world.patient_a.pk}"
    assert str(world.patient_b.pk) not in json.dumps(bundle)
    assert REASON_TEXT not in json.dumps(bundle, ensure_ascii=False)


def test_the_export_is_itself_audited(world):
    policy.get_patient_for(request_as(world.home_nurse_a), world.patient_a.pk)
    read = AuditEvent.objects.get()
    export(world.patient_a.pk)
    exported = AuditEvent.objects.get(code="samhand.audit.exported")
    assert exported.patient_id == world.patient_a.pk
    assert exported.client == "cli"
    assert exported.object_ids == [str(read.uuid)]
    assert verify_chain().ok


def test_export_needs_a_uuid(db):
    with pytest.raises(CommandError, match="UUID"):
        export("12345678901")
    assert not AuditEvent.objects.exists()
