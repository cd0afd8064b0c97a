"""Forwarding a CareCommunication thread (MedCom §A.4): a new thread id and
MessageHeader.id, the earlier segments repeated with their ids, attachments with their
content, each marked with the organisation that wrote it."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from django.test import Client

from samhand.messaging import bundle as fhirmsg
from samhand.messaging import codes
from samhand.messaging.models import CareThread, OutboundMessage, Partner
from samhand.messaging.receive import receive
from samhand.messaging.threads import build_care_communication

PDF = base64.b64encode(b"%PDF-1.4 epikrise").decode()


@pytest.fixture
def thread(world: Any) -> CareThread:
    """A thread the hospital started with Fjordby home nursing: text and an attachment."""
    fjordby = Partner.objects.create(name="Fjordby hjemmesykepleie", organisation=world.hn_a,
                                     her_id="2001", is_local=True)
    hospital = Partner.objects.create(name="Fjordby sykehus", organisation=world.pulm,
                                      her_id="1002")
    Partner.objects.create(name="Fjordby legesenter", organisation=world.gp_office,
                           her_id="2003")
    bundle, _segments = build_care_communication(
        patient=world.patient_a, sender=hospital, receiver=fjordby, author_name="Lise Lunde",
        author_phone="77 00 10 00", text="Ny dosering av morfin fra i dag.",
        category="medication", topic="Smertelindring",
        attachments=[{"content_type": "application/pdf", "data": PDF, "title": "Epikrise"}])
    assert receive(fhirmsg.dumps(bundle)).ack_code == "ok"
    return CareThread.objects.get()


def _forward(world: Any, thread: CareThread, text: str = "Til orientering.") -> Any:
    gp = Partner.objects.get(her_id="2003")
    return world.login(Client(), world.home_nurse_a).post(
        f"/patients/{world.patient_a.pk}/messages/{thread.pk}/forward/",
        {"receiver": str(gp.pk), "text": text, "phone": "400 00 001"})


def test_the_forward_page_offers_the_address_book(world, thread):
    page = world.login(Client(), world.home_nurse_a).get(
        f"/patients/{world.patient_a.pk}/messages/{thread.pk}/forward/")
    assert page.status_code == 200
    body = page.content.decode()
    assert "Fjordby legesenter" in body and "Ny dosering av morfin" in body


def test_a_forward_gets_a_new_thread_id_and_repeats_the_earlier_segments(world, thread, audit):
    received = thread.messages.get()
    earlier = {s["kind"]: s for s in received.segments}
    watch = audit()
    response = _forward(world, thread)
    assert response.status_code == 302
    out = OutboundMessage.objects.get()
    message = fhirmsg.Message(out.content)
    assert fhirmsg.check(message) == []
    # New ids: the MessageHeader (a new message) and the thread (forward-message).
    assert message.header_id == out.header_id != received.header_id
    assert message.current_activity() == "forward-message"
    comm = message.focus()
    assert comm is not None
    new_key = comm["identifier"][0]["value"]
    assert new_key != thread.thread_key and new_key.startswith("urn:uuid:")
    assert comm["category"][0]["coding"][0]["code"] == "medication"
    assert comm["topic"]["text"] == "Smertelindring"
    payload = comm["payload"]
    assert len(payload) == 3  # earlier text, earlier attachment, the note

    def seg_id(segment: dict[str, Any]) -> str:
        ext = next(e for e in segment["extension"] if e["url"] == codes.SEGMENT_IDENTIFIER_URL)
        return ext["valueIdentifier"]["value"]

    def wrote(segment: dict[str, Any]) -> dict[str, Any]:
        ext = next(e for e in segment["extension"] if e["url"] == codes.SEGMENT_IDENTIFIER_URL)
        found = message.resolve(ext["valueIdentifier"]["assigner"])
        assert found is not None
        return found[1]

    text, attachment, note = payload
    assert text["contentString"] == "Ny dosering av morfin fra i dag."
    assert seg_id(text) == earlier["text"]["id"]
    # A forward repeats attachments with their content (a reply sends only the id).
    assert attachment["contentAttachment"]["data"] == PDF
    assert attachment["contentAttachment"]["title"] == "Epikrise"
    assert seg_id(attachment) == earlier["attachment"]["id"]
    assert note["contentString"] == "Til orientering."
    # Every segment shows the organisation that wrote it: the hospital, then Fjordby.
    assert fhirmsg.identifiers(wrote(text)).get(codes.HER_ID) == "1002"
    assert fhirmsg.identifiers(wrote(attachment)).get(codes.HER_ID) == "1002"
    assert fhirmsg.identifiers(wrote(note)).get(codes.HER_ID) == "2001"
    receiver = message.primary_receiver()
    assert fhirmsg.identifiers(receiver).get(codes.HER_ID) == "2003"
    # Only the note is new in this message (Provenance entity, role source).
    entities = message.current_provenance()["entity"]
    assert [e["what"]["identifier"]["value"] for e in entities if e["role"] == "source"] == [
        seg_id(note)]
    # A thread of its own with the GP, read by the sender's unit.
    forwarded = CareThread.objects.get(thread_key=new_key)
    assert forwarded.counterpart.her_id == "2003" and forwarded.patient == world.patient_a
    assert response["Location"].endswith(f"/messages/{forwarded.pk}/")
    rows = watch.rows(code="samhand.message.sent")
    assert len(rows) == 1 and rows[0].object_ids == [out.header_id]


def test_a_forward_without_a_note_says_where_it_came_from(world, thread):
    _forward(world, thread, text="")
    comm = fhirmsg.Message(OutboundMessage.objects.get().content).focus()
    assert comm["payload"][-1]["contentString"] == "Videresendt fra Fjordby hjemmesykepleie."


def test_a_forward_needs_a_receiver_and_a_phone(world, thread):
    response = world.login(Client(), world.home_nurse_a).post(
        f"/patients/{world.patient_a.pk}/messages/{thread.pk}/forward/", {"text": "x"})
    assert response.status_code == 422
    assert not OutboundMessage.objects.exists()


def test_a_nurse_of_another_municipality_gets_404(world, thread):
    client = world.login(Client(), world.home_nurse_b)
    url = f"/patients/{world.patient_a.pk}/messages/{thread.pk}/forward/"
    assert client.get(url).status_code == 404
    gp = Partner.objects.get(her_id="2003")
    assert client.post(url, {"receiver": str(gp.pk), "phone": "1"}).status_code == 404
    assert not OutboundMessage.objects.exists()
