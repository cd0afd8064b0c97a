"""Benchmark: receiving messages (validate, store, apply, acknowledge) on PostgreSQL.

Not a test: run by hand (see bench/README.md)

    DATABASE_URL=postgres://... uv run python bench/messaging_receive.py [--messages 4000]
        [--processes 2] [--kind stin|care]

Builds N distinct messages (HospitalNotification STIN for served patients: a stay, an
urgent alert, an audit row each; or new CareCommunication threads), then receives them
with `samhand.messaging.receive.receive` from P worker processes (each message its own
transaction, as over HTTP but without the HTTP server), and measures throughput and
per-message latency (p50/p95/p99). In the same run, as the baseline, the same JSON
bytes are inserted bare (one INSERT per transaction into an UNLOGGED-free plain table)
from the same number of processes. Results go to bench/results/.
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing as mp
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

from django.core.management import call_command  # noqa: E402
from django.db import connection, connections  # noqa: E402
from django.utils import timezone  # noqa: E402

from samhand.messaging import bundle as fhirmsg  # noqa: E402
from samhand.messaging import codes  # noqa: E402


def setup(patients: int) -> tuple[Any, Any, list[Any]]:
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
        cpr = f"{(i % 28) + 1:02d}0{(i // 28) % 9 + 1}47{9000 + i:04d}"[-10:]
        p = Patient.objects.create(national_id=cpr, national_id_kind="cpr", given_name="B",
                                   family_name=f"Bench {i}", municipality=muni)
        CareTeamMember.objects.create(patient=p, organisation=hn, role="home_nursing",
                                      period_start=timezone.now() - dt.timedelta(days=1))
        out.append(p)
    return us, them, out


def build(kind: str, us: Any, them: Any, patients: list[Any], n: int) -> list[bytes]:
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


def _receive_worker(chunk: list[bytes], queue: Any) -> None:
    connections.close_all()
    from samhand.messaging.receive import receive

    times, codes_seen = [], {}
    for raw in chunk:
        t0 = time.perf_counter()
        reply = receive(raw)
        times.append(time.perf_counter() - t0)
        codes_seen[reply.ack_code] = codes_seen.get(reply.ack_code, 0) + 1
    queue.put((times, codes_seen))


def _insert_worker(chunk: list[bytes], queue: Any) -> None:
    connections.close_all()
    times = []
    with connection.cursor() as cursor:
        for raw in chunk:
            t0 = time.perf_counter()
            with django.db.transaction.atomic():
                cursor.execute("INSERT INTO bench_bare (raw, content) VALUES (%s, %s::jsonb)",
                               [raw, raw.decode()])
            times.append(time.perf_counter() - t0)
    queue.put((times, {}))


def run(worker: Any, messages: list[bytes], processes: int) -> dict[str, Any]:
    chunks = [messages[i::processes] for i in range(processes)]
    queue: Any = mp.get_context("fork").Queue()
    connections.close_all()
    procs = [mp.get_context("fork").Process(target=worker, args=(c, queue)) for c in chunks]
    start = time.perf_counter()
    for p in procs:
        p.start()
    results = [queue.get() for _ in procs]
    for p in procs:
        p.join()
    wall = time.perf_counter() - start
    times = sorted(t for r in results for t in r[0])
    seen: dict[str, int] = {}
    for r in results:
        for k, v in r[1].items():
            seen[k] = seen.get(k, 0) + v

    def pct(q: float) -> float:
        return times[min(len(times) - 1, int(q * len(times)))] * 1000

    return {"messages": len(times), "wall_s": wall, "per_s": len(times) / wall,
            "p50_ms": pct(0.50), "p95_ms": pct(0.95), "p99_ms": pct(0.99),
            "mean_ms": statistics.mean(times) * 1000, "acks": seen}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=4000)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--patients", type=int, default=200)
    parser.add_argument("--kind", choices=["stin", "care"], default="care")
    args = parser.parse_args()
    assert connection.vendor == "postgresql", "set DATABASE_URL to a PostgreSQL database"
    call_command("migrate", verbosity=0)
    us, them, patients = setup(args.patients)
    messages = build(args.kind, us, them, patients, args.messages)
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_bare")
        cursor.execute("CREATE TABLE bench_bare (id bigserial primary key, raw bytea, "
                       "content jsonb, received_at timestamptz default now())")
    load_before = f"{os.getloadavg()[0]:.1f}"
    baseline = run(_insert_worker, messages, args.processes)
    received = run(_receive_worker, messages, args.processes)
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        sync = cursor.fetchone()[0]
        cursor.execute("SELECT version()")
        version = cursor.fetchone()[0]
    lines = [
        f"# bench/messaging_receive.py — {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC",
        f"machine: {platform.platform()}, {os.cpu_count()} CPUs; {version.split(',')[0]}; "
        f"synchronous_commit={sync}; load average before/after: {load_before} / "
        f"{os.getloadavg()[0]:.1f} (other sessions share this machine)",
        f"messages: {args.messages} {args.kind} ({len(messages[0])} bytes each), "
        f"processes: {args.processes}, patients: {args.patients}",
        "",
        f"{'':14}{'msg/s':>9}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'mean ms':>9}",
    ]
    for name, r in (("bare insert", baseline), ("receive", received)):
        lines.append(f"{name:14}{r['per_s']:9.0f}{r['p50_ms']:9.2f}{r['p95_ms']:9.2f}"
                     f"{r['p99_ms']:9.2f}{r['mean_ms']:9.2f}")
    lines.append(f"acknowledgements: {received['acks']}")
    text = "\n".join(lines) + "\n"
    print(text)
    out = ROOT / "bench" / "results" / (
        f"messaging_receive-{args.kind}-p{args.processes}-{dt.date.today()}.txt")
    out.write_text(text)


if __name__ == "__main__":
    main()
