"""Admin: audit rows can be looked at, never added, changed or deleted."""

import pytest
from django.urls import reverse

from samhand.accounts.models import User
from samhand.audit.models import AuditEvent, ReviewItem
from samhand.audit.services import Actor, record
from samhand.conftest import PASSWORD


@pytest.fixture
def admin_client(world, client):
    admin = User.objects.create_superuser("root", "root@example.org", PASSWORD)
    return world.login(client, admin)


@pytest.fixture
def event(world):
    return record(Actor(user=world.home_nurse_a), "samhand.patient.read",
                  AuditEvent.Action.READ, patient_id=world.patient_a.pk)


def test_superuser_sees_the_log_but_cannot_add_change_or_delete(admin_client, event):
    assert admin_client.get(reverse("admin:audit_auditevent_changelist")).status_code == 200
    change_url = reverse("admin:audit_auditevent_change", args=[event.pk])
    page = admin_client.get(change_url)
    assert page.status_code == 200
    assert b'name="_save"' not in page.content
    assert admin_client.post(change_url, {"user_name": "x"}).status_code == 403
    assert admin_client.get(reverse("admin:audit_auditevent_add")).status_code == 403
    delete_url = reverse("admin:audit_auditevent_delete", args=[event.pk])
    assert admin_client.post(delete_url, {"post": "yes"}).status_code == 403
    assert AuditEvent.objects.get(pk=event.pk).user_name == "Hanne Hjem"


def test_a_review_item_can_be_decided_in_the_admin_and_the_decision_is_audited(
        admin_client, world):
    from samhand.access import policy

    from .conftest import request_as

    policy.start_emergency_access(request_as(world.home_nurse_b), world.patient_a,
                                  reason_code="acute", reason_text="Pasienten trenger hjelp")
    item = ReviewItem.objects.get()
    url = reverse("admin:audit_reviewitem_change", args=[item.pk])
    response = admin_client.post(url, {"status": "flagged", "note": "Følges opp"})
    assert response.status_code == 302
    item.refresh_from_db()
    assert (item.status, item.note) == ("flagged", "Følges opp")
    assert AuditEvent.objects.filter(code="samhand.review.resolved").count() == 1
    # A decided item is read-only.
    assert admin_client.post(url, {"status": "accepted"}).status_code == 403
    assert admin_client.get(reverse("admin:audit_reviewitem_add")).status_code == 403
