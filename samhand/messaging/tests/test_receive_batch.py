"""`receive_many`: a batch of messages in one transaction (group commit), each message in
its own savepoint, the answers the same as one `receive()` at a time."""

from __future__ import annotations

import json
import threading
from collections import Counter
from typing import Any

import pytest
from django.db import OperationalError, connection, connections, transaction
from django.utils import timezone

from samhand.alerts.models import Alert
from samhand.audit.models import AuditEvent
from samhand.audit.services import verify_chain
from samhand.messaging import bundle as fhirmsg
from samhand.messaging import codes, stays
from samhand.messaging.models import HospitalStay, InboundMessage, Partner, Transmission
from samhand.messaging.receive import receive, receive_many
from samhand.messaging.tests.helpers import (
    ack_of,
    all_fixtures,
    danish_patient,
    load,
    raw,
    register_receivers,
)
from samhand.patients.models import CareTeamMember, Patient

STIN = "HospitalNotification_Ex_STIN_A.json"
BAD = "HospitalNotification_Ex_TEK_FCC.json"  # a MedCom negative test: fatal-error
CARE = "Bundle-R-A-new-b10f940e-2000-4ec8-9e0b-a3fb60fc5bb5.json"
ACKS = {n for n in all_fixtures() if n.startswith(("Ack", "Acknowledgement"))}
MESSAGES = [n for n in all_fixtures() if n not in ACKS]


def _parties(world: Any) -> tuple[Partner, Partner]:
    us = Partner.objects.create(name="Fjordby HN", organisation=world.hn_a,
                                sor_id="953741000016009", gln="5790001348120",
                                is_local=True)
    them = Partner.objects.create(name="Sykehuset", organisation=world.hospital,
                                  sor_id="265161000016000", gln="5790000209354")
    return us, them


def _patient(world: Any, cpr: str) -> Patient:
    patient = Patient.objects.create(national_id=cpr, national_id_kind="cpr", given_name="B",
                                     family_name="Batch", municipality=world.fjordby)
    CareTeamMember.objects.create(patient=patient, organisation=world.hn_a,
                                  role=CareTeamMember.Role.HOME_NURSING,
                                  period_start=timezone.now() - timezone.timedelta(days=1))
    return patient


def _admission(us: Partner, them: Partner, patient: Patient) -> bytes:
    """A STIN (admitted): a stay, an urgent alert and two audit rows when applied."""
    pat = {"resourceType": "Patient", "id": fhirmsg.new_id(),
           "identifier": [{"system": codes.CPR, "value": patient.national_id}],
           "name": [{"family": patient.family_name}]}
    focus = {"resourceType": "Encounter", "id": fhirmsg.new_id(), "status": "in-progress",
             "class": {"system": codes.ACT_CODE_SYSTEM, "code": "IMP"},
             "subject": {"reference": f"Patient/{pat['id']}"},
             "episodeOfCare": [{"identifier": {"system": them.party.address,
                                               "value": fhirmsg.new_id()}}],
             "period": {"start": "2026-11-25T10:00:00+01:00"},
             "serviceProvider": {"reference": "Organization/sender"}}
    return fhirmsg.dumps(fhirmsg.build_message(
        event=codes.Event.HOSPITAL_NOTIFICATION, sender=them.party, receiver=us.party,
        focus=focus, resources=[pat], activity=codes.Activity.ADMIT_INPATIENT,
        sender_id="sender"))


def _restamped(data: bytes) -> bytes:
    """The same message sent again: new Bundle.id and timestamp, same MessageHeader.id."""
    return fhirmsg.dumps(fhirmsg.restamp(json.loads(data)))


def test_a_message_twice_in_one_batch_is_applied_once_and_every_copy_gets_the_first_answer(
        world):
    patient = danish_patient(world)
    register_receivers(world, load(STIN))
    replies = receive_many([raw(STIN), raw(STIN), _restamped(raw(STIN))])
    assert [r.outcome for r in replies] == ["processed", "duplicate", "duplicate"]
    assert {json.dumps(ack_of(r.body)) for r in replies} == {
        json.dumps((load(STIN)["entry"][0]["resource"]["id"], "ok", []))}
    # The copies get the first acknowledgement itself (same header and content).
    assert replies[1].body["entry"] == replies[0].body["entry"]
    assert replies[2].body["entry"] == replies[0].body["entry"]
    assert InboundMessage.objects.count() == 1
    assert list(Transmission.objects.order_by("pk").values_list("outcome", flat=True)) == [
        "processed", "duplicate", "duplicate"]
    assert HospitalStay.objects.filter(patient=patient).count() == 1
    assert Alert.objects.filter(patient=patient).count() == 1
    assert AuditEvent.objects.filter(code="samhand.message.received",
                                     patient_id=patient.pk).count() == 1
    # A later batch with another copy: still the first answer, nothing applied.
    again = receive_many([_restamped(raw(STIN))])
    assert again[0].outcome == "duplicate"
    assert again[0].body["entry"] == replies[0].body["entry"]
    assert HospitalStay.objects.filter(patient=patient).count() == 1
    assert verify_chain().ok


