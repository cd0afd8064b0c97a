"""Benchmark: the patient binder PDF (issue 4). Not a test: run by hand.

    uv run samhand migrate                      # SQLite under ./var, or DATABASE_URL
    uv run python bench/binder.py [--runs 30]

1. full LTMV patient   an individual plan with goals and measures, a signed treatment
                       plan, the whole LTMV action-plan library approved: p50/p95 of
                       `binder_sources` (the data and the version code: what every plans
                       page and the gate compute), of the WeasyPrint rendering alone, and
                       of a whole new stored version (`_store`: render + row + audit);
2. growth              the same with the plans multiplied (scenarios, measures, contacts,
                       settings ×1, ×2, ×4, ×8): render p50, pages, PDF size.

Everything runs inside one transaction that is rolled back: the database keeps nothing.
Results go to bench/results/binder-<vendor>-<date>.txt.
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "samhand.settings")

import django  # noqa: E402

django.setup()

from django.db import connection, transaction  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from samhand.audit.services import Actor  # noqa: E402
from samhand.conftest import build_world  # noqa: E402
from samhand.plans import binder, services  # noqa: E402
from samhand.plans.models import Document, content_hash  # noqa: E402
from samhand.plans.rendering import render_pdf  # noqa: E402
from samhand.plans.tests.helpers import actor_and_grant, full_ltmv_patient  # noqa: E402


class Rollback(Exception):
    pass


def timed(fn: Any, runs: int) -> tuple[list[float], Any]:
    times, result = [], None
    for _ in range(runs):
        start = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - start) * 1000)
    return times, result


def p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def line(label: str, values: list[float]) -> str:
    return (f"{label:<34} p50 {statistics.median(values):8.1f} ms   "
            f"p95 {p(values, 0.95):8.1f} ms   n={len(values)}")


def scale_plans(world: Any, patient: Any, factor: int, base: dict[str, Any]) -> None:
    """The first versions' content times `factor` (new versions through the services)."""
    coordinator, c_grant = actor_and_grant(world.coordinator_a, patient)
    nurse, n_grant = actor_and_grant(world.ltmv_nurse, patient)
    ip, ap, tp = base["ip"], base["ap"], base["tp"]
    content = copy.deepcopy(ip.content)
    content["measures"] = [dict(m, text=f"{m['text']} ({i})")
                           for i in range(factor) for m in ip.content["measures"]]
    content["goals"] = [{"text": f"{g['text']} ({i})"}
                        for i in range(factor) for g in ip.content["goals"]]
    services.revise_individual_plan(coordinator, patient, c_grant, content=content,
                                    note=f"x{factor}")
    scenarios = [dict(s, key=f"{s['key']}_{i}", title=f"{s['title']} ({i})")
                 for i in range(factor) for s in ap.content["scenarios"]]
    services.save_action_plan(nurse, patient, n_grant, content=dict(ap.content,
                                                                    scenarios=scenarios))
    tp_content = copy.deepcopy(tp.content)
    tp_content["ventilation"]["settings"] = [
        dict(s, name=f"{s['name']} {i}") for i in range(factor)
        for s in tp.content["ventilation"]["settings"]]
    services.save_treatment_plan(nurse, patient, n_grant, content=tp_content)


def run(runs: int) -> list[str]:
    out: list[str] = []
    world = build_world()
    patient = full_ltmv_patient(world)
    actor = Actor(client="system")

    with CaptureQueriesContext(connection) as queries:
        sources = binder.binder_sources(patient)
    out.append(f"binder_sources: {len(queries)} queries")
    times, _ = timed(lambda: binder.binder_sources(patient), runs)
    out.append(line("1. sources + version code", times))
    code = binder.short_code(content_hash(sources))
    render_times, pdf = timed(lambda: render_pdf(
        "plans/pdf/binder.html", {"s": sources, "code": code, "generated_at": "now"},
        language="nb"), runs)
    out.append(line("1. render (WeasyPrint)", render_times))
    store_times, _ = timed(lambda: binder._store(
        patient, Document.Kind.BINDER, sources=sources, template="plans/pdf/binder.html",
        actor=actor, reason="bench"), runs)
    out.append(line("1. new stored version", store_times))
    out.append(f"   full LTMV binder: {pdf.pages} pages, {len(pdf.data) / 1024:.0f} KiB, "
               f"{len(sources['action_plan']['scenarios'])} scenarios")
    out.append("")
    out.append("2. growth with the size of the plans (render p50 / p95, pages, size)")
    base = {"ip": patient.individual_plans.get().latest(),
            "ap": patient.action_plan.latest(), "tp": patient.treatment_plan.latest()}
    for factor in (1, 2, 4, 8):
        if factor > 1:
            scale_plans(world, patient, factor, base)
        grown = binder.binder_sources(patient)
        code = binder.short_code(content_hash(grown))
        g_times, g_pdf = timed(lambda grown=grown, code=code: render_pdf(
            "plans/pdf/binder.html", {"s": grown, "code": code, "generated_at": "now"},
            language="nb"), max(5, runs // 3))
        s_times, _ = timed(lambda: binder.binder_sources(patient), max(5, runs // 3))
        out.append(
            f"   x{factor}: {len(grown['action_plan']['scenarios']):3d} scenarios, "
            f"{sum(len(p['measures']) for p in grown['individual_plan']['parties']):3d} "
            f"measures   render p50 {statistics.median(g_times):7.1f} ms  "
            f"p95 {p(g_times, 0.95):7.1f} ms   sources p50 {statistics.median(s_times):6.1f} ms"
            f"   {g_pdf.pages:3d} pages  {len(g_pdf.data) / 1024:6.0f} KiB")
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    header = [f"binder benchmark {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC",
              f"database: {connection.vendor} {connection.get_database_version()}",
              f"python {platform.python_version()}, {platform.machine()}, "
              f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}",
              ""]
    lines: list[str] = []
    try:
        with transaction.atomic():
            lines = run(args.runs)
            raise Rollback
    except Rollback:
        pass
    text = "\n".join(header + lines) + "\n"
    print(text)
    target = ROOT / "bench" / "results" / (
        f"binder-{connection.vendor}-{dt.date.today().isoformat()}.txt")
    target.write_text(text)
    print(f"written to {target}")


if __name__ == "__main__":
    main()
