"""Property tests for the due rules (hypothesis)."""

from __future__ import annotations

import calendar
import datetime as dt
import itertools
from zoneinfo import ZoneInfo

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from samhand.pathways.definitions import DueRule, Offset, PhaseDef, TaskDef, Template, Text
from samhand.pathways.schedule import add_months, apply_offset, flag_intervals, localize, plan

OSLO = ZoneInfo("Europe/Oslo")
UTC = dt.UTC
T = Text("x", "x", "x")

# Wall-clock times in Oslo, with the daylight-saving weekends drawn often.
dst_days = st.sampled_from([
    dt.date(2026, 3, 28), dt.date(2026, 3, 29), dt.date(2026, 10, 24), dt.date(2026, 10, 25),
    dt.date(2027, 3, 27), dt.date(2027, 3, 28), dt.date(2027, 10, 30), dt.date(2027, 10, 31),
    dt.date(2028, 2, 29), dt.date(2027, 1, 31), dt.date(2028, 1, 31), dt.date(2027, 12, 31),
])
any_day = st.dates(min_value=dt.date(2024, 1, 1), max_value=dt.date(2034, 12, 31))
times = st.builds(dt.time, st.integers(0, 23), st.sampled_from([0, 15, 30, 45]))
walls = st.builds(dt.datetime.combine, st.one_of(dst_days, any_day), times)


def in_gap(wall: dt.datetime) -> bool:
    """Whether the wall-clock time does not exist in Oslo (spring forward)."""
    return localize(wall).replace(tzinfo=None) != wall


aware = walls.filter(lambda w: not in_gap(w)).map(localize)

offsets = st.builds(Offset, months=st.integers(0, 24), days=st.integers(0, 60),
                    hours=st.just(0))
everies = st.one_of(st.builds(Offset, months=st.integers(1, 12)),
                    st.builds(Offset, days=st.integers(1, 60)))


def template(*tasks: TaskDef) -> Template:
    return Template(
        key="t", version=1, title=T, entries={"elective": T}, phases=(PhaseDef("p", T),),
        measures=(), tasks=tasks, gates=(),
        events=("referral", "admitted", "discharged", "readmitted", "ended",
                "vulnerable_marked", "vulnerable_cleared"),
        flags=("vulnerable",),
    )


def task(key: str, due: DueRule) -> TaskDef:
    return TaskDef(key=key, title=T, side="hospital", role="ltmv_nurse", phase="p", due=due)


rules = st.builds(
    DueRule,
    anchor=st.sampled_from(["event:discharged", "start", "task:a"]),
    offset=offsets,
    every=everies,
    count=st.one_of(st.none(), st.integers(1, 8)),
    supervised_first=st.integers(0, 4),
    max_per_year=st.one_of(st.none(), st.integers(1, 4)),
    until=st.sampled_from([(), ("readmitted",)]),
)


@st.composite
def histories(draw: st.DrawFn) -> tuple[list[tuple[str, dt.datetime]], dt.datetime]:
    """A plausible event history (referral, admissions, discharges) and a now."""
    start = draw(aware)
    events = [("referral", start)]
    at = start
    inside = False
    for _ in range(draw(st.integers(0, 5))):
        at = at + dt.timedelta(days=draw(st.integers(1, 120)), hours=draw(st.integers(0, 23)))
        if inside:
            events.append(("discharged", at))
        else:
            events.append(("readmitted" if any(k == "discharged" for k, _ in events)
                           else "admitted", at))
        inside = not inside
    now = at + dt.timedelta(days=draw(st.integers(0, 800)))
    return events, now


completions = st.lists(aware, max_size=4)


def series_of(occ: list, key: str) -> list:
    return sorted((o for o in occ if o.task_key == key), key=lambda o: o.seq)


# --- month arithmetic ------------------------------------------------------------------


