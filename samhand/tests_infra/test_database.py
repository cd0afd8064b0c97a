"""The suite runs on the database CI means it to: SQLite by default, PostgreSQL 15 with
DATABASE_URL. `.ci/run` sets SAMHAND_EXPECT_DB for each of its two runs, so a run that
silently fell back to SQLite fails here.
"""

from __future__ import annotations

import os

import pytest
from django.db import connection


def expected_vendor() -> str:
    explicit = os.environ.get("SAMHAND_EXPECT_DB", "").strip()
    if explicit:
        return explicit
    url = os.environ.get("DATABASE_URL", "")
    return "postgresql" if url.startswith(("postgres://", "postgresql://")) else "sqlite"


@pytest.mark.django_db
def test_connection_uses_the_database_named_by_the_environment() -> None:
    assert connection.vendor == expected_vendor()


@pytest.mark.django_db
def test_tests_run_in_a_separate_test_database() -> None:
    name = str(connection.settings_dict["NAME"])

    if connection.vendor == "sqlite":
        assert name == ":memory:" or "mode=memory" in name or "test" in name
    else:
        assert name.startswith("test_")


@pytest.mark.django_db
def test_postgresql_is_version_15() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("runs only against PostgreSQL (CI's second run)")

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version_num")
        (version,) = cursor.fetchone()
        cursor.execute("SHOW server_encoding")
        (encoding,) = cursor.fetchone()

    assert int(version) // 10000 == 15
    assert encoding == "UTF8"
