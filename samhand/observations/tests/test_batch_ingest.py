"""Batch ingest (services.ingest_batch through POST /api/v1/observations/batch): the
rows, audit rows and alerts of a whole batch are written together at the end, so these
tests pin what that must not lose: every set scored, the rules evaluated for every
patient, one alert per episode, an audit row for every patient touched, a valid chain,
and nothing stored when one item is bad."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
import time_machine
from django.utils import timezone

from samhand.alerts.models import Alert
from samhand.audit.models import AuditEvent
from samhand.audit.services import COPY_FROM_ROWS, verify_chain
from samhand.observations.models import ObservationSet, VitalSign
from samhand.orgs.models import Membership
from samhand.pathways.models import Task
from samhand.patients.models import CareTeamMember, Patient

from .conftest import VITALS_HIGH, VITALS_NORMAL

# A weekday at 10:00 in Oslo.
OFFICE = dt.datetime(2026, 11, 24, 9, 0, tzinfo=dt.UTC)


def post_batch(client: Any, items: list[dict[str, Any]]) -> Any:
    return client.post("/api/v1/observations/batch", json.dumps({"items": items}),
                       content_type="application/json")


def item(patient: Any, answers: dict[str, Any], minutes_ago: int = 0) -> dict[str, Any]:
    taken = timezone.now() - dt.timedelta(minutes=minutes_ago)
    return {"patient_id": str(patient.pk), "form": "vital_signs", "answers": answers,
            "taken_at": taken.isoformat()}


@time_machine.travel(OFFICE, tick=False)
def test_a_batch_with_a_breach_for_two_patients_raises_two_alerts_and_audits_both(
        world, token_client, audit):
    watch = audit()
    items = [item(world.patient_a, VITALS_NORMAL, 30), item(world.patient_a, VITALS_HIGH),
             item(world.patient_b, VITALS_HIGH), item(world.patient_b, VITALS_NORMAL, 30)]
    response = post_batch(token_client(world.ltmv_nurse), items)
    assert response.status_code == 201, response.content
    assert ObservationSet.objects.count() == 4
    assert sorted(ObservationSet.objects.values_list("news2_total", flat=True)) == [0, 0, 8, 8]
    assert VitalSign.objects.filter(code="news2").count() == 4
    alerts = {a.patient_id: a for a in Alert.objects.all()}
    assert set(alerts) == {world.patient_a.pk, world.patient_b.pk}
    assert alerts[world.patient_a.pk].organisation == world.hn_a
    assert alerts[world.patient_b.pk].organisation == world.hn_b
    assert {a.episode_key for a in alerts.values()} == {"observations:news2:high"}
    assert Task.objects.filter(kind=Task.Kind.ALERT).count() == 2
    recorded = watch.rows(code="samhand.observation.recorded")
    assert {r.patient_id for r in recorded} == {world.patient_a.pk, world.patient_b.pk}
    assert sorted(len(r.object_ids) for r in recorded) == [2, 2]
    assert {r.patient_id for r in watch.rows(code="samhand.alert.raised")} == {
        world.patient_a.pk, world.patient_b.pk}
    # Two alert tasks and two closer-observation tasks (schedule.py: NEWS2 8 is high).
    assert len(watch.rows(code="samhand.task.created")) == 4
    assert verify_chain().ok


@time_machine.travel(OFFICE, tick=False)
def test_the_same_breach_in_a_second_batch_raises_no_second_alert(world, token_client,
                                                                   audit):
    client = token_client(world.ltmv_nurse)
    assert post_batch(client, [item(world.patient_a, VITALS_HIGH, 10)]).status_code == 201
    watch = audit()
    assert post_batch(client, [item(world.patient_a, VITALS_HIGH)]).status_code == 201
    assert Alert.objects.count() == 1
    assert Task.objects.filter(kind=Task.Kind.ALERT).count() == 1
    assert not watch.rows(code="samhand.alert.raised")
    assert len(watch.rows(code="samhand.observation.recorded")) == 1


def test_one_impossible_value_refuses_the_whole_batch_and_stores_nothing(world,
                                                                         token_client, audit):
    watch = audit()
    items = [item(world.patient_a, VITALS_HIGH), item(world.patient_b, VITALS_HIGH),
             item(world.patient_b, {**VITALS_NORMAL, "spo2": 140})]
    response = post_batch(token_client(world.ltmv_nurse), items)
    assert response.status_code == 422
    assert "[2].spo2" in response.json()["error"]["problems"]
    assert not ObservationSet.objects.exists()
    assert not VitalSign.objects.exists()
    assert not Alert.objects.exists()
    assert not Task.objects.exists()
    assert not watch.rows()


@pytest.mark.django_db(transaction=True)
def test_a_batch_for_many_patients_writes_one_audit_row_each_in_an_intact_chain(world,
                                                                                token_client):
    """Enough patients for the audit rows to go through COPY on PostgreSQL."""
    count = COPY_FROM_ROWS + 20
    since = timezone.now() - dt.timedelta(days=30)
    patients = Patient.objects.bulk_create([
        Patient(national_id=f"7{i:010d}", national_id_kind="test", given_name="Batch",
                family_name=f"Pasient {i}") for i in range(count)])
    CareTeamMember.objects.bulk_create([
        CareTeamMember(patient=p, organisation=world.hn_a, role="home_nursing",
                       period_start=since) for p in patients])
    assert Membership.objects.filter(user=world.home_nurse_a, organisation=world.hn_a).exists()
    start = AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first() or 0
    response = post_batch(token_client(world.home_nurse_a),
                          [item(p, VITALS_NORMAL) for p in patients])
    assert response.status_code == 201, response.content[:300]
    rows = list(AuditEvent.objects.filter(seq__gt=start, code="samhand.observation.recorded")
                .order_by("seq"))
    assert {r.patient_id for r in rows} == {p.pk for p in patients}
    by_patient = dict(ObservationSet.objects.values_list("patient_id", "pk"))
    assert all(r.object_ids == [str(by_patient[r.patient_id])] for r in rows)
    assert {(r.basis, r.organisation_id, r.client) for r in rows} == {
        (AuditEvent.Basis.CARE_RELATION, world.hn_a.pk, "api")}
    result = verify_chain()
    assert result.ok, result.problem
