"""Break-the-glass (security.md #6): who may start it, what it writes, how long it lasts."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.http import Http404
from django.test import RequestFactory

from samhand.access import policy
from samhand.access.models import EmergencyAccessGrant
from samhand.audit.models import AuditEvent, ReviewItem
from samhand.audit.services import verify_chain
from samhand.patients.models import AccessBlock

T0 = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)
REASON = "Pasienten har pustevansker og teamet svarer ikke"


def _request(user):
    request = RequestFactory().get("/")
    request.user = user
    return request


def _start(user, patient, **kwargs):
    kwargs.setdefault("reason_code", "acute")
    kwargs.setdefault("reason_text", REASON)
    return policy.start_emergency_access(_request(user), patient, **kwargs)


def test_user_without_hpr_is_refused_and_the_attempt_audited(world):
    with pytest.raises(policy.AccessDenied) as exc:
        _start(world.clerk_a, world.patient_b)
    assert exc.value.code == "not_health_personnel"
    assert not EmergencyAccessGrant.objects.exists()
    assert not ReviewItem.objects.exists()
    event = AuditEvent.objects.get(patient_id=world.patient_b.pk)
    assert (event.code, event.outcome, event.user_id) == (
        "samhand.emergency.refused", "4", world.clerk_a.pk)
    assert policy.grant_for(world.clerk_a, world.patient_b) is None


def test_health_personnel_without_a_membership_is_refused(world):
    with pytest.raises(policy.AccessDenied) as exc:
        _start(world.nobody, world.patient_b)
    assert exc.value.code == "no_organisation"
    assert not EmergencyAccessGrant.objects.exists()
    assert AuditEvent.objects.get().code == "samhand.emergency.refused"


@pytest.mark.parametrize(("reason_code", "reason_text", "code"), [
    ("", REASON, "reason"), ("because", REASON, "reason"),
    ("acute", "", "reason_text"), ("other", "  kort   ", "reason_text"),
])
def test_a_reason_code_and_a_sentence_are_required(world, reason_code, reason_text, code):
    with pytest.raises(policy.AccessDenied) as exc:
        _start(world.home_nurse_a, world.patient_b, reason_code=reason_code,
               reason_text=reason_text)
    assert exc.value.code == code
    assert not EmergencyAccessGrant.objects.exists()
    assert not ReviewItem.objects.exists()


def test_start_writes_the_grant_the_audit_record_and_a_review_item(world, settings):
    settings.SAMHAND_EMERGENCY_ACCESS_MINUTES = 240
    with time_machine.travel(T0, tick=False):
        grant = _start(world.home_nurse_a, world.patient_b, reason_code="unreachable")
    assert (grant.started_at, grant.expires_at) == (T0, T0 + dt.timedelta(hours=4))
    assert grant.organisation == world.hn_a
    assert grant.reason_text == REASON
    event = AuditEvent.objects.get(code="samhand.emergency.started")
    assert event.outcome == "0"
    assert event.action == "E"
    assert event.patient_id == world.patient_b.pk
    assert event.user_id == world.home_nurse_a.pk
    assert event.user_hpr == world.home_nurse_a.hpr_number
    assert event.organisation_id == world.hn_a.pk
    assert (event.basis, event.basis_id) == ("emergency", str(grant.pk))
    assert (event.reason_code, event.reason_text) == ("unreachable", REASON)
    assert event.object_type == "EmergencyAccessGrant"
    assert event.object_ids == [str(grant.pk)]
    assert event.blocked_data is False
    assert event.recorded_at == T0
    review = ReviewItem.objects.get()
    assert (review.kind, review.audit_event_id, review.patient_id, review.status) == (
        "emergency_access", event.pk, world.patient_b.pk, "open")
    assert verify_chain().ok


def test_start_on_a_blocked_patient_records_that_the_data_was_blocked(world):
    AccessBlock.objects.create(patient=world.patient_b, blocked_user=world.home_nurse_a,
                               created_by=world.home_nurse_b)
    grant = _start(world.home_nurse_a, world.patient_b)
    assert AuditEvent.objects.get(code="samhand.emergency.started").blocked_data is True
    _found, access = policy.get_patient_for(_request(world.home_nurse_a), world.patient_b.pk)
    assert (access.basis, access.basis_id, access.blocked) == ("emergency", str(grant.pk), True)
    read = AuditEvent.objects.get(code="samhand.patient.read")
    assert (read.basis, read.blocked_data, read.outcome) == ("emergency", True, "0")


def test_access_is_allowed_during_the_window_and_denied_after(world, settings):
    settings.SAMHAND_EMERGENCY_ACCESS_MINUTES = 240
    nurse, patient = world.home_nurse_a, world.patient_b
    with time_machine.travel(T0, tick=False):
        assert policy.grant_for(nurse, patient) is None
        grant = _start(nurse, patient)
    with time_machine.travel(T0 + dt.timedelta(minutes=239, seconds=59), tick=False):
        found, access = policy.get_patient_for(_request(nurse), patient.pk)
        assert found == patient
        assert (access.basis, access.basis_id) == ("emergency", str(grant.pk))
        assert patient not in policy.visible_patients(nurse)  # never in lists
    with time_machine.travel(T0 + dt.timedelta(minutes=240), tick=False):
        assert policy.grant_for(nurse, patient) is None
        with pytest.raises(Http404):
            policy.get_patient_for(_request(nurse), patient.pk)
    reads = AuditEvent.objects.filter(code="samhand.patient.read").order_by("seq")
    assert [(e.outcome, e.basis) for e in reads] == [("0", "emergency"), ("4", "none")]


def test_expired_grants_get_one_stop_record(world):
    with time_machine.travel(T0, tick=False):
        grant = _start(world.home_nurse_a, world.patient_b)
        other = _start(world.ltmv_nurse, world.patient_b)
    with time_machine.travel(T0 + dt.timedelta(hours=1), tick=False):
        assert policy.close_expired_emergency_grants() == 0
    with time_machine.travel(T0 + dt.timedelta(hours=5), tick=False):
        assert policy.close_expired_emergency_grants() == 2
        assert policy.close_expired_emergency_grants() == 0
    with time_machine.travel(T0 + dt.timedelta(hours=6), tick=False):
        assert policy.close_expired_emergency_grants() == 0
    stops = AuditEvent.objects.filter(code="samhand.emergency.expired")
    assert sorted(e.basis_id for e in stops) == sorted([str(grant.pk), str(other.pk)])
    for event in stops:
        assert event.outcome == "0"
        assert event.patient_id == world.patient_b.pk
        assert event.basis == "emergency"
    grant.refresh_from_db()
    assert grant.ended_at == grant.expires_at
    assert verify_chain().ok


def test_ending_early_writes_one_stop_record_and_the_sweep_none(world):
    with time_machine.travel(T0, tick=False):
        grant = _start(world.home_nurse_a, world.patient_b)
    with time_machine.travel(T0 + dt.timedelta(minutes=30), tick=False):
        with pytest.raises(Http404):
            policy.end_emergency_access(_request(world.ltmv_nurse), grant)
        policy.end_emergency_access(_request(world.home_nurse_a), grant)
        policy.end_emergency_access(_request(world.home_nurse_a), grant)
        assert policy.grant_for(world.home_nurse_a, world.patient_b) is None
    with time_machine.travel(T0 + dt.timedelta(hours=5), tick=False):
        assert policy.close_expired_emergency_grants() == 0
    ended = AuditEvent.objects.get(code="samhand.emergency.ended")
    assert (ended.user_id, ended.basis_id, ended.reason_code) == (
        world.home_nurse_a.pk, str(grant.pk), "acute")
    assert not AuditEvent.objects.filter(code="samhand.emergency.expired").exists()


def test_grant_ends_with_the_membership(world):
    grant = _start(world.home_nurse_a, world.patient_b)
    assert policy.grant_for(world.home_nurse_a, world.patient_b).basis_id == str(grant.pk)
    world.home_nurse_a.memberships.get().end()
    assert policy.grant_for(world.home_nurse_a, world.patient_b) is None


def test_grant_is_personal(world):
    _start(world.home_nurse_a, world.patient_b)
    assert policy.grant_for(world.coordinator_a, world.patient_b) is None
    assert policy.grant_for(world.home_nurse_a, world.patient_b) is not None


def test_emergency_candidate_only_for_active_health_personnel_and_exact_numbers(world):
    number = world.patient_b.national_id
    assert policy.emergency_candidate(world.home_nurse_a, national_id=number) == world.patient_b
    assert policy.emergency_candidate(world.home_nurse_a,
                                      patient_id=world.patient_b.pk) == world.patient_b
    assert policy.emergency_candidate(world.clerk_a, national_id=number) is None
    assert policy.emergency_candidate(world.home_nurse_a, national_id=number[:10]) is None
    assert policy.emergency_candidate(world.home_nurse_a, patient_id="not-a-uuid") is None
    assert policy.emergency_candidate(world.home_nurse_a) is None
    world.home_nurse_a.is_active = False
    assert policy.emergency_candidate(world.home_nurse_a, national_id=number) is None
    assert not EmergencyAccessGrant.objects.exists()
