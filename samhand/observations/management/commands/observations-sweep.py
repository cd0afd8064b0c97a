"""samhand observations-sweep: escalate unacknowledged observation alerts one level up and
raise alerts for missed observations. Idempotent: run it every minute."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from samhand.observations.escalation import sweep


class Command(BaseCommand):
    help = "Escalate unacknowledged observation alerts; alert on missed observations."

    def handle(self, *args: Any, **options: Any) -> None:
        result = sweep()
        self.stdout.write(f"escalated {result['escalated']}, missed {result['missed']}")
