"""`samhand messaging-send`: the outbox worker (delivers, resends, fails and alerts).

    samhand messaging-send            run until stopped (SIGTERM/SIGINT), polling every second
    samhand messaging-send --once     one round, then exit (cron, tests)
"""

from __future__ import annotations

import logging
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from samhand.lib.worker import run_rounds
from samhand.messaging.outbox import overdue_admission_notices, send_due

logger = logging.getLogger("samhand.messaging")


class Command(BaseCommand):
    help = "Deliver the outbox of messages to other organisations."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="One round, then exit.")
        parser.add_argument("--interval", type=float, default=1.0,
                            help="Seconds between rounds when idle (default 1).")
        parser.add_argument("--batch", type=int, default=50)

    def handle(self, *args: Any, **options: Any) -> None:
        last_sweep = 0.0

        def step() -> bool:
            nonlocal last_sweep
            counts = send_due(limit=options["batch"])
            if time.monotonic() - last_sweep > 60:
                last_sweep = time.monotonic()
                try:
                    overdue_admission_notices()
                except Exception:
                    # Its own failure must not hold up sending: tried again in a minute.
                    logger.exception("the overdue admission-notice sweep failed")
            if counts and options["verbosity"] > 1:
                self.stdout.write(str(counts))
            return bool(counts)

        run_rounds(step, interval=options["interval"], once=options["once"], logger=logger,
                   name="messaging-send")