def test_a_rejected_message_in_a_batch_is_answered_alone_and_the_others_are_applied_once(world):
    patient = danish_patient(world)
    for name in (STIN, BAD, CARE):
        register_receivers(world, load(name))
    replies = receive_many([raw(STIN), raw(BAD), raw(CARE)])
    assert [ack_of(r.body)[1] for r in replies] == ["ok", "fatal-error", "ok"]
    assert ack_of(replies[1].body)[2]  # names what is wrong
    statuses = dict(InboundMessage.objects.values_list("header_id", "status"))
    assert sorted(statuses.values()) == ["accepted", "accepted", "rejected"]
    assert statuses[load(BAD)["entry"][0]["resource"]["id"]] == "rejected"
    assert HospitalStay.objects.filter(patient=patient).count() == 1
    assert Counter(Transmission.objects.values_list("outcome", flat=True)) == {
        "processed": 2, "rejected": 1}
    # The raw bytes are kept as received, for each.
    assert {bytes(t.raw) for t in Transmission.objects.all()} == {raw(STIN), raw(BAD),
                                                                  raw(CARE)}
    assert verify_chain().ok


def test_a_message_that_fails_while_applied_rolls_back_only_itself_and_its_audit_rows(
        world, monkeypatch):
    us, them = _parties(world)
    fine, failing = _patient(world, "0101479001"), _patient(world, "0201479002")
    real = stays._effects

    def effects_then_fail(patient: Patient, *args: Any) -> None:
        real(patient, *args)  # the alert and its audit row are written first …
        if patient.pk == failing.pk:
            raise RuntimeError("effect failed")  # … then the message fails

    monkeypatch.setattr(stays, "_effects", effects_then_fail)
    batch = [_admission(us, them, fine), _admission(us, them, failing)]
    replies = receive_many(batch)
    assert [ack_of(r.body)[1] for r in replies] == ["ok", "transient-error"], replies[0].problems
    assert HospitalStay.objects.filter(patient=fine).count() == 1
    assert Alert.objects.filter(patient=fine).count() == 1
    assert not HospitalStay.objects.filter(patient=failing).exists()
    assert not Alert.objects.filter(patient=failing).exists()
    # No audit row for what was rolled back; the chain has no gap.
    assert not AuditEvent.objects.filter(patient_id=failing.pk).exists()
    assert AuditEvent.objects.filter(patient_id=fine.pk,
                                     code="samhand.message.received").count() == 1
    assert verify_chain().ok
    # Kept for the operator; not an InboundMessage, so a resend is applied normally.
    assert list(InboundMessage.objects.values_list("patient_id", flat=True)) == [fine.pk]
    failed = Transmission.objects.get(outcome="failed")
    assert bytes(failed.raw) == batch[1]
    monkeypatch.setattr(stays, "_effects", real)
    assert ack_of(receive(_restamped(batch[1])).body)[1] == "ok"
    assert HospitalStay.objects.filter(patient=failing).count() == 1


