"""Two samhand instances on one machine — a hospital and a municipality, separate
processes and separate databases on 127.0.0.1 — exchange the whole LTMV flow over
HTTP; and the kill test: 2,000 messages while the receiver is killed with SIGKILL at
random moments, after which every message was applied exactly once and the sender's
outbox is empty.

SAMHAND_KILL_TEST_MESSAGES sets the number of messages of the kill test (default 2000
when CI is set, else 200, so that a local `pytest` run stays short).
"""

from __future__ import annotations

import json
import os
import random
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[3]
STEPS = "samhand.messaging.tests.instance_steps"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Instance:
    def __init__(self, name: str, base: Path) -> None:
        self.name = name
        self.port = _free_port()
        self.var = base / name
        self.var.mkdir()
        self.env = {**os.environ, "SAMHAND_VAR_DIR": str(self.var),
                    "DATABASE_URL": f"sqlite:///{self.var / 'db.sqlite3'}",
                    "DJANGO_SETTINGS_MODULE": "samhand.settings",
                    "SAMHAND_MESSAGE_HTTP_TIMEOUT": "10",
                    # A kill can swallow the answer to a delivered message: it is then
                    # resent (same MessageHeader.id) after this, not after 30 minutes,
                    # and the receiver answers the duplicate with the first receipt.
                    "SAMHAND_MESSAGE_RESEND_SECONDS": "5",
                    "PYTHONUNBUFFERED": "1"}
        self.server: subprocess.Popen[bytes] | None = None
        self.worker: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/fhir/$process-message"

    def run(self, *args: str) -> Any:
        out = subprocess.run([sys.executable, "-m", STEPS, *args], env=self.env, cwd=ROOT,
                             capture_output=True, timeout=300, check=False)
        assert out.returncode == 0, out.stderr.decode()[-3000:]
        return json.loads(out.stdout.decode().strip().splitlines()[-1])

    def manage(self, *args: str) -> None:
        out = subprocess.run([sys.executable, "-m", "samhand", *args], env=self.env, cwd=ROOT,
                             capture_output=True, timeout=300, check=False)
        assert out.returncode == 0, out.stderr.decode()[-3000:]

    def start_server(self) -> None:
        self.server = subprocess.Popen(
            [sys.executable, "-m", "samhand", "runserver", f"127.0.0.1:{self.port}",
             "--noreload", "--skip-checks"], env=self.env, cwd=ROOT,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.1)
        raise AssertionError(f"{self.name} did not start")

    def kill_server(self) -> None:
        if self.server is not None:
            self.server.send_signal(signal.SIGKILL)
            self.server.wait()
            self.server = None

    def start_worker(self) -> None:
        self.worker = subprocess.Popen(
            [sys.executable, "-m", "samhand", "messaging-send", "--interval", "0.2",
             "--batch", "100"], env=self.env, cwd=ROOT, stdout=subprocess.DEVNULL,
            stderr=(self.var / "worker.log").open("ab"))

    def assert_worker_alive(self) -> None:
        """A dead worker leaves every message waiting: fail at once, with its log."""
        if self.worker is not None and self.worker.poll() is not None:
            log = (self.var / "worker.log").read_text(errors="replace")[-4000:]
            raise AssertionError(f"{self.name}'s worker died ({self.worker.returncode}):\n{log}")

    def stop(self) -> None:
        self.kill_server()
        if self.worker is not None:
            self.worker.terminate()
            self.worker.wait(timeout=30)


@pytest.fixture
def instances(tmp_path):
    hospital, municipality = Instance("hospital", tmp_path), Instance("municipality", tmp_path)
    hospital_secret = "shk_" + secrets.token_urlsafe(32)
    municipality_secret = "shk_" + secrets.token_urlsafe(32)
    for inst in (hospital, municipality):
        inst.manage("migrate", "-v0")
    hospital.run("setup", "hospital", municipality.url, hospital_secret, municipality_secret)
    municipality.run("setup", "municipality", hospital.url, municipality_secret,
                     hospital_secret)
    for inst in (hospital, municipality):
        inst.start_server()
        inst.start_worker()
    yield hospital, municipality
    for inst in (hospital, municipality):
        inst.stop()


def _wait(inst: Instance, done: Any, timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        inst.assert_worker_alive()
        state = inst.run("status")
        if done(state) or time.monotonic() > deadline:
            return state
        time.sleep(0.5)


def _delivered(n: int) -> Any:
    return lambda s: s["outbox"].get("delivered", 0) >= n and set(s["outbox"]) == {"delivered"}


def test_a_hospital_and_a_municipality_exchange_the_ltmv_flow(instances):
    hospital, municipality = instances
    hospital.run("send", "plo-admission-notice")
    hospital.run("send", "plo-health-info-application")
    hospital.run("send", "plo-discharge-ready")
    state = _wait(hospital, _delivered(3))
    assert state["outbox"] == {"delivered": 3}
    municipality.run("send", "plo-admission-report")
    municipality.run("send", "plo-municipal-decision")
    assert _wait(municipality, _delivered(2))["outbox"] == {"delivered": 2}
    hospital.run("send", "plo-discharge-report")
    hospital.run("send", "care", "Pasienten trenger sårstell to ganger daglig.")
    assert _wait(hospital, _delivered(5))["outbox"] == {"delivered": 5}
    municipality.run("reply", "Vi har satt opp sårstell morgen og kveld.")
    assert _wait(municipality, _delivered(3))["outbox"] == {"delivered": 3}

    muni = municipality.run("status")
    assert muni["inbox_events"] == sorted([
        "plo-admission-notice", "plo-health-info-application", "plo-discharge-ready",
        "plo-discharge-report", "care-communication-message"])
    assert muni["stays"] == ["discharged"]
    hosp = hospital.run("status")
    assert hosp["inbox_events"] == sorted(["plo-admission-report", "plo-municipal-decision",
                                           "care-communication-message"])
    # Both sides keep the discharge-ready chain with the municipality's date.
    assert hosp["receive_from"] == muni["receive_from"] is not None


def test_nothing_lost_nothing_twice_when_the_receiver_is_killed(instances):
    hospital, municipality = instances
    count = int(os.environ.get("SAMHAND_KILL_TEST_MESSAGES",
                               "2000" if os.environ.get("CI") else "200"))
    assert hospital.run("bulk", str(count))["count"] == count
    rng = random.Random(6)
    kills = 0
    deadline = time.monotonic() + 900
    while time.monotonic() < deadline:
        time.sleep(rng.uniform(0.5, 3.0))
        hospital.assert_worker_alive()
        state = hospital.run("status")
        if state["outbox"].get("delivered", 0) >= count:
            break
        if kills < 8:
            municipality.kill_server()
            kills += 1
            time.sleep(rng.uniform(0.0, 1.0))
            municipality.start_server()
    state = _wait(hospital, _delivered(count), timeout=600)
    muni = municipality.run("status")
    assert state["outbox"] == {"delivered": count}, state
    assert muni["inbox"] == muni["inbox_distinct"] == muni["care_in"] == count, muni
    assert kills >= 1
