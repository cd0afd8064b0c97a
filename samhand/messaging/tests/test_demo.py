"""The demo messages load once and leave nothing undelivered."""

from __future__ import annotations

from samhand.demo.data import load_demo
from samhand.messaging.models import CareThread, OutboundMessage, Partner


def test_the_demo_has_addresses_threads_and_nothing_undelivered(db):
    load_demo()
    assert Partner.objects.count() > 5
    assert CareThread.objects.exists()
    assert set(OutboundMessage.objects.values_list("status", flat=True)) == {"delivered"}
    count = OutboundMessage.objects.count()
    from samhand.messaging import demo

    demo.load(load_demo())
    assert OutboundMessage.objects.count() == count
