"""The worker loop (samhand.lib.worker) outlives a failed round: a worker that died on
one error left 1,863 messages waiting in silence (the kill test, CI of 2026-11-25)."""

from __future__ import annotations

import gc
import logging
import os
import signal

import pytest
from django.db import OperationalError
from hypothesis import given
from hypothesis import strategies as st

from samhand.lib.worker import COLLECTOR_THRESHOLDS, MAX_PAUSE, pause_after, run_rounds


@pytest.fixture
def own_signals():
    """run_rounds installs SIGTERM/SIGINT handlers and tunes the garbage collector: give
    pytest its own back."""
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    thresholds = gc.get_threshold()
    yield
    for sig, handler in saved.items():
        signal.signal(sig, handler)
    gc.unfreeze()
    gc.set_threshold(*thresholds)


def test_a_worker_freezes_what_it_started_with_and_collects_less_often(own_signals):
    """What exists when the loop starts lives as long as the process; collecting cycles
    every 700 new objects through all of it cost a receiver a sixth of its CPU."""
    seen = {}

    def step() -> bool:
        seen.update(threshold=gc.get_threshold(), frozen=gc.get_freeze_count())
        os.kill(os.getpid(), signal.SIGTERM)
        return True

    run_rounds(step, interval=0.01, once=False, logger=logging.getLogger("test.worker"),
               name="test-worker")
    assert seen["threshold"] == COLLECTOR_THRESHOLDS
    assert seen["frozen"] > 10_000  # the modules, Django and the rest, out of the way


@pytest.mark.django_db  # after a failed round the loop closes broken database connections
def test_a_failed_round_is_logged_and_the_next_round_runs(own_signals, caplog):
    calls = []

    def step() -> bool:
        calls.append(len(calls))
        if len(calls) == 1:
            raise OperationalError("database is locked")
        if len(calls) == 2:
            raise ValueError("a fault in our code")
        if len(calls) == 4:
            os.kill(os.getpid(), signal.SIGTERM)  # stop after this round
        return True

    with caplog.at_level(logging.ERROR, logger="test.worker"):
        run_rounds(step, interval=0.01, once=False, logger=logging.getLogger("test.worker"),
                   name="test-worker")
    assert len(calls) == 4
    failures = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert [r.exc_info[0] for r in failures] == [OperationalError, ValueError]
    assert "2 in a row" in failures[1].getMessage()


def test_once_runs_one_round_and_raises_its_error():
    with pytest.raises(ValueError):
        run_rounds(lambda: (_ for _ in ()).throw(ValueError("x")), interval=1, once=True,
                   logger=logging.getLogger("test.worker"), name="test-worker")
    calls = []
    run_rounds(lambda: calls.append(1) or True, interval=1, once=True,
               logger=logging.getLogger("test.worker"), name="test-worker")
    assert calls == [1]


def test_the_pause_doubles_from_the_interval_up_to_a_minute():
    assert [pause_after(n, 0.5) for n in (1, 2, 3, 4)] == [0.5, 1.0, 2.0, 4.0]
    assert pause_after(8, 0.5) == MAX_PAUSE == 60.0
    assert pause_after(10_000, 0.2) == MAX_PAUSE


@given(st.integers(1, 10_000), st.floats(0.01, 120))
def test_the_pause_never_shrinks_and_never_passes_a_minute(failures, interval):
    pause = pause_after(failures, interval)
    assert min(interval, MAX_PAUSE) <= pause <= MAX_PAUSE
    assert pause_after(failures + 1, interval) >= pause
