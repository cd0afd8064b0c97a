"""The loop of a long-running worker command (outbox sender, folder receiver, sweeps).

A worker that dies leaves messages and tasks waiting in silence, so a failed round —
the database busy or away (an SQLite lock, a PostgreSQL restart), or a fault in our
code — is logged and tried again, with a pause that grows while the failures go on
(at most a minute). What a failed round did not commit is not lost: every round is
written to be repeated. SIGTERM and SIGINT end the loop after the current round.
"""

from __future__ import annotations

import gc
import logging
import signal
import time
from collections.abc import Callable
from typing import Any

from django.db import close_old_connections

MAX_PAUSE = 60.0

# Python's collector looks for garbage cycles every 700 new objects, and now and then
# through every object of the process — Django, fhir.resources' 666 model classes and
# their validators among them. Receiving a message makes thousands of short-lived objects
# (its FHIR validation most), so a receiver spent a sixth of its CPU there
# (bench/README.md). Long-running processes therefore freeze what exists once they have
# started (it lives as long as the process) and collect young objects every 50,000.
COLLECTOR_THRESHOLDS = (50_000, 20, 100)


def tune_collector() -> None:
    """For a long-running process, once started: what exists now is kept out of the
    cycle collector's way, and it runs less often (COLLECTOR_THRESHOLDS)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*COLLECTOR_THRESHOLDS)


def pause_after(failures: int, interval: float) -> float:
    """Seconds to wait after `failures` failed rounds in a row (1, 2, 3 …)."""
    return min(MAX_PAUSE, interval * 2 ** min(max(failures, 1) - 1, 16))


def run_rounds(step: Callable[[], bool], *, interval: float, once: bool,
               logger: logging.Logger, name: str) -> None:
    """Call `step` until stopped. It returns True when it did work (the next round
    starts at once) and False when idle (the next round waits `interval` seconds).
    With `once`, one round is run and its error, if any, is raised."""
    if once:
        step()
        return
    stopped = {"now": False}

    def halt(*_args: Any) -> None:
        stopped["now"] = True

    signal.signal(signal.SIGTERM, halt)
    signal.signal(signal.SIGINT, halt)
    tune_collector()
    failures = 0
    while not stopped["now"]:
        try:
            busy = step()
        except Exception:  # the worker outlives any one failed round
            failures += 1
            logger.exception("%s: round failed (%d in a row); trying again", name, failures)
            close_old_connections()
            _sleep(pause_after(failures, interval), stopped)
            continue
        failures = 0
        if not busy:
            _sleep(interval, stopped)


def _sleep(seconds: float, stopped: dict[str, bool]) -> None:
    """Sleep in short slices, so that a stop signal does not wait out a long pause."""
    end = time.monotonic() + seconds
    while not stopped["now"]:
        left = end - time.monotonic()
        if left <= 0:
            return
        time.sleep(min(left, 0.5))
