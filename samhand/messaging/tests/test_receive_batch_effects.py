"""The effects of HospitalNotifications received in a batch (`receive_many`) read what
they need for every patient of the batch at once (`effects.read_facts`, the stays locked
in one query); the state afterwards is the same as receiving one message at a time,
also when several messages of one patient are in the same batch."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from samhand.alerts.models import Alert
from samhand.audit.models import AuditEvent
from samhand.audit.services import verify_chain
from samhand.messaging import bundle as fhirmsg
from samhand.messaging.models import HospitalStay
from samhand.messaging.receive import receive, receive_many
from samhand.messaging.tests.helpers import danish_patient, load, raw, register_receivers
from samhand.messaging.tests.test_receive_batch import _admission, _parties, _patient
from samhand.pathways.models import Pathway, Task

pytestmark = pytest.mark.django_db

FLOWS = {
    "leave and return": ("STIN_G", "STOR_G", "SLOR_G"),
    "admission and discharge": ("STIN_H", "SLHJ_H"),
    "a late admission after the discharge": ("TEK_STAA_A", "TEK_SLHJ_A", "TEK_STIN_B"),
    "a cancelled admission": ("STIN_N", "AN_STIN_N"),
    "death": ("STIN_K", "MORS_K"),
    "acute ambulant, then admitted": ("STAA_E", "STIN_E"),
}


def _pathway_and_task(world: Any, patient: Any) -> None:
    """An active pathway and an open home-service task: admission pauses the task and
    marks the pathway, discharge resumes them."""
    from samhand.access.policy import grant_for
    from samhand.audit.services import Actor
    from samhand.pathways import services as pathways

    nurse = Actor(user=world.ltmv_nurse, organisation=world.pulm)
    from samhand.patients.models import CareTeamMember

    CareTeamMember.objects.create(patient=patient, organisation=world.pulm, user=world.ltmv_nurse,
                                  role=CareTeamMember.Role.LTMV_NURSE,
                                  period_start=timezone.now() - timezone.timedelta(days=10))
    pathways.start_pathway(nurse, grant_for(world.ltmv_nurse, patient), patient,
                           template_key="copd_hf_followup", entry="discharge",
                           at=timezone.now() - timezone.timedelta(days=11))
    Task.objects.create(patient=patient, title="Sårstell", side="municipality",
                        owner_organisation=world.hn_a)


def _state(patient: Any) -> dict[str, Any]:
    stay = HospitalStay.objects.get(patient=patient)
    return {
        "stay": (stay.state, stay.last_code, [(h["code"], h["applied"]) for h in stay.history],
                 stay.ended_at is None),
        "alerts": sorted((a.kind, a.severity, a.organisation_id, a.closed_at is None,
                          a.close_note) for a in Alert.objects.filter(patient=patient)),
        "tasks": sorted((t.title, t.status) for t in Task.objects.filter(patient=patient)),
        "pathways": sorted((p.status, p.admitted, sorted(e.kind for e in p.events.all()))
                           for p in Pathway.objects.filter(patient=patient)),
        "audit": Counter(e.code for e in AuditEvent.objects.filter(patient_id=patient.pk)),
    }


@pytest.mark.parametrize("flow", sorted(FLOWS))
def test_a_patients_notifications_in_one_batch_end_as_one_at_a_time(world, flow):
    names = [f"HospitalNotification_Ex_{n}.json" for n in FLOWS[flow]]
    patient = danish_patient(world)
    _pathway_and_task(world, patient)
    for name in names:
        register_receivers(world, load(name))
    with transaction.atomic():
        one_by_one = [fhirmsg.ack_summary(receive(raw(n)).body)[1] for n in names]
        expected = _state(patient)
        transaction.set_rollback(True)
    assert not HospitalStay.objects.exists()

    batched = [fhirmsg.ack_summary(r.body)[1] for r in receive_many([raw(n) for n in names])]

    assert batched == one_by_one == ["ok"] * len(names)
    assert _state(patient) == expected
    assert expected["tasks"] and expected["pathways"] and expected["alerts"]
    assert verify_chain().ok


def test_admission_in_a_batch_pauses_the_home_service_tasks_of_that_patient_only(world):
    us, them = _parties(world)
    quiet = _patient(world, "0101471234")
    busy = _patient(world, "0201471234")
    _pathway_and_task(world, busy)
    replies = receive_many([_admission(us, them, quiet), _admission(us, them, busy)])
    assert [r.ack_code for r in replies] == ["ok", "ok"]
    assert Task.objects.get(patient=busy, title="Sårstell").status == Task.Status.PAUSED
    assert Pathway.objects.get(patient=busy).admitted
    assert [a.kind for a in Alert.objects.filter(patient=quiet)] == ["admission"]
    assert [a.kind for a in Alert.objects.filter(patient=busy)] == ["admission"]
    assert AuditEvent.objects.filter(code="samhand.task.paused", patient_id=busy.pk).count() == 1
    assert not AuditEvent.objects.filter(code="samhand.task.paused",
                                         patient_id=quiet.pk).exists()


def _statements(world: Any, us: Any, them: Any, n: int, first: int) -> int:
    patients = [_patient(world, f"{(first + i) % 28 + 1:02d}0{(first + i) // 28 + 1}479{i:03d}")
                for i in range(n)]
    messages = [_admission(us, them, p) for p in patients]
    with CaptureQueriesContext(connection) as ctx:
        replies = receive_many(messages)
    assert {r.ack_code for r in replies} == {"ok"}
    assert Alert.objects.filter(patient__in=patients, kind="admission").count() == n
    return len(ctx.captured_queries)


def test_an_admission_costs_no_statement_of_its_own_in_a_batch(world):
    """The look-ups and stores are per batch: a patient's only message in the batch keeps
    its new stay and alert for the batch's end (stays by COPY, alerts in one INSERT … ON
    CONFLICT DO NOTHING on PostgreSQL; on SQLite an INSERT per alert), no savepoint
    while nothing fails."""
    us, them = _parties(world)
    _statements(world, us, them, 2, 200)  # what the first batch reads once (the address book)
    five = _statements(world, us, them, 5, 0)
    fifteen = _statements(world, us, them, 15, 100)
    if connection.vendor == "postgresql":
        assert fifteen == five, (five, fifteen)
    else:  # and SQLite splits bulk inserts by its limit of variables a statement
        assert (fifteen - five) / 10 <= 1.2, (five, fifteen)


def test_a_batch_of_many_patients_ends_as_one_at_a_time(world):
    """Each patient's only message keeps its stay and alert for the batch's end: the
    same stays, alerts and audit rows as receiving them one at a time."""
    us, them = _parties(world)
    patients = [_patient(world, f"{i + 1:02d}01479{i:03d}") for i in range(6)]
    for patient in patients[::2]:
        _pathway_and_task(world, patient)
    messages = [_admission(us, them, p) for p in patients]
    with transaction.atomic():
        one_by_one = [receive(m).ack_code for m in messages]
        expected = [_state(p) for p in patients]
        transaction.set_rollback(True)
    assert not HospitalStay.objects.exists()

    batched = [r.ack_code for r in receive_many(messages)]

    assert batched == one_by_one == ["ok"] * 6
    assert [_state(p) for p in patients] == expected
    assert all(state["alerts"] for state in expected)
    assert verify_chain().ok


def test_a_batch_locks_and_matches_only_the_newest_stays_of_each_patient(world):
    from samhand.messaging.receive import RECENT_STAYS, recent_stays_locked

    first, second = _patient(world, "0101471234"), _patient(world, "0201471234")
    now = timezone.now()
    for patient, count in ((first, RECENT_STAYS + 5), (second, 3)):
        HospitalStay.objects.bulk_create(
            HospitalStay(patient=patient, episode_ids=[f"e{i}"], state="discharged",
                         state_at=now - timezone.timedelta(days=i), last_code="SLHJ")
            for i in range(count))
    with transaction.atomic():
        found = recent_stays_locked([first.pk, second.pk])
    by_patient = Counter(s.patient_id for s in found)
    assert by_patient == {first.pk: RECENT_STAYS, second.pk: 3}
    assert {s.episode_ids[0] for s in found if s.patient_id == first.pk} == {
        f"e{i}" for i in range(RECENT_STAYS)}
