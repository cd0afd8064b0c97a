"""Days the municipality pays for a discharge-ready patient (PW-6; standards.md §B.1)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from samhand.audit.services import Actor
from samhand.messaging import effects
from samhand.messaging.models import DischargeReadiness
from samhand.messaging.plo import record_decision
from samhand.messaging.receive import SYSTEM_ACTOR

DAY = dt.date(2026, 3, 2)


def _at(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(23, 59)))


def test_the_declared_day_counts_and_the_day_the_municipality_receives_does_not():
    r = DischargeReadiness(declared_at=_at(DAY), receive_from=DAY + dt.timedelta(days=4))
    assert r.payable_days(until=DAY + dt.timedelta(days=30)) == 4


def test_nothing_is_payable_when_the_municipality_receives_on_the_declared_day():
    r = DischargeReadiness(declared_at=_at(DAY), can_receive=True, receive_from=DAY)
    assert r.payable_days(until=DAY + dt.timedelta(days=30)) == 0


def test_an_unanswered_notice_counts_until_discharge():
    r = DischargeReadiness(declared_at=_at(DAY), discharged_at=_at(DAY + dt.timedelta(days=2)))
    assert r.payable_days(until=DAY + dt.timedelta(days=30)) == 2


@given(st.integers(0, 60), st.integers(0, 60), st.integers(0, 60))
def test_payable_days_never_exceed_any_end_of_the_chain(receive, discharge, today):
    r = DischargeReadiness(declared_at=_at(DAY), receive_from=DAY + dt.timedelta(days=receive),
                           discharged_at=_at(DAY + dt.timedelta(days=discharge)))
    days = r.payable_days(until=DAY + dt.timedelta(days=today))
    assert 0 <= days <= min(receive, discharge, today)


# --------------------------------------------------------------------------- on the pathway

@pytest.fixture
def in_hospital(world):
    """patient_a on a COPD pathway, admitted 10 days ago."""
    from samhand.access.policy import grant_for
    from samhand.pathways import services as pathways

    nurse = Actor(user=world.ltmv_nurse, organisation=world.pulm)
    pathway = pathways.start_pathway(nurse, grant_for(world.ltmv_nurse, world.patient_a),
                                     world.patient_a, template_key="copd_hf_followup",
                                     entry="discharge",
                                     at=timezone.now() - dt.timedelta(days=11))
    pathways.record_event(pathway, "admitted", actor=nurse,
                          at=timezone.now() - dt.timedelta(days=10))
    return pathway


def test_a_notice_and_the_municipal_answer_reach_the_pathway_with_their_times(world,
                                                                              in_hospital):
    declared = _at(timezone.localdate() - dt.timedelta(days=3)) - dt.timedelta(hours=12)
    readiness = DischargeReadiness.objects.create(patient=world.patient_a,
                                                  declared_at=declared, notice_header_id="n1")
    effects.discharge_ready(world.patient_a, readiness, SYSTEM_ACTOR)
    notice = in_hospital.events.get(kind="discharge_ready")
    assert notice.occurred_at == declared and notice.source == "message"
    assert notice.data["readiness"] == str(readiness.pk) and notice.data["received_at"]

    receive_from = timezone.localdate() + dt.timedelta(days=1)
    record_decision(readiness, at=declared + dt.timedelta(hours=2), can_receive=False,
                    receive_from=receive_from, header_id="d1")
    answer = in_hospital.events.get(kind="discharge_ready_answered")
    assert answer.data == {"readiness": str(readiness.pk), "can_receive": False,
                           "receive_from": receive_from.isoformat()}
    # The pathway and the message chain count the same days.
    assert in_hospital.payable_days() == readiness.payable_days() == 3
    assert in_hospital.days_discharge_ready() == 3


def test_an_answer_without_a_notice_on_the_pathway_is_logged_and_the_message_still_applies(
        world, in_hospital, caplog):
    readiness = DischargeReadiness.objects.create(
        patient=world.patient_a, declared_at=timezone.now(), notice_header_id="n2")
    record_decision(readiness, at=timezone.now(), can_receive=True,
                    receive_from=timezone.localdate(), header_id="d2")
    assert not in_hospital.events.filter(kind="discharge_ready_answered").exists()
    assert "refused the municipal answer" in caplog.text
    readiness.refresh_from_db()
    assert readiness.answered_at is not None
