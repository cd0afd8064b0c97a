"""The operator queue: an operator (coordinator, administrative staff) of the owning
organisation inspects a message (raw content, summary, problems with element paths,
every attempt, the acknowledgement), corrects a failed one and sends it as a new
message; inspects a rejected received message. Everyone else gets 404."""

from __future__ import annotations

import html
import json
from typing import Any

import pytest
from django.test import Client

from samhand.audit.services import Actor
from samhand.messaging import bundle as fhirmsg
from samhand.messaging.models import (
    CareMessage,
    OutboundAttempt,
    OutboundMessage,
    Partner,
    Transmission,
)
from samhand.messaging.outbox import Answer, send_due
from samhand.messaging.receive import receive
from samhand.messaging.tests.test_outbox import ack, scripted
from samhand.messaging.threads import send_care_communication


@pytest.fixture
def parties(world: Any) -> tuple[Partner, Partner]:
    fjordby = Partner.objects.create(name="Fjordby hjemmesykepleie", organisation=world.hn_a,
                                     her_id="2001", is_local=True)
    hospital = Partner.objects.create(name="Fjordby sykehus", organisation=world.pulm,
                                      her_id="1002", endpoint_url="https://sykehus.test/fhir")
    return fjordby, hospital


def _failed(world: Any, parties: tuple[Partner, Partner]) -> OutboundMessage:
    fjordby, hospital = parties
    send_care_communication(
        patient=world.patient_a, sender=fjordby, receiver=hospital,
        actor=Actor(user=world.home_nurse_a), author_name="Hanne Hjem",
        author_phone="400 00 001", text="Sårstell i dag", category="nursing", topic="Sår")
    send_due(transport=scripted(Answer(0, error="connection refused"),
                                ack("fatal-error", "MSG_Datatype_Wrong")),
             now=None)
    OutboundMessage.objects.update(next_attempt_at=OutboundMessage.objects.get().created_at)
    send_due(transport=scripted(ack("fatal-error", "MSG_Datatype_Wrong")))
    out = OutboundMessage.objects.get()
    assert out.status == "failed"
    return out


def test_only_operators_of_the_owning_organisation_see_the_queue(world, parties):
    out = _failed(world, parties)
    for user in (world.home_nurse_a, world.home_nurse_b, world.ltmv_nurse, world.nobody):
        client = world.login(Client(), user)
        assert client.get("/messages/operator/").status_code == 404, user
        assert client.get(f"/messages/operator/{out.pk}/").status_code == 404, user
        assert client.post(f"/messages/operator/{out.pk}/resend/").status_code == 404, user
    # Staff status alone is not enough.
    world.home_nurse_a.is_staff = True
    world.home_nurse_a.save()
    assert world.login(Client(), world.home_nurse_a).get("/messages/operator/"
                                                         ).status_code == 404
    page = world.login(Client(), world.coordinator_a).get("/messages/operator/")
    assert page.status_code == 200
    body = html.unescape(page.content.decode())
    assert out.header_id in body and "Aasen" not in body  # ids, never names


def test_the_inspect_page_shows_content_problems_attempts_and_the_acknowledgement(
        world, parties, audit):
    out = _failed(world, parties)
    watch = audit()
    response = world.login(Client(), world.coordinator_a).get(f"/messages/operator/{out.pk}/")
    assert response.status_code == 200
    body = html.unescape(response.content.decode())
    assert '"resourceType": "Bundle"' in body  # pretty-printed JSON
    assert "Sårstell i dag" in body
    assert "MSG_Datatype_Wrong" in body and "fatal-error" in body
    attempts = list(OutboundAttempt.objects.filter(message=out))
    assert len(attempts) == 2 and attempts[0].http_status == 0
    assert attempts[1].ack_code == "fatal-error"
    for attempt in attempts:
        assert attempt.bundle_id in body
    assert attempts[0].bundle_id != attempts[1].bundle_id  # a new Bundle.id per try
    rows = watch.rows(code="samhand.message.inspected")
    assert len(rows) == 1 and rows[0].patient_id == world.patient_a.pk


def test_a_correction_is_checked_and_refused_naming_the_element(world, parties, audit):
    out = _failed(world, parties)
    client = world.login(Client(), world.coordinator_a)
    url = f"/messages/operator/{out.pk}/correct/"
    form = client.get(url)
    assert form.status_code == 200 and "Sårstell i dag" in form.content.decode()
    broken = json.loads(json.dumps(out.content))
    comm = next(e["resource"] for e in broken["entry"]
                if e["resource"]["resourceType"] == "Communication")
    comm["category"][0]["coding"][0]["code"] = "other"  # other needs a topic...
    comm.pop("topic", None)
    watch = audit()
    response = client.post(url, {"content": json.dumps(broken)})
    assert response.status_code == 422
    body = html.unescape(response.content.decode())
    assert "Meldingen ble ikke sendt" in body  # the refusal, in Norwegian
    assert "topic" in body  # ...and the element it names
    assert OutboundMessage.objects.count() == 1
    assert not watch.rows(code="samhand.message.corrected")
    response = client.post(url, {"content": "{ not json"})
    assert response.status_code == 422 and "JSON" in response.content.decode()
    other = json.loads(json.dumps(out.content))
    other["entry"][0]["resource"]["eventCoding"]["code"] = "hospital-notification-message"
    response = client.post(url, {"content": json.dumps(other)})
    assert response.status_code == 422 and "eventCoding" in response.content.decode()
    assert OutboundMessage.objects.count() == 1


