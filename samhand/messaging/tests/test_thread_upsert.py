"""A received CareCommunication finds or creates its thread in one statement
(`threads._upsert_thread`: INSERT … ON CONFLICT (thread_key) DO UPDATE), with the same
merge as reading the thread and saving it: category and topic from the new message when
it has them, the patient kept, the sender as counterpart when known, the later time."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from samhand.messaging.models import CareThread, Partner
from samhand.messaging.threads import (
    THREAD_COLUMNS,
    THREAD_UPSERT_POSTGRESQL,
    THREAD_UPSERT_SQLITE,
    _upsert_thread,
)

pytestmark = pytest.mark.django_db

T0 = timezone.make_aware(dt.datetime(2026, 11, 25, 10, 0))


def _partners(world):
    us = Partner.objects.create(name="Fjordby HN", organisation=world.hn_a, is_local=True,
                                sor_id="1")
    them = Partner.objects.create(name="Sykehuset", organisation=world.hospital, sor_id="2")
    return us, them


def _thread(**kw):
    return CareThread(**{"thread_key": "urn:uuid:t1", "category": "nursing", "topic": "Sår",
                         "priority": "", "last_message_at": T0, **kw})


def test_a_new_thread_is_inserted_as_given_in_one_statement(world):
    us, them = _partners(world)
    thread = _thread(patient=world.patient_a, counterpart=them, local=us)
    with transaction.atomic(), CaptureQueriesContext(connection) as ctx:
        assert _upsert_thread(thread)
    assert len(ctx.captured_queries) == 1
    row = CareThread.objects.get()
    assert (row.pk, row.thread_key, row.patient, row.category, row.topic, row.counterpart,
            row.local, row.last_message_at) == (thread.pk, "urn:uuid:t1", world.patient_a,
                                                "nursing", "Sår", them, us, T0)


def test_a_known_thread_keeps_its_row_and_merges_the_new_message(world):
    us, them = _partners(world)
    first = _thread(patient=world.patient_a, counterpart=them, local=us)
    _upsert_thread(first)
    # An earlier message without topic, patient or known sender: only the category changes.
    again = _thread(category="other", topic="", last_message_at=T0 - dt.timedelta(hours=1))
    assert not _upsert_thread(again)
    assert again.pk == first.pk
    row = CareThread.objects.get()
    assert (row.category, row.topic, row.patient, row.counterpart, row.last_message_at) == (
        "other", "Sår", world.patient_a, them, T0)
    # A later one from another sender, with a topic, about another patient.
    later = _thread(category="", topic="Medisiner", patient=world.patient_b, counterpart=us,
                    last_message_at=T0 + dt.timedelta(hours=2))
    assert not _upsert_thread(later)
    row.refresh_from_db()
    assert (row.category, row.topic, row.patient, row.counterpart, row.last_message_at) == (
        "other", "Medisiner", world.patient_a, us, T0 + dt.timedelta(hours=2))
    assert CareThread.objects.count() == 1


def test_the_fixed_upserts_name_every_column_of_the_thread_table_in_order():
    assert tuple(f.column for f in CareThread._meta.concrete_fields) == THREAD_COLUMNS
    assert CareThread._meta.db_table == "messaging_carethread"
    columns = ", ".join(f'"{c}"' for c in THREAD_COLUMNS)
    for sql in (THREAD_UPSERT_POSTGRESQL, THREAD_UPSERT_SQLITE):
        assert f"({columns})" in sql and sql.count("%s") == len(THREAD_COLUMNS)
    assert THREAD_UPSERT_POSTGRESQL.replace("GREATEST(", "MAX(") == THREAD_UPSERT_SQLITE
