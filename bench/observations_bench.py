"""Benchmark: observations (issue 5), each beside a bare-SQL baseline of the same rows
measured in the same run. Not a test: run by hand on PostgreSQL.

    export DATABASE_URL=$(.ci/postgres.sh start)
    uv run python bench/observations_bench.py --quick   # all four, about 1-2 minutes
    uv run python bench/observations_bench.py           # the full run (more rounds)
    .ci/postgres.sh stop "$DATABASE_URL"

1. batch ingest   POST /api/v1/observations/batch (1,000 vital-sign sets a request:
                  token auth, access layer, form check, NEWS2, vitals, audit, escalation
                  rules) against one multi-row INSERT of the same set and vital rows.
                  Reported as observations/s — FHIR Observation resources the batch
                  makes readable (each vital sign with a LOINC code, and the NEWS2 total:
                  6 per vital-sign set, counted from the stored rows) — with sets/s
                  beside it; rounds of API and bare batches alternate, medians are given;
                  CPU ms per set of this process and of its PostgreSQL backend;
2. single POSTs   POST /api/v1/patients/{id}/observations from 4 processes (4 database
                  connections), auth and audit on, against bare single-row INSERTs of the
                  set row from 4 processes;
3. latest 10      at 100,000 sets over 1,000 patients: the API list (whole request) and
                  its query through the ORM, against the bare SQL query;
4. trend page     two years of daily sets for one patient: GET the trend page (730
                  days) and its data query, against the bare SQL query.

Results go to bench/results/observations-<vendor>-<date>[-<label>].txt.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import multiprocessing as mp
import os
import platform
import random
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "samhand.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, connections  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402

from samhand.accounts.models import User  # noqa: E402
from samhand.api.models import ApiToken  # noqa: E402
from samhand.conftest import World  # noqa: E402
from samhand.observations.models import ObservationSet  # noqa: E402
from samhand.orgs.models import Membership, Organisation  # noqa: E402
from samhand.patients.models import CareTeamMember, Patient  # noqa: E402

VITALS = {"respiration_rate": 16, "spo2": 97, "on_oxygen": False, "systolic_bp": 120,
          "pulse": 70, "consciousness": "a", "temperature": 37.0}
OUT: list[str] = []


def say(line: str = "") -> None:
    print(line, flush=True)
    OUT.append(line)


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(p / 100 * (len(values) - 1)))]


def answers(rng: random.Random) -> dict[str, Any]:
    """Mostly stable home patients; about 1 in 100 sets is a clear deterioration (NEWS2
    7 or more), which raises an alert and a task: the rule path is exercised too."""
    if rng.random() < 0.01:
        return {**VITALS, "respiration_rate": 26, "spo2": 91, "on_oxygen": True,
                "pulse": rng.randint(112, 125), "temperature": 38.6}
    return {**VITALS, "pulse": rng.randint(62, 88), "respiration_rate": rng.randint(13, 19),
            "spo2": rng.randint(95, 98), "temperature": round(rng.uniform(36.4, 37.6), 1)}


# --------------------------------------------------------------------------- the world

def setup(n_patients: int) -> tuple[User, Organisation, list[Any]]:
    call_command("migrate", verbosity=0)
    settings.SAMHAND_API_RATE_PER_MINUTE = 10_000_000
    K = Organisation.Kind
    org = Organisation.objects.filter(name="Bench hjemmesykepleie").first()
    if org is None:
        muni = Organisation.objects.create(kind=K.MUNICIPALITY, name="Benchby kommune",
                                           municipality_number="9999")
        org = Organisation.objects.create(kind=K.HOME_NURSING, parent=muni,
                                          name="Bench hjemmesykepleie", phone_24h="400 99 999")
    user = User.objects.filter(username="bench.nurse").first()
    if user is None:
        user = User.objects.create_user(username="bench.nurse", password=None,
                                        first_name="Bente", last_name="Bench",
                                        profession="nurse", hpr_number="9999999")
        Membership.objects.create(user=user, organisation=org, role="nurse",
                                  valid_from=timezone.now() - dt.timedelta(days=10))
    have = list(CareTeamMember.objects.filter(organisation=org).values_list("patient_id",
                                                                             flat=True))
    if len(have) < n_patients:
        since = timezone.now() - dt.timedelta(days=800)
        new = [Patient(national_id=f"9{len(have) + i:010d}", national_id_kind="test",
                       given_name="Bench", family_name=f"Pasient {len(have) + i}",
                       municipality=org.parent)
               for i in range(n_patients - len(have))]
        Patient.objects.bulk_create(new, batch_size=1000)
        CareTeamMember.objects.bulk_create([
            CareTeamMember(patient=p, organisation=org, role="home_nursing", period_start=since)
            for p in new], batch_size=1000)
        have += [p.pk for p in new]
    return user, org, have[:n_patients]


def token_client(user: User) -> Client:
    _token, secret = ApiToken.issue(user, days=1, name="bench")
    return Client(HTTP_AUTHORIZATION=f"Bearer {secret}")


# --------------------------------------------------------------------------- bare SQL

BASE_COLUMNS = ("id", "patient_id", "form_key", "form_version", "answers", "status", "source",
                "recorded_by_id", "organisation_id", "taken_at", "created_at", "updated_at",
                "finished_at", "confirmed", "spo2_scale", "news2_total", "news2_risk",
                "news2_subscores", "news2_missing")
# Columns added to the model later get their defaults, as the API's rows do.
_EXTRA = [f for f in ObservationSet._meta.concrete_fields if f.column not in BASE_COLUMNS]
EXTRA_VALUES = tuple(json.dumps(f.get_default()) if f.get_internal_type() == "JSONField"
                     else f.get_default() for f in _EXTRA)
SET_COLUMNS = BASE_COLUMNS + tuple(f.column for f in _EXTRA)
SUBSCORES = json.dumps({"respiration_rate": 0, "spo2": 0, "air_or_oxygen": 0,
                        "systolic_bp": 0, "pulse": 0, "consciousness": 0, "temperature": 0})


def set_row(patient_id: Any, user: User, org: Organisation, taken: dt.datetime,
            rng: random.Random) -> tuple[Any, ...]:
    now = timezone.now()
    return (uuid.uuid4(), patient_id, "vital_signs", 1, json.dumps(answers(rng)), "final",
            "api", user.pk, org.pk, taken, now, now, now, "[]", 1, 0, "low", SUBSCORES, "[]",
            *EXTRA_VALUES)


def vital_rows(set_id: Any, patient_id: Any, taken: dt.datetime) -> list[tuple[Any, ...]]:
    return [(set_id, patient_id, code, value, taken) for code, value in (
        ("respiration_rate", 16.0), ("spo2", 97.0), ("on_oxygen", 0.0), ("systolic_bp", 120.0),
        ("pulse", 70.0), ("consciousness", 0.0), ("temperature", 37.0), ("news2", 0.0))]


def bare_insert(cursor: Any, sets: list[tuple[Any, ...]], vitals: list[tuple[Any, ...]]) -> None:
    one = "(" + ",".join(["%s"] * len(SET_COLUMNS)) + ")"
    cursor.execute(f"INSERT INTO observations_observationset ({','.join(SET_COLUMNS)}) "
                   f"VALUES {','.join([one] * len(sets))}", [v for r in sets for v in r])
    for start in range(0, len(vitals), 4000):
        chunk = vitals[start:start + 4000]
        cursor.execute("INSERT INTO observations_vitalsign (observation_set_id, patient_id, "
                       "code, value, taken_at) VALUES "
                       + ",".join(["(%s,%s,%s,%s,%s)"] * len(chunk)),
                       [v for r in chunk for v in r])


# --------------------------------------------------------------------------- 1. batches

def backend_cpu() -> float:
    """CPU seconds used so far by this connection's PostgreSQL backend (same machine;
    0 when /proc cannot be read)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (pid,) = cursor.fetchone()
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Meter:
    """Wall time, this process's CPU and the database backend's CPU of a block."""

    def __init__(self) -> None:
        self.wall = self.cpu = self.db_cpu = 0.0

    def __enter__(self) -> Meter:
        self._db = backend_cpu()
        self._cpu = time.process_time()
        self._wall = time.perf_counter()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.wall += time.perf_counter() - self._wall
        self.cpu += time.process_time() - self._cpu
        self.db_cpu += backend_cpu() - self._db


