"""Benchmark: the home nursing unit's worklist at 300,000 patients and 3,000,000 tasks.

Not a test: run by hand on PostgreSQL (see bench/README.md, "Worklist")

    DATABASE_URL=postgres://... uv run python bench/worklist.py

It generates what is missing (`samhand generate` for the patients,
`samhand pathways-generate` for one pathway per patient and the tasks), logs in as the
nurse of the biggest home nursing unit (syn.hn.1.1) with the tests' login, and
measures, in one run and on the same data:

* page      GET /worklists/home-nursing/ through Django's test Client: the whole
            server side (middleware, session, access layer, paginator, the unit's open
            alerts, audit rows, template);
* service   the page's task list without HTTP and template: worklists.unit_tasks,
            the paginator and audit_list, as the view does it;
* raw SQL   the SQL the page sends for the task list (and its COUNT), replayed through
            a cursor: the baseline no ORM can beat.

for page 1, page 10 and the windows "overdue" and "week", with p50/p95 and queries
per request, and asserts that the number of queries per page request is the same in
every case. EXPLAIN (ANALYZE, BUFFERS) of the list and count queries goes into the
result file under bench/results/.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from typing import Any

from _common import (
    PAGE_SIZE,
    explain,
    finish,
    login,
    machine,
    pct,
    replayer,
    timings,
)
from django.core.management import call_command
from django.core.paginator import Paginator
from django.db import connection
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from samhand.access import policy
from samhand.accounts.models import User
from samhand.orgs.models import Membership
from samhand.pathways import worklists as wl
from samhand.pathways.models import Pathway, Task
from samhand.patients.models import Patient

NURSE = "syn.hn.1.1"
CASES = {
    "today, page 1": {},
    "today, page 10": {"page": "10"},
    "overdue, page 1": {"window": "overdue"},
    "week, page 1": {"window": "week"},
}

# Indexes this benchmark can try (--compare-indexes): created, measured, dropped.
PROPOSED_INDEXES = {
    # Only open tasks, by owner and due time: the worklist's range scan reads no done
    # or cancelled rows (about 80 % of all tasks) and needs no sort across statuses.
    "bench_task_open_owner_due": (
        "CREATE INDEX IF NOT EXISTS bench_task_open_owner_due ON pathways_task "
        "(owner_organisation_id, due_at, id) WHERE status IN ('open', 'in_progress')"),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=300_000)
    parser.add_argument("--tasks", type=int, default=3_000_000)
    parser.add_argument("--repeat", type=int, default=200, help="timed requests per case")
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--nurse", default=NURSE)
    parser.add_argument("--compare-indexes", action="store_true",
                        help="measure again with the proposed index (dropped afterwards)")
    parser.add_argument("--out", default="")
    parser.add_argument("--allow-sqlite", action="store_true")
    args = parser.parse_args()

    if connection.vendor != "postgresql" and not args.allow_sqlite:
        sys.exit("Set DATABASE_URL to a PostgreSQL database (or pass --allow-sqlite).")
    postgres = connection.vendor == "postgresql"
    call_command("migrate", verbosity=0, interactive=False)
    generated = []
    have = Patient.objects.count()
    if have < args.patients:
        started = time.perf_counter()
        call_command("generate", patients=args.patients - have, verbosity=0)
        seconds = time.perf_counter() - started
        generated.append(f"{args.patients - have} patients in {seconds:.0f} s")
    if Task.objects.count() < args.tasks:
        started = time.perf_counter()
        call_command("pathways-generate", tasks=args.tasks, verbosity=0)
        generated.append(f"tasks up to {args.tasks} in {time.perf_counter() - started:.0f} s")
    if postgres:
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE pathways_task")
            cursor.execute("VACUUM ANALYZE pathways_pathway")

    user = User.objects.get(username=args.nurse)
    unit = Membership.objects.active().get(user=user).organisation
    lines = [f"# home nursing worklist, {connection.vendor}"
             + ("" if postgres else " (indicative only)"), ""]
    lines += machine()
    lines += [f"patients: {Patient.objects.count()}   pathways: {Pathway.objects.count()}   "
              f"tasks: {Task.objects.count()}"
              + (f"   (generated in this run: {'; '.join(generated)})" if generated else ""),
              f"unit: {unit.name} ({user.username}): "
              f"{Task.objects.filter(owner_organisation=unit).count()} tasks, "
              f"{Task.objects.filter(owner_organisation=unit).open().count()} open; "
              + ", ".join(f"{w}: {wl.unit_tasks(user, unit, window=w).count()}"
                          for w in ("today", "overdue", "week")),
              f"page size: {PAGE_SIZE}; timed requests per case: {args.repeat} "
              f"(after {args.warmup} warm-up)", "",
              "layers: page = GET /worklists/home-nursing/ through the test Client;",
              "        service = unit_tasks + paginator + audit_list, no HTTP/template;",
              "        raw SQL = the page's task SELECT and COUNT replayed through a cursor.",
              "cpu p50 = CPU time of this process (Python), without the wait for the database",
              ""]
    explains: list[str] = []
    counts: dict[str, int] = {}
    counts.update(measure(args, user, unit, lines, explains, "as built"))
    if args.compare_indexes and postgres:
        with connection.cursor() as cursor:
            for sql in PROPOSED_INDEXES.values():
                cursor.execute(sql)
            cursor.execute("ANALYZE pathways_task")
        try:
            counts.update(measure(args, user, unit, lines, explains,
                                  "with the partial index on open tasks"))
        finally:
            with connection.cursor() as cursor:
                for name in PROPOSED_INDEXES:
                    cursor.execute(f"DROP INDEX IF EXISTS {name}")

    # Constant per variant: the same number of queries for every page and window.
    constant = all(len({v for k, v in counts.items() if k.startswith(label)}) == 1
                   for label in {k.split(", ")[0] for k in counts})
    finish(lines, explains, counts, constant, "worklist", args.out)


def measure(args: argparse.Namespace, user: User, unit: Any, lines: list[str],
            explains: list[str], label: str) -> dict[str, int]:
    client = login(Client(), user)
    url = reverse("pathways:worklist_home_nursing")
    factory = RequestFactory()

    def service(params: dict[str, str]) -> None:
        """The page's task list without HTTP and template, as the view does it."""
        request = factory.get(url, params)
        request.user = user
        request.session = client.session
        page = Paginator(wl.unit_tasks(user, unit, window=params.get("window", "today")),
                         PAGE_SIZE).get_page(params.get("page"))
        shown = {t.patient.pk: t.patient for t in page}
        policy.audit_list(request, "samhand.task.list", shown.values(), object_type="Task")

    header = (f"{'case':<18} {'layer':<9} {'p50 ms':>8} {'p95 ms':>8} {'cpu p50':>8} "
              f"{'queries':>8} {'p50 / raw':>10}")
    lines += [f"## {label}", "", header, "-" * len(header)]
    counts: dict[str, int] = {}
    for name, params in CASES.items():
        response = client.get(url, params)
        assert response.status_code == 200, (name, response.status_code)
        with CaptureQueriesContext(connection) as captured:
            client.get(url, params)
        page_queries = list(captured.captured_queries)
        counts[f"{label}, {name}"] = len(page_queries)
        with CaptureQueriesContext(connection) as captured:
            service(params)
        service_queries = len(captured.captured_queries)
        sqls = [q["sql"] for q in page_queries if q["sql"].lstrip().startswith("SELECT")
                and 'FROM "pathways_task"' in q["sql"]]
        list_sql = [s for s in sqls if "LIMIT" in s and "COUNT(" not in s.upper()]
        count_sql = [s for s in sqls if "COUNT(" in s.upper()]
        raw = list_sql[:1] + count_sql[:1]

        replay = replayer(raw)

        page_ms, page_cpu = timings(lambda p=params: client.get(url, p), args.repeat,
                                    args.warmup)
        service_ms, service_cpu = timings(lambda p=params: service(p), args.repeat,
                                          args.warmup)
        raw_ms, raw_cpu = timings(replay, args.repeat, args.warmup) if raw else (
            [0.0, 0.0], [0.0, 0.0])
        raw50 = statistics.median(raw_ms) or float("nan")
        for layer, values, cpu, queries in (
                ("page", page_ms, page_cpu, len(page_queries)),
                ("service", service_ms, service_cpu, service_queries),
                ("raw SQL", raw_ms, raw_cpu, len(raw))):
            lines.append(f"{name:<18} {layer:<9} {statistics.median(values):8.1f} "
                         f"{pct(values, 95):8.1f} {statistics.median(cpu):8.1f} "
                         f"{queries:8d} {statistics.median(values) / raw50:10.1f}")
        explains += explain(raw, f"{label}, {name}", 160)
        print(f"  {label}, {name}: page p50 {statistics.median(page_ms):.1f} ms, "
              f"p95 {pct(page_ms, 95):.1f} ms", file=sys.stderr)
    lines.append("")
    return counts



if __name__ == "__main__":
    main()
