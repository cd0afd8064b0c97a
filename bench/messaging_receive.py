"""Benchmark: receiving messages (validate, store, apply, acknowledge) on PostgreSQL.

Not a test: run by hand (see bench/README.md, "messaging_receive.py"). One command:

    uv run python bench/messaging_receive.py            # ~3-5 min: 3 rounds, STIN and care
    uv run python bench/messaging_receive.py --quick    # ~1 min: 1 round, fewer messages

Without a PostgreSQL DATABASE_URL it starts a throwaway server (.ci/postgres.sh) and
stops it at the end; with one, it creates a fresh database `samhand_bench` on that
server. Each round builds new, distinct messages (HospitalNotification STIN for served
patients: a stay, an urgent alert, paused tasks, two audit rows each; or a new
CareCommunication thread each) and measures, with P worker processes each:

1. bare insert, one message per transaction: INSERT of the same JSON bytes (bytea +
   jsonb) into a plain table — the floor for "store a message durably";
2. receive(), one message per transaction (as POST /fhir/$process-message, without HTTP);
3. bare insert, B messages per transaction;
4. receive_many(), B messages per transaction (the watched folder and a queue intake).

Per mode: messages/s (wall), latency per message p50/p95/p99 (for the batched modes:
from the batch being handed over to its COMMIT, i.e. every message of a batch gets the
batch's time), CPU ms per message of the benchmark processes (less disturbed by other
work on the machine than wall time) and of their PostgreSQL backends (/proc). Medians
over the rounds; the load average before/after each round; PostgreSQL settings.
Results go to bench/results/messaging_receive-<date>[-quick].txt.
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing as mp
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "samhand.settings")

TICKS = os.sysconf("SC_CLK_TCK")


# --------------------------------------------------------------------------- database

def _with_db(url: str, name: str) -> str:
    parts = urlparse(url)
    return urlunparse(parts._replace(path=f"/{name}"))


def prepare_database() -> tuple[str, str | None]:
    """(DATABASE_URL of a fresh benchmark database, URL of a server we started or None)."""
    url = os.environ.get("DATABASE_URL", "")
    started = None
    if not url.startswith(("postgres://", "postgresql://")):
        url = subprocess.run([str(ROOT / ".ci" / "postgres.sh"), "start"], check=True,
                             capture_output=True, text=True).stdout.strip()
        started = url
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS samhand_bench")
        conn.execute("CREATE DATABASE samhand_bench")
    return _with_db(url, "samhand_bench"), started


# --------------------------------------------------------------------------- messages

def bench_cpr(i: int) -> str:
    """A distinct, valid CPR number (a real date in 1947) for patient i < 3,360,000."""
    day, month, serial = i % 28 + 1, (i // 28) % 12 + 1, i // 336
    return f"{day:02d}{month:02d}47{serial:04d}"


def setup(patients: int) -> tuple[Any, Any, list[Any]]:
    from django.utils import timezone

    from samhand.messaging.models import Partner
    from samhand.orgs.models import Organisation
    from samhand.patients.models import CareTeamMember, Patient

    K = Organisation.Kind
    muni = Organisation.objects.create(kind=K.MUNICIPALITY, name="Bench kommune")
    hn = Organisation.objects.create(kind=K.HOME_NURSING, parent=muni, name="Bench HN")
    hosp = Organisation.objects.create(kind=K.HOSPITAL, name="Bench sykehus")
    us = Partner.objects.create(name="Bench HN", organisation=hn, sor_id="953741000016009",
                                gln="5790001348120", is_local=True)
    them = Partner.objects.create(name="Bench sykehus", organisation=hosp,
                                  sor_id="265161000016000", gln="5790000209354")
    out = []
    for i in range(patients):
        cpr = bench_cpr(i)
        p = Patient.objects.create(national_id=cpr, national_id_kind="cpr", given_name="B",
                                   family_name=f"Bench {i}", municipality=muni)
        CareTeamMember.objects.create(patient=p, organisation=hn, role="home_nursing",
                                      period_start=timezone.now() - dt.timedelta(days=1))
        out.append(p)
    return us, them, out


def build(kind: str, us: Any, them: Any, patients: list[Any], n: int) -> list[bytes]:
    from samhand.messaging import bundle as fhirmsg
    from samhand.messaging import codes

    messages = []
    for i in range(n):
        p = patients[i % len(patients)]
        pat = {"resourceType": "Patient", "id": fhirmsg.new_id(),
               "identifier": [{"system": codes.CPR, "value": p.national_id}],
               "name": [{"family": p.family_name}]}
        if kind == "stin":
            focus = {"resourceType": "Encounter", "id": fhirmsg.new_id(), "status": "in-progress",
                     "class": {"system": codes.ACT_CODE_SYSTEM, "code": "IMP"},
                     "subject": {"reference": f"Patient/{pat['id']}"},
                     "episodeOfCare": [{"identifier": {"system": them.party.address,
                                                       "value": fhirmsg.new_id()}}],
                     "period": {"start": "2026-11-25T10:00:00+01:00"},
                     "serviceProvider": {"reference": "Organization/sender"}}
            activity = codes.Activity.ADMIT_INPATIENT
            event = codes.Event.HOSPITAL_NOTIFICATION
        else:
            focus = {"resourceType": "Communication", "id": fhirmsg.new_id(),
                     "identifier": [{"value": f"urn:uuid:{fhirmsg.new_id()}"}],
                     "status": "unknown", "subject": {"reference": f"Patient/{pat['id']}"},
                     "category": [{"coding": [{"system": codes.CATEGORY_SYSTEM,
                                               "code": "nursing"}]}],
                     "payload": [{"extension": [
                         {"url": codes.SEGMENT_DATETIME_URL,
                          "valueDateTime": "2026-11-25T10:00:00+01:00"},
                         {"url": codes.SEGMENT_IDENTIFIER_URL,
                          "valueIdentifier": {"value": f"urn:uuid:{fhirmsg.new_id()}",
                                              "assigner": {"reference": "Organization/sender"}}},
                         {"url": codes.SEGMENT_AUTHOR_URL,
                          "valueReference": {"reference": "PractitionerRole/r1"}},
                         {"url": codes.SEGMENT_CONTACT_URL,
                          "valueContactPoint": {"system": "phone", "value": "1"}}],
                         "contentString": f"Melding {i}: sårstell morgen og kveld."}]}
            activity = codes.Activity.NEW
            event = codes.Event.CARE_COMMUNICATION
        extra = [pat]
        if kind != "stin":
            extra += [{"resourceType": "PractitionerRole", "id": "r1",
                       "practitioner": {"reference": "Practitioner/q1"}},
                      {"resourceType": "Practitioner", "id": "q1",
                       "name": [{"family": "Lunde"}]}]
        bundle = fhirmsg.build_message(event=event, sender=them.party, receiver=us.party,
                                       focus=focus, resources=extra, activity=activity,
                                       sender_id="sender")
        messages.append(fhirmsg.dumps(bundle))
    return messages


# --------------------------------------------------------------------------- workers

def _backend_cpu_ms(pid: int) -> float | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) * 1000 / TICKS  # utime + stime


def _worker(mode: str, chunk: list[bytes], batch: int, queue: Any) -> None:
    from django.db import connection, connections, transaction

    connections.close_all()
    from samhand.lib.worker import tune_collector
    from samhand.messaging.receive import receive, receive_many

    tune_collector()  # as samhand's long-running processes do (worker commands, WSGI)

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    times: list[float] = []
    acks: dict[str, int] = {}
    db0, cpu0 = _backend_cpu_ms(backend), time.process_time()
    size = batch if mode.endswith("batch") else 1
    for start in range(0, len(chunk), size):
        part = chunk[start:start + size]
        t0 = time.perf_counter()
        if mode.startswith("insert"):
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.executemany(
                    "INSERT INTO bench_bare (raw, content) VALUES (%s, %s::jsonb)",
                    [(raw, raw.decode()) for raw in part])
            codes = ["stored"] * len(part)
        elif size == 1:
            codes = [receive(part[0]).ack_code]
        else:
            codes = [reply.ack_code for reply in receive_many(part)]
        elapsed = time.perf_counter() - t0
        times.extend([elapsed] * len(part))
        for code in codes:
            acks[str(code)] = acks.get(str(code), 0) + 1
    cpu = time.process_time() - cpu0
    db1 = _backend_cpu_ms(backend)
    queue.put((times, acks, cpu, (db1 - db0) if db0 is not None and db1 is not None else None))


def run(mode: str, messages: list[bytes], processes: int, batch: int) -> dict[str, Any]:
    from django.db import connections

    chunks = [messages[i::processes] for i in range(processes)]
    ctx = mp.get_context("fork")
    queue: Any = ctx.Queue()
    connections.close_all()
    procs = [ctx.Process(target=_worker, args=(mode, c, batch, queue)) for c in chunks]
    start = time.perf_counter()
    for p in procs:
        p.start()
    results = [queue.get() for _ in procs]
    for p in procs:
        p.join()
    wall = time.perf_counter() - start
    times = sorted(t for r in results for t in r[0])
    acks: dict[str, int] = {}
    for r in results:
        for k, v in r[1].items():
            acks[k] = acks.get(k, 0) + v
    db = [r[3] for r in results]

    def pct(q: float) -> float:
        return times[min(len(times) - 1, int(q * len(times)))] * 1000

    return {"messages": len(times), "per_s": len(times) / wall, "p50_ms": pct(0.50),
            "p95_ms": pct(0.95), "p99_ms": pct(0.99),
            "cpu_ms": sum(r[2] for r in results) * 1000 / len(times),
            "db_cpu_ms": sum(db) / len(times) if None not in db else float("nan"),  # type: ignore[arg-type]
            "acks": acks}


# --------------------------------------------------------------------------- main

MODES = (("insert-single", "bare insert, 1/txn"), ("receive-single", "receive(), 1/txn"),
         ("insert-batch", "bare insert, batch"), ("receive-batch", "receive_many(), batch"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="1 round, fewer messages (~1 min)")
    parser.add_argument("--kind", choices=["stin", "care", "both"], default="both")
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--single", type=int, default=None,
                        help="messages per round, one per transaction")
    parser.add_argument("--batched", type=int, default=None,
                        help="messages per round, batched")
    parser.add_argument("--patients", type=int, default=2000,
                        help="patients the messages are spread over (a few stays each)")
    args = parser.parse_args()
    rounds = args.rounds or (1 if args.quick else 3)
    n_single = args.single or (200 if args.quick else 600)
    n_batched = args.batched or (600 if args.quick else 2000)
    kinds = ["stin", "care"] if args.kind == "both" else [args.kind]

    url, started = prepare_database()
    os.environ["DATABASE_URL"] = url
    try:
        import django

        django.setup()
        from django.core.management import call_command
        from django.db import connection

        call_command("migrate", verbosity=0)
        us, them, patients = setup(args.patients)
        # Warm up before the workers fork: the FHIR models are built on first use.
        from samhand.messaging import bundle as fhirmsg

        for kind in kinds:
            fhirmsg.check(fhirmsg.parse(build(kind, us, them, patients, 1)[0]))
        with connection.cursor() as cursor:
            # Compressed as samhand's columns are (messaging migration 0005).
            cursor.execute("CREATE TABLE bench_bare (id bigserial primary key, "
                           "raw bytea COMPRESSION lz4, content jsonb COMPRESSION lz4, "
                           "received_at timestamptz default now())")
            settings = {}
            for name in ("server_version", "synchronous_commit", "fsync", "wal_level",
                         "shared_buffers", "max_wal_size", "commit_delay"):
                cursor.execute(f"SHOW {name}")
                settings[name] = cursor.fetchone()[0]
        lines = [
            f"# bench/messaging_receive.py{' --quick' if args.quick else ''} — "
            f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC",
            f"machine: {platform.platform()}, {os.cpu_count()} CPUs (shared with other "
            f"sessions); PostgreSQL " + ", ".join(f"{k}={v}" for k, v in settings.items()),
            f"processes: {args.processes}, batch: {args.batch}, rounds: {rounds}, messages per "
            f"round: {n_single} one per transaction, {n_batched} batched; "
            f"patients: {args.patients}",
            "latency: per message; batched modes: from handing the batch over to its COMMIT",
            "CPU ms/msg: the benchmark processes (client) and their PostgreSQL backends (db)",
        ]
        for kind in kinds:
            per_mode: dict[str, list[dict[str, Any]]] = {m: [] for m, _l in MODES}
            loads = []
            for _round in range(rounds):
                before = os.getloadavg()[0]
                for mode, _label in MODES:
                    n = n_single if mode.endswith("single") else n_batched
                    messages = build(kind, us, them, patients, n)
                    per_mode[mode].append(run(mode, messages, args.processes, args.batch))
                loads.append(f"{before:.1f}/{os.getloadavg()[0]:.1f}")
            size = len(build(kind, us, them, patients, 1)[0])
            lines += ["", f"## {kind} ({size} bytes per message) — medians of {rounds} "
                          f"round(s); load average before/after each round: "
                          f"{', '.join(loads)}",
                      f"{'':24}{'msg/s':>8}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}"
                      f"{'client':>8}{'db':>7}   msg/s per round"]
            for mode, label in MODES:
                rs = per_mode[mode]

                def med(key: str, rs: list[dict[str, Any]] = rs) -> float:
                    return statistics.median(r[key] for r in rs)

                name = label.replace("batch", f"batch {args.batch}") \
                    if mode.endswith("batch") else label
                lines.append(
                    f"{name:24}{med('per_s'):8.0f}{med('p50_ms'):9.1f}{med('p95_ms'):9.1f}"
                    f"{med('p99_ms'):9.1f}{med('cpu_ms'):8.2f}{med('db_cpu_ms'):7.2f}   "
                    + " ".join(f"{r['per_s']:.0f}" for r in rs))
            acks: dict[str, int] = {}
            for mode in ("receive-single", "receive-batch"):
                for r in per_mode[mode]:
                    for k, v in r["acks"].items():
                        acks[k] = acks.get(k, 0) + v
            lines.append(f"acknowledgements: {acks}")
            if set(acks) != {"ok"}:
                # Rejected messages cost less than received ones: the figures above would
                # flatter the receiver. Nothing is written.
                raise SystemExit(f"{kind}: not every message was accepted ({acks}); "
                                 "the benchmark's messages are wrong, no figures kept.")
        text = "\n".join(lines) + "\n"
        print(text)
        out = ROOT / "bench" / "results" / (
            f"messaging_receive-{dt.date.today()}{'-quick' if args.quick else ''}.txt")
        out.write_text(text)
    finally:
        from django.db import connections

        connections.close_all()
        if started:
            subprocess.run([str(ROOT / ".ci" / "postgres.sh"), "stop", started], check=False,
                           capture_output=True)


if __name__ == "__main__":
    main()
