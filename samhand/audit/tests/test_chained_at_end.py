"""chained_at_end(): rows recorded in the block join the chain once, at its end, inside
the same transaction — gap-free, hash-linked, and dropped with a rolled-back savepoint."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections, transaction

from samhand.audit.models import AuditEvent, ChainHead
from samhand.audit.services import Actor, chained_at_end, record, verify_chain

from .conftest import postgres_only

READ = AuditEvent.Action.READ
pytestmark = pytest.mark.django_db


def codes() -> list[str]:
    return list(AuditEvent.objects.order_by("seq").values_list("code", flat=True))


def test_rows_are_written_at_the_end_of_the_block_in_order_and_linked():
    with transaction.atomic(), chained_at_end():
        first = record(Actor(client="system"), "samhand.message.received", "C")
        second = record(Actor(client="system"), "samhand.alert.raised", "C")
        assert not AuditEvent.objects.exists()  # not yet: the chain is not locked
        assert first.pk is None
    assert codes() == ["samhand.message.received", "samhand.alert.raised"]
    assert (first.seq, second.seq) == (1, 2)
    assert first.pk is not None and second.prev_hash == first.hash
    assert ChainHead.objects.get().seq == 2
    assert verify_chain().ok


def test_a_row_recorded_in_a_rolled_back_savepoint_is_dropped_without_a_gap():
    with transaction.atomic(), chained_at_end():
        record(None, "samhand.message.received", "C", object_ids=["kept-1"])
        try:
            with transaction.atomic():
                record(None, "samhand.alert.raised", "C", object_ids=["dropped"])
                raise ValueError("the message fails after its alert was audited")
        except ValueError:
            pass
        with transaction.atomic():  # a savepoint that is released: its row stays
            record(None, "samhand.message.received", "C", object_ids=["kept-2"])
    assert list(AuditEvent.objects.order_by("seq").values_list("seq", "object_ids")) == [
        (1, ["kept-1"]), (2, ["kept-2"])]
    assert verify_chain().ok


def test_nothing_is_written_when_the_block_raises():
    with pytest.raises(RuntimeError), transaction.atomic(), chained_at_end():
        record(None, "samhand.message.received", "C")
        raise RuntimeError("database outage")
    assert not AuditEvent.objects.exists()
    # The next writer is not affected (no rows left waiting).
    record(None, "samhand.message.received", "C")
    assert codes() == ["samhand.message.received"]


def test_a_nested_block_joins_the_outer_one():
    with transaction.atomic(), chained_at_end():
        with chained_at_end():
            record(None, "samhand.message.received", "C")
        assert not AuditEvent.objects.exists()
        record(None, "samhand.alert.raised", "C")
    assert codes() == ["samhand.message.received", "samhand.alert.raised"]


def test_a_bad_code_is_refused_at_once_not_at_the_end():
    with transaction.atomic(), chained_at_end(), pytest.raises(ValueError):
        record(None, "not-a-code", "C")


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_it_refuses():
    with pytest.raises(RuntimeError), chained_at_end():
        pass


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_two_batch_writers_at_once_leave_a_gap_free_verifiable_chain():
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def writer(name: str) -> None:
        try:
            start.wait(timeout=10)
            for _ in range(10):
                with transaction.atomic(), chained_at_end():
                    for _ in range(5):
                        record(Actor(client=name), "samhand.patient.read", READ)
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=writer, args=(name,)) for name in ("web", "api")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    rows = list(AuditEvent.objects.order_by("seq").values_list("seq", "client"))
    assert [seq for seq, _c in rows] == list(range(1, 101))
    # Each batch's five rows are consecutive: one lock per batch.
    clients = [client for _s, client in rows]
    assert all(len(set(clients[i:i + 5])) == 1 for i in range(0, 100, 5))
    assert verify_chain().ok
    assert connection.vendor == "postgresql"
