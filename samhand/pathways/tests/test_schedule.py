"""Due-date arithmetic and the plan: boundary cases in Europe/Oslo."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from samhand.pathways.definitions import (
    DueRule,
    Offset,
    PhaseDef,
    TaskDef,
    Template,
    Text,
)
from samhand.pathways.schedule import (
    add_months,
    apply_offset,
    flag_intervals,
    localize,
    plan,
    validate_event_order,
)

OSLO = ZoneInfo("Europe/Oslo")
UTC = dt.UTC


def oslo(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=OSLO)  # type: ignore[misc]


def wall(value: dt.datetime) -> tuple[int, ...]:
    v = value.astimezone(OSLO)
    return (v.year, v.month, v.day, v.hour, v.minute)


T = Text("x", "x", "x")


def template(*tasks: TaskDef, flags: tuple[str, ...] = ()) -> Template:
    return Template(
        key="t", version=1, title=T, entries={"elective": T, "acute": T},
        phases=(PhaseDef("p", T),), measures=(), tasks=tasks, gates=(),
        events=("referral", "meeting_held", "admitted", "discharged", "readmitted", "ended",
                "vulnerable_marked", "vulnerable_cleared"),
        flags=flags,
    )


def task(key: str, due: DueRule | None, entries: frozenset[str] = frozenset()) -> TaskDef:
    return TaskDef(key=key, title=T, side="hospital", role="ltmv_nurse", phase="p",
                   entries=entries, due=due)


# --- month arithmetic ------------------------------------------------------------------


def test_31_january_plus_one_month_is_28_february_in_a_common_year() -> None:
    assert wall(add_months(oslo(2027, 1, 31, 9), 1)) == (2027, 2, 28, 9, 0)


def test_31_january_plus_one_month_is_29_february_in_a_leap_year() -> None:
    assert wall(add_months(oslo(2028, 1, 31, 9), 1)) == (2028, 2, 29, 9, 0)


def test_29_february_plus_twelve_months_is_28_february() -> None:
    assert wall(add_months(oslo(2028, 2, 29, 9), 12)) == (2029, 2, 28, 9, 0)


def test_29_february_plus_48_months_is_29_february_again() -> None:
    assert wall(add_months(oslo(2028, 2, 29, 9), 48)) == (2032, 2, 29, 9, 0)


def test_31_march_minus_one_month_is_28_february() -> None:
    assert wall(add_months(oslo(2027, 3, 31, 9), -1)) == (2027, 2, 28, 9, 0)


def test_month_end_does_not_drift_when_counted_from_the_anchor() -> None:
    start = oslo(2027, 1, 31, 9)
    assert [wall(add_months(start, n))[:3] for n in range(1, 4)] == [
        (2027, 2, 28), (2027, 3, 31), (2027, 4, 30)]


def test_december_plus_one_month_rolls_the_year() -> None:
    assert wall(add_months(oslo(2026, 12, 15, 9), 1)) == (2027, 1, 15, 9, 0)


def test_a_month_across_the_spring_change_keeps_the_wall_clock_time() -> None:
    # Last Sunday of March 2027 is the 28th: 02:00 → 03:00.
    before = oslo(2027, 3, 10, 10)
    after = add_months(before, 1)
    assert wall(after) == (2027, 4, 10, 10, 0)
    assert after.utcoffset() == dt.timedelta(hours=2)
    assert before.utcoffset() == dt.timedelta(hours=1)


def test_a_month_across_the_autumn_change_keeps_the_wall_clock_time() -> None:
    # Last Sunday of October 2027 is the 31st: 03:00 → 02:00.
    after = add_months(oslo(2027, 10, 15, 8, 30), 1)
    assert wall(after) == (2027, 11, 15, 8, 30)
    assert after.utcoffset() == dt.timedelta(hours=1)


def test_one_day_over_the_spring_sunday_is_23_hours_but_the_same_wall_time() -> None:
    saturday = oslo(2027, 3, 27, 12)
    sunday = apply_offset(saturday, Offset(days=1))
    assert wall(sunday) == (2027, 3, 28, 12, 0)
    assert sunday.astimezone(UTC) - saturday.astimezone(UTC) == dt.timedelta(hours=23)


def test_one_day_over_the_autumn_sunday_is_25_hours_but_the_same_wall_time() -> None:
    saturday = oslo(2027, 10, 30, 12)
    sunday = apply_offset(saturday, Offset(days=1))
    assert wall(sunday) == (2027, 10, 31, 12, 0)
    assert sunday.astimezone(UTC) - saturday.astimezone(UTC) == dt.timedelta(hours=25)


def test_hours_are_elapsed_time_across_the_spring_change() -> None:
    start = oslo(2027, 3, 28, 0, 30)
    assert wall(apply_offset(start, Offset(hours=3))) == (2027, 3, 28, 4, 30)


def test_a_wall_time_in_the_spring_gap_moves_forward_by_the_gap() -> None:
    # 28 Feb 02:30 + 1 month lands on 28 March 02:30, which does not exist.
    result = add_months(oslo(2027, 2, 28, 2, 30), 1)
    assert wall(result) == (2027, 3, 28, 3, 30)


def test_an_ambiguous_autumn_wall_time_is_the_first_one() -> None:
    result = add_months(oslo(2027, 9, 30, 2, 30), 1) + dt.timedelta(0)
    assert wall(result) == (2027, 10, 30, 2, 30)
    ambiguous = localize(dt.datetime(2027, 10, 31, 2, 30))
    assert ambiguous.utcoffset() == dt.timedelta(hours=2)


def test_utc_input_is_reckoned_on_the_oslo_calendar() -> None:
    # 31 Jan 23:30 UTC is 1 Feb 00:30 in Oslo: + 1 month is 1 March.
    result = add_months(dt.datetime(2027, 1, 31, 23, 30, tzinfo=UTC), 1)
    assert wall(result) == (2027, 3, 1, 0, 30)


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        add_months(dt.datetime(2027, 1, 1), 1)


def test_apply_offset_takes_a_rule_and_combines_months_days_and_hours() -> None:
    rule = DueRule(anchor="start", offset=Offset(months=1, days=2, hours=3))
    assert wall(apply_offset(oslo(2027, 1, 30, 8), rule)) == (2027, 3, 2, 11, 0)


# --- plan ------------------------------------------------------------------------------


def test_a_task_appears_only_once_its_anchor_event_has_happened() -> None:
    t = template(task("visit", DueRule("event:discharged", Offset(months=1))))
    assert plan(t, "elective", [("admitted", oslo(2027, 1, 1))], {}, {},
                oslo(2027, 1, 2)) == []
    occ = plan(t, "elective", [("admitted", oslo(2027, 1, 1)),
                               ("discharged", oslo(2027, 1, 31, 14))], {}, {},
               oslo(2027, 2, 1))
    assert [(o.task_key, o.seq, wall(o.due_at)) for o in occ if o.due_at] == [
        ("visit", 1, (2027, 2, 28, 14, 0))]


def test_after_a_readmission_the_first_home_visit_is_due_again_from_the_new_discharge(
) -> None:
    t = template(task("visit", DueRule("event:discharged", Offset(months=1))))
    events = [("admitted", oslo(2027, 1, 1)), ("discharged", oslo(2027, 1, 10)),
              ("readmitted", oslo(2027, 1, 20)), ("discharged", oslo(2027, 2, 5))]
    occ = plan(t, "elective", events, {}, {}, oslo(2027, 2, 6))
    # The first visit (due 10 Feb) was superseded by the new discharge on 5 Feb.
    assert [(o.seq, wall(o.due_at)[:3], o.series) for o in occ if o.due_at] == [
        (1, (2027, 3, 5), 2)]


def test_a_visit_due_before_the_readmission_stays_and_the_next_one_continues_the_seq(
) -> None:
    t = template(task("visit", DueRule("event:discharged", Offset(days=3))))
    events = [("admitted", oslo(2027, 1, 1)), ("discharged", oslo(2027, 1, 10)),
              ("readmitted", oslo(2027, 1, 20)), ("discharged", oslo(2027, 2, 5))]
    occ = plan(t, "elective", events, {}, {}, oslo(2027, 2, 6))
    assert [(o.seq, wall(o.due_at)[:3]) for o in occ if o.due_at] == [
        (1, (2027, 1, 13)), (2, (2027, 2, 8))]


def test_anchor_instance_first_ignores_later_events() -> None:
    t = template(task("ip", DueRule("event:meeting_held", None, anchor_instance="first")))
    occ = plan(t, "elective", [("meeting_held", oslo(2027, 1, 1)),
                               ("meeting_held", oslo(2027, 2, 1))], {}, {}, oslo(2027, 3, 1))
    assert [(o.seq, o.due_at, o.reference_at) for o in occ] == [
        (1, None, oslo(2027, 1, 1))]


def test_a_monthly_series_returns_everything_due_plus_the_next_and_supervises_the_first_three(
) -> None:
    rule = DueRule("event:discharged", Offset(months=1), every=Offset(months=1),
                   supervised_first=3)
    t = template(task("cannula", rule))
    occ = plan(t, "elective", [("admitted", oslo(2027, 1, 1)),
                               ("discharged", oslo(2027, 1, 31, 10))], {}, {},
               oslo(2027, 5, 1))
    assert [(o.seq, wall(o.due_at)[:3], o.supervised) for o in occ if o.due_at] == [
        (1, (2027, 2, 28), True), (2, (2027, 3, 31), True), (3, (2027, 4, 30), True),
        (4, (2027, 5, 31), False)]


def test_count_stops_a_series() -> None:
    rule = DueRule("start", Offset(days=7), every=Offset(days=7), count=2)
    t = template(task("call", rule))
    occ = plan(t, "elective", [("referral", oslo(2027, 1, 1))], {}, {}, oslo(2027, 6, 1))
    assert [o.seq for o in occ] == [1, 2]


def test_max_per_year_skips_to_the_next_calendar_year() -> None:
    rule = DueRule("start", Offset(months=1), every=Offset(months=3), max_per_year=2)
    t = template(task("team_day", rule))
    occ = plan(t, "elective", [("referral", oslo(2027, 1, 15))], {}, {}, oslo(2028, 6, 1))
    dues = [wall(o.due_at)[:2] for o in occ if o.due_at]
    assert dues == [(2027, 2), (2027, 5), (2028, 2), (2028, 5), (2029, 2)]
    assert [o.seq for o in occ] == [1, 2, 3, 4, 5]


def test_while_flag_keeps_only_occurrences_while_the_patient_is_vulnerable() -> None:
    rule = DueRule("start", Offset(), every=Offset(days=14), while_flag="vulnerable")
    t = template(task("checklist", rule), flags=("vulnerable",))
    events = [("referral", oslo(2027, 1, 1, 9)),
              ("vulnerable_marked", oslo(2027, 1, 10)),
              ("vulnerable_cleared", oslo(2027, 2, 10))]
    flags = flag_intervals(events)
    occ = plan(t, "elective", events, {}, flags, oslo(2027, 6, 1))
    assert [wall(o.due_at)[:3] for o in occ if o.due_at] == [
        (2027, 1, 15), (2027, 1, 29)]


def test_while_flag_open_interval_gives_the_next_occurrence() -> None:
    rule = DueRule("event:vulnerable_marked", Offset(days=14), every=Offset(days=14),
                   while_flag="vulnerable", until=("vulnerable_cleared",))
    t = template(task("checklist", rule), flags=("vulnerable",))
    events = [("vulnerable_marked", oslo(2027, 1, 10, 9))]
    occ = plan(t, "elective", events, {}, flag_intervals(events), oslo(2027, 2, 1))
    assert [wall(o.due_at)[:3] for o in occ if o.due_at] == [
        (2027, 1, 24), (2027, 2, 7)]


def test_until_event_ends_the_series() -> None:
    rule = DueRule("event:discharged", Offset(months=1), every=Offset(months=1),
                   until=("readmitted",))
    t = template(task("cannula", rule))
    events = [("admitted", oslo(2027, 1, 1)), ("discharged", oslo(2027, 1, 10)),
              ("readmitted", oslo(2027, 3, 20))]
    occ = plan(t, "elective", events, {}, {}, oslo(2027, 6, 1))
    assert [wall(o.due_at)[:3] for o in occ if o.due_at] == [(2027, 2, 10), (2027, 3, 10)]


def test_nothing_falls_due_after_the_pathway_ended() -> None:
    rule = DueRule("event:discharged", Offset(months=1), every=Offset(months=1))
    t = template(task("cannula", rule))
    events = [("admitted", oslo(2027, 1, 1)), ("discharged", oslo(2027, 1, 10)),
              ("ended", oslo(2027, 3, 1))]
    occ = plan(t, "elective", events, {}, {}, oslo(2027, 6, 1))
    assert [wall(o.due_at)[:3] for o in occ if o.due_at] == [(2027, 2, 10)]


def test_a_task_anchored_to_a_task_is_due_relative_to_the_completion() -> None:
    t = template(task("train", DueRule("event:referral", None)),
                 task("confirm", DueRule("task:train", Offset(days=3))))
    events = [("referral", oslo(2027, 1, 1))]
    assert [o.task_key for o in plan(t, "elective", events, {}, {}, oslo(2027, 1, 2))] == [
        "train"]
    occ = plan(t, "elective", events, {"train": [oslo(2027, 1, 5, 15)]}, {},
               oslo(2027, 1, 6))
    confirm = [o for o in occ if o.task_key == "confirm"]
    assert [wall(o.due_at) for o in confirm if o.due_at] == [(2027, 1, 8, 15, 0)]


def test_warn_and_at_latest_are_counted_from_the_anchor() -> None:
    rule = DueRule("event:meeting_held", Offset(months=3), warn=Offset(months=2),
                   at_latest=Offset(months=6))
    t = template(task("team", rule))
    (occ,) = plan(t, "elective", [("meeting_held", oslo(2027, 1, 20, 10))], {}, {},
                  oslo(2027, 1, 21))
    assert occ.due_at and occ.warn_at and occ.latest_at
    assert (wall(occ.warn_at)[:3], wall(occ.due_at)[:3], wall(occ.latest_at)[:3]) == (
        (2027, 3, 20), (2027, 4, 20), (2027, 7, 20))


def test_a_task_without_a_due_rule_appears_at_the_start_without_deadline() -> None:
    t = template(task("note", None))
    (occ,) = plan(t, "elective", [("referral", oslo(2027, 1, 1))], {}, {}, oslo(2027, 1, 2))
    assert (occ.task_key, occ.seq, occ.due_at, occ.reference_at) == (
        "note", 1, None, oslo(2027, 1, 1))


def test_entry_variants_select_tasks() -> None:
    t = template(task("a", None, frozenset({"acute"})), task("b", None))
    assert [o.task_key for o in plan(t, "elective", [("referral", oslo(2027, 1, 1))], {}, {},
                                     oslo(2027, 1, 2))] == ["b"]


def test_unknown_entry_is_refused() -> None:
    with pytest.raises(ValueError, match="entry"):
        plan(template(), "nope", [], {}, {}, oslo(2027, 1, 1))


# --- event order -----------------------------------------------------------------------


def test_discharged_before_admitted_is_refused() -> None:
    assert validate_event_order([("referral", oslo(2027, 1, 1))], "discharged",
                                oslo(2027, 1, 2)) == "Discharged before admitted"


def test_discharged_after_admitted_is_accepted() -> None:
    assert validate_event_order([("admitted", oslo(2027, 1, 1))], "discharged",
                                oslo(2027, 1, 2)) is None


def test_discharged_dated_before_the_admission_is_refused() -> None:
    msg = validate_event_order([("admitted", oslo(2027, 1, 5))], "discharged",
                               oslo(2027, 1, 2))
    assert msg is not None and "before" in msg


def test_discharged_twice_is_refused() -> None:
    events = [("admitted", oslo(2027, 1, 1)), ("discharged", oslo(2027, 1, 5))]
    assert validate_event_order(events, "discharged", oslo(2027, 1, 6)) is not None


def test_readmitted_needs_a_discharge() -> None:
    assert validate_event_order([("admitted", oslo(2027, 1, 1))], "readmitted",
                                oslo(2027, 1, 2)) is not None
    events = [("admitted", oslo(2027, 1, 1)), ("discharged", oslo(2027, 1, 5))]
    assert validate_event_order(events, "readmitted", oslo(2027, 1, 6)) is None
    events.append(("readmitted", oslo(2027, 1, 6)))
    assert validate_event_order(events, "discharged", oslo(2027, 1, 9)) is None


def test_municipal_decision_needs_an_application() -> None:
    assert validate_event_order([("meeting_held", oslo(2027, 1, 1))], "municipal_decision",
                                oslo(2027, 1, 2)) == "Municipal decision before application sent"
    assert validate_event_order([("application_sent", oslo(2027, 1, 3))],
                                "municipal_decision", oslo(2027, 1, 2)) is not None
    assert validate_event_order([("application_sent", oslo(2027, 1, 1))],
                                "municipal_decision", oslo(2027, 1, 2)) is None


def test_nothing_after_ended() -> None:
    assert validate_event_order([("ended", oslo(2027, 1, 1))], "phase_changed",
                                oslo(2027, 1, 2)) is not None


def test_vulnerable_mark_must_be_set_before_it_is_cleared() -> None:
    assert validate_event_order([], "vulnerable_cleared", oslo(2027, 1, 2)) is not None
    events = [("vulnerable_marked", oslo(2027, 1, 1))]
    assert validate_event_order(events, "vulnerable_marked", oslo(2027, 1, 2)) is not None
    assert validate_event_order(events, "vulnerable_cleared", oslo(2027, 1, 2)) is None


def test_meeting_dated_before_the_referral_is_refused() -> None:
    assert validate_event_order([("referral", oslo(2027, 1, 5))], "meeting_held",
                                oslo(2027, 1, 2)) is not None


def test_unknown_event_kind_is_refused() -> None:
    assert validate_event_order([], "teleported", oslo(2027, 1, 2)) is not None
