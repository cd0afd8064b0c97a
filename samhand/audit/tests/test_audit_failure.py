"""If the audit row cannot be written, the request fails and shows nothing (#26)."""

import pytest
from django.db import DatabaseError, IntegrityError

from samhand.access import policy
from samhand.access.models import EmergencyAccessGrant
from samhand.audit.models import AuditEvent, ReviewItem
from samhand.audit.services import Actor, record

from .conftest import request_as, tamper


@pytest.fixture
def broken_writer(monkeypatch):
    def refuse(*args, **kwargs):
        raise DatabaseError("audit table unavailable")

    monkeypatch.setattr(AuditEvent.objects, "bulk_create", refuse)


def test_patient_read_fails_when_the_audit_writer_raises(world, broken_writer):
    result = None
    with pytest.raises(DatabaseError, match="audit table unavailable"):
        result = policy.get_patient_for(request_as(world.home_nurse_a), world.patient_a.pk)
    assert result is None
    assert not AuditEvent.objects.exists()


def test_patient_read_fails_when_the_database_refuses_the_row(world):
    """No mock: a chain head that no row backs makes the link trigger refuse."""
    record(Actor(), "samhand.patient.read", AuditEvent.Action.READ)
    tamper("UPDATE audit_chainhead SET hash = %s", ["c" * 64])
    with pytest.raises(IntegrityError, match="does not follow"):
        policy.get_patient_for(request_as(world.home_nurse_a), world.patient_a.pk)
    assert AuditEvent.objects.count() == 1


def test_emergency_access_leaves_no_grant_when_its_audit_row_fails(world, broken_writer):
    with pytest.raises(DatabaseError):
        policy.start_emergency_access(request_as(world.home_nurse_b), world.patient_a,
                                      reason_code="acute",
                                      reason_text="Pasienten ringte, trenger hjelp nå")
    assert not EmergencyAccessGrant.objects.exists()
    assert not ReviewItem.objects.exists()
    assert policy.grant_for(world.home_nurse_b, world.patient_a) is None



def test_patient_page_answers_500_without_patient_data_when_auditing_fails(world,
                                                                            monkeypatch):
    from django.test import Client
    from django.urls import reverse

    client = world.login(Client(raise_request_exception=False), world.home_nurse_a)
    url = reverse("web:patient", args=[world.patient_a.pk])
    assert world.patient_a.family_name in client.get(url).content.decode()
    rows_before = AuditEvent.objects.count()

    def refuse(*args, **kwargs):
        raise DatabaseError("audit table unavailable")

    monkeypatch.setattr(AuditEvent.objects, "bulk_create", refuse)
    response = client.get(url)
    assert response.status_code == 500
    body = response.content.decode()
    for secret in (world.patient_a.family_name, world.patient_a.national_id,
                   world.patient_a.street):
        assert secret not in body
    assert AuditEvent.objects.count() == rows_before
