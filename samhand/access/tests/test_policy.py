import pytest
from django.http import Http404
from django.test import RequestFactory

from samhand.access import policy
from samhand.audit.models import AuditEvent


def _request(user):
    request = RequestFactory().get("/")
    request.user = user
    return request


def test_home_nurse_sees_own_municipality_patient_only(world):
    visible = set(policy.visible_patients(world.home_nurse_a))
    assert visible == {world.patient_a}


def test_outsider_gets_404_and_attempt_is_audited(world):
    with pytest.raises(Http404):
        policy.get_patient_for(_request(world.home_nurse_b), world.patient_a.pk)
    event = AuditEvent.objects.get(patient_id=world.patient_a.pk)
    assert event.outcome == AuditEvent.Outcome.MINOR_FAILURE
    assert event.user_id == world.home_nurse_b.pk


def test_list_audit_rows_carry_the_basis_the_caller_names(world):
    policy.audit_list(_request(world.relative_a), "samhand.patient.list", [world.patient_a],
                      basis=AuditEvent.Basis.DELEGATION)
    policy.audit_list(_request(world.home_nurse_a), "samhand.patient.list", [world.patient_a])
    rows = AuditEvent.objects.filter(code="samhand.patient.list").order_by("seq")
    assert [(r.user_id, r.basis, r.patient_id) for r in rows] == [
        (world.relative_a.pk, "delegation", world.patient_a.pk),
        (world.home_nurse_a.pk, "care_relation", world.patient_a.pk)]