def fhir_observations_per_set(set_ids: list[Any]) -> float:
    """FHIR Observations the sets make readable: one per vital sign with a LOINC code
    (samhand.observations.fhir_resources) and one for the NEWS2 total."""
    from samhand.observations.fhir_resources import LOINC_CODES
    from samhand.observations.models import VitalSign

    codes = [*LOINC_CODES, "news2"]
    sample = set_ids[:2000]
    found = VitalSign.objects.filter(observation_set_id__in=sample, code__in=codes).count()
    return found / len(sample)


def bench_batch(user: User, org: Organisation, patients: list[Any], rounds: int,
                batches: int, size: int) -> None:
    say(f"## 1. batch ingest: {rounds} rounds of {batches} batches of {size} vital-sign sets"
        " (API and bare alternate)")
    rng = random.Random(1)
    client = token_client(user)
    base = timezone.now() - dt.timedelta(days=1)
    seq = 0
    api_rates, bare_rates, ratios, set_ids = [], [], [], []
    api_all, bare_all = Meter(), Meter()
    medians: list[float] = []
    for _round in range(rounds):
        api, bare = Meter(), Meter()
        for _b in range(batches):
            items = [{"patient_id": str(patients[(seq + i) % len(patients)]),
                      "form": "vital_signs", "answers": answers(rng),
                      "taken_at": (base + dt.timedelta(seconds=seq + i)).isoformat()}
                     for i in range(size)]
            seq += size
            body = json.dumps({"items": items})
            with api:
                started = time.perf_counter()
                response = client.post("/api/v1/observations/batch", body,
                                       content_type="application/json")
                medians.append(time.perf_counter() - started)
            assert response.status_code == 201, response.content[:500]
            set_ids += response.json()["ids"][:200]
        with connection.cursor() as cursor:
            for _b in range(batches):
                sets, vitals = [], []
                for i in range(size):
                    row = set_row(patients[(seq + i) % len(patients)], user, org,
                                  base + dt.timedelta(seconds=seq + i), rng)
                    sets.append(row)
                    vitals += vital_rows(row[0], row[1], row[9])
                seq += size
                with bare:
                    bare_insert(cursor, sets, vitals)
        n = batches * size
        api_rates.append(n / api.wall)
        bare_rates.append(n / bare.wall)
        ratios.append(api_rates[-1] / bare_rates[-1])
        for total, part in ((api_all, api), (bare_all, bare)):
            total.wall += part.wall
            total.cpu += part.cpu
            total.db_cpu += part.db_cpu
        say(f"  round {_round + 1}: API {api_rates[-1]:6.0f} sets/s, bare {bare_rates[-1]:6.0f}"
            f" sets/s, ratio {ratios[-1]:.2f}x")
    per_set = fhir_observations_per_set(set_ids)
    n_all = rounds * batches * size
    api_rate = statistics.median(api_rates)
    say(f"API batch   {api_rate * per_set:8.0f} observations/s  = {api_rate:6.0f} sets/s x "
        f"{per_set:.1f} FHIR Observations a set   (median of rounds; median request "
        f"{statistics.median(medians) * 1000:.0f} ms)")
    say(f"bare insert {statistics.median(bare_rates) * per_set:8.0f} observations/s  = "
        f"{statistics.median(bare_rates):6.0f} sets/s")
    say(f"ratio       {statistics.median(ratios):.2f}x  (median of rounds; "
        f"target >= 5,000 observations/s and >= 0.3x)")
    say(f"CPU per set: API {api_all.cpu / n_all * 1000:.3f} ms here + "
        f"{api_all.db_cpu / n_all * 1000:.3f} ms in PostgreSQL; bare "
        f"{bare_all.cpu / n_all * 1000:.3f} ms + {bare_all.db_cpu / n_all * 1000:.3f} ms")
    cpu_rate = 1 / ((api_all.cpu + api_all.db_cpu) / n_all)
    say(f"  (API CPU a set, both processes: {1000 / cpu_rate:.3f} ms, i.e. {cpu_rate:.0f} "
        f"sets/s = {cpu_rate * per_set:.0f} observations/s for one busy core)")
    say()


