"""Days as discharge-ready and days the municipality pays for (readiness.py; PW-6,
forskrift om kommunal betaling for utskrivningsklare pasienter § 13): boundaries and
properties."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from samhand.pathways.readiness import local_day, payable_days, periods, ready_days

OSLO = ZoneInfo("Europe/Oslo")
DAY = dt.date(2026, 3, 2)


def at(day: dt.date, hour: int = 10, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=OSLO)


def plus(days: int) -> dt.date:
    return DAY + dt.timedelta(days=days)


def notice(day: dt.date, hour: int = 10) -> tuple[str, dt.datetime, dict]:
    return ("discharge_ready", at(day, hour), {})


def answer(day: dt.date, receive_from: dt.date | None, can_receive: bool = True,
           hour: int = 14) -> tuple[str, dt.datetime, dict]:
    return ("discharge_ready_answered", at(day, hour),
            {"receive_from": receive_from.isoformat() if receive_from else None,
             "can_receive": can_receive})


def test_the_notice_day_counts_and_the_day_the_municipality_can_receive_does_not():
    found = periods([notice(DAY), answer(DAY, plus(4), can_receive=False),
                     ("discharged", at(plus(4), 11), {})])
    assert ready_days(found, plus(30)) == 4
    assert payable_days(found, plus(30)) == 4


def test_nothing_is_payable_when_the_municipality_answers_in_time_that_it_can_receive_now():
    found = periods([notice(DAY), answer(DAY, DAY), ("discharged", at(plus(1)), {})])
    assert ready_days(found, plus(30)) == 1  # discharged the next morning
    assert payable_days(found, plus(30)) == 0


def test_an_unanswered_notice_is_payable_until_discharge():
    found = periods([notice(DAY), ("discharged", at(plus(6)), {})])
    assert found[0].answered_at is None
    assert payable_days(found, plus(30)) == ready_days(found, plus(30)) == 6


def test_a_late_answer_does_not_take_back_the_days_before_it():
    # Answered two days later that it could receive from the notice day: the days
    # until the answer are still the municipality's (it did not answer the same day).
    found = periods([notice(DAY), answer(plus(2), DAY), ("discharged", at(plus(5)), {})])
    assert not found[0].answered_in_time
    assert payable_days(found, plus(30)) == 2
    assert ready_days(found, plus(30)) == 5


def test_the_patient_staying_after_the_municipality_can_receive_is_not_payable():
    found = periods([notice(DAY), answer(DAY, plus(3)), ("discharged", at(plus(7)), {})])
    assert payable_days(found, plus(30)) == 3
    assert ready_days(found, plus(30)) == 7


def test_a_withdrawn_notice_ends_the_period_and_a_new_notice_starts_another():
    found = periods([notice(DAY), ("discharge_ready_withdrawn", at(plus(2)), {}),
                     notice(plus(10)), ("discharged", at(plus(13)), {})])
    assert [p.start for p in found] == [DAY, plus(10)]
    assert ready_days(found, plus(30)) == 2 + 3
    assert payable_days(found, plus(30)) == 5  # never answered


def test_an_open_period_counts_until_today():
    found = periods([notice(DAY)])
    assert ready_days(found, plus(9)) == payable_days(found, plus(9)) == 9


def test_the_planned_decision_date_opens_a_period_until_discharge_without_a_notice():
    found = periods([("municipal_decision", at(DAY - dt.timedelta(days=40)),
                      {"discharge_ready_from": DAY.isoformat()}),
                     ("admitted", at(DAY - dt.timedelta(days=30)), {}),
                     ("discharged", at(plus(3)), {})])
    assert found[0].planned and found[0].start == DAY
    assert ready_days(found, plus(30)) == payable_days(found, plus(30)) == 3


def test_a_notice_replaces_the_planned_date():
    found = periods([("municipal_decision", at(DAY - dt.timedelta(days=40)),
                      {"discharge_ready_from": DAY.isoformat()}),
                     notice(plus(2)), answer(plus(2), plus(2)),
                     ("discharged", at(plus(2), 16), {})])
    assert len(found) == 1 and not found[0].planned
    assert found[0].planned_from == DAY and found[0].start == plus(2)
    assert ready_days(found, plus(30)) == payable_days(found, plus(30)) == 0


def test_a_repeated_notice_keeps_the_first_day():
    found = periods([notice(DAY), notice(plus(3)), ("discharged", at(plus(5)), {})])
    assert len(found) == 1 and ready_days(found, plus(30)) == 5


def test_days_are_oslo_calendar_days_across_the_spring_and_autumn_clock_changes():
    spring = dt.date(2026, 3, 28)  # clocks go forward in the night to 29 March
    found = periods([notice(spring, 23), ("discharged", at(dt.date(2026, 3, 30), 0, 30), {})])
    assert ready_days(found, dt.date(2026, 4, 30)) == 2
    autumn = dt.date(2026, 10, 24)  # clocks go back in the night to 25 October
    found = periods([notice(autumn, 0, ), ("discharged", at(dt.date(2026, 10, 26), 23), {})])
    assert ready_days(found, dt.date(2026, 11, 30)) == 2
    # 23:30 UTC on 24 October is already 25 October in Oslo (UTC+2 in summer time).
    assert local_day(dt.datetime(2026, 10, 24, 23, 30, tzinfo=dt.UTC)) == dt.date(2026, 10, 25)


# --------------------------------------------------------------------------- properties

# Instants spread over a year with both clock changes, as UTC, so that hypothesis also
# picks the hours that do not exist or exist twice in Oslo.
instants = st.datetimes(min_value=dt.datetime(2026, 1, 1), max_value=dt.datetime(2026, 12, 31),
                        timezones=st.just(dt.UTC))

chain_kinds = st.sampled_from(["discharge_ready", "discharge_ready_answered",
                               "discharge_ready_withdrawn", "discharged", "admitted",
                               "municipal_decision"])


@st.composite
def chains(draw: st.DrawFn) -> list[tuple[str, dt.datetime, dict]]:
    events = []
    for _ in range(draw(st.integers(0, 12))):
        kind = draw(chain_kinds)
        when = draw(instants)
        data: dict = {}
        if kind == "discharge_ready_answered":
            receive = draw(st.none() | st.dates(dt.date(2025, 12, 1), dt.date(2027, 1, 31)))
            data = {"receive_from": receive.isoformat() if receive else None,
                    "can_receive": draw(st.booleans())}
        if kind == "municipal_decision":
            data = {"discharge_ready_from": draw(st.dates(dt.date(2026, 1, 1),
                                                          dt.date(2026, 12, 31))).isoformat()}
        events.append((kind, when, data))
    return events


today = st.dates(dt.date(2026, 1, 1), dt.date(2027, 3, 1))


@given(chains(), today)
def test_days_are_never_negative_and_payable_days_never_exceed_ready_days(events, day):
    found = periods(events)
    for p in found:
        assert 0 <= p.payable_days(day) <= p.ready_days(day)
    assert 0 <= payable_days(found, day) <= ready_days(found, day)


@given(chains(), today)
def test_periods_do_not_overlap_so_no_day_is_counted_twice(events, day):
    counted = [d for p in periods(events) for d, _paid in p.days(day)]
    assert len(counted) == len(set(counted)) == ready_days(periods(events), day)


@given(chains(), today)
def test_no_day_after_a_withdrawal_is_counted_before_the_next_notice(events, day):
    found = periods(events)
    counted = {d for p in found for d, _paid in p.days(day)}
    for i, p in enumerate(found):
        if p.withdrawn_at is None:
            continue
        # Until a later period opens: a later notice's day, or a planned date.
        opened = [local_day(q.notice_at) if q.notice_at else q.start for q in found[i + 1:]]
        gap_end = min(opened, default=dt.date.max)
        gap_start = local_day(p.withdrawn_at)
        assert not {d for d in counted if gap_start <= d < gap_end}


@given(st.dates(dt.date(2026, 1, 1), dt.date(2026, 12, 1)), st.integers(0, 23),
       st.integers(0, 60), st.integers(0, 23))
def test_the_count_is_the_number_of_oslo_calendar_days_whatever_the_clock_does(
        start, hour, length, end_hour):
    end = start + dt.timedelta(days=length)
    found = periods([("discharge_ready", dt.datetime.combine(start, dt.time(hour), tzinfo=OSLO)
                      .astimezone(dt.UTC), {}),
                     ("discharged", dt.datetime.combine(end, dt.time(end_hour), tzinfo=OSLO)
                      .astimezone(dt.UTC), {})])
    if (end, end_hour) < (start, hour):
        return
    walked, day = 0, start
    while day < end:
        walked += 1
        day += dt.timedelta(days=1)
    assert ready_days(found, dt.date(2027, 6, 1)) == walked == length
