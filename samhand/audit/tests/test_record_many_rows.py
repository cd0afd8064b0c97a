"""record_many works out who, when and from where once per call; every row still
carries the full snapshot, its own patient and organisation, and its own link."""

from __future__ import annotations

from typing import Any

import pytest

from samhand.audit.models import AuditEvent
from samhand.audit.services import Actor, Entry, record, record_many, verify_chain

A = AuditEvent.Action
B = AuditEvent.Basis


def fields(event: AuditEvent) -> dict[str, Any]:
    return {f.attname: getattr(event, f.attname) for f in AuditEvent._meta.concrete_fields
            if f.attname not in ("id", "seq", "uuid", "recorded_at", "prev_hash", "hash")}


def test_a_list_row_holds_the_same_snapshot_as_a_single_row(world: Any) -> None:
    actor = Actor(user=world.home_nurse_a, role="nurse", organisation=world.hn_a,
                  source_ip="10.0.0.7", client="web")
    single = record(actor, "samhand.patient.list", A.EXECUTE, patient_id=world.patient_a.pk,
                    object_type="Patient", object_ids=[world.patient_a.pk], query="aas",
                    basis=B.CARE_RELATION)
    listed = record_many(actor, [
        Entry("samhand.patient.list", A.EXECUTE, patient_id=patient.pk, object_type="Patient",
              object_ids=[patient.pk], query="aas", basis=B.CARE_RELATION)
        for patient in (world.patient_a, world.patient_b)])

    stored = {e.seq: e for e in AuditEvent.objects.all()}
    assert fields(stored[listed[0].seq]) == fields(stored[single.seq])
    assert stored[listed[1].seq].patient_id == world.patient_b.pk
    assert stored[listed[1].seq].object_ids == [str(world.patient_b.pk)]
    assert stored[listed[0].seq].user_name == "Hanne Hjem"
    assert stored[listed[0].seq].source_ip == "10.0.0.7"
    assert len({e.uuid for e in stored.values()}) == 3
    assert len({e.recorded_at for e in listed}) == 1
    assert [e.pk for e in listed] == [stored[e.seq].pk for e in listed]
    assert verify_chain().ok


def test_each_row_can_name_its_own_organisation(world: Any) -> None:
    actor = Actor(user=world.ltmv_nurse, role="nurse", organisation=world.pulm)
    record_many(actor, [
        Entry("samhand.patient.read", A.READ, patient_id=world.patient_a.pk),
        Entry("samhand.patient.read", A.READ, patient_id=world.patient_a.pk,
              organisation=world.hn_a),
        Entry("samhand.patient.read", A.READ, patient_id=world.patient_a.pk),
    ])

    names = list(AuditEvent.objects.order_by("seq").values_list("organisation_name", flat=True))
    assert names == [world.pulm.name, world.hn_a.name, world.pulm.name]
    assert verify_chain().ok


def test_long_values_are_cut_in_every_row(world: Any) -> None:
    actor = Actor(user=world.home_nurse_a, role="nurse" * 40, organisation=world.hn_a)
    record_many(actor, [Entry("samhand.patient.list", A.EXECUTE, query="x" * 500)
                        for _ in range(2)])

    for event in AuditEvent.objects.all():
        assert len(event.user_role) == 64
        assert len(event.query) == 200
    assert verify_chain().ok


@pytest.mark.parametrize("bad", [{"code": "patient.list"}, {"action": "X"},
                                 {"outcome": "9"}, {"basis": "whim"}])
def test_one_bad_entry_writes_no_row_of_the_list(world: Any, bad: dict[str, str]) -> None:
    entries = [Entry("samhand.patient.list", A.EXECUTE) for _ in range(3)]
    entries.insert(1, Entry(**{"code": "samhand.patient.list", "action": A.EXECUTE, **bad}))

    with pytest.raises(ValueError):
        record_many(Actor(user=world.home_nurse_a), entries)

    assert not AuditEvent.objects.exists()
