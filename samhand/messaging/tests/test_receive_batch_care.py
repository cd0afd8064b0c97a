"""CareCommunications received in a batch: the thread found or created in one statement,
the CareMessage rows stored with the batch's InboundMessages at its end (`store_later`);
a message that fails drops its rows with its savepoint."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from samhand.messaging import bundle as fhirmsg
from samhand.messaging import codes, effects
from samhand.messaging.models import CareMessage, CareThread, InboundMessage, Transmission
from samhand.messaging.receive import receive_many
from samhand.messaging.tests.test_receive_batch import _parties, _patient, received_at_once

pytestmark = pytest.mark.django_db


def _care(us: Any, them: Any, patient: Any, text: str, thread_key: str = "") -> bytes:
    pat = {"resourceType": "Patient", "id": fhirmsg.new_id(),
           "identifier": [{"system": codes.CPR, "value": patient.national_id}],
           "name": [{"family": patient.family_name}]}
    comm = {"resourceType": "Communication", "id": fhirmsg.new_id(),
            "identifier": [{"value": thread_key or f"urn:uuid:{fhirmsg.new_id()}"}],
            "status": "unknown", "subject": {"reference": f"Patient/{pat['id']}"},
            "category": [{"coding": [{"system": codes.CATEGORY_SYSTEM, "code": "nursing"}]}],
            "payload": [{"extension": [
                {"url": codes.SEGMENT_DATETIME_URL, "valueDateTime": "2026-11-25T10:00:00+01:00"},
                {"url": codes.SEGMENT_IDENTIFIER_URL,
                 "valueIdentifier": {"value": f"urn:uuid:{fhirmsg.new_id()}",
                                     "assigner": {"reference": "Organization/sender"}}},
                {"url": codes.SEGMENT_AUTHOR_URL,
                 "valueReference": {"reference": "PractitionerRole/r1"}},
                {"url": codes.SEGMENT_CONTACT_URL,
                 "valueContactPoint": {"system": "phone", "value": "1"}}],
                "contentString": text}]}
    extra = [pat, {"resourceType": "PractitionerRole", "id": "r1",
                   "practitioner": {"reference": "Practitioner/q1"}},
             {"resourceType": "Practitioner", "id": "q1", "name": [{"family": "Lunde"}]}]
    return fhirmsg.dumps(fhirmsg.build_message(
        event=codes.Event.CARE_COMMUNICATION, sender=them.party, receiver=us.party,
        focus=comm, resources=extra, activity=codes.Activity.NEW, sender_id="sender"))


def test_a_failing_message_in_a_batch_stores_no_care_message_and_the_others_do(
        world, monkeypatch):
    us, them = _parties(world)
    patients = [_patient(world, f"0{i + 1}01471234") for i in range(3)]
    real = effects.message_received

    def fail_for_second(patient: Any, *args: Any) -> None:
        if patient == patients[1]:
            raise RuntimeError("broken effect")
        real(patient, *args)

    monkeypatch.setattr(effects, "message_received", fail_for_second)
    replies = receive_many([_care(us, them, p, f"Melding {i}") for i, p in enumerate(patients)])
    assert [r.ack_code for r in replies] == ["ok", "transient-error", "ok"]
    stored = CareMessage.objects.select_related("thread", "inbound")
    assert sorted(c.thread.patient_id for c in stored) == sorted(
        p.pk for p in (patients[0], patients[2]))
    assert all(c.inbound.header_id == c.header_id for c in stored)
    assert CareThread.objects.count() == 2 and InboundMessage.objects.count() == 2
    assert Transmission.objects.filter(outcome=Transmission.Outcome.FAILED).count() == 1


def test_two_messages_of_one_thread_in_a_batch_make_one_thread_with_both(world):
    us, them = _parties(world)
    patient = _patient(world, "0101471234")
    key = f"urn:uuid:{fhirmsg.new_id()}"
    replies = receive_many([_care(us, them, patient, "Første", key),
                            _care(us, them, patient, "Andre", key)])
    assert [r.ack_code for r in replies] == ["ok", "ok"]
    thread = CareThread.objects.get()
    assert thread.thread_key == key
    assert sorted(s["text"] for m in thread.messages.all() for s in m.segments) == [
        "Andre", "Første"]


def _statements(world: Any, us: Any, them: Any, n: int, first: int) -> int:
    patients = [_patient(world, f"{(first + i) % 28 + 1:02d}0{(first + i) // 28 + 1}479{i:03d}")
                for i in range(n)]
    messages = [_care(us, them, p, "Sårstell") for p in patients]
    with CaptureQueriesContext(connection) as ctx:
        replies = receive_many(messages)
    assert {r.ack_code for r in replies} == {"ok"}
    assert CareMessage.objects.filter(thread__patient__in=patients).count() == n
    return len(ctx.captured_queries)


def test_a_new_thread_costs_no_statement_of_its_own_in_a_batch(world):
    """A thread the batch found unknown, with no other message of the batch in it, is
    stored with the batch's rows at its end (COPY on PostgreSQL)."""
    us, them = _parties(world)
    _statements(world, us, them, 2, 200)  # what the first batch reads once (the address book)
    five = _statements(world, us, them, 5, 0)
    fifteen = _statements(world, us, them, 15, 100)
    if connection.vendor == "postgresql":
        assert fifteen == five, (five, fifteen)
    else:  # SQLite splits bulk inserts by its limit of variables a statement
        assert (fifteen - five) / 10 <= 0.3, (five, fifteen)


