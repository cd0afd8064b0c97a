"""Days as discharge-ready (utskrivningsklar) and the days the municipality pays for.

The notice chain is kept as pathway events, each with its timestamp:
``discharge_ready`` (the notice, *melding om utskrivningsklar pasient*: when it was sent,
and ``data.received_at`` when the municipality received it), ``discharge_ready_answered``
(the municipality's answer: ``data.can_receive`` and ``data.receive_from``, the date it
can receive the patient), ``discharge_ready_withdrawn`` (*avmelding*), ``discharged``.
The planned LTMV flow has one more: the ``municipal_decision`` (*vedtak*) with its final
date for utskrivningsklar (``data.discharge_ready_from``).

The Norwegian rule (../shared/standards.md §B.1: helse- og omsorgstjenesteloven § 11-4;
Forskrift om kommunal betaling for utskrivningsklare pasienter, FOR-2011-11-18-1115,
§§ 8-13; HOD's letter quoting § 13; seed 000 and PW-6 for the planned flow):

- § 9-10: a hospital doctor declares the patient discharge-ready; the hospital sends the
  notice the same day. § 11: the municipality answers without delay, the same day,
  whether it can receive the patient.
- § 13: the municipality pays per bed-day (døgn) *from and including the day* the
  patient is declared discharge-ready when it has said it cannot receive the patient —
  and also when it **has not answered** the notice.
- It stops paying on the day it can receive the patient (the date in its answer; for an
  answer that came after the notice day, no earlier than the day of the answer), on the
  day of discharge, or when the status lapses because the patient needs hospital
  treatment again (avmelding / withdrawal): the days before still count, the withdrawn
  period does not.
- Seed 000 (PW-6): "Kommunalt vedtak med framdriftsplan og endelig dato for
  utskrivningsklar pasient … Pasienten kodes ferdigbehandlet etter denne dato." In the
  planned flow the decision's date opens the period while no notice has been sent; the
  municipality set that date itself, so every day from it until discharge is its
  (``receive_from`` is unknown). A notice replaces the planned date.

Days are calendar days in Europe/Oslo (the local date of each timestamp), so daylight-
saving changes neither add nor lose a day. The discharge day is not counted (a bed-day
ends with the night before it), the notice day is.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

OSLO = ZoneInfo("Europe/Oslo")

CHAIN_KINDS: tuple[str, ...] = ("municipal_decision", "discharge_ready",
                                "discharge_ready_answered", "discharge_ready_withdrawn",
                                "discharged", "ended")


def local_day(at: dt.datetime) -> dt.date:
    if at.tzinfo is None:
        raise ValueError("timestamps must be timezone-aware")
    return at.astimezone(OSLO).date()


def _date(value: Any) -> dt.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    return dt.date.fromisoformat(str(value))


def _datetime(value: Any) -> dt.datetime | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.datetime):
        return value
    return dt.datetime.fromisoformat(str(value))


@dataclass
class ReadyPeriod:
    """One period as discharge-ready, with the timestamps of its notice chain."""

    start: dt.date
    notice_at: dt.datetime | None = None  # None: opened by the planned decision date
    received_at: dt.datetime | None = None
    planned_from: dt.date | None = None
    answered_at: dt.datetime | None = None
    can_receive: bool | None = None
    receive_from: dt.date | None = None
    withdrawn_at: dt.datetime | None = None
    discharged_at: dt.datetime | None = None
    ended_at: dt.datetime | None = None

    @property
    def planned(self) -> bool:
        return self.notice_at is None

    @property
    def closed_at(self) -> dt.datetime | None:
        return self.withdrawn_at or self.discharged_at or self.ended_at

    @property
    def answered_in_time(self) -> bool:
        """Answered on the day of the notice (§ 11: the same day)."""
        return self.answered_at is not None and local_day(self.answered_at) <= self.start

    @property
    def municipality_receives_from(self) -> dt.date | None:
        """The first day the municipality can receive the patient, as far as its answer
        says: the date in the answer ("cannot receive now, can from …" gives one too),
        but not before the day it answered when the answer came late. None: no answer,
        or no date in it."""
        if self.answered_at is None or self.receive_from is None:
            return None
        if self.answered_in_time:
            return self.receive_from
        return max(self.receive_from, local_day(self.answered_at))

    def end(self, today: dt.date) -> dt.date:
        """The day the period ends (not counted): withdrawal, discharge, end, or today."""
        closed = self.closed_at
        return local_day(closed) if closed is not None else today

    def ready_days(self, today: dt.date) -> int:
        return max(0, (self.end(today) - self.start).days)

    def payable_end(self, today: dt.date) -> dt.date:
        end = self.end(today)
        receives = self.municipality_receives_from
        return min(end, receives) if receives is not None else end

    def payable_days(self, today: dt.date) -> int:
        """Bed-days the municipality pays for (§ 13): from and including the start day
        until the first of the day it can receive the patient, discharge, withdrawal and
        today."""
        return max(0, (self.payable_end(today) - self.start).days)

    def days(self, today: dt.date) -> Iterator[tuple[dt.date, bool]]:
        """Each day as discharge-ready, with whether the municipality pays for it."""
        paid_until = self.payable_end(today)
        day = self.start
        while day < self.end(today):
            yield day, day < paid_until
            day += dt.timedelta(days=1)


Fact = tuple[str, dt.datetime, Mapping[str, Any]]


def periods(events: Iterable[Fact]) -> list[ReadyPeriod]:
    """The periods as discharge-ready that `events` (kind, occurred_at, data) describe.
    Events of other kinds are ignored; the order is by time, ties in the given order."""
    out: list[ReadyPeriod] = []
    current: ReadyPeriod | None = None
    for kind, at, data in sorted(events, key=lambda e: e[1]):
        if kind == "discharge_ready":
            if current is not None and not current.planned:
                continue  # a repeated notice: the first one counts
            if current is not None:  # the notice replaces the planned date
                out.remove(current)
            current = ReadyPeriod(local_day(at), notice_at=at,
                                  received_at=_datetime(data.get("received_at")),
                                  planned_from=current.planned_from if current else None)
            out.append(current)
        elif kind == "municipal_decision" and current is None:
            planned = _date(data.get("discharge_ready_from"))
            if planned is not None:
                # Never back into a period already counted (a date before its end).
                closed = [local_day(c) for p in out if (c := p.closed_at) is not None]
                current = ReadyPeriod(max([planned, *closed]), planned_from=planned)
                out.append(current)
        elif kind == "discharge_ready_answered" and current is not None and not current.planned:
            current.answered_at = at
            current.can_receive = data.get("can_receive")
            current.receive_from = _date(data.get("receive_from"))
        elif kind == "discharge_ready_withdrawn" and current is not None:
            current.withdrawn_at, current = at, None
        elif kind == "discharged" and current is not None:
            current.discharged_at, current = at, None
        elif kind == "ended" and current is not None:
            current.ended_at, current = at, None
    return out


def ready_days(found: Sequence[ReadyPeriod], today: dt.date) -> int:
    return sum(p.ready_days(today) for p in found)


def payable_days(found: Sequence[ReadyPeriod], today: dt.date) -> int:
    return sum(p.payable_days(today) for p in found)
