"""The operator queue: staff see failed messages and send one again as a new message."""

from __future__ import annotations

from django.test import Client

from samhand.messaging.models import OutboundMessage
from samhand.messaging.outbox import send_due
from samhand.messaging.tests.test_outbox import _send, ack, pair, scripted  # noqa: F401


def test_staff_resend_a_failed_message_and_others_get_404(world, pair, audit):  # noqa: F811
    hosp, muni = pair
    _send(world, hosp, muni)
    send_due(transport=scripted(ack("fatal-error", "MSG_Datatype_Wrong")))
    failed = OutboundMessage.objects.get()
    nurse = world.login(Client(), world.home_nurse_a)
    assert nurse.get("/messages/operator/").status_code == 404
    assert nurse.post(f"/messages/operator/{failed.pk}/resend/").status_code == 404
    world.home_nurse_a.is_staff = True
    world.home_nurse_a.save()
    page = nurse.get("/messages/operator/")
    assert page.status_code == 200 and failed.header_id in page.content.decode()
    watch = audit()
    response = nurse.post(f"/messages/operator/{failed.pk}/resend/")
    assert response.status_code == 302
    failed.refresh_from_db()
    assert failed.status == "cancelled" and failed.replaced_by.status == "pending"
    assert watch.rows(code="samhand.message.resent")
