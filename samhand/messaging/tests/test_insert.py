"""`receive.insert`: a new row stored with the INSERT Django compiles for its model,
compiled once per model — the same row as `save()` makes."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from samhand.messaging.models import HospitalStay
from samhand.messaging.receive import insert

pytestmark = pytest.mark.django_db

def _stay(patient, n):
    now = timezone.now()
    return HospitalStay(patient=patient, episode_ids=[f"e{n}"], hospital_name="Sykehuset",
                        state="admitted", state_at=now, last_code="STIN", started_at=now,
                        report_requested=True,
                        history=[{"code": "STIN", "at": now.isoformat(), "applied": True}])


def test_an_inserted_row_is_the_row_save_makes_in_one_statement(world):
    saved, inserted = _stay(world.patient_a, 1), _stay(world.patient_a, 2)
    saved.save()
    insert(_stay(world.patient_a, 0))  # compiled here
    with CaptureQueriesContext(connection) as ctx:
        insert(inserted)
    assert len(ctx.captured_queries) == 1
    assert not inserted._state.adding
    a, b = (HospitalStay.objects.get(pk=s.pk) for s in (saved, inserted))
    same = ("patient_id", "hospital_name", "sender_id", "state", "state_before_death",
            "last_code", "ended_at", "leave_started_at", "leave_ended_at", "report_requested")
    assert [getattr(b, f) for f in same] == [getattr(a, f) for f in same]
    assert (b.episode_ids, b.state_at, b.started_at, b.history) == (
        ["e2"], inserted.state_at, inserted.started_at, inserted.history)
    assert b.updated_at is not None  # auto_now, as save() sets it
