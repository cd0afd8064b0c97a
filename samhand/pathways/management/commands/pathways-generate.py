"""`samhand pathways-generate --tasks N`: synthetic pathways and tasks in bulk, for the
worklist benchmark (bench/worklist.py).

    samhand generate --patients 300000            # the patients first (samhand/demo)
    samhand pathways-generate --tasks 3000000     # one pathway per patient, N tasks

Every generated patient without a pathway gets one, from the template of its group
(LTMV, home NIV, COPD/heart failure, palliative), and about N / patients tasks taken
from that template, each owned by the organisation on the patient's care team in the
task's role (the home nursing unit when the team has nobody in that role). Most tasks
are done, about a fifth are open: some overdue, some due today, most later. Rows go in
with COPY on PostgreSQL (bulk_create elsewhere), one transaction per batch, so three
million tasks take minutes. Running it again adds tasks only up to N.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import time
import uuid
from collections import defaultdict
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, transaction
from django.db.models import Model
from django.utils import timezone
from tqdm import tqdm

from samhand.audit.models import AuditEvent
from samhand.audit.services import Actor, record
from samhand.pathways.definitions import Template
from samhand.pathways.loader import load_library
from samhand.pathways.models import Pathway, Task
from samhand.patients.models import CareTeamMember, Patient

TEMPLATE_OF_GROUP = {"ltmv": "ltmv_invasive", "home_niv": "home_niv",
                     "copd_hf": "copd_hf_followup", "palliative": "palliative_home"}
HOME_NURSING = ("home_nursing_primary", "home_nursing")
# Status of a generated task: (status, share). Open ones get due dates around today.
STATUSES = (("done", 0.72), ("open", 0.19), ("in_progress", 0.02), ("paused", 0.02),
            ("cancelled", 0.05))
Row = dict[str, Any]


def _copy(model: type[Model], rows: list[Row]) -> None:
    """COPY rows in (PostgreSQL); the fields' defaults fill the columns not given.
    JSON values are given as text."""
    fields = list(model._meta.concrete_fields)
    defaults = {f.attname: f.get_default() for f in fields if not f.primary_key}
    for f in fields:
        if f.get_internal_type() == "JSONField":
            defaults[f.attname] = json.dumps(defaults[f.attname])
    table = connection.ops.quote_name(model._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    names = [f.attname for f in fields]
    with connection.cursor() as cursor, cursor.copy(
            f"COPY {table} ({columns}) FROM STDIN") as copy:
        for row in rows:
            values = defaults | row
            copy.write_row([values[name] for name in names])


def _save(model: type[Model], rows: list[Row]) -> None:
    if not rows:
        return
    if connection.vendor == "postgresql":
        _copy(model, rows)
    else:
        for row in rows:
            for key, value in row.items():
                if key == "titles" and isinstance(value, str):
                    row[key] = json.loads(value)
        model._default_manager.bulk_create([model(**row) for row in rows], batch_size=2000)


class _Generator:
    def __init__(self, library: dict[str, Template], rng: random.Random,
                 per_patient: float) -> None:
        self.rng = rng
        self.now = timezone.now()
        self.per_patient = per_patient
        self.library = library
        self.entries = {k: next(iter(t.entries)) for k, t in library.items()}
        self.titles = {k: {t.key: json.dumps(t.title.as_dict()) for t in tpl.tasks}
                       for k, tpl in library.items()}
        self.statuses = [s for s, _w in STATUSES]
        self.weights = [w for _s, w in STATUSES]

    def patient(self, patient_id: uuid.UUID, group: str, team: dict[str, Any],
                pathways: list[Row], tasks: list[Row], budget: int) -> int:
        rng, now, day = self.rng, self.now, dt.timedelta(days=1)
        key = TEMPLATE_OF_GROUP.get(group, "copd_hf_followup")
        template = self.library[key]
        started = now - rng.randrange(20, 900) * day
        pathway_id = uuid.uuid4()
        pathways.append({
            "id": pathway_id, "patient_id": patient_id, "template_key": key,
            "template_version": template.version, "template_hash": template.content_hash,
            "entry": self.entries[key],
            "phase": template.phases[-1 if rng.random() < 0.7 else 0].key,
            "status": "active", "started_at": started, "admitted": rng.random() < 0.05})
        home = next((team[r] for r in HOME_NURSING if r in team), None)
        n = max(1, min(budget, round(rng.gauss(self.per_patient, self.per_patient / 3))))
        seqs: dict[str, int] = defaultdict(int)
        for _ in range(n):
            definition = rng.choice(template.tasks)
            owner = team.get(definition.role) or home
            seqs[definition.key] += 1
            status = rng.choices(self.statuses, self.weights)[0]
            if status == "done":
                due = now - rng.uniform(1, 800) * day
            elif status == "cancelled":
                due = now - rng.uniform(-30, 400) * day
            else:
                # Open work: a tenth overdue (up to a month), some due today, most later.
                roll = rng.random()
                due = (now - rng.uniform(0.05, 30) * day if roll < 0.1 else
                       now + rng.uniform(0, 0.4) * day if roll < 0.13 else
                       now + rng.uniform(1, 365) * day)
            created = min(due, now) - rng.uniform(1, 60) * day
            tasks.append({
                "id": uuid.uuid4(), "patient_id": patient_id, "pathway_id": pathway_id,
                "kind": "template", "task_key": definition.key, "seq": seqs[definition.key],
                "series": 1, "title": definition.title.nb,
                "titles": self.titles[key][definition.key], "side": definition.side,
                "phase": definition.phase, "owner_role": definition.role,
                "owner_organisation_id": owner, "status": status,
                "supervised": False, "due_at": due, "created_at": created,
                "completed_at": due if status == "done" else None,
                "overdue_since": due if status in ("open", "in_progress") and due < now
                else None,
                "paused_reason": "Innlagt" if status == "paused" else ""})
        return n


class Command(BaseCommand):
    help = "Add synthetic pathways and tasks for the generated patients (benchmarks)"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tasks", "-t", type=int, default=3_000_000,
                            help="How many tasks the database should hold (default 3,000,000).")
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--batch-size", type=int, default=5000,
                            help="Patients per transaction (default 5000).")

    def handle(self, *args: Any, **options: Any) -> None:
        target = options["tasks"]
        if target < 1:
            raise CommandError("--tasks must be at least 1")
        started = time.perf_counter()
        have = Task.objects.count()
        if have >= target:
            self.stdout.write(f"{have} tasks already; nothing to do.")
            return
        todo = list(Patient.objects.exclude(pathways__isnull=False).order_by("pk")
                    .values_list("pk", "group"))
        if not todo:
            raise CommandError("No patients without a pathway: run `samhand generate "
                               "--patients N` first.")
        teams: dict[Any, dict[str, Any]] = defaultdict(dict)
        for pid, role, org in (CareTeamMember.objects.filter(period_end__isnull=True,
                                                             organisation__isnull=False)
                               .order_by("period_start")
                               .values_list("patient_id", "role", "organisation_id")
                               .iterator(chunk_size=20_000)):
            teams[pid].setdefault(role, org)
        missing = target - have
        generator = _Generator(load_library(), random.Random(f"{options['seed']}:{have}"),  # noqa: S311
                               per_patient=missing / len(todo))
        made = 0
        with tqdm(total=missing, unit="tasks", unit_scale=True, file=self.stderr._out,
                  disable=options["verbosity"] == 0) as bar:
            for start in range(0, len(todo), options["batch_size"]):
                if made >= missing:
                    break
                pathways: list[Row] = []
                tasks: list[Row] = []
                for pid, group in todo[start:start + options["batch_size"]]:
                    if made >= missing:
                        break
                    made += generator.patient(pid, group, teams.get(pid, {}), pathways,
                                              tasks, missing - made)
                with transaction.atomic():
                    _save(Pathway, pathways)
                    _save(Task, tasks)
                bar.update(len(tasks))
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE pathways_pathway")
                cursor.execute("ANALYZE pathways_task")
        record(Actor(client="cli", role="system"), "samhand.generate.patients",
               AuditEvent.Action.CREATE, object_type="Task", query=f"{made} tasks",
               basis=AuditEvent.Basis.SYSTEM)
        seconds = time.perf_counter() - started
        if options["verbosity"]:
            self.stdout.write(self.style.SUCCESS(
                f"Added {made} tasks in {seconds:.1f} s; {have + made} tasks in the "
                "database."))
