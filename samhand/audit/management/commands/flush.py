"""Django's `flush`, able to empty the append-only audit tables.

The audit triggers reject DELETE and TRUNCATE, so plain `flush` (used by Django's
TransactionTestCase / pytest-django's `transactional_db` between tests) would fail.
This runs the same flush with the triggers suspended inside its transaction; on
PostgreSQL that needs the table owner's rights, which the application role lacks.
"""

from __future__ import annotations

from typing import Any

from django.core.management.commands.flush import Command as DjangoFlushCommand

from samhand.audit.protection import triggers_suspended


class Command(DjangoFlushCommand):
    help = DjangoFlushCommand.help + " The audit log is emptied too (table owner only)."

    def handle(self, **options: Any) -> None:
        with triggers_suspended(options["database"]):
            super().handle(**options)
