"""In headless Chromium: a home nurse sees the admission alert for her patient and the
stay on the message page; a coordinator answers a thread (htmx). axe-clean."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, expect

from samhand.audit.services import Actor
from samhand.messaging import bundle as fhirmsg
from samhand.messaging.codes import Event
from samhand.messaging.models import OutboundMessage, Partner
from samhand.messaging.outbox import Answer, send_due
from samhand.messaging.plo import send_plo

pytestmark = pytest.mark.browser


def _loopback(out: Any, body: bytes) -> Answer:
    from samhand.messaging.receive import receive

    reply = receive(body)
    return Answer(reply.status, fhirmsg.dumps(reply.body))


def _parties(world: Any) -> tuple[Partner, Partner, Partner]:
    hosp = Partner.objects.create(name="Fjordby sykehus PLO", organisation=world.pulm,
                                  her_id="1002", is_local=True, service="hospital")
    hn = Partner.objects.create(name="Fjordby sykepleietjeneste", organisation=world.hn_a,
                                her_id="2001", is_local=True, service="home_nursing")
    ke = Partner.objects.create(name="Fjordby koordinerende enhet", organisation=world.ke_a,
                                her_id="2002", is_local=True, service="coordinating_unit")
    return hosp, hn, ke


def test_a_home_nurse_sees_the_admission_alert_for_her_patient(
        page: Page, login_as: Any, world: Any, check_axe: Any) -> None:
    hosp, hn, _ke = _parties(world)
    send_plo(event=Event.PLO_ADMISSION_NOTICE, patient=world.patient_a, sender=hosp,
             receiver=hn, actor=Actor(user=world.ltmv_nurse), author_name="Lise Lunde",
             author_phone="77 00 10 00", text="Innlagt i natt etter forverring.")
    send_due(transport=_loopback)
    login_as(world.home_nurse_a)
    page.goto("/observations/alerts/")
    expect(page.get_by_text("Aasen").first).to_be_visible()
    expect(page.get_by_text("Innlagt på", exact=False).first).to_be_visible()
    check_axe(page)
    page.goto(f"/patients/{world.patient_a.pk}/messages/")
    expect(page.locator("#stays-title")).to_be_visible()
    expect(page.locator("#threads a.list__title")).to_have_count(1)
    check_axe(page)


def test_a_coordinator_answers_a_thread(page: Page, login_as: Any, world: Any,
                                        check_axe: Any) -> None:
    hosp, _hn, ke = _parties(world)
    care = send_plo(event=Event.PLO_REQUEST, patient=world.patient_a, sender=hosp, receiver=ke,
                    actor=Actor(user=world.ltmv_nurse), author_name="Lise Lunde",
                    author_phone="77 00 10 00", text="Kan dere ta imot pasienten fredag?")
    send_due(transport=_loopback)
    login_as(world.coordinator_a)
    page.goto(f"/patients/{world.patient_a.pk}/messages/{care.thread.pk}/")
    expect(page.get_by_text("Kan dere ta imot pasienten fredag?").first).to_be_visible()
    check_axe(page)
    page.fill("textarea[name=text]", "Ja, fra fredag kl. 12.")
    page.fill("input[name=phone]", "400 00 002")
    page.locator("#thread-body button[type=submit]").click()
    expect(page.get_by_text("Ja, fra fredag kl. 12.").first).to_be_visible()
    check_axe(page)
    assert OutboundMessage.objects.filter(sender=ke).count() == 1