# --------------------------------------------------------------------------- 2. single

def _single_worker(args: tuple[str, list[str], int, int, str]) -> tuple[float, int]:
    secret, patients, n, seed, mode = args
    connections.close_all()
    rng = random.Random(seed)
    started = time.perf_counter()
    if mode == "api":
        client = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
        for i in range(n):
            pid = patients[i % len(patients)]
            response = client.post(f"/api/v1/patients/{pid}/observations",
                                   json.dumps({"form": "vital_signs", "answers": answers(rng)}),
                                   content_type="application/json")
            assert response.status_code == 201, response.content[:300]
    else:
        user = User.objects.get(username="bench.nurse")
        org = Organisation.objects.get(name="Bench hjemmesykepleie")
        one = "(" + ",".join(["%s"] * len(SET_COLUMNS)) + ")"
        sql = (f"INSERT INTO observations_observationset ({','.join(SET_COLUMNS)}) "
               f"VALUES {one}")
        with connection.cursor() as cursor:
            for i in range(n):
                cursor.execute(sql, set_row(patients[i % len(patients)], user, org,
                                            timezone.now(), rng))
    elapsed = time.perf_counter() - started
    connections.close_all()
    return elapsed, n


def bench_single(user: User, patients: list[Any], per_worker: int, workers: int,
                 rounds: int) -> None:
    say(f"## 2. single POSTs: {rounds} rounds of {workers} processes x {per_worker} requests")
    _token, secret = ApiToken.issue(user, days=1, name="bench single")
    pids = [str(p) for p in patients]
    # Warm up this process before the workers are forked from it, as a server process
    # is warm: the first API request imports the views, builds the API's schemas and
    # fills Django's caches (hundreds of ms that would otherwise land in every worker's
    # timed requests, and in the CPU figure below, when section 1 has not run before).
    warm = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    warm_rng = random.Random(7)
    for i in range(10):
        response = warm.post(f"/api/v1/patients/{pids[i % len(pids)]}/observations",
                             json.dumps({"form": "vital_signs", "answers": answers(warm_rng)}),
                             content_type="application/json")
        assert response.status_code == 201, response.content[:300]
    connections.close_all()
    ctx = mp.get_context("fork")
    rates: dict[str, list[float]] = {"api": [], "bare": []}
    ratios = []
    for r in range(rounds):
        for mode in ("api", "bare"):
            with ctx.Pool(workers) as pool:
                started = time.perf_counter()
                results = pool.map(_single_worker, [
                    (secret, pids[w::workers], per_worker, w + 10 * r, mode)
                    for w in range(workers)])
                wall = time.perf_counter() - started
            rates[mode].append(sum(n for _e, n in results) / wall)
        ratios.append(rates["api"][-1] / rates["bare"][-1])
        say(f"  round {r + 1}: api {rates['api'][-1]:6.0f} inserts/s, bare "
            f"{rates['bare'][-1]:6.0f} inserts/s, ratio {ratios[-1] * 100:.1f} %")
    say(f"api   {statistics.median(rates['api']):8.0f} inserts/s  (median of rounds)")
    say(f"bare  {statistics.median(rates['bare']):8.0f} inserts/s")
    say(f"ratio {statistics.median(ratios) * 100:.1f} %   (median of rounds; target >= 5 %)")
    # CPU a request, one connection, in this process: what the machine's cores bound.
    client = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    rng = random.Random(99)
    meter, n = Meter(), min(100, per_worker)
    with meter:
        for i in range(n):
            response = client.post(f"/api/v1/patients/{pids[i % len(pids)]}/observations",
                                   json.dumps({"form": "vital_signs", "answers": answers(rng)}),
                                   content_type="application/json")
            assert response.status_code == 201, response.content[:300]
    cpu = (meter.cpu + meter.db_cpu) / n
    say(f"CPU a POST: {meter.cpu / n * 1000:.1f} ms here + {meter.db_cpu / n * 1000:.1f} ms in "
        f"PostgreSQL (one connection, {meter.wall / n * 1000:.1f} ms wall); {os.cpu_count()} "
        f"cores bound 4 connections to about {(os.cpu_count() or 1) / cpu:.0f} POSTs/s")
    say()


