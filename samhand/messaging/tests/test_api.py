"""GET /api/v1/patients/{id}/messages and /hospital-stays, through the access layer."""

from __future__ import annotations

from django.test import Client

from samhand.api.models import ApiToken
from samhand.messaging.models import CareMessage, CareThread, HospitalStay, Partner


def _thread(world):
    hosp = Partner.objects.create(name="Sykehus", organisation=world.pulm, her_id="1002")
    hn = Partner.objects.create(name="HN", organisation=world.hn_a, her_id="2001",
                                is_local=True)
    thread = CareThread.objects.create(thread_key="urn:uuid:t1", patient=world.patient_a,
                                       category="nursing", topic="Sårstell", counterpart=hosp,
                                       local=hn)
    CareMessage.objects.create(thread=thread, header_id="h1", direction="in",
                               activity="new-message", from_name="Sykehus", segments=[
                                   {"id": "s1", "kind": "text", "text": "Hei", "new": True,
                                    "data": "never shown"}])
    return thread


def _client(user):
    _token, secret = ApiToken.issue(user, days=1)
    return Client(HTTP_AUTHORIZATION=f"Bearer {secret}")


def test_the_care_team_reads_the_threads_and_the_read_is_audited(world, audit):
    thread = _thread(world)
    watch = audit()
    response = _client(world.home_nurse_a).get(f"/api/v1/patients/{world.patient_a.pk}/messages")
    assert response.status_code == 200
    body = response.json()
    assert body[0]["id"] == str(thread.pk)
    assert body[0]["messages"][0]["segments"][0]["text"] == "Hei"
    assert "never shown" not in response.content.decode()
    assert watch.rows(code="samhand.message.read")[0].patient_id == world.patient_a.pk


def test_an_outsider_gets_404(world):
    _thread(world)
    response = _client(world.home_nurse_b).get(f"/api/v1/patients/{world.patient_a.pk}/messages")
    assert response.status_code == 404


def test_stays_are_listed(world):
    from django.utils import timezone

    HospitalStay.objects.create(patient=world.patient_a, state="admitted",
                                state_at=timezone.now(), last_code="STIN",
                                hospital_name="Fjordby")
    response = _client(world.ltmv_nurse).get(
        f"/api/v1/patients/{world.patient_a.pk}/hospital-stays")
    assert response.status_code == 200 and response.json()[0]["last_code"] == "STIN"


def _log(world):
    from samhand.audit.services import Actor
    from samhand.messaging.models import InboundMessage, OutboundMessage
    from samhand.messaging.threads import send_care_communication

    hosp = Partner.objects.create(name="Sykehus", organisation=world.pulm, her_id="1002")
    hn = Partner.objects.create(name="HN", organisation=world.hn_a, her_id="2001",
                                is_local=True)
    care = send_care_communication(
        patient=world.patient_a, sender=hn, receiver=hosp, actor=Actor(user=world.home_nurse_a),
        author_name="Hanne Hjem", author_phone="400 00 001", text="Hei", category="nursing")
    OutboundMessage.objects.filter(pk=care.outbound.pk).update(status="failed")
    inbound = InboundMessage.objects.create(
        header_id="in-1", bundle_id="b-1", event="plo-admission-notice", sender=hosp,
        receiver=hn, patient=world.patient_a, status="accepted", content={}, ack_code="ok",
        ack={}, received_at="2026-01-05T10:00:00Z")
    InboundMessage.objects.create(
        header_id="hidden", bundle_id="b-2", event="hospital-notification-message",
        sender=hosp, receiver=hn, patient=world.patient_a, hidden=True, status="accepted",
        content={}, ack_code="ok", ack={})
    return care.outbound, inbound


def test_the_message_log_is_searched_by_status_direction_and_time(world, audit):
    out, inbound = _log(world)
    client = _client(world.home_nurse_a)
    url = f"/api/v1/patients/{world.patient_a.pk}/message-log"
    watch = audit()
    body = client.get(url).json()
    assert [e["id"] for e in body] == [str(out.pk), str(inbound.pk)]  # no hidden message
    assert watch.rows(code="samhand.message.read")[0].object_type == "MessageHeader"
    assert [e["id"] for e in client.get(url, {"status": "failed"}).json()] == [str(out.pk)]
    assert [e["id"] for e in client.get(url, {"direction": "in"}).json()] == [str(inbound.pk)]
    assert [e["id"] for e in client.get(url, {"until": "2026-02-01T00:00:00Z"}).json()] == [
        str(inbound.pk)]
    assert [e["id"] for e in client.get(url, {"since": "2026-02-01T00:00:00Z"}).json()] == [
        str(out.pk)]
    assert client.get(url, {"direction": "sideways"}).status_code in (400, 422)
    assert _client(world.home_nurse_b).get(url).status_code == 404


def test_threads_are_filtered_by_time(world):
    thread = _thread(world)
    client = _client(world.home_nurse_a)
    url = f"/api/v1/patients/{world.patient_a.pk}/messages"
    assert [t["id"] for t in client.get(url, {"until": "2000-01-01T00:00:00Z"}).json()] == []
    assert [t["id"] for t in client.get(url, {"since": "2000-01-01T00:00:00Z"}).json()] == [
        str(thread.pk)]
