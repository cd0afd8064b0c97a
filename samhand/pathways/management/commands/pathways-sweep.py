"""`samhand pathways-sweep`: plan due occurrences, mark overdue tasks, alert the units.

Run it every few minutes (cron or a systemd timer). Idempotent: each overdue task
raises its alert once, however often the sweep runs."""

from __future__ import annotations

import logging
from typing import Any

from django.core.management.base import BaseCommand

from samhand.lib.worker import run_rounds
from samhand.pathways.services import sweep

logger = logging.getLogger("samhand.pathways")


class Command(BaseCommand):
    help = "Plan due pathway tasks, mark overdue tasks and alert the owning units."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--every", type=int, default=0,
                            help="repeat every N seconds (0: run once)")

    def handle(self, *args: Any, every: int = 0, **options: Any) -> None:
        def step() -> bool:
            counts = sweep()
            self.stdout.write(" ".join(f"{k}={v}" for k, v in counts.items()))
            return False

        run_rounds(step, interval=every, once=not every, logger=logger, name="pathways-sweep")