# --------------------------------------------------------------------------- 3. latest 10

def fill_history(user: User, org: Organisation, patients: list[Any], per_patient: int) -> None:
    have = ObservationSet.objects.count()
    want = per_patient * len(patients)
    if have >= want:
        return
    from psycopg import sql

    rng = random.Random(3)
    start = timezone.now() - dt.timedelta(days=400)
    say(f"(filling the history: {want - have:,} sets through COPY)")
    with connection.cursor() as cursor:
        set_copy = sql.SQL("COPY observations_observationset ({}) FROM STDIN").format(
            sql.SQL(", ").join(map(sql.Identifier, SET_COLUMNS)))
        vital_copy = ("COPY observations_vitalsign (observation_set_id, patient_id, code, "
                      "value, taken_at) FROM STDIN")
        vitals = []
        with cursor.cursor.copy(set_copy) as out:
            for k in range(have // len(patients), per_patient):
                for pid in patients:
                    taken = start + dt.timedelta(hours=k * 3, seconds=rng.randint(0, 3000))
                    row = set_row(pid, user, org, taken, rng)
                    out.write_row(row)
                    vitals += vital_rows(row[0], row[1], row[9])
        with cursor.cursor.copy(vital_copy) as out:
            for vital in vitals:
                out.write_row(vital)
        cursor.execute("ANALYZE observations_observationset")
        cursor.execute("ANALYZE observations_vitalsign")


def timed(fn: Any, repeat: int) -> list[float]:
    for _ in range(min(20, repeat)):
        fn()
    out = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        out.append((time.perf_counter() - started) * 1000)
    return out


def report(label: str, values: list[float]) -> None:
    say(f"{label:28s} p50 {statistics.median(values):7.2f} ms   p95 {pct(values, 95):7.2f} ms")


def bench_latest(user: User, patients: list[Any], repeat: int) -> None:
    total = ObservationSet.objects.count()
    say(f"## 3. latest 10 sets of one patient ({total:,} sets over {len(patients):,} patients)")
    client = token_client(user)
    rng = random.Random(4)
    pick = lambda: patients[rng.randrange(len(patients))]  # noqa: E731
    api = timed(lambda: client.get(f"/api/v1/patients/{pick()}/observations?limit=10"), repeat)
    orm = timed(lambda: list(ObservationSet.objects.filter(patient_id=pick()).exclude(
        status="entered_in_error").order_by("-taken_at")[:10]), repeat)
    sql = ("SELECT * FROM observations_observationset WHERE patient_id = %s "
           "AND status <> 'entered_in_error' ORDER BY taken_at DESC LIMIT 10")

    def bare() -> None:
        with connection.cursor() as cursor:
            cursor.execute(sql, [pick()])
            cursor.fetchall()

    raw = timed(bare, repeat)
    report("API GET (whole request)", api)
    report("ORM query", orm)
    report("bare SQL", raw)
    say(f"ORM/bare p95 {pct(orm, 95) / pct(raw, 95):.2f}x; API p95 {pct(api, 95):.1f} ms "
        f"(targets: within 3x of bare, <= 50 ms)")
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN ANALYZE " + sql, [patients[0]])
        say("EXPLAIN ANALYZE latest 10:")
        for (line,) in cursor.fetchall():
            say("    " + line)
    say()


# --------------------------------------------------------------------------- 4. trend

def bench_trend(user: User, org: Organisation, repeat: int) -> None:
    from samhand.observations.views import TREND_CODES

    try:
        from samhand.observations.views import trend_rows
    except ImportError:  # before the pivot (to measure older commits with this script)
        from samhand.observations.views import trend_data as trend_rows  # type: ignore[assignment]

    _u, _o, [pid] = setup_one_patient(user, org)
    if not ObservationSet.objects.filter(patient_id=pid).exists():
        rng = random.Random(5)
        start = timezone.now() - dt.timedelta(days=730)
        rows = [set_row(pid, user, org, start + dt.timedelta(days=d, hours=8), rng)
                for d in range(730)]
        with connection.cursor() as cursor:
            bare_insert(cursor, rows, [v for r in rows for v in vital_rows(r[0], r[1], r[9])])
            cursor.execute("ANALYZE observations_vitalsign")
    say("## 4. trend page: 2 years of daily vital-sign sets (730 sets, 5,840 values)")
    client = World.login(Client(), user)
    patient = Patient.objects.get(pk=pid)
    meter = Meter()
    with meter:
        page = timed(lambda: client.get(f"/patients/{pid}/observations/trends/?days=730"),
                     repeat)
    page_runs = repeat + min(20, repeat)
    since = timezone.now() - dt.timedelta(days=730)
    orm = timed(lambda: trend_rows(patient, TREND_CODES, since), repeat)
    # The page's query: the narrow table's values pivoted to one row per set.
    pivot = ("SELECT max(EXTRACT(EPOCH FROM taken_at)::float8) AS at, "
             + ", ".join(f"max(value) FILTER (WHERE code = '{c}')" for c in TREND_CODES)
             + " FROM observations_vitalsign WHERE patient_id = %s AND code = ANY(%s) "
             "AND taken_at >= %s GROUP BY observation_set_id ORDER BY at")
    # The same values one row per value (what the page read before).
    narrow = ("SELECT code, value, EXTRACT(EPOCH FROM taken_at)::float8 "
              "FROM observations_vitalsign WHERE patient_id = %s "
              "AND code = ANY(%s) AND taken_at >= %s ORDER BY code, taken_at")

    def bare(sql: str) -> Any:
        def run() -> None:
            with connection.cursor() as cursor:
                cursor.execute(sql, [pid, list(TREND_CODES), since])
                cursor.fetchall()
        return run

    raw = timed(bare(pivot), repeat)
    raw_narrow = timed(bare(narrow), repeat)
    report("page GET (whole request)", page)
    report("ORM trend query", orm)
    report("bare SQL (same query)", raw)
    report("bare SQL, one row a value", raw_narrow)
    say(f"page CPU a request: {meter.cpu / page_runs * 1000:.1f} ms here + "
        f"{meter.db_cpu / page_runs * 1000:.1f} ms in PostgreSQL")
    say(f"page p95 {pct(page, 95):.1f} ms (target <= 50 ms); page/bare p95 "
        f"{pct(page, 95) / pct(raw, 95):.2f}x (vs. one row a value "
        f"{pct(page, 95) / pct(raw_narrow, 95):.2f}x), ORM/bare p95 "
        f"{pct(orm, 95) / pct(raw, 95):.2f}x (target: within 3x of bare)")
    say()


def setup_one_patient(user: User, org: Organisation) -> tuple[User, Organisation, list[Any]]:
    patient = Patient.objects.filter(national_id="80000000001").first()
    if patient is None:
        patient = Patient.objects.create(national_id="80000000001", national_id_kind="test",
                                         given_name="Trend", family_name="Pasient")
        CareTeamMember.objects.create(patient=patient, organisation=org, role="home_nursing",
                                      period_start=timezone.now() - dt.timedelta(days=900))
    return user, org, [patient.pk]


# --------------------------------------------------------------------------- main

def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true",
                        help="fewer rounds and repeats: about 1-2 minutes on a fresh database")
    parser.add_argument("--patients", type=int, default=1000)
    parser.add_argument("--history", type=int, default=100, help="sets per patient for 3.")
    parser.add_argument("--rounds", type=int, default=None, help="rounds for 1. and 2.")
    parser.add_argument("--batches", type=int, default=None, help="batches a round")
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--single", type=int, default=None, help="requests per process")
    parser.add_argument("--repeat", type=int, default=None)
    parser.add_argument("--only", default="1234")
    parser.add_argument("--label", default="", help="appended to the results file's name")
    args = parser.parse_args()
    quick = {"rounds": 3, "batches": 2, "single": 60, "repeat": 150}
    full = {"rounds": 5, "batches": 4, "single": 200, "repeat": 300}
    for name, value in (quick if args.quick else full).items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    vendor = connection.vendor
    if vendor != "postgresql":
        sys.exit("The benchmark runs on PostgreSQL: export DATABASE_URL=$(.ci/postgres.sh start)")
    say(f"# observations benchmark, {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC"
        f"{' (--quick)' if args.quick else ''}")
    server = connection.cursor().connection.info.server_version if vendor == "postgresql" \
        else ""
    say(f"database {vendor} {server}; python {platform.python_version()}; "
        f"{os.cpu_count()} CPUs; load {os.getloadavg()}")
    say()
    user, org, patients = setup(args.patients)
    if "3" in args.only:
        fill_history(user, org, patients, args.history)
    if "1" in args.only:
        bench_batch(user, org, patients, args.rounds, args.batches, args.batch_size)
    if "2" in args.only:
        bench_single(user, patients, args.single, 4, args.rounds)
    if "3" in args.only:
        bench_latest(user, patients, args.repeat)
    if "4" in args.only:
        bench_trend(user, org, max(50, args.repeat // 2))
    say(f"load after {os.getloadavg()}")
    label = f"-{args.label}" if args.label else ""
    out = ROOT / "bench" / "results" / f"observations-{vendor}-{dt.date.today()}{label}.txt"
    out.write_text("\n".join(OUT) + "\n")
    print(f"written to {out}")


if __name__ == "__main__":
    main()