def test_a_corrected_message_goes_as_a_new_message_linked_to_the_original(
        world, parties, audit):
    out = _failed(world, parties)
    client = world.login(Client(), world.coordinator_a)
    fixed = json.loads(json.dumps(out.content))
    comm = next(e["resource"] for e in fixed["entry"]
                if e["resource"]["resourceType"] == "Communication")
    comm["payload"][-1]["contentString"] = "Sårstell i dag kl. 14."
    watch = audit()
    response = client.post(f"/messages/operator/{out.pk}/correct/",
                           {"content": json.dumps(fixed)})
    assert response.status_code == 302
    out.refresh_from_db()
    new = out.replaced_by
    assert out.status == "superseded" and new is not None and new.status == "pending"
    assert response["Location"] == f"/messages/operator/{new.pk}/"
    assert new.header_id != out.header_id and new.bundle_id != out.bundle_id
    message = fhirmsg.Message(new.content)
    assert message.header_id == new.header_id and fhirmsg.check(message) == []
    assert "Sårstell i dag kl. 14." in json.dumps(new.content, ensure_ascii=False)
    entry = CareMessage.objects.get()
    assert entry.outbound == new  # the thread follows the new one: its id and text
    assert entry.header_id == new.header_id
    assert [seg["text"] for seg in entry.segments if seg["kind"] == "text"][-1] == \
        "Sårstell i dag kl. 14."
    rows = watch.rows(code="samhand.message.corrected")
    assert len(rows) == 1 and rows[0].object_ids == [out.header_id, new.header_id]
    # The original cannot be corrected twice.
    assert client.get(f"/messages/operator/{out.pk}/correct/").status_code == 404
    page = client.get(f"/messages/operator/{new.pk}/").content.decode()
    assert out.header_id in page  # "replaces"
    # The patient's message page lists the new message as on its way, not the old one.
    listed = world.login(Client(), world.home_nurse_a).get(
        f"/patients/{world.patient_a.pk}/messages/").context["outbox"]
    assert [m.pk for m in listed] == [new.pk]


def test_a_resend_unchanged_is_a_new_message_too(world, parties, audit):
    out = _failed(world, parties)
    watch = audit()
    response = world.login(Client(), world.coordinator_a).post(
        f"/messages/operator/{out.pk}/resend/")
    assert response.status_code == 302
    out.refresh_from_db()
    assert out.status == "superseded" and out.replaced_by.status == "pending"
    assert watch.rows(code="samhand.message.resent")
    entry = CareMessage.objects.get()
    assert (entry.outbound, entry.header_id) == (out.replaced_by, out.replaced_by.header_id)
    assert "Sårstell i dag" in json.dumps(entry.segments, ensure_ascii=False)


def test_a_rejected_received_message_is_inspected_by_the_receivers_operator(
        world, parties, audit):
    fjordby, hospital = parties
    # The hospital sends Fjordby a message its check refuses (other without a topic).
    care = send_care_communication(
        patient=world.patient_a, sender=hospital, receiver=fjordby,
        actor=Actor(user=world.ltmv_nurse), author_name="Lise Lunde",
        author_phone="77 00 10 00", text="Hei", category="other", topic="x")
    content = json.loads(json.dumps(care.outbound.content))
    for entry in content["entry"]:
        entry["resource"].pop("topic", None)
    reply = receive(fhirmsg.dumps(content))
    assert reply.ack_code == "fatal-error"
    t = Transmission.objects.get(outcome="rejected")
    receive(b"{ not a message")
    unreadable = Transmission.objects.get(outcome="unreadable")
    client = world.login(Client(), world.coordinator_a)
    queue = client.get("/messages/operator/").content.decode()
    assert f"/messages/operator/received/{t.pk}/" in queue
    assert f"/messages/operator/received/{unreadable.pk}/" not in queue  # no owner
    watch = audit()
    page = client.get(f"/messages/operator/received/{t.pk}/")
    assert page.status_code == 200
    body = html.unescape(page.content.decode())
    assert "Bundle.entry" in body and "fatal-error" in body and "Hei" in body
    assert watch.rows(code="samhand.message.inspected")[0].patient_id == world.patient_a.pk
    assert client.get(f"/messages/operator/received/{unreadable.pk}/").status_code == 404
    # Nesvik's operator: not the receiving organisation.
    assert world.login(Client(), world.home_nurse_b).get(
        f"/messages/operator/received/{t.pk}/").status_code == 404
    # Installation staff with an operator role see what belongs to no organisation.
    world.coordinator_a.is_staff = True
    world.coordinator_a.save()
    staff = world.login(Client(), world.coordinator_a)
    page = staff.get(f"/messages/operator/received/{unreadable.pk}/")
    assert page.status_code == 200 and "{ not a message" in html.unescape(
        page.content.decode())
