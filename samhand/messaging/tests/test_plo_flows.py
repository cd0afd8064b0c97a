"""Norwegian PLO flows on the MedCom model: built and parsed by the same code, routed to
the service address the flow requires, with their effects on the discharge-ready count."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from samhand.alerts.models import Alert
from samhand.audit.services import Actor
from samhand.messaging import bundle as fhirmsg
from samhand.messaging.codes import PLO_EVENTS, Activity, Event
from samhand.messaging.models import (
    CareThread,
    DischargeReadiness,
    HospitalStay,
    OutboundMessage,
    Partner,
)
from samhand.messaging.outbox import Answer, send_due
from samhand.messaging.plo import SERVICE_FOR_EVENT, admission_report_text, route, send_plo


@pytest.fixture
def parties(world):
    hosp = Partner.objects.create(name="Fjordby sykehus PLO", organisation=world.pulm,
                                  her_id="1002", is_local=True, service="hospital")
    hn = Partner.objects.create(name="Fjordby sykepleietjeneste", organisation=world.hn_a,
                                her_id="2001", is_local=True, service="home_nursing")
    ke = Partner.objects.create(name="Fjordby koordinerende enhet", organisation=world.ke_a,
                                her_id="2002", is_local=True, service="coordinating_unit")
    return hosp, hn, ke


def loopback(out, body):
    from samhand.messaging.receive import receive

    reply = receive(body)
    return Answer(reply.status, fhirmsg.dumps(reply.body))


def _send(world, event, sender, receiver, **kw):
    care = send_plo(event=event, patient=world.patient_a, sender=sender, receiver=receiver,
                    actor=Actor(user=world.ltmv_nurse), author_name="Lise Lunde",
                    author_phone="77 00 10 00", text=kw.pop("text", "Tekst"), **kw)
    send_due(transport=loopback)
    out = OutboundMessage.objects.get(header_id=care.header_id)
    assert out.status == "delivered", out.last_error
    return care, out


@pytest.mark.parametrize("event", sorted(PLO_EVENTS))
def test_every_plo_flow_is_a_valid_fhir_message_with_a_samhand_event_code(world, parties, event):
    hosp, hn, _ke = parties
    _care, out = _send(world, event, hosp, hn)
    message = fhirmsg.Message(out.content)
    assert message.event == event and fhirmsg.check(message) == []
    assert message.header["eventCoding"]["system"] == "urn:samhand:codesystem:message-event"


def test_the_discharge_ready_chain_counts_the_days_the_municipality_pays(world, parties):
    hosp, _hn, ke = parties
    ready = timezone.now() - dt.timedelta(days=3)
    _send(world, Event.PLO_DISCHARGE_READY, hosp, ke, ready_at=ready)
    # (Sender and receiver share this test database: both keep the chain.)
    readiness = DischargeReadiness.objects.filter(patient=world.patient_a).order_by(
        "-declared_at", "-pk").first()
    assert readiness.declared_at == ready.replace(microsecond=0)
    assert Alert.objects.filter(patient=world.patient_a, kind="discharge_ready").exists()
    thread = CareThread.objects.get(patient=world.patient_a)
    receive_from = timezone.localdate() + dt.timedelta(days=2)
    _send(world, Event.PLO_MUNICIPAL_DECISION, ke, hosp, can_receive=False,
          receive_from=receive_from, thread=thread, activity=Activity.REPLY)
    readiness = DischargeReadiness.objects.filter(patient=world.patient_a,
                                                  answered_at__isnull=False).first()
    assert readiness.receive_from == receive_from and readiness.can_receive is False
    assert readiness.payable_days() == 3
    assert readiness.payable_days(until=timezone.localdate() + dt.timedelta(days=10)) == 5


def test_an_admission_notice_alerts_home_nursing_and_records_the_stay(world, parties):
    hosp, hn, _ke = parties
    _send(world, Event.PLO_ADMISSION_NOTICE, hosp, hn)
    assert HospitalStay.objects.get(patient=world.patient_a).state == "admitted"
    assert Alert.objects.get(patient=world.patient_a, kind="admission").organisation == \
        world.hn_a


def test_the_admission_report_is_prefilled_from_the_care_team(world):
    text = admission_report_text(world.patient_a)
    assert "Hjemmesykepleien Fjordby sentrum" in text and "400 00 001" in text


def test_flows_go_to_the_service_address_they_require_and_else_the_coordinating_unit(
        parties):
    _hosp, hn, ke = parties
    assert route([hn, ke], Event.PLO_ADMISSION_NOTICE) == hn
    assert route([hn, ke], Event.PLO_DISCHARGE_READY) == ke
    assert route([hn, ke], Event.PLO_HEALTH_INFO_APPLICATION) == ke  # no case handling
    assert set(SERVICE_FOR_EVENT) == set(PLO_EVENTS)


def test_a_coordinator_answers_a_thread_in_the_message_view(world, parties):
    hosp, _hn, ke = parties
    care, _out = _send(world, Event.PLO_REQUEST, hosp, ke, text="Kan dere ta imot fredag?")
    thread = care.thread
    client = world.login(Client(), world.coordinator_a)
    page = client.get(f"/patients/{world.patient_a.pk}/messages/")
    assert page.status_code == 200 and thread.topic in page.content.decode()
    response = client.post(f"/patients/{world.patient_a.pk}/messages/{thread.pk}/reply/",
                           {"text": "Ja, fra fredag.", "phone": "400 00 002"},
                           headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert "Ja, fra fredag." in response.content.decode()
    out = OutboundMessage.objects.filter(sender=ke).get()
    assert fhirmsg.Message(out.content).current_activity() == "reply-message"
