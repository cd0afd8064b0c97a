"""The outbox and the worker: delivered only on a positive acknowledgement, resends
with a new Bundle.id and the same MessageHeader.id, failures alert and are audited."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import transaction
from django.test import Client
from django.utils import timezone

from samhand.alerts.models import Alert
from samhand.api.models import ApiToken
from samhand.audit.services import Actor
from samhand.messaging import bundle as fhirmsg
from samhand.messaging.models import CareMessage, InboundMessage, OutboundMessage, Partner
from samhand.messaging.outbox import Answer, resend_as_new, send_due, timeliness
from samhand.messaging.tests.helpers import danish_patient
from samhand.messaging.threads import send_care_communication


@pytest.fixture
def pair(world):
    """Two addresses of this installation talking to each other over the test client."""
    muni = Partner.objects.create(name="Fjordby hjemmesykepleie", organisation=world.hn_a,
                                  sor_id="953741000016009", gln="5790001348120", is_local=True,
                                  endpoint_url="http://testserver/fhir/$process-message")
    hosp = Partner.objects.create(name="Fjordby sykehus", organisation=world.pulm,
                                  sor_id="265161000016000", gln="5790000209354", is_local=True,
                                  endpoint_url="http://testserver/fhir/$process-message")
    token, secret = ApiToken.issue(world.ltmv_nurse, days=1)
    hosp.inbound_token = token
    hosp.save()
    muni.outbound_token = secret
    muni.save()
    return hosp, muni


def _send(world, hosp, muni, text="Hei"):
    patient = danish_patient(world)
    return send_care_communication(
        patient=patient, sender=hosp, receiver=muni, actor=Actor(user=world.ltmv_nurse),
        author_name="Lise Lunde", author_phone="77 00 10 00", text=text, category="nursing",
        topic="Sårstell")


def client_transport(out, body):
    client = Client(HTTP_AUTHORIZATION=f"Bearer {out.receiver.outbound_token}")
    response = client.post("/fhir/$process-message", body, content_type="application/fhir+json")
    return Answer(response.status_code, response.content)


def scripted(*answers):
    calls = []

    def transport(out, body):
        calls.append(fhirmsg.Message(__import__("json").loads(body)))
        answer = answers[min(len(calls) - 1, len(answers) - 1)]
        return answer(out, calls[-1]) if callable(answer) else answer
    transport.calls = calls  # type: ignore[attr-defined]
    return transport


def ack(code, issue=""):
    def make(out, message):
        problems = [fhirmsg.Problem("Bundle", issue, "x")] if issue else []
        body = fhirmsg.build_ack(code=code, acked_header_id=message.header_id,
                                 acked_activity="new-message",
                                 original_sender=out.sender.party, us=out.receiver.party,
                                 problems=problems)
        return Answer(200, fhirmsg.dumps(body))
    return make


def test_the_outbox_row_exists_exactly_when_the_change_does(world, pair):
    hosp, muni = pair
    with transaction.atomic():
        _send(world, hosp, muni)
        transaction.set_rollback(True)
    assert not OutboundMessage.objects.exists() and not CareMessage.objects.exists()
    _send(world, hosp, muni)
    assert OutboundMessage.objects.get().status == "pending"


def test_a_message_is_delivered_over_http_and_received_once(world, pair, audit):
    hosp, muni = pair
    watch = audit()
    care = _send(world, hosp, muni)
    assert send_due(transport=client_transport) == {"delivered": 1}
    out = OutboundMessage.objects.get()
    assert out.status == "delivered" and out.ack_code == "ok" and out.acked_at
    inbound = InboundMessage.objects.get()
    assert inbound.header_id == care.header_id == out.header_id
    assert [r.code for r in watch.rows(code__startswith="samhand.message.")] == [
        "samhand.message.sent", "samhand.message.received", "samhand.message.delivered"]
    assert timeliness()[0]["count"] == 1


def test_a_fatal_error_fails_at_once_alerts_the_sender_and_is_never_resent(world, pair, audit):
    hosp, muni = pair
    _send(world, hosp, muni)
    watch = audit()
    transport = scripted(ack("fatal-error", "MSG_VALUESET_VALUE_UNKNOWN"))
    send_due(transport=transport)
    out = OutboundMessage.objects.get()
    assert out.status == "failed" and "MSG_VALUESET_VALUE_UNKNOWN" in out.last_error
    assert Alert.objects.get(kind="message_not_delivered").organisation == world.pulm
    assert watch.rows(code="samhand.message.not_delivered")
    later = timezone.now() + dt.timedelta(days=1)
    assert send_due(transport=transport, now=later) == {}
    assert len(transport.calls) == 1


def test_transient_errors_are_resent_twice_with_new_bundle_ids_then_fail(world, pair, settings):
    settings.SAMHAND_MESSAGE_RESEND_SECONDS = 1800
    hosp, muni = pair
    _send(world, hosp, muni)
    transport = scripted(ack("transient-error", "MSG_Mailbox_Out_Of_Operation"))
    start = timezone.now()
    send_due(transport=transport, now=start)
    assert send_due(transport=transport, now=start + dt.timedelta(minutes=29)) == {}
    for minutes in (31, 62):
        send_due(transport=transport, now=start + dt.timedelta(minutes=minutes))
    send_due(transport=transport, now=start + dt.timedelta(minutes=93))
    calls = transport.calls
    assert len(calls) == 3  # the first and two resends
    assert len({m.header_id for m in calls}) == 1
    assert len({m.bundle_id for m in calls}) == 3
    assert OutboundMessage.objects.get().status == "failed"


def test_silence_is_resent_after_the_resend_time(world, pair):
    hosp, muni = pair
    _send(world, hosp, muni)
    transport = scripted(Answer(202), ack("ok"))
    start = timezone.now()
    send_due(transport=transport, now=start)
    assert OutboundMessage.objects.get().status == "sent"
    send_due(transport=transport, now=start + dt.timedelta(minutes=31))
    out = OutboundMessage.objects.get()
    assert out.status == "delivered" and out.resends == 1


def test_an_unreachable_receiver_is_tried_again_soon(world, pair):
    hosp, muni = pair
    _send(world, hosp, muni)
    transport = scripted(Answer(0, error="connection refused"), ack("ok"))
    start = timezone.now()
    send_due(transport=transport, now=start)
    out = OutboundMessage.objects.get()
    assert out.status == "pending" and out.next_attempt_at < start + dt.timedelta(seconds=5)
    send_due(transport=transport, now=start + dt.timedelta(seconds=5))
    assert OutboundMessage.objects.get().status == "delivered"


def test_a_lost_answer_is_resent_and_the_receiver_answers_with_the_first_ack(world, pair):
    hosp, muni = pair
    _send(world, hosp, muni)

    def lost(out, message):  # delivered, but the answer never comes back
        client_transport(out, fhirmsg.dumps(message.bundle))
        return Answer(0, error="timeout")
    transport = scripted(lost, lambda out, m: client_transport(out, fhirmsg.dumps(m.bundle)))
    start = timezone.now()
    send_due(transport=transport, now=start)
    send_due(transport=transport, now=start + dt.timedelta(seconds=5))
    assert OutboundMessage.objects.get().status == "delivered"
    assert InboundMessage.objects.count() == 1
    assert CareMessage.objects.filter(direction="in").count() == 1


def test_the_operator_sends_a_failed_message_again_as_a_new_message(world, pair, audit):
    hosp, muni = pair
    _send(world, hosp, muni)
    send_due(transport=scripted(ack("fatal-error", "MSG_Datatype_Wrong")))
    failed = OutboundMessage.objects.get()
    watch = audit()
    new = resend_as_new(failed, Actor(user=world.coordinator_a))
    assert new.header_id != failed.header_id and new.bundle_id != failed.bundle_id
    assert fhirmsg.check(fhirmsg.Message(new.content)) == []
    failed.refresh_from_db()
    assert failed.status == "superseded" and failed.replaced_by == new
    assert watch.rows(code="samhand.message.resent")


def test_a_reply_repeats_earlier_text_and_only_the_ids_of_earlier_attachments(world, pair):
    hosp, muni = pair
    patient = danish_patient(world)
    first = send_care_communication(
        patient=patient, sender=hosp, receiver=muni, actor=Actor(user=world.ltmv_nurse),
        author_name="Lise Lunde", author_phone="77 00 10 00", text="Se vedlegg",
        category="nursing", topic="Sårstell",
        attachments=[{"title": "Plan", "content_type": "application/pdf", "data": "JVBERi0="}])
    second = send_care_communication(
        patient=patient, sender=muni, receiver=hosp, actor=Actor(user=world.home_nurse_a),
        author_name="Hanne Hjem", author_phone="400 00 001", text="Takk", category="nursing",
        topic="Sårstell", thread=first.thread, activity="reply-message")
    out = OutboundMessage.objects.get(header_id=second.header_id)
    message = fhirmsg.Message(out.content)
    assert fhirmsg.check(message) == []
    payload = message.focus()["payload"]
    assert [p.get("contentString") for p in payload] == ["Se vedlegg", None, "Takk"]
    assert "data" not in payload[1]["contentAttachment"]
    comm_id = message.focus()["identifier"][0]["value"]
    assert comm_id == first.thread.thread_key
    prov = message.current_provenance()
    assert prov["entity"][0] == {"role": "revision",
                                 "what": {"reference": f"MessageHeader/{first.header_id}"}}


@pytest.fixture
def breaking_receiver():
    """A real HTTP endpoint that reads the request and answers 200 with a Content-Length,
    then closes the connection before the body: a receiver killed while answering."""
    import socket
    import threading

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    seen = []

    def serve():
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            with conn:
                data = b""
                while b"\r\n\r\n" not in data:
                    data += conn.recv(65536)
                head, _, body = data.partition(b"\r\n\r\n")
                length = int(next(line.split(b":")[1] for line in head.split(b"\r\n")
                                  if line.lower().startswith(b"content-length")))
                while len(body) < length:
                    body += conn.recv(65536)
                seen.append(body)
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/fhir+json\r\n"
                             b"Content-Length: 3310\r\n\r\n")
    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}/fhir/$process-message", seen
    server.close()


def test_an_answer_that_breaks_off_is_not_reached_and_the_message_is_sent_again(
        world, pair, breaking_receiver):
    from samhand.messaging.outbox import http_transport

    hosp, muni = pair
    url, seen = breaking_receiver
    muni.endpoint_url = url
    muni.save()
    care = _send(world, hosp, muni)
    start = timezone.now()
    assert send_due(transport=http_transport, now=start) == {"pending": 1}
    out = OutboundMessage.objects.get()
    assert len(seen) == 1 and out.status == "pending" and "broke off" in out.last_error
    assert out.next_attempt_at <= start + dt.timedelta(seconds=5)
    send_due(transport=client_transport, now=start + dt.timedelta(seconds=5))
    out = OutboundMessage.objects.get()
    assert out.status == "delivered" and out.header_id == care.header_id
    assert out.attempts == 2


def test_a_fault_in_sending_one_message_does_not_stop_the_round(world, pair):
    hosp, muni = pair
    patient = danish_patient(world)

    def send(text):
        return send_care_communication(
            patient=patient, sender=hosp, receiver=muni, actor=Actor(user=world.ltmv_nurse),
            author_name="Lise Lunde", author_phone="77 00 10 00", text=text,
            category="nursing", topic="Sårstell")
    first, second = send("Første"), send("Andre")

    def transport(out, body):
        if out.header_id == first.header_id:
            raise RuntimeError("a fault in the transport")
        return client_transport(out, body)
    assert send_due(transport=transport) == {"pending": 1, "delivered": 1}
    by_header = {o.header_id: o for o in OutboundMessage.objects.all()}
    assert by_header[second.header_id].status == "delivered"
    assert by_header[first.header_id].status == "pending"
    assert "RuntimeError" in by_header[first.header_id].last_error
