"""`samhand generate --patients N`: valid, unique synthetic patients with care teams."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Count

from samhand.access.policy import patients_for_organisation
from samhand.audit.models import AuditEvent
from samhand.audit.services import verify_chain
from samhand.demo.data import load_demo
from samhand.orgs.models import Organisation
from samhand.patients.identifiers import IdKind, parse_national_id
from samhand.patients.models import CareTeamMember, Consent, Patient, RelatedPerson

pytestmark = pytest.mark.django_db


def _generate(*args: str) -> str:
    out = StringIO()
    call_command("generate", *args, "--batch-size", "200", stdout=out, stderr=StringIO())
    return out.getvalue()


def test_generate_creates_valid_unique_patients_with_care_teams() -> None:
    text = _generate("--patients", "500", "--municipalities", "4")

    assert "Added 500 patients" in text
    numbers = list(Patient.objects.values_list("national_id", flat=True))
    assert len(numbers) == len(set(numbers)) == 500
    for number in numbers:
        assert parse_national_id(number, allow_test=True).kind == IdKind.TEST
    kinds_per_patient: dict[object, set[str]] = {}
    for patient_id, kind in CareTeamMember.objects.active().values_list(
            "patient_id", "organisation__kind"):
        kinds_per_patient.setdefault(patient_id, set()).add(kind)
    assert len(kinds_per_patient) == 500
    for kinds in kinds_per_patient.values():
        assert {Organisation.Kind.HOME_NURSING, Organisation.Kind.GP_OFFICE} <= kinds
    assert RelatedPerson.objects.filter(is_primary_contact=True).count() == 500
    assert Consent.objects.values("patient").distinct().count() > 350
    assert AuditEvent.objects.filter(code="samhand.generate.patients").count() == 1
    assert verify_chain().ok


def test_the_first_unit_of_the_biggest_municipality_has_the_largest_list() -> None:
    _generate("--patients", "500", "--municipalities", "1")

    sizes = (CareTeamMember.objects.active()
             .filter(organisation__kind=Organisation.Kind.HOME_NURSING)
             .values("organisation__her_id").annotate(n=Count("patient", distinct=True))
             .order_by("-n"))
    assert sizes[0]["organisation__her_id"] == "95001200"  # municipality 1, unit 1
    unit = Organisation.objects.get(her_id="95001200")
    nurse = unit.memberships.get().user
    assert patients_for_organisation(unit, nurse).count() >= 14  # 2/41 of 500 = 24


def test_running_again_adds_patients_without_reusing_numbers() -> None:
    load_demo()
    _generate("--patients", "300", "--seed", "7")
    structure = Organisation.objects.count()

    _generate("--patients", "300", "--seed", "7")

    numbers = list(Patient.objects.values_list("national_id", flat=True))
    assert len(numbers) == len(set(numbers)) == 640
    assert Organisation.objects.count() == structure


def test_generate_refuses_nonsense_counts() -> None:
    with pytest.raises(CommandError):
        _generate("--patients", "0")
    assert not Patient.objects.exists()


def test_the_demo_can_be_loaded_after_generated_data() -> None:
    _generate("--patients", "300", "--municipalities", "2")

    summary = load_demo()

    assert summary.created and len(summary.patients) == 40
    assert Patient.objects.count() == 340
