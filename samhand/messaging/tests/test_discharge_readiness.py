"""Days the municipality pays for a discharge-ready patient (PW-6; standards.md §B.1)."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from samhand.messaging.models import DischargeReadiness

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
