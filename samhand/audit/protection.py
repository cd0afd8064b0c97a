"""How the database keeps the audit log append-only, and the owner's way around it.

The triggers come from migration 0002. `triggers_suspended()` switches them off
inside one transaction, which only the owner of the tables can do on PostgreSQL
(ALTER TABLE); it exists for `flush` (test teardown, an empty development database)
and for tests that play the part of an attacker with owner rights. Nothing in the
running application calls it.

`grant_sql()` prints what an operator runs so that the application's own database
role can read and append to the audit log but never change or remove it
(security.md #27).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import DEFAULT_DB_ALIAS, connections, transaction

AUDIT_TABLES = ("audit_auditevent", "audit_chainhead")


@contextmanager
def triggers_suspended(using: str = DEFAULT_DB_ALIAS) -> Iterator[None]:
    """Within one transaction: the audit tables' triggers are off, then on again.

    On an exception the transaction rolls back, and with it the switch-off.
    """
    connection = connections[using]
    with transaction.atomic(using=using):
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                for table in AUDIT_TABLES:
                    cursor.execute(f"ALTER TABLE {connection.ops.quote_name(table)} "
                                   "DISABLE TRIGGER USER")
                saved: list[tuple[str, str]] = []
            elif connection.vendor == "sqlite":
                cursor.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' "
                               "AND tbl_name IN (%s, %s)", list(AUDIT_TABLES))
                saved = list(cursor.fetchall())
                for name, _sql in saved:
                    cursor.execute(f"DROP TRIGGER {connection.ops.quote_name(name)}")
            else:  # pragma: no cover - other databases are not supported
                saved = []
        yield
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                # Deferred foreign-key checks queued meanwhile must run before the
                # table can be altered again (and must pass).
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                cursor.execute("SET CONSTRAINTS ALL DEFERRED")
                for table in AUDIT_TABLES:
                    cursor.execute(f"ALTER TABLE {connection.ops.quote_name(table)} "
                                   "ENABLE TRIGGER USER")
            for _name, sql in saved:
                # The triggers' own CREATE statements, as SQLite stored them.
                # samhand: reviewed-sql
                cursor.execute(sql, None)


def grant_sql(app_role: str, owner_role: str | None = None, schema: str = "public") -> str:
    """GRANT/REVOKE statements for a separate application role on PostgreSQL.

    The owner role runs `samhand migrate` and owns every table; the app role is what
    the running web and worker processes connect as. The app role may do everything
    it needs on ordinary tables, and only SELECT and INSERT on the audit log.
    """
    for name in (app_role, owner_role or "", schema):
        if name and not name.replace("_", "").isalnum():
            raise ValueError(f"not a plain role or schema name: {name!r}")
    owner = owner_role or "<owner role>"
    lines = [
        "-- samhand: database rights for the application role (security.md #27).",
        f"-- Run as {owner}, the role that owns samhand's tables and runs `samhand migrate`,",
        "-- after every migration that adds tables. The web and worker processes connect",
        f"-- as {app_role}; it must not own tables, be superuser or have CREATEROLE.",
        "",
        f"GRANT USAGE ON SCHEMA {schema} TO {app_role};",
        "",
        "-- Ordinary tables: read and write.",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {schema} TO {app_role};",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {schema} TO {app_role};",
        "",
        "-- The audit log: read and append only. Together with the triggers from",
        "-- migration audit.0002 (which only the owner can switch off) no role the",
        "-- application holds can rewrite history.",
        f"REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON audit_auditevent "
        f"FROM {app_role};",
        f"GRANT SELECT, INSERT ON audit_auditevent TO {app_role};",
        "-- The chain head is locked (SELECT ... FOR UPDATE) and moved forward on every",
        "-- append; a trigger refuses any other change.",
        f"REVOKE DELETE, TRUNCATE, REFERENCES, TRIGGER ON audit_chainhead FROM {app_role};",
        f"GRANT SELECT, INSERT, UPDATE ON audit_chainhead TO {app_role};",
        "-- Review decisions are updated, never deleted.",
        f"REVOKE DELETE, TRUNCATE ON audit_reviewitem FROM {app_role};",
        f"GRANT SELECT, INSERT, UPDATE ON audit_reviewitem TO {app_role};",
    ]
    if owner_role:
        lines += [
            "",
            "-- Tables created by later migrations get the ordinary rights automatically;",
            "-- the audit tables above keep their narrower rights.",
            f"ALTER DEFAULT PRIVILEGES FOR ROLE {owner_role} IN SCHEMA {schema}",
            f"    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {app_role};",
            f"ALTER DEFAULT PRIVILEGES FOR ROLE {owner_role} IN SCHEMA {schema}",
            f"    GRANT USAGE, SELECT ON SEQUENCES TO {app_role};",
        ]
    return "\n".join(lines) + "\n"
