"""Timeliness (issue 6 point 9): the report per organisation and message type (count,
median, slowest; weekdays and weekends apart) for operators, and the alert when an
admission notice is not acknowledged in time (the messaging-send worker's sweep)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from samhand.alerts.models import Alert
from samhand.audit.services import Actor
from samhand.messaging.codes import Event
from samhand.messaging.models import OutboundMessage, Partner
from samhand.messaging.outbox import overdue_admission_notices
from samhand.messaging.plo import send_plo

# A Wednesday and a Saturday noon, Oslo time.
WEDNESDAY = timezone.make_aware(dt.datetime(2026, 11, 18, 12, 0))
SATURDAY = timezone.make_aware(dt.datetime(2026, 11, 21, 12, 0))


@pytest.fixture
def parties(world: Any) -> dict[str, Partner]:
    return {
        "fjordby": Partner.objects.create(name="Fjordby hjemmesykepleie",
                                          organisation=world.hn_a, her_id="2001",
                                          is_local=True),
        "nesvik": Partner.objects.create(name="Nesvik hjemmesykepleie",
                                         organisation=world.hn_b, her_id="3001",
                                         is_local=True),
        "hospital": Partner.objects.create(name="Fjordby sykehus", organisation=world.pulm,
                                           her_id="1002"),
    }


def _delivered(sender: Partner, receiver: Partner, event: str, at: dt.datetime,
               minutes: float) -> OutboundMessage:
    n = OutboundMessage.objects.count()
    return OutboundMessage.objects.create(
        header_id=f"h{n}", bundle_id=f"b{n}", event=event, sender=sender, receiver=receiver,
        sending_organisation=sender.organisation, content={}, status="delivered",
        event_at=at, acked_at=at + dt.timedelta(minutes=minutes))


def test_the_report_shows_medians_and_the_slowest_weekends_apart(world, parties, audit):
    fjordby, hospital = parties["fjordby"], parties["hospital"]
    for minutes in (2, 4, 30):
        _delivered(fjordby, hospital, "plo-admission-report", WEDNESDAY, minutes)
    _delivered(fjordby, hospital, "plo-admission-report", SATURDAY, 90)
    _delivered(parties["nesvik"], hospital, "plo-deviation", WEDNESDAY, 1)
    watch = audit()
    page = world.login(Client(), world.coordinator_a).get("/messages/operator/timeliness/")
    assert page.status_code == 200
    body = page.content.decode()
    assert "Innleggelsesrapport" in body  # the message type, in Norwegian
    assert "Hjemmesykepleien Fjordby sentrum" in body
    assert "4 min 00 s" in body and "30 min 00 s" in body  # weekday median and slowest
    assert "1 t 30 min" in body  # the Saturday one, apart
    assert "Avviksmelding" not in body  # Nesvik's messages are Nesvik's
    assert watch.rows(code="samhand.message.search", query="timeliness report")
    queue = world.login(Client(), world.coordinator_a).get("/messages/operator/")
    assert "/messages/operator/timeliness/" in queue.content.decode()


def test_only_operators_see_the_report(world, parties):
    for user in (world.home_nurse_a, world.gp_a, world.nobody):
        assert world.login(Client(), user).get("/messages/operator/timeliness/"
                                               ).status_code == 404


def _admission_notice(world: Any, parties: dict[str, Partner]) -> OutboundMessage:
    send_plo(event=Event.PLO_ADMISSION_NOTICE, patient=world.patient_a,
             sender=parties["hospital"], receiver=parties["fjordby"],
             actor=Actor(user=world.ltmv_nurse), author_name="Lise Lunde",
             author_phone="77 00 10 00", text="Innlagt i natt.")
    return OutboundMessage.objects.get(event="plo-admission-notice")


def test_an_admission_notice_not_acknowledged_in_time_alerts_the_sender_once(world, parties):
    out = _admission_notice(world, parties)
    at = out.event_at
    assert overdue_admission_notices(at + dt.timedelta(minutes=14)) == 0
    assert not Alert.objects.filter(kind="message_not_delivered").exists()
    assert overdue_admission_notices(at + dt.timedelta(minutes=16)) == 1
    alert = Alert.objects.get(kind="message_not_delivered")
    assert alert.organisation == world.pulm and alert.patient == world.patient_a
    assert "15 minutter" in alert.text
    overdue_admission_notices(at + dt.timedelta(minutes=30))
    assert Alert.objects.filter(kind="message_not_delivered").count() == 1  # once
    OutboundMessage.objects.filter(pk=out.pk).update(status="delivered")
    assert overdue_admission_notices(at + dt.timedelta(hours=2)) == 0


def test_the_time_is_configurable(world, parties, settings):
    settings.SAMHAND_MESSAGE_ADMISSION_ACK_ALERT_SECONDS = 60
    out = _admission_notice(world, parties)
    assert overdue_admission_notices(out.event_at + dt.timedelta(minutes=2)) == 1


def test_other_messages_do_not_alert_for_slowness(world, parties):
    send_plo(event=Event.PLO_REQUEST, patient=world.patient_a, sender=parties["hospital"],
             receiver=parties["fjordby"], actor=Actor(user=world.ltmv_nurse),
             author_name="Lise Lunde", author_phone="77 00 10 00", text="Spørsmål")
    assert overdue_admission_notices(timezone.now() + dt.timedelta(hours=3)) == 0


def test_the_send_worker_sweeps_for_overdue_notices(world, parties):
    out = _admission_notice(world, parties)
    OutboundMessage.objects.filter(pk=out.pk).update(
        event_at=timezone.now() - dt.timedelta(minutes=20))
    call_command("messaging-send", "--once")  # the hospital's endpoint is not reachable
    assert Alert.objects.filter(kind="message_not_delivered", patient=world.patient_a).exists()
    assert OutboundMessage.objects.get(pk=out.pk).status == "pending"
