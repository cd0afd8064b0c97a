"""Concurrent writers get a gap-free, verifiable chain (the head is locked)."""

import threading

import pytest
from django.db import connection, connections

from samhand.audit.models import AuditEvent, ChainHead
from samhand.audit.services import Actor, record, verify_chain

from .conftest import postgres_only


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_two_threads_writing_fifty_rows_each_leave_a_gap_free_verifiable_chain():
    # No chain head yet: both threads also race to create it.
    assert not ChainHead.objects.exists()
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def writer(name: str) -> None:
        try:
            start.wait(timeout=10)
            for _ in range(50):
                record(Actor(client=name), "samhand.patient.read", AuditEvent.Action.READ)
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
    seqs = list(AuditEvent.objects.order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, 101))
    assert ChainHead.objects.get().seq == 100
    clients = list(AuditEvent.objects.order_by("seq").values_list("client", flat=True))
    assert clients.count("web") == clients.count("api") == 50
    assert verify_chain().ok
    assert connection.vendor == "postgresql"
