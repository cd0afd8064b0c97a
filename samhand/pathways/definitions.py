"""Pathway templates as plain, frozen data.

A template (``library/<key>.v<version>.yaml``) is read by :mod:`samhand.pathways.loader`
into the dataclasses below. Nothing here touches the database; the pathway models keep
the template key, version and content hash and ask these objects what to schedule.
The file format is described in ``library/README.md``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Literal

LANGUAGES: tuple[str, ...] = ("nb", "en", "da")

#: Event kinds a pathway can record, in the order a typical pathway meets them.
EVENT_KINDS: tuple[str, ...] = (
    "referral",
    "meeting_held",
    "application_sent",
    "municipal_decision",
    "admitted",
    "discharge_ready",
    "discharge_ready_answered",
    "discharge_ready_withdrawn",
    "discharged",
    "readmitted",
    "phase_changed",
    "ended",
    "vulnerable_marked",
    "vulnerable_cleared",
    "training_date_set",
)

#: Events that need other events in the same template ("in the right place"): the
#: discharge-ready notice chain happens during a stay, so it needs admission and
#: discharge; the answer and the withdrawal need the notice.
EVENT_NEEDS: dict[str, tuple[str, ...]] = {
    "discharge_ready": ("admitted", "discharged"),
    "discharge_ready_answered": ("discharge_ready",),
    "discharge_ready_withdrawn": ("discharge_ready",),
}

#: Flags a pathway can carry, each set and cleared by a pair of events.
FLAGS: dict[str, tuple[str, str]] = {
    "vulnerable": ("vulnerable_marked", "vulnerable_cleared"),
}

#: Copy of samhand.patients.models.CareTeamMember.Role values (a test keeps them equal).
ROLES: tuple[str, ...] = (
    "responsible_consultant",
    "ltmv_nurse",
    "hospital_coordinator",
    "municipal_coordinator",
    "home_nursing_primary",
    "home_nursing",
    "allocation_office",
    "gp",
    "palliative_team",
    "supplier",
    "relative",
)

Side = Literal["hospital", "municipality", "gp", "patient", "supplier"]
SIDES: tuple[str, ...] = ("hospital", "municipality", "gp", "patient", "supplier")

CriterionKind = Literal["task", "data", "judgement"]
CRITERION_KINDS: tuple[str, ...] = ("task", "data", "judgement")

AnchorInstance = Literal["each", "first"]
ANCHOR_INSTANCES: tuple[str, ...] = ("each", "first")


@dataclass(frozen=True)
class Text:
    """A text in every UI language; nb is the primary one."""

    nb: str
    en: str
    da: str

    def get(self, lang: str | None) -> str:
        """The text in ``lang`` ("nb", "en", "da", also "nb-no" / "en-gb"), else nb."""
        code = (lang or "nb").lower().split("-")[0].split("_")[0]
        if code == "no" or code == "nn":
            code = "nb"
        value = getattr(self, code, None) if code in LANGUAGES else None
        return value or self.nb

    def as_dict(self) -> dict[str, str]:
        return {"nb": self.nb, "en": self.en, "da": self.da}


@dataclass(frozen=True)
class Offset:
    """A calendar offset: months and days on the Oslo wall clock, hours as elapsed time.

    Values may be negative (a warning before the due time)."""

    months: int = 0
    days: int = 0
    hours: int = 0

    def times(self, n: int) -> Offset:
        return Offset(self.months * n, self.days * n, self.hours * n)

    def __add__(self, other: Offset) -> Offset:
        return Offset(self.months + other.months, self.days + other.days,
                      self.hours + other.hours)

    def is_zero(self) -> bool:
        return not (self.months or self.days or self.hours)


ZERO = Offset()


@dataclass(frozen=True)
class DueRule:
    """When a task falls due.

    ``anchor`` is ``"event:<kind>"``, ``"task:<task_key>"`` (due relative to the time the
    anchor task was completed) or ``"start"`` (the pathway's start).

    Every occurrence k (1-based within one series) has a *reference* time: the anchor
    time plus ``every`` × (k − 1). ``due_at`` = anchor + (``every`` × (k − 1) +
    ``offset``), ``warn_at`` and ``latest_at`` likewise with ``warn`` and ``at_latest``:
    the offsets are summed first and applied to the anchor, so month ends never drift
    (31 Jan, monthly: 28 Feb, 31 Mar, 30 Apr). So "due 3 months after the
    meeting, warn at 2, at the latest 6" is ``offset=3 months, warn=2 months,
    at_latest=6 months``.
    """

    anchor: str
    #: None: no deadline (a one-off task that just appears at its anchor).
    offset: Offset | None = ZERO
    every: Offset | None = None
    count: int | None = None
    supervised_first: int = 0
    while_flag: str | None = None
    warn: Offset | None = None
    max_per_year: int | None = None
    at_latest: Offset | None = None
    #: Event kinds that end a series (e.g. ``readmitted``); a later anchor starts a new one.
    until: tuple[str, ...] = ()
    #: "each": every occurrence of the anchor starts a new series (the latest one
    #: supersedes what is not yet due); "first": only the first occurrence counts.
    anchor_instance: AnchorInstance = "each"

    @property
    def anchor_kind(self) -> str:
        """"event", "task" or "start"."""
        return self.anchor.split(":", 1)[0]

    @property
    def anchor_target(self) -> str:
        """The event kind or task key after the colon ("" for "start")."""
        return self.anchor.split(":", 1)[1] if ":" in self.anchor else ""

    @property
    def recurring(self) -> bool:
        return self.every is not None


@dataclass(frozen=True)
class PhaseDef:
    key: str
    title: Text


@dataclass(frozen=True)
class MeasureDef:
    key: str
    title: Text


@dataclass(frozen=True)
class TaskDef:
    key: str
    title: Text
    side: str
    role: str
    phase: str
    measure: str | None = None
    #: Entry variants that include the task; empty means all.
    entries: frozenset[str] = frozenset()
    due: DueRule | None = None
    description: Text | None = None

    def in_entry(self, entry: str) -> bool:
        return not self.entries or entry in self.entries


@dataclass(frozen=True)
class CriterionDef:
    key: str
    title: Text
    kind: str
    task: str | None = None
    evaluator: str | None = None
    owner_role: str = ""
    description: Text | None = None


@dataclass(frozen=True)
class GateDef:
    key: str
    title: Text
    before_event: str
    criteria: tuple[CriterionDef, ...]


@dataclass(frozen=True)
class Template:
    key: str
    version: int
    title: Text
    entries: Mapping[str, Text]
    phases: tuple[PhaseDef, ...]
    measures: tuple[MeasureDef, ...]
    tasks: tuple[TaskDef, ...]
    gates: tuple[GateDef, ...]
    events: tuple[str, ...]
    flags: tuple[str, ...] = ()
    source_file: str = ""
    content_hash: str = ""
    description: Text | None = None
    _task_index: Mapping[str, TaskDef] = field(default_factory=dict, repr=False,
                                              compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_task_index", {t.key: t for t in self.tasks})

    def __hash__(self) -> int:
        return hash((self.key, self.version, self.content_hash))

    def task(self, key: str) -> TaskDef:
        """The task with ``key``; KeyError when the template has none."""
        return self._task_index[key]

    def has_task(self, key: str) -> bool:
        return key in self._task_index

    def tasks_for(self, entry: str) -> tuple[TaskDef, ...]:
        return tuple(t for t in self.tasks if t.in_entry(entry))

    def phase(self, key: str) -> PhaseDef:
        for p in self.phases:
            if p.key == key:
                return p
        raise KeyError(key)

    def measure(self, key: str) -> MeasureDef:
        for m in self.measures:
            if m.key == key:
                return m
        raise KeyError(key)

    def gate_before(self, event_kind: str) -> GateDef | None:
        """The gate that must be passed before ``event_kind`` can be recorded."""
        for g in self.gates:
            if g.before_event == event_kind:
                return g
        return None

    def evaluators(self) -> frozenset[str]:
        """Names of the data evaluators the gates use (each must be registered)."""
        return frozenset(c.evaluator for g in self.gates for c in g.criteria
                         if c.evaluator)

    def iter_texts(self) -> Iterator[Text]:
        yield self.title
        yield from self.entries.values()
        for p in self.phases:
            yield p.title
        for m in self.measures:
            yield m.title
        for t in self.tasks:
            yield t.title
            if t.description:
                yield t.description
        for g in self.gates:
            yield g.title
            for c in g.criteria:
                yield c.title
