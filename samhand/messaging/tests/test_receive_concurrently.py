"""security.md #35: the same message delivered N times from two threads at once gives one
business effect and N receipts with the same status (PostgreSQL; SQLite serialises
writers anyway)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections

from samhand.messaging import bundle as fhirmsg
from samhand.messaging.models import CareMessage, InboundMessage, Transmission
from samhand.messaging.receive import receive
from samhand.messaging.tests.helpers import danish_patient, load, raw, register_receivers

NAME = "Bundle-R-A-new-b10f940e-2000-4ec8-9e0b-a3fb60fc5bb5.json"


@pytest.mark.django_db(transaction=True)
def test_one_effect_and_identical_receipts_from_two_threads(world):
    if connection.vendor != "postgresql":
        pytest.skip("needs concurrent writers (PostgreSQL)")
    danish_patient(world)
    register_receivers(world, load(NAME))
    body = raw(NAME)
    acks: list[tuple[str, str, tuple[str, ...]]] = []
    lock = threading.Lock()
    start = threading.Barrier(2)

    def deliver() -> None:
        try:
            start.wait()
            for _ in range(5):
                reply = receive(body)
                with lock:
                    acked, code, issues = fhirmsg.ack_summary(reply.body)
                    acks.append((acked, code, tuple(issues)))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=deliver) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(acks) == 10 and len(set(acks)) == 1 and acks[0][1] == "ok"
    assert InboundMessage.objects.count() == 1
    assert CareMessage.objects.filter(direction="in").count() == 1
    assert Transmission.objects.filter(outcome="processed").count() == 1
    assert Transmission.objects.filter(outcome="duplicate").count() == 9
