"""Time-bounded access through the real pages (security.md #6, #9): a relative's
delegation and a nurse's emergency grant work while they run and answer 404 on the
next request after they end, in the same session."""

from __future__ import annotations

import datetime as dt

import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from samhand.access import policy
from samhand.access.models import EmergencyAccessGrant
from samhand.audit.models import AuditEvent, ReviewItem
from samhand.conftest import PASSWORD
from samhand.patients.models import AccessBlock, Delegation


def _contacts(world):
    return reverse("web:relative_contacts", args=[world.patient_a.pk])


def _denied_reads(world, user):
    return AuditEvent.objects.filter(patient_id=world.patient_a.pk, user_id=user.pk,
                                     outcome="4").count()


def test_revoking_a_delegation_takes_effect_on_the_next_request(world):
    client = world.login(Client(), world.relative_a)
    assert client.get(_contacts(world)).status_code == 200
    ok = AuditEvent.objects.filter(user_id=world.relative_a.pk, outcome="0").latest("seq")
    assert (ok.basis, ok.patient_id) == ("delegation", world.patient_a.pk)
    Delegation.objects.update(revoked_at=timezone.now())
    response = client.get(_contacts(world))
    assert response.status_code == 404
    assert world.patient_a.family_name not in response.content.decode()
    assert _denied_reads(world, world.relative_a) == 1
    assert world.patient_a not in set(policy.delegated_patients(world.relative_a))


def test_an_expired_delegation_answers_404(world):
    start = timezone.now()
    Delegation.objects.update(valid_to=start + dt.timedelta(minutes=10))
    with time_machine.travel(start, tick=False):
        client = world.login(Client(), world.relative_a)
        assert client.get(_contacts(world)).status_code == 200
    with time_machine.travel(start + dt.timedelta(minutes=9, seconds=59), tick=False):
        assert client.get(_contacts(world)).status_code == 200
    with time_machine.travel(start + dt.timedelta(minutes=10), tick=False):
        assert client.get(_contacts(world)).status_code == 404
    assert _denied_reads(world, world.relative_a) == 1


def test_a_delegation_opens_only_its_scopes(world):
    Delegation.objects.update(scopes=["contacts"])
    client = world.login(Client(), world.relative_a)
    assert client.get(_contacts(world)).status_code == 200
    log = reverse("web:relative_access_log", args=[world.patient_a.pk])
    assert client.get(log).status_code == 404
    assert client.get(reverse("web:patient", args=[world.patient_a.pk])).status_code == 404


def test_a_relative_the_patient_has_blocked_is_refused(world):
    client = world.login(Client(), world.relative_a)
    assert client.get(_contacts(world)).status_code == 200
    AccessBlock.objects.create(patient=world.patient_a, blocked_user=world.relative_a,
                               created_by=world.coordinator_a)
    assert client.get(_contacts(world)).status_code == 404


def test_emergency_access_through_the_pages_opens_for_the_window_only(world, settings):
    settings.SAMHAND_EMERGENCY_ACCESS_MINUTES = 20  # shorter than the 30 min idle timeout
    nurse, patient = world.home_nurse_b, world.patient_a
    page = reverse("web:patient", args=[patient.pk])
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        client = world.login(Client(), nurse)
        assert client.get(page).status_code == 404
        found = client.post(reverse("web:emergency"), {"national_id": patient.national_id})
        assert found.status_code == 200
        started = client.post(reverse("web:emergency_start"), {
            "password": PASSWORD, "reason_code": "unreachable",
            "reason_text": "Hjemmesykepleien i Fjordby svarer ikke, pasienten har feber"})
        assert started.status_code == 302
        assert started["Location"] == page
        assert client.get(page).status_code == 200
    grant = EmergencyAccessGrant.objects.get(user=nurse, patient=patient)
    assert grant.expires_at == start + dt.timedelta(minutes=20)
    event = AuditEvent.objects.get(code="samhand.emergency.started")
    assert (event.reason_code, event.basis_id) == ("unreachable", str(grant.pk))
    assert ReviewItem.objects.filter(audit_event=event, kind="emergency_access").exists()
    with time_machine.travel(start + dt.timedelta(minutes=19), tick=False):
        assert client.get(page).status_code == 200
    with time_machine.travel(start + dt.timedelta(minutes=20), tick=False):
        assert client.get(page).status_code == 404
    reads = AuditEvent.objects.filter(code="samhand.patient.read", user_id=nurse.pk,
                                      patient_id=patient.pk).order_by("seq")
    assert [(e.outcome, e.basis) for e in reads] == [
        ("4", "none"), ("0", "emergency"), ("0", "emergency"), ("4", "none")]


def test_emergency_start_needs_the_password_again(world):
    client = world.login(Client(), world.home_nurse_b)
    client.post(reverse("web:emergency"), {"national_id": world.patient_a.national_id})
    response = client.post(reverse("web:emergency_start"), {
        "password": "feil passord", "reason_code": "acute",
        "reason_text": "Pasienten har akutt forverring og trenger hjelp"})
    assert response.status_code == 422
    assert not EmergencyAccessGrant.objects.exists()
    assert not AuditEvent.objects.filter(code="samhand.emergency.started").exists()


def test_staff_without_hpr_cannot_start_emergency_access(world):
    client = world.login(Client(), world.clerk_a)
    response = client.post(reverse("web:emergency"), {"national_id": world.patient_b.national_id})
    assert response.status_code == 403
    response = client.post(reverse("web:emergency_start"), {
        "password": PASSWORD, "reason_code": "acute",
        "reason_text": "Pasienten har akutt forverring og trenger hjelp"})
    assert response.status_code == 403
    assert not EmergencyAccessGrant.objects.exists()
    assert world.patient_b.full_name not in response.content.decode()
