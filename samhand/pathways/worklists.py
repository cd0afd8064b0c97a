"""The worklists both sides work from, and the report of days as discharge-ready.

Every list starts from the access layer: tasks and pathways are shown only for patients
the user may see through a care relation (policy.visible_patients), and the view audits
each patient it shows (policy.audit_list).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet, Subquery, prefetch_related_objects
from django.utils import timezone

from samhand.access import policy
from samhand.alerts.models import Alert
from samhand.orgs.models import Organisation
from samhand.patients.models import CareTeamMember, Patient

from . import gate as gates
from .models import Pathway, PathwayEvent, Task, chain_prefetch


def my_units(user: Any, kinds: tuple[str, ...] | None = None) -> list[Organisation]:
    orgs = [m.organisation for m in policy.active_memberships(user)]  # read once a request
    if kinds:
        orgs = [o for o in orgs if o.kind in kinds]
    return sorted({o.pk: o for o in orgs}.values(), key=lambda o: o.name)


def visible(user: Any, field: str = "patient") -> Q:
    """The access layer's care relation as a condition on the object's patient."""
    return policy.visible_q(user, field)


def end_of_today() -> dt.datetime:
    today = timezone.localdate()
    return timezone.make_aware(dt.datetime.combine(today + dt.timedelta(days=1), dt.time()))


def unit_tasks(user: Any, unit: Organisation, *, window: str = "today") -> QuerySet[Task]:
    """Open tasks owned by `unit` for patients the user may see: due today or overdue
    ("today"), due within 7 days ("week"), or overdue only ("overdue")."""
    now = timezone.now()
    qs = Task.objects.filter(visible(user), owner_organisation=unit,
                             status__in=Task.OPEN_STATUSES)
    if window == "overdue":
        qs = qs.filter(due_at__lt=now)
    elif window == "week":
        qs = qs.filter(due_at__lt=end_of_today() + dt.timedelta(days=6))
    else:
        qs = qs.filter(due_at__lt=end_of_today())
    # The page's 25 patients and pathways are read by key after the LIMIT: joined before
    # it, PostgreSQL would join and sort all the unit's due tasks (bench/worklist.py).
    return qs.prefetch_related("patient", "pathway").order_by("due_at", "id")


def unit_alerts(user: Any, unit: Organisation) -> QuerySet[Alert]:
    return (Alert.objects.open().filter(visible(user), organisation=unit)
            .select_related("patient", "acknowledged_by").order_by("-raised_at"))


@dataclass
class PathwayRow:
    pathway: Pathway
    gate: gates.GateStatus | None = None
    next_task: Task | None = None
    extra: list[Task] = field(default_factory=list)

    @property
    def patient(self) -> Patient:
        return self.pathway.patient


def active_pathways(user: Any, organisation: Organisation | None = None,
                    role: str | None = None) -> QuerySet[Pathway]:
    """Active pathways of patients the user may see; with `organisation` (and `role`):
    only patients on whose care team that organisation sits (in that role)."""
    qs = Pathway.objects.filter(status=Pathway.Status.ACTIVE,
                                patient__in=policy.visible_patients(user))
    if organisation is not None:
        team = CareTeamMember.objects.active().filter(patient=OuterRef("patient"),
                                                      organisation=organisation)
        if role:
            team = team.filter(role=role)
        qs = qs.filter(Exists(team))
    return qs.select_related("patient").order_by("patient__family_name",
                                                 "patient__given_name", "id")


def with_gate_and_next(pathways: list[Pathway], *, side: str | None = None) -> list[PathwayRow]:
    """One row per pathway with its discharge gate (until discharge) and its next open
    task with a due time (of `side`, if given): a fixed number of queries however many
    rows (gates.evaluate_many; the next tasks by one subquery), and the notice chain
    prefetched for the days as discharge-ready."""
    if not pathways:
        return []
    prefetch_related_objects(pathways, chain_prefetch())
    status = gates.evaluate_many(pathways, lambda p: p.template.gates[0]
                                 if p.template.gates and p.discharged_at is None else None)
    following = Task.objects.filter(pathway=OuterRef("pk"), status__in=Task.OPEN_STATUSES,
                                    due_at__isnull=False)
    if side:
        following = following.filter(side=side)
    next_ids = dict(Pathway.objects.filter(pk__in=[p.pk for p in pathways]).annotate(
        next_task=Subquery(following.order_by("due_at", "id").values("pk")[:1]))
        .values_list("pk", "next_task"))
    tasks = Task.objects.in_bulk([t for t in next_ids.values() if t is not None])
    return [PathwayRow(p, status.get(p.pk), tasks.get(next_ids.get(p.pk))) for p in pathways]


def with_tasks(rows: list[PathwayRow], task_keys: tuple[str, ...], before: dt.datetime) -> None:
    """Set each row's `extra` to its pathway's open tasks with these keys due before
    `before` (the coordinator's IP revisions and contact-list checks), in one query."""
    by_pathway: dict[Any, list[Task]] = defaultdict(list)
    for task in Task.objects.filter(pathway__in=[r.pathway.pk for r in rows],
                                    status__in=Task.OPEN_STATUSES, task_key__in=task_keys,
                                    due_at__lt=before).order_by("due_at", "id"):
        by_pathway[task.pathway_id].append(task)
    for row in rows:
        row.extra = by_pathway.get(row.pathway.pk, [])


def awaiting_decision(user: Any) -> list[PathwayRow]:
    """Applications sent and not yet decided, for the allocation office."""
    sent = PathwayEvent.objects.filter(pathway=OuterRef("pk"), kind="application_sent")
    decided = PathwayEvent.objects.filter(pathway=OuterRef("pk"), kind="municipal_decision")
    qs = active_pathways(user).filter(Exists(sent)).exclude(Exists(decided))
    rows = []
    for p in qs[:200]:
        deadlines = list(Task.objects.filter(
            pathway=p, status__in=Task.OPEN_STATUSES, side="municipality",
            owner_role="allocation_office").order_by("due_at"))
        sent_at = p.events.filter(kind="application_sent").order_by("-occurred_at").first()
        row = PathwayRow(p, None, deadlines[0] if deadlines else None, deadlines)
        row.sent_at = sent_at.occurred_at if sent_at else None  # type: ignore[attr-defined]
        rows.append(row)
    return rows


# --------------------------------------------------------------------------- PW-6 report

@dataclass
class ReadyDays:
    municipality: str
    month: dt.date
    days: int = 0
    payable: int = 0
    patients: int = 0


def discharge_ready_report(user: Any, today: dt.date | None = None) -> list[ReadyDays]:
    """Days as discharge-ready per municipality and month (PW-6), and of those the days
    the municipality pays for (samhand.pathways.readiness has the rule), each day counted
    in its own month. Periods come from the notice chain of each pathway."""
    today = today or timezone.localdate()
    buckets: dict[tuple[str, dt.date], ReadyDays] = {}
    seen: dict[tuple[str, dt.date], set[Any]] = defaultdict(set)
    chain = PathwayEvent.objects.filter(pathway=OuterRef("pk"),
                                        kind__in=("discharge_ready", "municipal_decision"))
    qs = (Pathway.objects.filter(Exists(chain), patient__in=policy.visible_patients(user))
          .select_related("patient__municipality")
          .prefetch_related(chain_prefetch()))
    for p in qs:
        name = p.patient.municipality.name if p.patient.municipality else "–"
        for period in p.ready_periods():
            for day, paid in period.days(today):
                key = (name, day.replace(day=1))
                bucket = buckets.setdefault(key, ReadyDays(name, key[1]))
                bucket.days += 1
                bucket.payable += int(paid)
                seen[key].add(p.pk)
    for key, bucket in buckets.items():
        bucket.patients = len(seen[key])
    return sorted(buckets.values(), key=lambda b: (b.month, b.municipality), reverse=True)
