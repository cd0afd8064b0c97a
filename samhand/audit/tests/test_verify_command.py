"""`samhand audit verify` finds the first altered or missing row (issue 2 "done when")."""

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from samhand.audit.models import AuditEvent
from samhand.audit.services import Actor, record, verify_chain

from .conftest import tamper

A = AuditEvent.Action


@pytest.fixture
def chain(world):
    actor = Actor(user=world.home_nurse_a, role="nurse", organisation=world.hn_a)
    return [record(actor, "samhand.patient.read", A.READ, patient_id=world.patient_a.pk,
                   object_type="Patient", object_ids=[world.patient_a.pk],
                   basis=AuditEvent.Basis.CARE_RELATION)
            for _ in range(6)]


def verify(*args):
    out = io.StringIO()
    call_command("audit", "verify", *args, stdout=out)
    return out.getvalue()


def verify_fails(*args):
    with pytest.raises(CommandError) as excinfo:
        verify(*args)
    assert excinfo.value.returncode == 1
    return str(excinfo.value)


def test_intact_chain_reports_ok_with_the_row_count_and_an_anchor(chain):
    output = verify()
    assert output.startswith("OK: 6 audit rows, chain intact.")
    assert f"Anchor: 6:{chain[-1].hash}" in output


def test_empty_log_is_ok(db):
    assert verify().startswith("OK: 0 audit rows")


def test_a_field_altered_by_hand_is_reported_at_exactly_that_row(chain):
    tamper("UPDATE audit_auditevent SET user_name = %s WHERE seq = 4", ["Someone Else"])
    message = verify_fails()
    assert message.startswith("FAILED at row 4: row 4 was altered")
    assert "3 rows before it are intact" in message


def test_a_changed_patient_id_is_reported(chain, world):
    tamper("UPDATE audit_auditevent SET patient_id = %s WHERE seq = 2",
           [world.patient_b.pk.hex])
    assert verify_fails().startswith("FAILED at row 2: row 2 was altered")


def test_an_altered_row_with_a_recomputed_hash_breaks_the_link_to_the_next(chain):
    from samhand.audit.services import compute_hash

    event = AuditEvent.objects.get(seq=3)
    event.user_name = "Someone Else"
    tamper("UPDATE audit_auditevent SET user_name = %s, hash = %s WHERE seq = 3",
           [event.user_name, compute_hash(event.prev_hash, event)])
    assert verify_fails().startswith("FAILED at row 4: row 4 does not link to row 3")


def test_a_deleted_middle_row_is_reported_missing(chain):
    tamper("DELETE FROM audit_auditevent WHERE seq = 3")
    assert verify_fails().startswith("FAILED at row 3: row 3 is missing")


def test_a_deleted_last_row_is_reported_missing_through_the_chain_head(chain):
    tamper("DELETE FROM audit_auditevent WHERE seq = 6")
    message = verify_fails()
    assert message.startswith("FAILED at row 6: row 6 is missing")
    assert "chain head is at 6" in message


def test_rewriting_the_tail_and_the_head_is_caught_by_an_anchor(chain):
    anchor = f"5:{chain[4].hash}"
    # Remove the last two rows and move the head back: the chain itself looks fine.
    tamper("DELETE FROM audit_auditevent WHERE seq >= 5")
    tamper("UPDATE audit_chainhead SET seq = 4, hash = %s", [chain[3].hash])
    assert verify_chain().ok
    assert verify_fails("--anchor", anchor).startswith(
        "FAILED at row 5: row 5 from the anchor is missing")


def test_an_anchor_that_still_matches_passes(chain):
    assert verify("--anchor", f"2:{chain[1].hash}").startswith("OK: 6 audit rows")


def test_a_rewritten_row_at_the_anchor_is_caught(chain):
    assert verify_fails("--anchor", f"2:{'a' * 64}").startswith(
        "FAILED at row 2: row 2 does not match the anchor")


def test_a_malformed_anchor_is_a_usage_error(db):
    with pytest.raises(CommandError, match="anchor looks like"):
        verify("--anchor", "five")


def test_a_missing_chain_head_is_reported(chain):
    tamper("DELETE FROM audit_chainhead")
    assert "chain head is missing" in verify_fails()
