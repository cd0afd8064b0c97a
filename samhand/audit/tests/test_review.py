"""Every emergency access lands on the review queue once; decisions are audited."""

import pytest

from samhand.access import policy
from samhand.audit.models import AuditEvent, ReviewItem
from samhand.audit.services import queue_for_review, verify_chain

from .conftest import request_as

REASON_TEXT = "Pasienten ringte, trenger hjelp nå"


@pytest.fixture
def emergency(world):
    return policy.start_emergency_access(request_as(world.home_nurse_b), world.patient_a,
                                         reason_code="acute", reason_text=REASON_TEXT)


def test_emergency_access_is_queued_for_review(world, emergency):
    item = ReviewItem.objects.get()
    event = AuditEvent.objects.get(code="samhand.emergency.started")
    assert item.audit_event == event
    assert item.kind == ReviewItem.Kind.EMERGENCY_ACCESS
    assert item.status == ReviewItem.Status.OPEN
    assert item.patient_id == world.patient_a.pk
    assert item.organisation_id == world.hn_b.pk


def test_queueing_the_same_event_twice_keeps_one_item(world, emergency):
    event = AuditEvent.objects.get(code="samhand.emergency.started")
    assert queue_for_review(event, "emergency_access") == ReviewItem.objects.get()


def test_a_decision_is_recorded_once_and_audited(world, emergency):
    item = ReviewItem.objects.get()
    item.resolve(by=world.coordinator_a, status=ReviewItem.Status.ACCEPTED,
                 note="Vurdert, i orden")
    item.refresh_from_db()
    assert item.status == ReviewItem.Status.ACCEPTED
    assert item.reviewed_by == world.coordinator_a
    assert item.reviewed_at is not None
    event = AuditEvent.objects.get(code="samhand.review.resolved")
    assert event.user_id == world.coordinator_a.pk
    assert event.object_ids == [str(item.pk)]
    assert event.reason_code == "accepted"
    with pytest.raises(ValueError, match="already been reviewed"):
        item.resolve(by=world.coordinator_a, status=ReviewItem.Status.FLAGGED)
    assert AuditEvent.objects.filter(code="samhand.review.resolved").count() == 1
    assert verify_chain().ok


def test_open_is_not_a_decision(world, emergency):
    with pytest.raises(ValueError):
        ReviewItem.objects.get().resolve(by=world.coordinator_a, status="open")
    assert not AuditEvent.objects.filter(code="samhand.review.resolved").exists()