def test_a_database_outage_answers_the_whole_batch_transient_error_with_nothing_stored(world):
    us, them = _parties(world)
    patients = [_patient(world, f"0{i}01479{i:03d}") for i in range(1, 4)]
    batch = [_admission(us, them, p) for p in patients]
    audit_rows = AuditEvent.objects.count()

    def outage(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        # The last statements of the batch: the audit chain's head, after every message
        # was applied and stored.
        if 'FROM "audit_chainhead"' in sql:
            raise OperationalError("server closed the connection unexpectedly")
        return execute(sql, params, many, context)

    with connection.execute_wrapper(outage):
        replies = receive_many(batch)
    assert [ack_of(r.body)[1] for r in replies] == ["transient-error"] * 3
    assert [r.outcome for r in replies] == ["transient"] * 3
    assert not InboundMessage.objects.exists()
    assert not Transmission.objects.exists()
    assert not HospitalStay.objects.exists()
    assert not Alert.objects.exists()
    assert AuditEvent.objects.count() == audit_rows
    assert verify_chain().ok
    # Sent again once the database is back: applied, once each.
    assert [ack_of(r.body)[1] for r in receive_many(batch)] == ["ok"] * 3
    assert HospitalStay.objects.count() == 3


def _summary(reply: Any) -> tuple[Any, ...]:
    return (reply.status, reply.outcome, ack_of(reply.body) if reply.status == 200
            else [i["details"]["coding"][0]["code"] for i in reply.body["issue"]])


def _stored() -> tuple[Any, ...]:
    return (sorted(InboundMessage.objects.values_list("header_id", "status", "ack_code",
                                                      "hidden", "notification_code")),
            Counter(Transmission.objects.values_list("outcome", flat=True)),
            sorted(HospitalStay.objects.values_list("state", "last_code")),
            Counter(AuditEvent.objects.values_list("code", flat=True)))


def test_every_fixture_gets_the_same_answer_in_one_batch_as_one_at_a_time(world):
    danish_patient(world)
    for name in MESSAGES:
        register_receivers(world, load(name))
    raws = [raw(name) for name in MESSAGES]
    before = transaction.savepoint()
    one_at_a_time = [_summary(receive(data)) for data in raws]
    stored_one_at_a_time = _stored()
    transaction.savepoint_rollback(before)
    assert not InboundMessage.objects.exists()
    batched = [_summary(reply) for reply in receive_many(raws)]
    for name, single, batch in zip(MESSAGES, one_at_a_time, batched, strict=True):
        assert (name, batch) == (name, single)
    assert _stored() == stored_one_at_a_time
    assert verify_chain().ok


def received_at_once(batches: list[list[bytes]]) -> list[list[Any]]:
    """Each batch received by its own thread (its own database connection), started
    together; the replies of each."""
    replies: list[list[Any]] = [[] for _b in batches]
    start = threading.Barrier(len(batches))

    def deliver(index: int) -> None:
        try:
            start.wait()
            replies[index] = receive_many(batches[index])
        finally:
            connections.close_all()

    threads = [threading.Thread(target=deliver, args=(i,)) for i in range(len(batches))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return replies


@pytest.mark.django_db(transaction=True)
def test_two_receivers_with_overlapping_batches_apply_each_message_once(world):
    if connection.vendor != "postgresql":
        pytest.skip("needs concurrent writers (PostgreSQL)")
    us, them = _parties(world)
    patients = [_patient(world, f"{i + 1:02d}01479{i:03d}") for i in range(8)]
    batch = [_admission(us, them, p) for p in patients]
    answers = [sorted((ack_of(r.body)[0], ack_of(r.body)[1]) for r in replies)
               for replies in received_at_once([batch, list(reversed(batch))])]
    assert len(answers) == 2 and answers[0] == answers[1]
    assert {code for _h, code in answers[0]} == {"ok"}
    assert InboundMessage.objects.count() == 8
    assert HospitalStay.objects.count() == 8
    assert Alert.objects.count() == 8
    assert AuditEvent.objects.filter(code="samhand.message.received").count() == 8
    assert Counter(Transmission.objects.values_list("outcome", flat=True)) == {
        "processed": 8, "duplicate": 8}
    assert verify_chain().ok


@pytest.mark.django_db
def test_received_bytes_and_content_are_compressed_with_lz4_on_postgresql():
    """Cheaper for the server's CPU than pglz (migration 0005, bench/README.md)."""
    if connection.vendor != "postgresql":
        pytest.skip("TOAST compression is PostgreSQL's")
    with connection.cursor() as cursor:
        cursor.execute("SELECT attrelid::regclass::text, attname, attcompression "
                       "FROM pg_attribute WHERE attname IN ('raw', 'content', 'ack') AND "
                       "attrelid IN ('messaging_transmission'::regclass, "
                       "'messaging_inboundmessage'::regclass) ORDER BY 1, 2")
        assert cursor.fetchall() == [("messaging_inboundmessage", "ack", "l"),
                                     ("messaging_inboundmessage", "content", "l"),
                                     ("messaging_transmission", "raw", "l")]
