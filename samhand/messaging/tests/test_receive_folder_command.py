"""`samhand messaging-receive-folder`: files in, acknowledgements out."""

from __future__ import annotations

import json

from django.core.management import call_command

from samhand.messaging import bundle as fhirmsg
from samhand.messaging.models import InboundMessage, Transmission
from samhand.messaging.tests.helpers import danish_patient, load, raw, register_receivers


def test_a_dropped_file_is_received_and_acknowledged_in_the_out_folder(world, tmp_path):
    name = "HospitalNotification_Ex_STIN_A.json"
    danish_patient(world)
    register_receivers(world, load(name))
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "stin.json").write_bytes(raw(name))
    (tmp_path / "in" / "broken.json").write_bytes(b"{")
    call_command("messaging-receive-folder", str(tmp_path), "--once", verbosity=0)
    ack = json.loads((tmp_path / "out" / "stin.ack.json").read_text())
    assert fhirmsg.ack_summary(ack)[1] == "ok"
    assert json.loads((tmp_path / "out" / "broken.ack.json").read_text())[
        "resourceType"] == "OperationOutcome"
    assert sorted(p.name for p in (tmp_path / "done").iterdir()) == ["broken.json", "stin.json"]
    assert not list((tmp_path / "in").iterdir())
    assert InboundMessage.objects.get().status == "accepted"
    assert set(Transmission.objects.values_list("via", flat=True)) == {"folder"}


def test_files_are_received_in_batches_and_a_copy_in_the_same_batch_gets_the_first_answer(
        world, tmp_path):
    name = "HospitalNotification_Ex_STIN_A.json"
    danish_patient(world)
    register_receivers(world, load(name))
    (tmp_path / "in").mkdir()
    again = fhirmsg.dumps(fhirmsg.restamp(load(name)))
    for file, data in (("a.json", raw(name)), ("b.json", again), ("c.json", b"[]")):
        (tmp_path / "in" / file).write_bytes(data)
    call_command("messaging-receive-folder", str(tmp_path), "--once", "--batch", "2",
                 verbosity=0)
    first = json.loads((tmp_path / "out" / "a.ack.json").read_text())
    copy = json.loads((tmp_path / "out" / "b.ack.json").read_text())
    assert fhirmsg.ack_summary(first)[1] == "ok"
    assert copy["entry"] == first["entry"]  # the first acknowledgement, again
    assert (tmp_path / "out" / "c.ack.json").exists()
    assert sorted(p.name for p in (tmp_path / "done").iterdir()) == ["a.json", "b.json",
                                                                     "c.json"]
    assert InboundMessage.objects.count() == 1
    assert sorted(Transmission.objects.values_list("outcome", flat=True)) == [
        "duplicate", "processed", "unreadable"]


def test_a_file_the_receiver_fails_on_is_kept_and_does_not_hold_back_the_others(
        world, tmp_path, monkeypatch):
    """A defect that fails the whole batch (not one answer) used to fail every round on
    the same files: now the batch is received a file at a time, and the file that fails
    on its own goes to DIR/failed/, kept as a failed transmission for the operator."""
    from samhand.messaging import bundle

    names = ["HospitalNotification_Ex_STIN_A.json", "HospitalNotification_Ex_STIN_G.json"]
    danish_patient(world)
    for name in names:
        register_receivers(world, load(name))
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.json").write_bytes(raw(names[0]))
    poison = fhirmsg.dumps(fhirmsg.restamp(load(names[1])))
    (tmp_path / "in" / "b.json").write_bytes(poison)
    poison_id = fhirmsg.parse(poison).header_id
    real = bundle.check

    def defect(message, **kw):
        if message.header_id == poison_id:
            raise ZeroDivisionError("a defect in a check")
        return real(message, **kw)

    monkeypatch.setattr(bundle, "check", defect)
    call_command("messaging-receive-folder", str(tmp_path), "--once", verbosity=0)

    assert [p.name for p in (tmp_path / "done").iterdir()] == ["a.json"]
    assert [p.name for p in (tmp_path / "failed").iterdir()] == ["b.json"]
    assert not list((tmp_path / "in").iterdir())
    assert fhirmsg.ack_summary(json.loads((tmp_path / "out" / "a.ack.json").read_text()))[
        1] == "ok"
    answer = json.loads((tmp_path / "out" / "b.ack.json").read_text())
    assert answer["resourceType"] == "OperationOutcome"
    kept = Transmission.objects.get(outcome=Transmission.Outcome.FAILED)
    assert bytes(kept.raw) == poison
    assert InboundMessage.objects.get().status == "accepted"
