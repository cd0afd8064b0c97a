"""Every MedCom fixture gets the answer its README says (shared/fixtures/medcom/README.md)."""

from __future__ import annotations

import pytest

from samhand.messaging.models import InboundMessage, Transmission
from samhand.messaging.receive import receive
from samhand.messaging.tests.helpers import (
    ack_of,
    all_fixtures,
    danish_patient,
    load,
    raw,
    register_receivers,
)

NEGATIVE = {"HospitalNotification_Ex_TEK_FCC.json",
            "Bundle-R-Tek-M-dublicate-inv-260a3cc1-38eb-454a-a57b-9e32eabb54a3.json"}
ACKS = {n for n in all_fixtures() if n.startswith(("Ack", "Acknowledgement"))}
MESSAGES = [n for n in all_fixtures() if n not in ACKS]


@pytest.mark.parametrize("name", MESSAGES)
def test_each_fixture_gets_its_acknowledgement(world, name):
    danish_patient(world)
    register_receivers(world, load(name))
    reply = receive(raw(name))
    acked, code, issues = ack_of(reply.body)
    assert reply.status == 200
    assert acked == load(name)["entry"][0]["resource"]["id"]
    if name in NEGATIVE:
        assert code == "fatal-error"
        assert issues
        assert InboundMessage.objects.get().status == "rejected"
    else:
        assert (code, issues) == ("ok", [])
        assert InboundMessage.objects.get().status == "accepted"
    # The raw bytes are kept as received.
    assert bytes(Transmission.objects.get().raw) == raw(name)


@pytest.mark.parametrize("name", ["HospitalNotification_Ex_TEK_DUB.json",
                                  "Bundle-R-Tek-K-dublicate-5de12884-eae7-4fd3-b81a-"
                                  "e23ec1251334.json".replace("b81a-e23ec1251334",
                                                              "b58b-0f030ee555ba"),
                                  "Bundle-R-Tek-M-dublicate-inv-260a3cc1-38eb-454a-a57b-"
                                  "9e32eabb54a3.json"])
def test_a_duplicate_gets_exactly_the_first_acknowledgement_and_is_applied_once(world, name):
    name = next(n for n in all_fixtures() if n.startswith(name[:30]))
    danish_patient(world)
    register_receivers(world, load(name))
    first = receive(raw(name))
    second = receive(raw(name))
    assert second.outcome == "duplicate"
    assert ack_of(second.body) == ack_of(first.body)
    # Same acknowledgement message (header and content), a new transmission (Bundle.id).
    assert second.body["entry"] == first.body["entry"]
    assert second.body["id"] != first.body["id"]
    assert InboundMessage.objects.count() == 1
    assert list(Transmission.objects.values_list("outcome", flat=True).order_by("pk")) == [
        "processed" if name not in NEGATIVE else "rejected", "duplicate"]


def test_a_reused_bundle_id_with_a_new_message_header_is_a_fatal_error(world):
    danish_patient(world)
    name = "HospitalNotification_Ex_STIN_A.json"
    register_receivers(world, load(name))
    assert ack_of(receive(raw(name)).body)[1] == "ok"
    data = raw(name).replace(b"b9b4818e-02de-4cc4-b418-d20cbc7b5404",
                             b"b9b4818e-02de-4cc4-b418-000000000001")
    reply = receive(data)
    assert ack_of(reply.body)[1:] == ("fatal-error", ["MSG_DUPLICATE_ID"])
    assert reply.outcome == "bundle_reused"
    assert InboundMessage.objects.count() == 1


def test_an_unknown_receiver_is_refused_and_nothing_is_applied(world):
    danish_patient(world)
    reply = receive(raw("HospitalNotification_Ex_STIN_A.json"))
    _acked, code, issues = ack_of(reply.body)
    assert (code, issues) == ("fatal-error", ["MSG_Receiver_Identifier_UNKNOWN"])
    inbound = InboundMessage.objects.get()
    assert inbound.status == "rejected" and inbound.patient is None


def test_malformed_json_answers_400_and_keeps_the_bytes(world):
    reply = receive(b'{"resourceType": "Bundle", ')
    assert reply.status == 400
    assert reply.body["resourceType"] == "OperationOutcome"
    kept = Transmission.objects.get()
    assert kept.outcome == "unreadable" and bytes(kept.raw) == b'{"resourceType": "Bundle", '


@pytest.mark.parametrize("name", sorted(ACKS))
def test_acknowledgement_fixtures_are_not_acknowledged(world, name):
    reply = receive(raw(name))
    assert reply.status == 200
    assert reply.body["resourceType"] == "OperationOutcome"
    assert Transmission.objects.get().outcome == "acknowledgement"
    assert not InboundMessage.objects.exists()