@given(walls.filter(lambda w: not in_gap(w)), st.integers(-60, 60))
def test_add_months_moves_the_calendar_month_and_clamps_the_day(wall: dt.datetime,
                                                                n: int) -> None:
    result = add_months(localize(wall), n).astimezone(OSLO)
    index = wall.year * 12 + wall.month - 1 + n
    assert (result.year, result.month) == (index // 12, index % 12 + 1)
    assert result.day == min(wall.day, calendar.monthrange(result.year, result.month)[1])


@given(walls.filter(lambda w: not in_gap(w)), st.integers(-60, 60))
def test_add_months_keeps_the_wall_clock_time_unless_it_falls_in_the_spring_gap(
        wall: dt.datetime, n: int) -> None:
    result = add_months(localize(wall), n).astimezone(OSLO)
    target = result.replace(hour=wall.hour, minute=wall.minute, tzinfo=None)
    if in_gap(target):
        assert (result.hour, result.minute) == (wall.hour + 1, wall.minute)
    else:
        assert (result.hour, result.minute) == (wall.hour, wall.minute)


@given(aware, offsets)
def test_day_and_month_offsets_never_change_the_wall_clock_time_outside_the_gap(
        start: dt.datetime, offset: Offset) -> None:
    result = apply_offset(start, offset).astimezone(OSLO)
    naive = result.replace(tzinfo=None)
    wanted = naive.replace(hour=start.hour, minute=start.minute)
    assume(not in_gap(wanted))
    assert (result.hour, result.minute) == (start.hour, start.minute)


@given(aware, st.integers(-500, 500))
def test_hour_offsets_are_elapsed_time(start: dt.datetime, hours: int) -> None:
    result = apply_offset(start, Offset(hours=hours))
    assert result.astimezone(UTC) - start.astimezone(UTC) == dt.timedelta(hours=hours)


@given(aware, st.integers(0, 40), st.integers(0, 40))
def test_months_are_monotonic(start: dt.datetime, a: int, b: int) -> None:
    if a <= b:
        assert add_months(start, a) <= add_months(start, b)


@given(aware, offsets)
def test_the_same_instant_in_utc_or_oslo_gives_the_same_result(start: dt.datetime,
                                                               offset: Offset) -> None:
    assert apply_offset(start, offset) == apply_offset(start.astimezone(UTC), offset)


# --- the plan --------------------------------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(rules, histories(), completions)
def test_due_dates_are_monotonic_in_seq_and_never_before_the_anchor(
        rule: DueRule, history: tuple, done: list[dt.datetime]) -> None:
    events, now = history
    t = template(task("a", DueRule("start", None)), task("b", rule))
    occ = series_of(plan(t, "elective", events, {"a": done}, {}, now), "b")
    assert [o.seq for o in occ] == list(range(1, len(occ) + 1))
    dues = [o.due_at for o in occ]
    assert all(d is not None for d in dues)
    for earlier, later in itertools.pairwise(occ):
        assert earlier.due_at is not None and later.due_at is not None
        assert earlier.series <= later.series
        assert earlier.due_at <= later.due_at
    anchors = {"start": [events[0][1]],
               "event:discharged": [at for k, at in events if k == "discharged"],
               "task:a": sorted(done)}[rule.anchor]
    for o in occ:
        assert o.reference_at is not None and o.due_at is not None
        assert o.reference_at >= anchors[o.series - 1]
        assert o.due_at >= o.reference_at


@settings(max_examples=150, deadline=None)
@given(rules, histories())
def test_supervised_count_count_and_max_per_year_are_respected(rule: DueRule,
                                                               history: tuple) -> None:
    events, now = history
    t = template(task("b", rule))
    occ = series_of(plan(t, "elective", events, {}, {}, now), "b")
    assert sum(o.supervised for o in occ) == min(rule.supervised_first, len(occ))
    assert all(o.supervised for o in occ[:rule.supervised_first])
    if rule.count is not None:
        for series in {o.series for o in occ}:
            assert sum(1 for o in occ if o.series == series) <= rule.count
    if rule.max_per_year is not None:
        years: dict[int, int] = {}
        for o in occ:
            assert o.due_at is not None
            year = o.due_at.astimezone(OSLO).year
            years[year] = years.get(year, 0) + 1
        assert max(years.values(), default=0) <= rule.max_per_year


@settings(max_examples=150, deadline=None)
@given(rules, histories())
def test_a_series_gives_everything_due_plus_at_most_one_more(rule: DueRule,
                                                             history: tuple) -> None:
    events, now = history
    occ = series_of(plan(template(task("b", rule)), "elective", events, {}, {}, now), "b")
    for series in {o.series for o in occ}:
        future = [o for o in occ if o.series == series and o.due_at and o.due_at > now]
        assert len(future) <= 1


@settings(max_examples=100, deadline=None)
@given(rules, histories(), completions)
def test_plan_is_deterministic_and_ignores_the_order_events_are_given_in(
        rule: DueRule, history: tuple, done: list[dt.datetime]) -> None:
    events, now = history
    t = template(task("a", DueRule("start", None)), task("b", rule))
    first = plan(t, "elective", events, {"a": done}, {}, now)
    again = plan(t, "elective", list(events), {"a": list(done)}, {}, now)
    shuffled = plan(t, "elective", list(reversed(events)), {"a": list(reversed(done))}, {},
                    now)
    assert first == again == shuffled


@settings(max_examples=150, deadline=None)
@given(rules, histories(), st.integers(0, 1000))
def test_planning_later_keeps_every_occurrence_planned_earlier(rule: DueRule,
                                                               history: tuple,
                                                               days: int) -> None:
    events, now = history
    t = template(task("b", rule))
    earlier = plan(t, "elective", events, {}, {}, now)
    later = plan(t, "elective", events, {}, {}, now + dt.timedelta(days=days))
    assert set(earlier) <= set(later)


@settings(max_examples=150, deadline=None)
@given(rules, histories(), completions, aware)
def test_adding_a_completion_never_removes_an_occurrence_due_before_it(
        rule: DueRule, history: tuple, done: list[dt.datetime], extra: dt.datetime) -> None:
    events, now = history
    t = template(task("a", DueRule("start", None)), task("b", rule))
    before = plan(t, "elective", events, {"a": done}, {}, now)
    after = plan(t, "elective", events, {"a": [*done, extra]}, {}, now)
    kept = {o for o in before if o.due_at is not None and o.due_at < extra}
    assert kept <= set(after)


@settings(max_examples=150, deadline=None)
@given(st.builds(Offset, months=st.integers(0, 24), days=st.integers(0, 60)), everies,
       st.integers(1, 6), histories())
def test_every_occurrence_keeps_the_anchors_wall_clock_time(offset: Offset, every: Offset,
                                                           count: int, history: tuple
                                                           ) -> None:
    events, now = history
    rule = DueRule("start", offset, every=every, count=count)
    occ = plan(template(task("b", rule)), "elective", events, {}, {}, now)
    start = events[0][1].astimezone(OSLO)
    for o in occ:
        assert o.due_at is not None
        due = o.due_at.astimezone(OSLO)
        if not in_gap(due.replace(tzinfo=None, hour=start.hour, minute=start.minute)):
            assert (due.hour, due.minute) == (start.hour, start.minute)


@settings(max_examples=150, deadline=None)
@given(aware, st.lists(st.tuples(st.integers(1, 60), st.integers(1, 90)), max_size=4),
       st.integers(1, 30), st.integers(0, 400))
def test_while_flag_occurrences_all_fall_inside_a_flag_interval(
        start: dt.datetime, gaps: list[tuple[int, int]], every_days: int, tail: int) -> None:
    events = [("referral", start)]
    at = start
    for off_gap, on_len in gaps:
        at = at + dt.timedelta(days=off_gap)
        events.append(("vulnerable_marked", at))
        at = at + dt.timedelta(days=on_len)
        events.append(("vulnerable_cleared", at))
    now = at + dt.timedelta(days=tail)
    rule = DueRule("start", Offset(), every=Offset(days=every_days), while_flag="vulnerable")
    flags = flag_intervals(events)
    occ = plan(template(task("c", rule)), "elective", events, {}, flags, now)
    for o in occ:
        assert o.due_at is not None
        assert any(s <= o.due_at and (e is None or o.due_at < e)
                   for s, e in flags.get("vulnerable", []))


@settings(max_examples=100, deadline=None)
@given(rules, histories())
def test_nothing_is_due_at_or_after_the_end(rule: DueRule, history: tuple) -> None:
    events, now = history
    end = events[-1][1] + dt.timedelta(days=10)
    events = [*events, ("ended", end)]
    occ = plan(template(task("b", rule)), "elective", events, {}, {}, max(now, end))
    assert all(o.due_at is not None and o.due_at < end for o in occ)
