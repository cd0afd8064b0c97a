"""`samhand audit grant-sql` prints rights that make the app role append-only (#27)."""

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import ProgrammingError, connection, transaction

from samhand.access import policy
from samhand.audit.models import AuditEvent, ChainHead
from samhand.audit.services import Actor, record, verify_chain

from .conftest import postgres_only, request_as

APP_ROLE = "samhand_app_test"


def grant_sql(*args):
    out = io.StringIO()
    call_command("audit", "grant-sql", *args, stdout=out)
    return out.getvalue()


def test_grant_sql_revokes_changes_to_the_audit_log_from_the_app_role():
    sql = grant_sql("--app-role", "samhand_web", "--owner-role", "samhand_owner")
    assert ("REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON audit_auditevent "
            "FROM samhand_web;") in sql
    assert "GRANT SELECT, INSERT ON audit_auditevent TO samhand_web;" in sql
    assert "ALTER DEFAULT PRIVILEGES FOR ROLE samhand_owner IN SCHEMA public" in sql


def test_grant_sql_refuses_names_that_are_not_plain_identifiers():
    with pytest.raises(CommandError, match="not a plain role"):
        grant_sql("--app-role", "app; DROP TABLE audit_auditevent")


def _as_app_role(action):
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL ROLE {APP_ROLE}")
        return action(cursor)


@postgres_only
def test_as_the_app_role_update_and_delete_are_refused_and_appending_works(world):
    """Runs the printed SQL on the test cluster (we are superuser there), then acts
    as the app role. CREATE ROLE is rolled back with the test's transaction."""
    policy.get_patient_for(request_as(world.home_nurse_a), world.patient_a.pk)
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE ROLE {APP_ROLE} NOLOGIN")
        # A CREATEROLE (non-superuser) test role may only SET ROLE to roles it is in.
        cursor.execute(f"GRANT {APP_ROLE} TO CURRENT_USER")
        cursor.execute(grant_sql("--app-role", APP_ROLE))

    for statement in ("UPDATE audit_auditevent SET user_name = 'x'",
                      "DELETE FROM audit_auditevent",
                      "TRUNCATE audit_auditevent CASCADE",
                      "DELETE FROM audit_chainhead",
                      "ALTER TABLE audit_auditevent DISABLE TRIGGER USER"):
        with pytest.raises(ProgrammingError, match=r"permission denied|must be owner"):
            _as_app_role(lambda cursor, sql=statement: cursor.execute(sql))

    def read_and_append(cursor):
        policy.get_patient_for(request_as(world.home_nurse_a), world.patient_a.pk)
        record(Actor(client="system"), "samhand.emergency.expired", AuditEvent.Action.EXECUTE)
        cursor.execute("SELECT current_user")
        return cursor.fetchone()[0]

    assert _as_app_role(read_and_append) == APP_ROLE
    assert AuditEvent.objects.count() == 3
    assert ChainHead.objects.get().seq == 3
    assert verify_chain().ok
