"""Property tests of the closer-observation schedule (schedule.step): the next task is
never due earlier than the interval after the set, it stops after N normal sets in a
row, and a raised score always (re)starts it."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from samhand.observations.schedule import RAISED, State, step

START = dt.datetime(2026, 11, 1, 8, 0, tzinfo=dt.UTC)
RISKS = ("low", "low-medium", "medium", "high")

sets = st.lists(st.tuples(st.sampled_from(RISKS), st.booleans(),
                          st.integers(min_value=1, max_value=72 * 60)), max_size=40)


def run(history, interval, end_after):
    state, at, out = State(), START, []
    for risk, normal, minutes in history:
        at += dt.timedelta(minutes=minutes)
        normal = normal and risk == "low"  # "normal" needs risk low
        result = step(state, risk=risk, normal=normal, taken_at=at, interval=interval,
                      end_after=end_after)
        out.append((risk, normal, at, state, result))
        state = result.state
    return out


@given(sets, st.integers(min_value=1, max_value=168), st.integers(min_value=1, max_value=10))
def test_the_next_task_is_never_due_earlier_than_the_interval(history, hours, end_after):
    interval = dt.timedelta(hours=hours)
    for _risk, _normal, at, _before, result in run(history, interval, end_after):
        if result.next_due is not None:
            assert result.next_due >= at + interval


@given(sets, st.integers(min_value=1, max_value=10))
def test_it_stops_exactly_after_n_normal_sets_in_a_row(history, end_after):
    interval = dt.timedelta(hours=24)
    normal_run = 0
    for risk, normal, _at, before, result in run(history, interval, end_after):
        if risk in RAISED:
            normal_run = 0
            assert result.state.since is not None and result.next_due is not None
            assert result.started is (before.since is None)
            continue
        if before.since is None:
            assert result.next_due is None and result.state.since is None
            continue
        normal_run = normal_run + 1 if normal else 0
        if normal_run >= end_after:
            assert result.ended and result.state.since is None and result.next_due is None
            normal_run = 0
        else:
            assert not result.ended and result.state.since == before.since
            assert result.state.normal_in_row == normal_run


@given(sets)
def test_without_a_raised_score_there_is_never_a_task(history):
    calm = [(r, n, m) for r, n, m in history if r not in RAISED]
    for _risk, _normal, _at, _before, result in run(calm, dt.timedelta(hours=24), 3):
        assert result.next_due is None and result.state == State()
