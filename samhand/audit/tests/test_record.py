import datetime as dt
import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from samhand.audit.models import AuditEvent, ChainHead
from samhand.audit.services import (
    GENESIS,
    HASHED_FIELDS,
    NOT_HASHED,
    Actor,
    Entry,
    compute_hash,
    record,
    record_many,
    verify_chain,
)

A = AuditEvent.Action


def test_rows_get_gap_free_seq_and_link_to_their_predecessor(world):
    actor = Actor(user=world.home_nurse_a, role="nurse", organisation=world.hn_a)
    events = [record(actor, "samhand.patient.read", A.READ, patient_id=world.patient_a.pk,
                     object_type="Patient", object_ids=[world.patient_a.pk])
              for _ in range(3)]
    stored = list(AuditEvent.objects.order_by("seq"))
    assert [e.seq for e in stored] == [1, 2, 3]
    assert stored[0].prev_hash == GENESIS
    assert stored[1].prev_hash == stored[0].hash
    assert [e.hash for e in stored] == [e.hash for e in events]
    head = ChainHead.objects.get()
    assert (head.seq, head.hash) == (3, stored[2].hash)
    assert verify_chain().ok


def test_row_is_a_snapshot_of_who_where_and_why(world):
    world.home_nurse_a.oidc_subject = "sub-123"
    actor = Actor(user=world.home_nurse_a, role="nurse", organisation=world.hn_a,
                  client="api", source_ip="10.0.0.7", client_id="samhand-app",
                  network="helsenett", token_jti="jti-1")
    event = record(actor, "samhand.patient.read", A.READ, patient_id=world.patient_a.pk,
                   object_type="Patient", object_ids=[world.patient_a.pk],
                   basis=AuditEvent.Basis.CARE_RELATION, basis_id="rel-1")
    stored = AuditEvent.objects.get(pk=event.pk)
    assert stored.user_id == world.home_nurse_a.pk
    assert stored.user_name == "Hanne Hjem"
    assert stored.user_hpr == "1000004"
    assert stored.user_sub == "sub-123"
    assert (stored.user_role, stored.user_profession) == ("nurse", "nurse")
    assert stored.organisation_id == world.hn_a.pk
    assert stored.organisation_name == "Hjemmesykepleien Fjordby sentrum"
    assert stored.organisation_her_id == "2001"
    assert stored.patient_id == world.patient_a.pk
    assert stored.object_ids == [str(world.patient_a.pk)]
    assert (stored.client, stored.client_id, stored.network, stored.token_jti) == (
        "api", "samhand-app", "helsenett", "jti-1")
    assert stored.source_ip == "10.0.0.7"
    assert stored.recorded_at.tzinfo is not None
    assert compute_hash(stored.prev_hash, stored) == stored.hash


def test_values_are_stored_as_the_database_returns_them_so_the_hash_holds(world):
    actor = Actor(user=world.gp_a, role="gp", organisation=world.gp_office,
                  source_ip="2001:DB8:0:0:0:0:0:1")
    record(actor, "samhand.patient.read", A.READ,
           patient_id=str(world.patient_a.pk).upper().replace("-", ""),
           query="x" * 500, object_ids=["y" * 300])
    record(Actor(source_ip="not-an-address"), "samhand.patient.read", A.READ)
    first, second = AuditEvent.objects.order_by("seq")
    assert first.source_ip == "2001:db8::1"
    assert first.patient_id == world.patient_a.pk
    assert len(first.query) == 200
    assert len(first.object_ids[0]) == 100
    assert second.source_ip is None
    assert verify_chain().ok


def test_record_many_writes_a_list_in_a_constant_number_of_queries(world):
    actor = Actor(user=world.consultant, role="doctor", organisation=world.pulm)
    record(actor, "samhand.patient.read", A.READ)  # the chain head exists
    entries = [Entry("samhand.patient.list", A.EXECUTE, patient_id=uuid.uuid4(),
                     object_type="Patient", basis=AuditEvent.Basis.CARE_RELATION)
               for _ in range(40)]
    with CaptureQueriesContext(connection) as queries:
        events = record_many(actor, entries)
    sql = [q["sql"] for q in queries.captured_queries
           if not q["sql"].startswith(("SAVEPOINT", "RELEASE", "BEGIN"))]
    inserts = [s for s in sql if s.startswith("INSERT")]
    fields = [f for f in AuditEvent._meta.concrete_fields if f.name != "id"]
    batch = connection.ops.bulk_batch_size(fields, events) or len(events)
    # Lock the head, insert the rows (one statement per batch), move the head.
    assert len(sql) - len(inserts) == 2
    assert len(inserts) == -(-len(events) // batch)
    assert [e.seq for e in events] == list(range(2, 42))
    assert AuditEvent.objects.count() == 41
    assert verify_chain().ok


def test_record_many_with_nothing_writes_nothing(db):
    assert record_many(None, []) == []
    assert not AuditEvent.objects.exists()


@pytest.mark.parametrize("kwargs", [
    {"code": "patient.read"},
    {"code": "samhand.read"},
    {"code": "samhand.Patient.Read"},
    {"action": "X"},
    {"outcome": "1"},
    {"basis": "friendship"},
])
def test_malformed_rows_are_refused_and_nothing_is_written(db, kwargs):
    args = {"code": "samhand.patient.read", "action": A.READ} | kwargs
    with pytest.raises(ValueError):
        record(None, args.pop("code"), args.pop("action"), **args)
    assert not AuditEvent.objects.exists()


def test_every_model_field_is_hashed_or_deliberately_left_out():
    names = {f.attname for f in AuditEvent._meta.concrete_fields}
    assert names == set(HASHED_FIELDS) | set(NOT_HASHED)
    assert not set(HASHED_FIELDS) & set(NOT_HASHED)


def test_hash_changes_with_any_hashed_field(world):
    event = record(Actor(user=world.gp_a), "samhand.patient.read", A.READ,
                   patient_id=world.patient_a.pk)
    original = compute_hash(event.prev_hash, event)
    event.recorded_at += dt.timedelta(microseconds=1)
    assert compute_hash(event.prev_hash, event) != original


def test_system_actor_is_recorded_without_a_user(db):
    event = record(None, "samhand.emergency.expired", A.EXECUTE)
    assert event.user_id is None
    assert event.client == "system"
