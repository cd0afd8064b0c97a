"""What the page benchmarks share (my_patients.py, worklist.py): Django set up from the
repository, the tests' login, timing, percentiles, the machine's conditions, replaying
and explaining the page's raw SQL, and writing the result file.

Import it first (`from _common import ...`): it puts the repository on sys.path and
calls django.setup() before anything imports a model.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "samhand.settings")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402

from samhand.accounts.models import User  # noqa: E402
from samhand.conftest import World  # noqa: E402

PAGE_SIZE = 25


def login(client: Client, user: User) -> Client:
    """The tests' login: a session with the second factor confirmed."""
    return World.login(client, user)


def timings(fn: Callable[[], Any], repeat: int, warmup: int) -> tuple[list[float], list[float]]:
    """Wall-clock and CPU milliseconds of this process per call. CPU time leaves out
    the time spent waiting for PostgreSQL (and for other processes on a busy machine)."""
    for _ in range(warmup):
        fn()
    wall, cpu = [], []
    for _ in range(repeat):
        started, started_cpu = time.perf_counter(), time.process_time()
        fn()
        wall.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
    return wall, cpu


def pct(values: list[float], p: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1]


def machine() -> list[str]:
    """The conditions of the run, for the top of the result file."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT version()")
        version = cursor.fetchone()[0]
        settings_rows = []
        if connection.vendor == "postgresql":
            cursor.execute("SELECT name, setting, unit FROM pg_settings WHERE name IN "
                           "('shared_buffers', 'work_mem', 'effective_cache_size', "
                           "'random_page_cost', 'jit')")
            settings_rows = [f"{n}={s}{u or ''}" for n, s, u in cursor.fetchall()]
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                                capture_output=True, text=True, check=False).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain"], cwd=ROOT,
                               capture_output=True, text=True, check=False).stdout.strip()
    except OSError:
        commit, dirty = "?", ""
    with open("/proc/meminfo") as fh:
        mem = int(fh.readline().split()[1]) // 1024
    return [
        f"date: {dt.datetime.now().isoformat(timespec='seconds')}",
        f"commit: {commit}{' (working tree has uncommitted changes)' if dirty else ''}",
        f"nproc: {os.cpu_count()}   load average: "
        + " ".join(f"{x:.2f}" for x in os.getloadavg()),
        f"memory: {mem} MiB   python: {platform.python_version()}   "
        f"django: {django.get_version()}",
        f"database: {connection.vendor}: {version}",
        f"database settings: {' '.join(settings_rows)}",
    ]


def replayer(raw: list[str]) -> Callable[[], None]:
    """Replays the page's SQL through a cursor: the baseline no ORM can beat."""
    def replay() -> None:
        with connection.cursor() as cursor:
            for sql in raw:
                cursor.execute(sql)
                cursor.fetchall()

    return replay


def explain(raw: list[str], title: str, width: int) -> list[str]:
    """EXPLAIN (ANALYZE, BUFFERS) of each statement (PostgreSQL only), for the result
    file; `width` characters of the statement head each plan."""
    lines: list[str] = []
    if connection.vendor != "postgresql":
        return lines
    for sql in raw:
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
            plan = "\n".join(row[0] for row in cursor.fetchall())
        lines += [f"## {title}: {sql[:width]}…", plan, ""]
    return lines


def finish(lines: list[str], explains: list[str], counts: dict[str, int], constant: bool,
           name: str, out: str = "") -> None:
    """Append the query counts and the plans, write the result file (default
    bench/results/<name>-<vendor>-<date>.txt), print the table and fail when the number
    of queries per page request is not constant."""
    lines += ["", f"queries per page request: {counts} -> "
                  f"{'constant' if constant else 'NOT CONSTANT'}",
              "load average after: " + " ".join(f"{x:.2f}" for x in os.getloadavg()), "",
              "# EXPLAIN ANALYZE", "", *explains]
    path = Path(out) if out else (
        ROOT / "bench" / "results"
        / f"{name}-{connection.vendor}-{dt.date.today().isoformat()}.txt")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    print("\n".join(lines[: lines.index("# EXPLAIN ANALYZE")]))
    print(f"written to {path}")
    assert constant, f"queries per request differ: {counts}"
