"""Benchmark: the home nursing unit's "my patients" page at 300,000 patients.

Not a test: run by hand on PostgreSQL (see bench/README.md)

    DATABASE_URL=postgres://... uv run python bench/my_patients.py

It generates the synthetic patients if the database has fewer than --patients, logs
in as the nurse of the biggest home nursing unit (syn.hn.1.1) and, as the stress
case, as the coordinator of the biggest municipality (syn.ke.1), and measures, in one
run and on the same data:

* page      GET / through Django's test Client: the whole server side (middleware,
            session, access layer, paginator, audit rows, template);
* access    the same work without HTTP and template: visible_patients, the name
            filter, the paginator and audit_list, as the view does it;
* raw SQL   the SQL the page sends for the list (and its COUNT), replayed through a
            cursor: the baseline no ORM can beat.

for page 1, page 50 and a name search, with p50/p95 and queries per request
(CaptureQueriesContext), and asserts that the number of queries per request is the
same for every case. EXPLAIN ANALYZE of the list and count queries goes into the
result file under bench/results/.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from functools import partial
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
from django.db import connection
from django.db.backends.signals import connection_created
from django.db.models import Q
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from tqdm import tqdm

from samhand.access import policy
from samhand.accounts.models import User
from samhand.demo.synthetic import generate_patients
from samhand.lib.middleware import request_memo_var
from samhand.orgs.models import Membership
from samhand.patients.models import CareTeamMember, Patient
from samhand.web.views.patients import page_of

ORDER = ("family_name", "given_name", "id")  # the worklist's order (web/views/patients.py)
NURSE = "syn.hn.1.1"  # the first unit of the biggest generated municipality
STRESS = "syn.ke.1"  # its coordinating unit: on some 16,000 care teams


# Indexes this benchmark proposes (see bench/README.md); --compare-indexes measures
# with and without them in one run and drops them afterwards.
PROPOSED_INDEXES = {
    # The page's keys (pk = ANY(ARRAY(care-team subquery)) ORDER BY name LIMIT 25) read
    # from the index alone instead of fetching every listed patient's heap row: what
    # the big lists (the 20,000 stress list) spend their time on. The earlier
    # proposals (care-team period columns, UPPER(name) text_pattern_ops) are in the
    # migrations now (patients/0001, 0002).
    "bench_patient_id_names": (
        "CREATE INDEX IF NOT EXISTS bench_patient_id_names "
        "ON patients_patient (id) INCLUDE (family_name, given_name)"),
}


def no_parallel_workers(sender: Any, connection: Any, **kwargs: Any) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SET max_parallel_workers_per_gather = 0")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=300_000,
                        help="generate until the database holds this many (default 300000)")
    parser.add_argument("--municipalities", type=int, default=356)
    parser.add_argument("--repeat", type=int, default=200, help="timed requests per case")
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--nurse", default=NURSE, help=f"whose list (default {NURSE})")
    parser.add_argument("--also", nargs="*", default=[STRESS],
                        help=f"more users whose lists to measure (default {STRESS}, the "
                             "coordinating unit of the biggest municipality: the stress case)")
    parser.add_argument("--compare-indexes", action="store_true",
                        help="measure again with the proposed indexes (dropped afterwards), "
                             "then also without parallel query workers")
    parser.add_argument("--out", default="", help="result file (default bench/results/…)")
    parser.add_argument("--allow-sqlite", action="store_true",
                        help="run on SQLite too (the figures that count are PostgreSQL's)")
    args = parser.parse_args()

    if connection.vendor != "postgresql" and not args.allow_sqlite:
        sys.exit("Set DATABASE_URL to a PostgreSQL database (or pass --allow-sqlite).")
    postgres = connection.vendor == "postgresql"
    call_command("migrate", verbosity=0, interactive=False)

    have = Patient.objects.count()
    generated = ""
    if have < args.patients:
        missing = args.patients - have
        print(f"Generating {missing} patients …", file=sys.stderr)
        with tqdm(total=missing, unit="patients", unit_scale=True) as bar:
            result = generate_patients(missing, municipalities=args.municipalities,
                                       progress=bar.update)
        generated = (f"(generated {result.created} patients in this run: "
                     f"{result.seconds:.1f} s, {result.created / result.seconds:.0f}/s)")
    if postgres:
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
    total = Patient.objects.count()
    team_rows = CareTeamMember.objects.count()
    users = [User.objects.get(username=name) for name in [args.nurse, *args.also]]

    lines = [f"# my patients, home nursing unit, {connection.vendor}"
             + ("" if postgres else " (indicative only: the figures that count are PostgreSQL's)"),
             ""]
    lines += machine()
    lines += [f"patients: {total}   care team rows: {team_rows}   {generated}"]
    for user in users:
        unit = Membership.objects.active().get(user=user).organisation
        lines.append(f"list of {user.username}: {unit.name}, "
                     f"{policy.visible_patients(user).count()} patients")
    lines += [f"page size: {PAGE_SIZE}; timed requests per case: {args.repeat} "
              f"(after {args.warmup} warm-up)", "",
              "layers: page = GET / through the test Client (whole server side);",
              "        access = visible_patients + paginator + audit_list, no HTTP/template;",
              "        raw SQL = the page's list SELECT and COUNT replayed through a cursor.",
              ""]
    explains: list[str] = []
    counts: dict[str, int] = {}

    def measure_all(label: str) -> None:
        for user in users:
            counts.update({f"{user.username}, {label}, {k}": v for k, v in measure(
                args, user, lines, explains, f"{user.username}, {label}").items()})

    measure_all("as migrated")
    if args.compare_indexes and postgres:
        with connection.cursor() as cursor:
            for sql in PROPOSED_INDEXES.values():
                cursor.execute(sql)
            cursor.execute("VACUUM ANALYZE patients_careteammember")
            cursor.execute("VACUUM ANALYZE patients_patient")
        try:
            measure_all("with the proposed indexes")
            # The test Client runs in this thread on this connection, so the setting
            # applies to the page requests too; set again on every new connection.
            connection_created.connect(no_parallel_workers)
            no_parallel_workers(None, connection)
            measure_all("with the proposed indexes, no parallel workers")
        finally:
            connection_created.disconnect(no_parallel_workers)
            with connection.cursor() as cursor:
                cursor.execute("RESET max_parallel_workers_per_gather")
                for name in PROPOSED_INDEXES:
                    cursor.execute(f"DROP INDEX IF EXISTS {name}")

    constant = len(set(counts.values())) == 1
    finish(lines, explains, counts, constant, "my_patients", args.out)


def measure(args: argparse.Namespace, user: User, lines: list[str], explains: list[str],
            label: str) -> dict[str, int]:
    """Time every case on every layer; append the table; return queries per page."""
    client = login(Client(), user)
    url = reverse("web:my_patients")
    cases = {
        "page 1": {},
        "page 50": {"page": "50"},
        "search 'han'": {"q": "han"},
        "search 'hansen a'": {"q": "hansen a"},
    }
    factory = RequestFactory()

    def access_layer(params: dict[str, str]) -> None:
        """The page's data work without HTTP and template (as the view does it: the
        page's keys with the list's length, those patients with their care teams, their
        audit rows; memberships read once)."""
        request = factory.get(url, params)
        request.user = user
        request.session = client.session
        token = request_memo_var.set({})
        try:
            qs = policy.visible_patients(user)
            query = params.get("q", "")
            for word in query.split():
                qs = qs.filter(Q(family_name__istartswith=word)
                               | Q(given_name__istartswith=word))
            qs = qs.order_by(*ORDER)
            _page, patients = page_of(qs, params.get("page"))
            policy.audit_list(request, "samhand.patient.list", patients, query=query)
        finally:
            request_memo_var.reset(token)

    header = (f"{'case':<20} {'layer':<12} {'p50 ms':>8} {'p95 ms':>8} {'queries':>8} "
              f"{'p50 / raw':>10} {'cpu p50':>8}")
    lines += [f"## {label}", "", header, "-" * len(header)]
    counts: dict[str, int] = {}
    for name, params in cases.items():
        response = client.get(url, params)
        assert response.status_code == 200, (name, response.status_code)
        # Read each capture at once: every request (request_started) clears the log.
        with CaptureQueriesContext(connection) as captured:
            client.get(url, params)
        page_queries = list(captured.captured_queries)
        # An empty page skips the page's patients and their care teams: the count must
        # not grow with the rows shown, so only pages that show rows are compared.
        if b'class="patient-link"' in response.content:
            counts[name] = len(page_queries)
        with CaptureQueriesContext(connection) as captured:
            access_layer(params)
        access_queries = len(captured.captured_queries)
        # The list query and its COUNT, as the page sent them (one query since the page
        # takes the count from a window over the list: then that one is the baseline).
        sqls = [q["sql"] for q in page_queries
                if '"patients_patient"' in q["sql"] and q["sql"].lstrip().startswith("SELECT")
                and "careteammember" in q["sql"].lower()]
        list_sql = [s for s in sqls if "LIMIT" in s and "COUNT(" not in s.upper()]
        count_sql = [s for s in sqls if "COUNT(" in s.upper()]
        raw = list_sql[:1] + count_sql[:1]

        replay = replayer(raw)

        page_ms, page_cpu = timings(partial(client.get, url, params), args.repeat,
                                    args.warmup)
        access_ms, access_cpu = timings(partial(access_layer, params), args.repeat,
                                        args.warmup)
        raw_ms, raw_cpu = (timings(replay, args.repeat, args.warmup) if raw
                           else ([0.0, 0.0], [0.0, 0.0]))
        raw50 = statistics.median(raw_ms) or float("nan")
        for layer, values, cpu, queries in (("page", page_ms, page_cpu, len(page_queries)),
                                            ("access", access_ms, access_cpu, access_queries),
                                            ("raw SQL", raw_ms, raw_cpu, len(raw))):
            lines.append(f"{name:<20} {layer:<12} {statistics.median(values):8.1f} "
                         f"{pct(values, 95):8.1f} {queries:8d} "
                         f"{statistics.median(values) / raw50:10.1f} "
                         f"{statistics.median(cpu):8.1f}")
        explains += explain(raw, f"{label}, {name}", 120)
        print(f"  {label}, {name}: page p50 {statistics.median(page_ms):.1f} ms",
              file=sys.stderr)
    lines.append("")
    return counts


if __name__ == "__main__":
    main()
