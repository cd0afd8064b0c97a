"""End to end: `samhand audit verify` as a process, on a database file altered by hand
with the sqlite3 module (issue 2: "samhand audit verify finds a row altered by hand")."""

import os
import sqlite3
import subprocess
import sys

import pytest

WRITE_ROWS = """
from samhand.audit.models import AuditEvent
from samhand.audit.services import Actor, record
for _ in range(5):
    record(Actor(client="cli"), "samhand.patient.read", AuditEvent.Action.READ)
from django.core.management import call_command
call_command("audit", "verify")
"""


def samhand(tmp_path, *args):
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["SAMHAND_VAR_DIR"] = str(tmp_path)
    env["DJANGO_SETTINGS_MODULE"] = "samhand.settings"
    return subprocess.run([sys.executable, "-m", "samhand", *args], env=env,
                          capture_output=True, text=True, timeout=120, check=False)


def test_verify_exits_nonzero_and_names_the_row_altered_by_hand(tmp_path):
    assert samhand(tmp_path, "migrate", "-v0").returncode == 0
    ok = samhand(tmp_path, "shell", "-c", WRITE_ROWS)
    assert ok.returncode == 0, ok.stderr
    assert "OK: 5 audit rows, chain intact." in ok.stdout

    db = sqlite3.connect(tmp_path / "samhand.sqlite3")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        db.execute("UPDATE audit_auditevent SET client = 'web' WHERE seq = 3")
    # Someone with the file drops the trigger first, as a superuser would.
    db.execute("DROP TRIGGER audit_event_no_update")
    db.execute("UPDATE audit_auditevent SET client = 'web' WHERE seq = 3")
    db.commit()
    db.close()

    broken = samhand(tmp_path, "audit", "verify")
    assert broken.returncode == 1
    assert "FAILED at row 3: row 3 was altered" in broken.stderr
