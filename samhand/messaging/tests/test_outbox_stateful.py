"""security.md #34/#35: a stateful property test of the outbox and the idempotent
receiver. Business changes (committed or rolled back), worker rounds and injected
failures — exception before the send, the answer lost after the receiver committed, the
receiver unreachable — in any order. Invariants: exactly one outbox row per committed
change and none for a rolled-back one; after the outbox drains, every message was
received and applied exactly once, and every receipt a duplicate got matched the first."""

from __future__ import annotations

import contextlib
import datetime as dt
from typing import Any

from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from samhand.audit.services import Actor
from samhand.messaging import bundle as fhirmsg
from samhand.messaging.models import (
    CareMessage,
    CareThread,
    InboundMessage,
    OutboundMessage,
    Transmission,
)
from samhand.messaging.outbox import Answer, send_due
from samhand.messaging.receive import receive
from samhand.messaging.tests.test_outbox import pair  # noqa: F401
from samhand.messaging.threads import send_care_communication


class Boom(Exception):
    pass


def test_outbox_and_receiver_keep_their_promises(world, pair):  # noqa: F811
    hosp, muni = pair
    patient = world.patient_a

    class Machine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            for model in (CareMessage, Transmission, InboundMessage, OutboundMessage,
                          CareThread):
                model.objects.all().delete()
            self.committed: set[str] = set()
            self.first_ack: dict[str, tuple[str, str, list[str]]] = {}
            self.now = timezone.now()

        @rule(commit=st.booleans())
        def business_change(self, commit: bool) -> None:
            with transaction.atomic():
                care = send_care_communication(
                    patient=patient, sender=hosp, receiver=muni, actor=Actor(client="system"),
                    author_name="Lise Lunde", author_phone="1", text="Hei", category="nursing")
                if not commit:
                    transaction.set_rollback(True)
                    return
            self.committed.add(care.header_id)

        def _deliver(self, body: bytes) -> Answer:
            reply = receive(body)
            if reply.ack_code:
                acked = fhirmsg.ack_summary(reply.body)
                assert self.first_ack.setdefault(acked[0], acked) == acked
            return Answer(reply.status, fhirmsg.dumps(reply.body))

        @rule(failure=st.sampled_from(["none", "before_send", "answer_lost", "unreachable"]))
        def worker_round(self, failure: str) -> None:
            def transport(out: Any, body: bytes) -> Answer:
                if failure == "before_send":
                    raise Boom
                if failure == "unreachable":
                    return Answer(0, error="connection refused")
                answer = self._deliver(body)
                return Answer(0, error="timeout") if failure == "answer_lost" else answer
            with contextlib.suppress(Boom):
                send_due(transport=transport, now=self.now)
            self.now += dt.timedelta(hours=1)  # every open row is due again next round

        @invariant()
        def one_outbox_row_per_committed_change(self) -> None:
            rows = set(OutboundMessage.objects.values_list("header_id", flat=True))
            assert rows == self.committed

        @invariant()
        def applied_at_most_once(self) -> None:
            assert InboundMessage.objects.count() == \
                InboundMessage.objects.values("header_id").distinct().count()
            assert CareMessage.objects.filter(direction="in").count() == \
                InboundMessage.objects.count()

        def teardown(self) -> None:
            # Drain: no failures any more; everything open is delivered, once.
            for _round in range(4):
                send_due(transport=lambda out, body: self._deliver(body), now=self.now)
                self.now += dt.timedelta(hours=1)
            assert set(OutboundMessage.objects.values_list("status", flat=True)) <= {
                "delivered"}
            assert set(InboundMessage.objects.values_list("header_id", flat=True)) == \
                self.committed

    run_state_machine_as_test(Machine, settings=settings(
        max_examples=12, stateful_step_count=12, deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]))

