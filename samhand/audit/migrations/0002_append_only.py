"""The audit tables are append-only (security.md #27), enforced by the database.

* audit_auditevent: UPDATE, DELETE and TRUNCATE are rejected; an INSERT must link to
  the previous row (seq - 1 with hash = prev_hash), so the chain has no gaps.
* audit_chainhead: created once at seq 0, then only moves forward onto a row that
  exists with that hash; never deleted.

Triggers are the second line: in production the app's database role also has no
UPDATE/DELETE/TRUNCATE rights on these tables (`samhand audit grant-sql`), and only
the table owner can switch triggers off. PostgreSQL and SQLite get equivalent
triggers; both raise an integrity error with a clear message.

The SQL is frozen here on purpose (a migration must not change with the app code).
"""

from django.db import migrations

GENESIS = "0" * 64

POSTGRES_UP = [
    """
    CREATE OR REPLACE FUNCTION audit_reject_change() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'samhand audit log is append-only: % on % is not allowed', TG_OP, TG_TABLE_NAME
            USING ERRCODE = 'integrity_constraint_violation',
                  HINT = 'Audit rows are written by samhand.audit.services.record() and never changed.';
    END;
    $$
    """,
    """
    CREATE OR REPLACE FUNCTION audit_event_check_link() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        IF NEW.seq = 1 AND NEW.prev_hash = repeat('0', 64) THEN
            RETURN NEW;
        END IF;
        IF EXISTS (SELECT 1 FROM audit_auditevent
                   WHERE seq = NEW.seq - 1 AND hash = NEW.prev_hash) THEN
            RETURN NEW;
        END IF;
        RAISE EXCEPTION 'samhand audit log: row % does not follow the previous row', NEW.seq
            USING ERRCODE = 'integrity_constraint_violation',
                  HINT = 'Write audit rows only through samhand.audit.services.record().';
    END;
    $$
    """,
    """
    CREATE OR REPLACE FUNCTION audit_chainhead_guard() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'INSERT' AND NEW.seq = 0 AND NEW.hash = repeat('0', 64) THEN
            RETURN NEW;
        END IF;
        IF TG_OP = 'UPDATE' AND NEW.id = OLD.id AND NEW.seq > OLD.seq
           AND EXISTS (SELECT 1 FROM audit_auditevent
                       WHERE seq = NEW.seq AND hash = NEW.hash) THEN
            RETURN NEW;
        END IF;
        RAISE EXCEPTION 'samhand audit log: the chain head only moves forward to an existing row (% refused)', TG_OP
            USING ERRCODE = 'integrity_constraint_violation';
    END;
    $$
    """,
    """
    CREATE TRIGGER audit_event_append_only BEFORE UPDATE OR DELETE ON audit_auditevent
    FOR EACH ROW EXECUTE FUNCTION audit_reject_change()
    """,
    """
    CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON audit_auditevent
    FOR EACH STATEMENT EXECUTE FUNCTION audit_reject_change()
    """,
    """
    CREATE TRIGGER audit_event_linked BEFORE INSERT ON audit_auditevent
    FOR EACH ROW EXECUTE FUNCTION audit_event_check_link()
    """,
    """
    CREATE TRIGGER audit_chainhead_forward BEFORE INSERT OR UPDATE OR DELETE ON audit_chainhead
    FOR EACH ROW EXECUTE FUNCTION audit_chainhead_guard()
    """,
    """
    CREATE TRIGGER audit_chainhead_no_truncate BEFORE TRUNCATE ON audit_chainhead
    FOR EACH STATEMENT EXECUTE FUNCTION audit_reject_change()
    """,
]

POSTGRES_DOWN = [
    "DROP TRIGGER IF EXISTS audit_chainhead_no_truncate ON audit_chainhead",
    "DROP TRIGGER IF EXISTS audit_chainhead_forward ON audit_chainhead",
    "DROP TRIGGER IF EXISTS audit_event_linked ON audit_auditevent",
    "DROP TRIGGER IF EXISTS audit_event_no_truncate ON audit_auditevent",
    "DROP TRIGGER IF EXISTS audit_event_append_only ON audit_auditevent",
    "DROP FUNCTION IF EXISTS audit_chainhead_guard()",
    "DROP FUNCTION IF EXISTS audit_event_check_link()",
    "DROP FUNCTION IF EXISTS audit_reject_change()",
]

SQLITE_UP = [
    """
    CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_auditevent
    BEGIN SELECT RAISE(ABORT, 'samhand audit log is append-only: UPDATE on audit_auditevent is not allowed'); END
    """,
    """
    CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON audit_auditevent
    BEGIN SELECT RAISE(ABORT, 'samhand audit log is append-only: DELETE on audit_auditevent is not allowed'); END
    """,
    f"""
    CREATE TRIGGER audit_event_linked BEFORE INSERT ON audit_auditevent
    WHEN NOT ((NEW.seq = 1 AND NEW.prev_hash = '{GENESIS}')
              OR EXISTS (SELECT 1 FROM audit_auditevent
                         WHERE seq = NEW.seq - 1 AND hash = NEW.prev_hash))
    BEGIN SELECT RAISE(ABORT, 'samhand audit log: a row does not follow the previous row'); END
    """,
    f"""
    CREATE TRIGGER audit_chainhead_created BEFORE INSERT ON audit_chainhead
    WHEN NOT (NEW.seq = 0 AND NEW.hash = '{GENESIS}')
    BEGIN SELECT RAISE(ABORT, 'samhand audit log: the chain head starts at 0'); END
    """,
    """
    CREATE TRIGGER audit_chainhead_forward BEFORE UPDATE ON audit_chainhead
    WHEN NOT (NEW.id = OLD.id AND NEW.seq > OLD.seq
              AND EXISTS (SELECT 1 FROM audit_auditevent
                          WHERE seq = NEW.seq AND hash = NEW.hash))
    BEGIN SELECT RAISE(ABORT, 'samhand audit log: the chain head only moves forward to an existing row (UPDATE refused)'); END
    """,
    """
    CREATE TRIGGER audit_chainhead_no_delete BEFORE DELETE ON audit_chainhead
    BEGIN SELECT RAISE(ABORT, 'samhand audit log is append-only: DELETE on audit_chainhead is not allowed'); END
    """,
]

SQLITE_DOWN = [
    f"DROP TRIGGER IF EXISTS {name}" for name in (
        "audit_chainhead_no_delete", "audit_chainhead_forward", "audit_chainhead_created",
        "audit_event_linked", "audit_event_no_delete", "audit_event_no_update",
    )
]


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        for sql in statements_by_vendor.get(schema_editor.connection.vendor, []):
            schema_editor.execute(sql, params=None)
    return run


class Migration(migrations.Migration):

    dependencies = [
        ("audit", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(
            _run({"postgresql": POSTGRES_UP, "sqlite": SQLITE_UP}),
            _run({"postgresql": POSTGRES_DOWN, "sqlite": SQLITE_DOWN}),
            elidable=False,
        ),
    ]
