"""Due dates for a pathway's tasks: pure functions of the template and what happened.

Time arithmetic is done on the Europe/Oslo wall clock: months are calendar months
(31 January + 1 month = 28/29 February, clamped to the month's end), days are calendar
days, and the result is localised again, so a deadline keeps its wall-clock time across
a daylight-saving change. Hours are elapsed time ("within 48 hours" means 48 real hours).
A wall-clock time that does not exist (02:30 on the last Sunday of March) is read with
the offset before the change, i.e. it becomes 03:30 summer time.

How :func:`plan` reads the due rules
------------------------------------
* ``event:<kind>`` — every recorded event of that kind starts a *series* (for a one-off
  task a series has one occurrence). A later event of the same kind ends the earlier
  series: what it had not reached by then is superseded, so after a readmission and a new
  discharge, "first home visit 1 month after discharge" is due again, 1 month after the
  latest discharge. ``seq`` keeps counting across series. With ``anchor_instance: first``
  only the first event counts.
* ``task:<key>`` — every completion of the anchor task starts a series, due relative to
  the completion time (completions are the times in ``completed[key]``).
* ``start`` — the pathway's start (``started_at``; without it, the earliest event).
* ``until`` events end a series (a one-off too: nothing of it falls due at or after
  such an event); ``ended`` ends everything: nothing falls due at or
  after the end, and anchors after it are ignored.
* A recurring series returns every occurrence due up to ``now`` plus the next one, so
  a worker can materialise rows idempotently by ``(task_key, seq)``. ``count`` caps a
  series (each series anew); ``supervised_first`` marks the first N occurrences of the
  task (all series together: the staff have learnt it once); ``while_flag`` keeps only
  occurrences whose due time falls inside an interval where the flag is set;
  ``max_per_year`` skips occurrences once the calendar year (Oslo) holds that many.
* Occurrences that are not yet due may move when new events arrive (a new anchor event
  supersedes the rest of the old series); the worker should update the due time of open
  rows by ``(task_key, seq)`` and leave finished rows alone.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from .definitions import EVENT_KINDS, FLAGS, DueRule, Offset, TaskDef, Template

OSLO = ZoneInfo("Europe/Oslo")

#: Safety bound on the candidates examined per series (daily for ~50 years).
MAX_CANDIDATES = 20_000

FlagIntervals = Mapping[str, Sequence[tuple[dt.datetime, dt.datetime | None]]]


@dataclass(frozen=True)
class Occurrence:
    """One occurrence of a task. ``seq`` is 1-based per task across all series.
    ``due_at`` is None for a task without a deadline (it appears at its anchor)."""

    task_key: str
    seq: int
    due_at: dt.datetime | None
    warn_at: dt.datetime | None = None
    supervised: bool = False
    #: The hard limit ("at the latest"), if the rule has one.
    latest_at: dt.datetime | None = None
    #: The time the offsets are counted from (anchor + every × (k − 1)).
    reference_at: dt.datetime | None = None
    #: Which series (1-based: the n-th anchor occurrence) this belongs to.
    series: int = 1


def _aware(value: dt.datetime, name: str = "datetime") -> dt.datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")
    return value


def localize(wall: dt.datetime) -> dt.datetime:
    """Attach Europe/Oslo to a naive wall-clock time, normalised through UTC (a time in
    the spring gap moves forward by the gap; an ambiguous autumn time is the first)."""
    return wall.replace(tzinfo=OSLO, fold=0).astimezone(dt.UTC).astimezone(OSLO)


def add_months(value: dt.datetime, n: int) -> dt.datetime:
    """``value`` plus ``n`` calendar months on the Oslo wall clock, the day clamped to
    the end of the month (31 Jan + 1 = 28/29 Feb). Returns an Oslo-aware datetime."""
    wall = _aware(value).astimezone(OSLO).replace(tzinfo=None)
    index = wall.year * 12 + (wall.month - 1) + n
    year, month0 = divmod(index, 12)
    day = min(wall.day, calendar.monthrange(year, month0 + 1)[1])
    return localize(wall.replace(year=year, month=month0 + 1, day=day))


def apply_offset(value: dt.datetime, rule: Offset | DueRule) -> dt.datetime:
    """``value`` plus an offset (or a due rule's offset): months and days by the Oslo
    wall clock, then hours as elapsed time. Returns an Oslo-aware datetime."""
    offset = (rule.offset or Offset()) if isinstance(rule, DueRule) else rule
    wall = _aware(value).astimezone(OSLO).replace(tzinfo=None)
    if offset.months:
        index = wall.year * 12 + (wall.month - 1) + offset.months
        year, month0 = divmod(index, 12)
        day = min(wall.day, calendar.monthrange(year, month0 + 1)[1])
        wall = wall.replace(year=year, month=month0 + 1, day=day)
    wall += dt.timedelta(days=offset.days)
    result = localize(wall)
    if offset.hours:
        result = (result.astimezone(dt.UTC) + dt.timedelta(hours=offset.hours)).astimezone(
            OSLO)
    return result


def reference_dates() -> tuple[dt.datetime, ...]:
    """Dates that bring out month-length differences, used to compare offsets."""
    return tuple(localize(dt.datetime(y, m, d, 12)) for y, m, d in (
        (2001, 1, 31), (2004, 2, 29), (2003, 3, 30), (2001, 10, 31), (2001, 6, 15)))


# --- flags and events -----------------------------------------------------------------


def _sorted_events(events: Sequence[tuple[str, dt.datetime]]) -> list[tuple[str, dt.datetime]]:
    # Stable: events at the same time keep their recorded order.
    return sorted(((k, _aware(t, "event time")) for k, t in events), key=lambda e: e[1])


def flag_intervals(events: Sequence[tuple[str, dt.datetime]]) -> dict[
        str, list[tuple[dt.datetime, dt.datetime | None]]]:
    """Flag intervals [set, cleared) derived from the set/clear events in FLAGS."""
    out: dict[str, list[tuple[dt.datetime, dt.datetime | None]]] = {}
    for flag, (on, off) in FLAGS.items():
        intervals: list[tuple[dt.datetime, dt.datetime | None]] = []
        start: dt.datetime | None = None
        for kind, at in _sorted_events(events):
            if kind == on and start is None:
                start = at
            elif kind == off and start is not None:
                intervals.append((start, at))
                start = None
        if start is not None:
            intervals.append((start, None))
        if intervals:
            out[flag] = intervals
    return out


def _covered(intervals: Sequence[tuple[dt.datetime, dt.datetime | None]],
             at: dt.datetime) -> bool:
    return any(start <= at and (end is None or at < end) for start, end in intervals)


def _may_be_covered_later(intervals: Sequence[tuple[dt.datetime, dt.datetime | None]],
                          at: dt.datetime) -> bool:
    return any(end is None or end > at for _start, end in intervals)


# --- the plan -------------------------------------------------------------------------


def _anchors(rule: DueRule, events: list[tuple[str, dt.datetime]],
             completed: Mapping[str, Sequence[dt.datetime]],
             start: dt.datetime | None, end: dt.datetime | None) -> list[dt.datetime]:
    kind, target = rule.anchor_kind, rule.anchor_target
    if kind == "start":
        times = [start] if start is not None else []
    elif kind == "event":
        times = [at for k, at in events if k == target]
    else:
        times = sorted(_aware(t, "completion time") for t in completed.get(target, ()))
    if end is not None:
        times = [t for t in times if t <= end]
    if rule.anchor_instance == "first":
        times = times[:1]
    return times


def _plan_task(task: TaskDef, rule: DueRule, anchors: list[dt.datetime],
               events: list[tuple[str, dt.datetime]], flags: FlagIntervals,
               end: dt.datetime | None, now: dt.datetime) -> list[Occurrence]:
    out: list[Occurrence] = []
    per_year: dict[int, int] = {}
    intervals = flags.get(rule.while_flag, ()) if rule.while_flag else ()
    for index, anchor in enumerate(anchors):
        cuts = [end] if end is not None else []
        if index + 1 < len(anchors):
            cuts.append(anchors[index + 1])
        cuts += [at for k, at in events if k in rule.until and at > anchor][:1]
        cut = min(cuts) if cuts else None
        in_series = 0
        for k in range(MAX_CANDIDATES if rule.every is not None else 1):
            # Offsets are summed before they are applied, always from the anchor, so
            # 31 Jan + (k + 1) months gives 28 Feb, 31 Mar, 30 Apr … without drift.
            shift = rule.every.times(k) if rule.every is not None else Offset()
            reference = apply_offset(anchor, shift)
            due = apply_offset(anchor, shift + rule.offset) if rule.offset is not None \
                else None
            at = due or reference
            if cut is not None and at >= cut:
                break
            if rule.while_flag and not _covered(intervals, at):
                if at > now and not _may_be_covered_later(intervals, at):
                    break
                continue
            year = at.year  # Oslo-aware: the Oslo calendar year
            if rule.max_per_year is not None and per_year.get(year, 0) >= rule.max_per_year:
                continue
            per_year[year] = per_year.get(year, 0) + 1
            in_series += 1
            seq = len(out) + 1
            out.append(Occurrence(
                due_at=due,
                task_key=task.key,
                seq=seq,
                warn_at=apply_offset(anchor, shift + rule.warn) if rule.warn else None,
                supervised=seq <= rule.supervised_first,
                latest_at=apply_offset(anchor, shift + rule.at_latest) if rule.at_latest
                else None,
                reference_at=reference,
                series=index + 1,
            ))
            if rule.count is not None and in_series >= rule.count:
                break
            if at > now:
                break
    return out


def plan(template: Template, entry: str, events: Sequence[tuple[str, dt.datetime]],
         completed: Mapping[str, Sequence[dt.datetime]], flags: FlagIntervals,
         now: dt.datetime, *, started_at: dt.datetime | None = None) -> list[Occurrence]:
    """Every occurrence of the entry's tasks that should exist at ``now``.

    ``events``: (kind, time) of the pathway's events; ``completed``: completion times per
    task key; ``flags``: intervals [set, cleared) per flag (see :func:`flag_intervals`);
    ``started_at``: the pathway's start (for ``start`` anchors; default: the earliest
    event). A task without a due rule appears once at the start, without a deadline.
    The result is sorted by due time (for tasks without a deadline: the time they
    appeared), then task key and seq. Pure and deterministic.
    """
    if entry not in template.entries:
        raise ValueError(f"template {template.key} has no entry {entry!r}")
    _aware(now, "now")
    ordered = _sorted_events(events)
    for kind, _at in ordered:
        if kind not in EVENT_KINDS:
            raise ValueError(f"unknown event kind {kind!r}")
    start = _aware(started_at, "started_at") if started_at is not None else (
        ordered[0][1] if ordered else None)
    end = next((at for kind, at in ordered if kind == "ended"), None)
    result: list[Occurrence] = []
    for task in template.tasks_for(entry):
        rule = task.due or NO_DEADLINE
        anchors = _anchors(rule, ordered, completed, start, end)
        result += _plan_task(task, rule, anchors, ordered, flags, end, _aware(now, "now"))
    result.sort(key=_order)
    return result


#: A task without a due rule appears at the pathway's start, without a deadline.
NO_DEADLINE = DueRule(anchor="start", offset=None)


def _order(o: Occurrence) -> tuple[dt.datetime, int, str, int]:
    at = o.due_at or o.reference_at
    assert at is not None
    return (at, 0 if o.due_at is not None else 1, o.task_key, o.seq)


# --- event order ----------------------------------------------------------------------


_PREREQUISITE: dict[str, tuple[str, ...]] = {
    # new kind: any of these must have happened before it
    "municipal_decision": ("application_sent",),
    "training_date_set": ("municipal_decision",),
    "readmitted": ("discharged",),
    "vulnerable_cleared": ("vulnerable_marked",),
}

_NAMES = {
    "referral": "Referral",
    "meeting_held": "Collaboration meeting",
    "application_sent": "Application sent",
    "municipal_decision": "Municipal decision",
    "admitted": "Admitted",
    "discharged": "Discharged",
    "readmitted": "Readmitted",
    "phase_changed": "Phase changed",
    "ended": "Ended",
    "vulnerable_marked": "Marked vulnerable",
    "vulnerable_cleared": "Vulnerable mark cleared",
    "training_date_set": "Training date set",
    "discharge_ready": "Discharge-ready notice",
    "discharge_ready_answered": "Answer to the discharge-ready notice",
    "discharge_ready_withdrawn": "Discharge-ready notice withdrawn",
}


def ready_state(events: Sequence[tuple[str, dt.datetime]]) -> tuple[str, dt.datetime | None]:
    """Whether a discharge-ready period is open after ``events`` (sorted): "notice" (a
    discharge-ready notice not yet withdrawn, nor ended by discharge), "planned" (a
    municipal decision's date, no notice yet) or "" — and when it was opened. A
    withdrawal, a discharge or the end of the pathway closes it; a notice replaces a
    planned date (samhand.pathways.readiness has the rule)."""
    state, since = "", None
    for kind, at in events:
        if kind == "discharge_ready" and state != "notice":
            state, since = "notice", at
        elif kind == "municipal_decision" and state == "":
            state, since = "planned", at
        elif kind in ("discharge_ready_withdrawn", "discharged", "ended"):
            state, since = "", None
    return state, since


def _in_hospital(events: list[tuple[str, dt.datetime]]) -> tuple[bool, dt.datetime | None]:
    """Whether the last stay is open, and the time the last stay event happened."""
    inside, last = False, None
    for kind, at in events:
        if kind in ("admitted", "readmitted"):
            inside, last = True, at
        elif kind == "discharged":
            inside, last = False, at
    return inside, last


def validate_event_order(existing: Sequence[tuple[str, dt.datetime]], new_kind: str,
                         at: dt.datetime) -> str | None:
    """An English message when ``new_kind`` at ``at`` does not fit after ``existing``,
    else None. The caller translates it (the messages are gettext msgids)."""
    if new_kind not in EVENT_KINDS:
        return f"Unknown event kind: {new_kind}"
    _aware(at, "event time")
    events = _sorted_events(existing)
    if any(kind == "ended" for kind, _ in events):
        return "The pathway has ended; no events can be added"
    name = _NAMES[new_kind]
    if new_kind == "ended":
        if events and at < events[-1][1]:
            return "Ended before the last event of the pathway"
        return None
    inside, last_stay = _in_hospital(events)
    if new_kind == "discharged":
        if not any(k in ("admitted", "readmitted") for k, _ in events):
            return "Discharged before admitted"
        if not inside:
            return "Discharged, but the patient is not admitted"
    if new_kind == "admitted" and inside:
        return "Admitted, but the patient is already admitted"
    if new_kind == "readmitted" and inside:
        return "Readmitted, but the patient is already admitted"
    if new_kind in ("admitted", "readmitted", "discharged", "discharge_ready",
                    "discharge_ready_answered", "discharge_ready_withdrawn") \
            and last_stay is not None and at < last_stay:
        return f"{name} before the previous admission or discharge"
    ready, ready_since = ready_state(events)
    if new_kind == "discharge_ready":
        if not inside:
            return "Discharge-ready, but the patient is not admitted"
        if ready == "notice":
            return "The patient is already discharge-ready"
    if new_kind == "discharge_ready_answered" and ready != "notice":
        return "An answer, but no discharge-ready notice is open"
    if new_kind == "discharge_ready_withdrawn" and ready == "":
        return "Withdrawn, but the patient is not discharge-ready"
    if new_kind in ("discharge_ready_answered", "discharge_ready_withdrawn") \
            and ready_since is not None and at < ready_since:
        return f"{name} dated before {_NAMES['discharge_ready'].lower()}"
    for needed in _PREREQUISITE.get(new_kind, ()):
        times = [t for k, t in events if k == needed]
        if not times:
            return f"{name} before {_NAMES[needed].lower()}"
        if at < times[-1]:
            return f"{name} dated before {_NAMES[needed].lower()}"
    if new_kind == "vulnerable_marked":
        marked = flag_intervals(events).get("vulnerable", [])
        if marked and marked[-1][1] is None:
            return "The patient is already marked vulnerable"
    if new_kind == "vulnerable_cleared":
        marked = flag_intervals(events).get("vulnerable", [])
        if not marked or marked[-1][1] is not None:
            return "The patient is not marked vulnerable"
    chain = ("referral", "meeting_held", "application_sent", "municipal_decision")
    if new_kind in chain:
        earlier = [t for k, t in events if k in chain[:chain.index(new_kind)]]
        if earlier and at < max(earlier):
            return f"{name} dated before an earlier step of the pathway"
    return None