def test_a_message_in_a_thread_of_an_earlier_batch_joins_it(world):
    us, them = _parties(world)
    patient = _patient(world, "0101471234")
    key = f"urn:uuid:{fhirmsg.new_id()}"
    assert receive_many([_care(us, them, patient, "Første", key)])[0].ack_code == "ok"
    assert receive_many([_care(us, them, patient, "Andre", key)])[0].ack_code == "ok"
    thread = CareThread.objects.get()
    assert sorted(s["text"] for m in thread.messages.all() for s in m.segments) == [
        "Andre", "Første"]


@pytest.mark.django_db(transaction=True)
def test_two_receivers_starting_the_same_new_thread_at_once_make_one_thread(world):
    """Each batch finds the thread unknown and keeps it for its end; the later COPY meets
    the other's row, and that batch is received again, joining the thread."""
    if connection.vendor != "postgresql":
        pytest.skip("needs concurrent writers (PostgreSQL)")
    us, them = _parties(world)
    patients = [_patient(world, f"{i + 1:02d}01471234") for i in range(3)]
    key = f"urn:uuid:{fhirmsg.new_id()}"
    batches = [[_care(us, them, patients[0], f"Tråd {n}", key),
                _care(us, them, patients[1 + n], f"Annen {n}")] for n in range(2)]
    answers = [[str(r.ack_code) for r in replies] for replies in received_at_once(batches)]
    assert answers == [["ok", "ok"], ["ok", "ok"]]
    thread = CareThread.objects.get(thread_key=key)
    assert sorted(s["text"] for m in thread.messages.all() for s in m.segments) == [
        "Tråd 0", "Tråd 1"]
    assert CareThread.objects.count() == 3 and CareMessage.objects.count() == 4


def test_a_failing_message_makes_the_batch_run_again_with_a_savepoint_per_message(
        world, monkeypatch):
    """The first run has no savepoints; after the failure the batch is rolled back and run
    again with them: the statements of the first run leave nothing behind."""
    us, them = _parties(world)
    patients = [_patient(world, f"0{i + 1}01471234") for i in range(3)]
    real = effects.message_received

    def fail_for_last(patient: Any, *args: Any) -> None:
        if patient == patients[2]:
            raise RuntimeError("broken effect")
        real(patient, *args)

    monkeypatch.setattr(effects, "message_received", fail_for_last)
    with CaptureQueriesContext(connection) as ctx:
        replies = receive_many([_care(us, them, p, "x") for p in patients])
    assert [r.ack_code for r in replies] == ["ok", "ok", "transient-error"]
    # Up to the audit rows (whose chain head is made here, in a savepoint of its own): the
    # test's own transaction makes each run's transaction a savepoint too, the first run
    # 1, the second 1 + one per message.
    sql = [q["sql"] for q in ctx.captured_queries]
    sql = sql[:next(i for i, s in enumerate(sql) if "audit_chainhead" in s)]
    assert len([s for s in sql if s.startswith("SAVEPOINT")]) == 1 + 1 + 3
    assert CareThread.objects.count() == 2 and CareMessage.objects.count() == 2
    assert InboundMessage.objects.count() == 2
    with CaptureQueriesContext(connection) as ctx:  # nothing fails: one run
        replies = receive_many([_care(us, them, p, "y") for p in patients[:2]])
    assert [r.ack_code for r in replies] == ["ok", "ok"]
    assert len([q for q in ctx.captured_queries if q["sql"].startswith("SAVEPOINT")]) == 1
    assert CareMessage.objects.count() == 4


def test_each_message_keeps_its_own_content_as_received(world):
    """The batch stores each message's JSON text as it came (COPY on PostgreSQL), not the
    parsed Bundle encoded again: the same content, each on its own row, also for a
    message that is not UTF-8 (encoded again)."""
    import json

    us, them = _parties(world)
    patients = [_patient(world, f"0{i + 1}01471234") for i in range(3)]
    raws = [_care(us, them, p, f"Melding {i} – ære være Ålesund") for i, p in enumerate(patients)]
    raws[2] = json.dumps(json.loads(raws[2])).encode("utf-16")
    assert [r.ack_code for r in receive_many(raws)] == ["ok"] * 3
    for data in raws:
        bundle = json.loads(data)
        stored = InboundMessage.objects.get(header_id=bundle["entry"][0]["resource"]["id"])
        assert stored.content == bundle
