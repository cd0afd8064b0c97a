"""In headless Chromium: a home nurse sees the admission alert for her patient and the
stay on the message page; a coordinator answers a thread (htmx). axe-clean."""

from __future__ import annotations

import json
import os
from pathlib import Path
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


def _shot(page: Page, name: str) -> None:
    """A full-page screenshot into $SAMHAND_SCREENSHOTS, when set (to look at the pages)."""
    folder = os.environ.get("SAMHAND_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


def test_an_operator_inspects_and_corrects_a_message_and_reads_the_report(
        page: Page, login_as: Any, world: Any, check_axe: Any) -> None:
    _hosp, hn, _ke = _parties(world)
    other = Partner.objects.create(name="Fjordby sykehus mottak", organisation=world.pulm,
                                   her_id="1009", endpoint_url="https://sykehus.test/fhir")
    send_plo(event=Event.PLO_ADMISSION_REPORT, patient=world.patient_a, sender=hn,
             receiver=other, actor=Actor(user=world.home_nurse_a), author_name="Hanne Hjem",
             author_phone="400 00 001", text="Innleggelsesrapport: hjemmesykepleie 3 ganger "
             "daglig.")

    def refused(out: Any, body: bytes) -> Answer:
        message = fhirmsg.Message(json.loads(body))
        ack = fhirmsg.build_ack(
            code="fatal-error", acked_header_id=message.header_id,
            acked_activity="new-message", original_sender=out.sender.party,
            us=out.receiver.party, problems=[fhirmsg.Problem(
                "Bundle.entry[3].resource.payload[0]", "MSG_Datatype_Wrong", "Wrong text.")])
        return Answer(200, fhirmsg.dumps(ack))

    send_due(transport=refused)
    out = OutboundMessage.objects.get(status="failed")
    login_as(world.coordinator_a)
    page.goto("/messages/operator/")
    check_axe(page)
    _shot(page, "operator-queue")
    page.get_by_role("link", name="Innleggelsesrapport").first.click()
    expect(page.get_by_role("heading", name="Sendt melding")).to_be_visible()
    expect(page.get_by_text("MSG_Datatype_Wrong").first).to_be_visible()
    check_axe(page)
    _shot(page, "operator-inspect")
    page.get_by_role("link", name="Rett og send som ny melding").click()
    editor = page.get_by_label("Meldingen (FHIR JSON)")
    content = json.loads(editor.input_value())
    content["entry"][0]["resource"]["eventCoding"]["code"] = "plo-deviation"
    editor.fill(json.dumps(content, indent=2))
    page.get_by_role("button", name="Kontroller og send som ny melding").click()
    expect(page.get_by_text("Meldingen ble ikke sendt").first).to_be_visible()
    check_axe(page)
    _shot(page, "operator-correct-refused")
    content["entry"][0]["resource"]["eventCoding"]["code"] = out.event
    editor.fill(json.dumps(content, indent=2))
    page.get_by_role("button", name="Kontroller og send som ny melding").click()
    expect(page.get_by_text("Den rettede meldingen er lagt i køen").first).to_be_visible()
    out.refresh_from_db()
    assert out.status == "superseded" and out.replaced_by is not None
    import datetime as dt

    from django.utils import timezone

    for days, minutes in ((3, 4), (4, 75), (6, 12)):  # weekdays and weekends
        at = timezone.now() - dt.timedelta(days=days)
        OutboundMessage.objects.create(
            header_id=f"t{days}", bundle_id=f"t{days}", event="plo-admission-notice",
            sender=hn, receiver=other, sending_organisation=world.hn_a, content={},
            status="delivered", event_at=at, acked_at=at + dt.timedelta(minutes=minutes))
    page.goto("/messages/operator/timeliness/")
    expect(page.get_by_role("heading", name="Svartider for meldinger")).to_be_visible()
    check_axe(page)
    _shot(page, "operator-timeliness")
    # A message Fjordby received and refused (category "other" without a topic).
    from samhand.messaging.receive import receive
    from samhand.messaging.threads import build_care_communication

    bundle, _segments = build_care_communication(
        patient=world.patient_a, sender=other, receiver=hn, author_name="Lise Lunde",
        author_phone="77 00 10 00", text="Hei", category="other", topic="x")
    for entry in bundle["entry"]:
        entry["resource"].pop("topic", None)
    assert receive(fhirmsg.dumps(bundle)).ack_code == "fatal-error"
    page.goto("/messages/operator/")
    page.get_by_role("region", name="Mottatt, ikke behandlet").get_by_role("link").first.click()
    expect(page.get_by_role("heading", name="Mottatt melding")).to_be_visible()
    check_axe(page)
    _shot(page, "operator-received")


def test_a_nurse_forwards_a_thread(page: Page, login_as: Any, world: Any,
                                   check_axe: Any) -> None:
    hosp, hn, _ke = _parties(world)
    Partner.objects.create(name="Fjordby legesenter", organisation=world.gp_office,
                           her_id="2003")
    care = send_plo(event=Event.PLO_REQUEST, patient=world.patient_a, sender=hosp,
                    receiver=hn, actor=Actor(user=world.ltmv_nurse), author_name="Lise Lunde",
                    author_phone="77 00 10 00", text="Kan fastlegen se på såret?")
    send_due(transport=_loopback)
    login_as(world.home_nurse_a)
    page.goto(f"/patients/{world.patient_a.pk}/messages/{care.thread.pk}/")
    page.get_by_role("link", name="Videresend").click()
    expect(page.get_by_text("Kan fastlegen se på såret?").first).to_be_visible()
    check_axe(page)
    _shot(page, "forward-form")
    page.get_by_label("Videresend til").select_option(label="Fjordby legesenter")
    page.get_by_label("Din merknad til mottakeren").fill("Til orientering.")
    page.get_by_label("Telefonnummer mottakeren kan ringe").fill("400 00 001")
    page.get_by_role("button", name="Videresend").click()
    expect(page.get_by_text("Meldingstråden er videresendt.")).to_be_visible()
    check_axe(page)
    assert OutboundMessage.objects.filter(receiver__her_id="2003").count() == 1
