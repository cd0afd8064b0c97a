"""`samhand messaging-send`: the outbox worker (delivers, resends, fails and alerts).

    samhand messaging-send            run until stopped (SIGTERM/SIGINT), polling every second
    samhand messaging-send --once     one round, then exit (cron, tests)
"""

from __future__ import annotations

import logging
import signal
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import DatabaseError, close_old_connections

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
        stop = {"now": False}

        def halt(*_args: Any) -> None:
            stop["now"] = True

        signal.signal(signal.SIGTERM, halt)
        signal.signal(signal.SIGINT, halt)
        last_sweep = 0.0
        while not stop["now"]:
            try:
                counts = send_due(limit=options["batch"])
                if time.monotonic() - last_sweep > 60:
                    overdue_admission_notices()
                    last_sweep = time.monotonic()
            except DatabaseError:
                # The database is busy or away (SQLite lock, a PostgreSQL restart): the
                # attempt was not committed, so nothing is lost; try again shortly.
                logger.exception("outbox round failed; retrying")
                close_old_connections()
                counts = {}
                if options["once"]:
                    raise
                time.sleep(options["interval"])
                continue
            if counts and options["verbosity"] > 1:
                self.stdout.write(str(counts))
            if options["once"]:
                break
            if not counts:
                time.sleep(options["interval"])
