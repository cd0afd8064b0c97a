"""The audit tables refuse UPDATE, DELETE and TRUNCATE, on SQLite and PostgreSQL."""

import pytest
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction

from samhand.audit.models import GENESIS_HASH, AuditEvent, ChainHead
from samhand.audit.protection import triggers_suspended
from samhand.audit.services import Actor, record, verify_chain

from .conftest import postgres_only

A = AuditEvent.Action


def _rows(n=3):
    return [record(Actor(), "samhand.patient.read", A.READ) for _ in range(n)]


def _refused(action):
    with pytest.raises(IntegrityError, match=r"append-only|chain head|does not follow"), \
            transaction.atomic():
        action()


def test_orm_update_of_an_audit_row_is_refused(db):
    event = _rows(1)[0]
    _refused(lambda: AuditEvent.objects.filter(pk=event.pk).update(user_name="someone else"))
    event.user_name = "someone else"
    _refused(lambda: event.save())
    assert AuditEvent.objects.get(pk=event.pk).user_name == ""


def test_orm_delete_of_audit_rows_is_refused(db):
    events = _rows(3)
    _refused(lambda: events[1].delete())
    _refused(lambda: AuditEvent.objects.all().delete())
    assert AuditEvent.objects.count() == 3


def test_raw_sql_update_and_delete_are_refused(db):
    _rows(2)

    def raw(sql):
        with connection.cursor() as cursor:
            cursor.execute(sql)

    _refused(lambda: raw("UPDATE audit_auditevent SET code = 'samhand.patient.nothing'"))
    _refused(lambda: raw("DELETE FROM audit_auditevent WHERE seq = 2"))
    assert verify_chain().ok


@postgres_only
def test_truncate_is_refused_on_postgres(db):
    _rows(2)
    with pytest.raises(IntegrityError, match="append-only: TRUNCATE"), \
            transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("TRUNCATE audit_auditevent, audit_chainhead, audit_reviewitem")
    assert AuditEvent.objects.count() == 2


def test_a_row_that_does_not_follow_the_chain_cannot_be_inserted(db):
    first = _rows(1)[0]
    forged = AuditEvent(seq=5, recorded_at=first.recorded_at, code="samhand.patient.read",
                        action=A.READ, prev_hash=first.hash, hash="f" * 64)
    _refused(lambda: forged.save(force_insert=True))
    forged.seq, forged.prev_hash = 2, "e" * 64
    _refused(lambda: forged.save(force_insert=True))
    assert AuditEvent.objects.count() == 1


def test_the_chain_head_cannot_be_moved_back_or_removed(db):
    events = _rows(3)
    _refused(lambda: ChainHead.objects.filter(pk=1).update(seq=2, hash=events[1].hash))
    _refused(lambda: ChainHead.objects.filter(pk=1).update(seq=4, hash="a" * 64))
    _refused(lambda: ChainHead.objects.all().delete())
    head = ChainHead.objects.get()
    assert (head.seq, head.hash) == (3, events[2].hash)


def test_a_second_chain_cannot_be_started_next_to_the_first(db):
    _rows(1)
    _refused(lambda: ChainHead.objects.create(id=1, seq=7, hash="b" * 64))
    assert ChainHead.objects.get().seq == 1


def test_the_owner_can_suspend_the_triggers_inside_one_transaction_only(db):
    events = _rows(2)
    with triggers_suspended():
        AuditEvent.objects.filter(pk=events[0].pk).update(user_name="rewritten")
    assert AuditEvent.objects.get(pk=events[0].pk).user_name == "rewritten"
    # ... and afterwards they are back.
    _refused(lambda: AuditEvent.objects.filter(pk=events[1].pk).update(user_name="again"))


def test_triggers_come_back_when_the_suspended_block_fails(db):
    event = _rows(1)[0]
    with pytest.raises(RuntimeError), triggers_suspended():
        AuditEvent.objects.filter(pk=event.pk).update(user_name="rewritten")
        raise RuntimeError("boom")
    assert AuditEvent.objects.get(pk=event.pk).user_name == ""
    _refused(lambda: AuditEvent.objects.filter(pk=event.pk).update(user_name="again"))


@pytest.mark.django_db(transaction=True)
def test_flush_empties_the_audit_log_and_the_next_chain_starts_afresh():
    _rows(3)
    call_command("flush", interactive=False, verbosity=0)
    assert not AuditEvent.objects.exists()
    assert not ChainHead.objects.exists()
    event = _rows(1)[0]
    assert (event.seq, event.prev_hash) == (1, GENESIS_HASH)
    # The triggers are still there after the flush.
    _refused(lambda: AuditEvent.objects.all().delete())
