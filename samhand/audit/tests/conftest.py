"""Helpers for the audit tests: requests as a persona, and tampering as the owner."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test import RequestFactory

from samhand.audit.protection import triggers_suspended

postgres_only = pytest.mark.skipif(connection.vendor != "postgresql",
                                   reason="needs PostgreSQL (set DATABASE_URL)")


def request_as(user: Any, ip: str = "10.1.2.3") -> Any:
    request = RequestFactory().get("/", REMOTE_ADDR=ip)
    request.user = user
    return request


def tamper(sql: str, params: Any = None) -> None:
    """Change the audit tables the way someone with the owner's rights could: switch
    the triggers off, run the SQL, switch them on again."""
    with triggers_suspended(), connection.cursor() as cursor:
        cursor.execute(sql, params)
