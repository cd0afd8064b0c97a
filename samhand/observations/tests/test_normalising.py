"""Values that normalise: an acknowledged NEWS2 alert closes when a newer set scores
below the patient's threshold with no red parameter; an alert nobody acknowledged stays
open (marked "normal again, acknowledge to close") until somebody does."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from samhand.alerts.models import Alert
from samhand.alerts.services import acknowledge
from samhand.observations import services
from samhand.observations.escalation import sweep
from samhand.observations.models import EscalationSettings
from samhand.pathways.models import Task

from .conftest import VITALS_HIGH, VITALS_NORMAL

# Sub-scores: respiration 22 → 2, pulse 115 → 2, temperature 38.5 → 1, consciousness C → 3.
TOTAL_2 = {**VITALS_NORMAL, "respiration_rate": 22}
TOTAL_3 = {**VITALS_NORMAL, "respiration_rate": 22, "temperature": 38.5}
TOTAL_4 = {**VITALS_NORMAL, "respiration_rate": 22, "pulse": 115}
TOTAL_5 = {**VITALS_NORMAL, "respiration_rate": 22, "pulse": 115, "temperature": 38.5}
RED_3 = {**VITALS_NORMAL, "consciousness": "c"}


def record(world, as_user, answers, **kw):
    actor, grant = as_user(world.home_nurse_a, world.patient_a)
    return services.save_observation(actor, world.patient_a, grant, form_key="vital_signs",
                                     answers=answers, final=True, **kw)


@pytest.fixture
def high_alert(world, as_user):
    record(world, as_user, VITALS_HIGH, taken_at=timezone.now() - dt.timedelta(hours=1))
    return Alert.objects.get(episode_key="observations:news2:high")


def test_an_acknowledged_alert_closes_when_the_total_is_one_below_the_threshold(
        world, as_user, high_alert, audit):
    acknowledge(high_alert, world.home_nurse_a)
    watch = audit()
    obs = record(world, as_user, TOTAL_4)
    assert obs.news2_total == 4
    high_alert.refresh_from_db()
    assert high_alert.closed_at is not None
    assert "NEWS2 4" in high_alert.close_note and "Hanne Hjem" in high_alert.close_note
    assert watch.rows(code="samhand.observation.alert_normalised",
                      patient_id=world.patient_a.pk)
    assert watch.rows(code="samhand.alert.closed", patient_id=world.patient_a.pk)
    [task] = Task.objects.filter(source=f"alert:{high_alert.pk}")
    assert task.status == "done" and "NEWS2 4" in task.completion_note


def test_a_total_at_the_threshold_does_not_close_it(world, as_user, high_alert):
    acknowledge(high_alert, world.home_nurse_a)
    obs = record(world, as_user, TOTAL_5)
    assert (obs.news2_total, obs.news2_risk) == (5, "medium")
    high_alert.refresh_from_db()
    assert high_alert.closed_at is None


@pytest.mark.parametrize(("answers", "closes"), [(TOTAL_2, True), (TOTAL_3, False)])
def test_the_patients_own_threshold_is_the_boundary(world, as_user, high_alert, answers,
                                                    closes):
    # The high set put the patient on closer observation: the row exists already.
    EscalationSettings.objects.filter(patient=world.patient_a).update(news2_threshold=3)
    acknowledge(high_alert, world.home_nurse_a)
    record(world, as_user, answers)
    high_alert.refresh_from_db()
    assert (high_alert.closed_at is not None) is closes


def test_a_red_parameter_keeps_it_open_even_below_the_threshold(world, as_user, high_alert):
    acknowledge(high_alert, world.home_nurse_a)
    obs = record(world, as_user, RED_3)
    assert (obs.news2_total, obs.news2_risk) == (3, "low-medium")
    high_alert.refresh_from_db()
    assert high_alert.closed_at is None


def test_an_unacknowledged_alert_is_marked_but_not_closed(world, as_user, high_alert, audit):
    watch = audit()
    record(world, as_user, VITALS_NORMAL)
    high_alert.refresh_from_db()
    assert high_alert.closed_at is None and high_alert.due_at is not None
    assert Task.objects.get(source=f"alert:{high_alert.pk}").status == "open"
    assert "Ikke lukket" in high_alert.text and "NEWS2 0" in high_alert.text
    assert high_alert.text.startswith("NEWS2 8")
    assert not watch.rows(code="samhand.observation.alert_normalised")
    record(world, as_user, TOTAL_2)  # marked again, not twice
    high_alert.refresh_from_db()
    assert high_alert.text.count("Ikke lukket") == 1 and "NEWS2 2" in high_alert.text


def test_acknowledging_it_afterwards_closes_it_at_once(world, as_user, high_alert, client):
    record(world, as_user, VITALS_NORMAL)
    world.login(client, world.home_nurse_a)
    response = client.post(f"/patients/{world.patient_a.pk}/observations/alerts/"
                           f"{high_alert.pk}/acknowledge/", {"note": "Sett"})
    assert response.status_code == 302
    high_alert.refresh_from_db()
    assert high_alert.acknowledged_by == world.home_nurse_a
    assert high_alert.closed_at is not None and "NEWS2 0" in high_alert.close_note


def test_the_sweep_closes_one_acknowledged_elsewhere(world, as_user, high_alert):
    record(world, as_user, VITALS_NORMAL)
    acknowledge(high_alert, world.home_nurse_a)  # e.g. from a worklist
    assert sweep()["normalised"] == 1
    high_alert.refresh_from_db()
    assert high_alert.closed_at is not None
    assert sweep()["normalised"] == 0


def test_a_normal_set_older_than_the_alert_says_nothing_about_it(world, as_user, high_alert):
    acknowledge(high_alert, world.home_nurse_a)
    record(world, as_user, VITALS_NORMAL, taken_at=timezone.now() - dt.timedelta(hours=2))
    high_alert.refresh_from_db()
    assert high_alert.closed_at is None


def test_a_rising_trend_alert_is_left_to_people(world, as_user):
    start = timezone.now() - dt.timedelta(hours=3)
    record(world, as_user, VITALS_NORMAL, taken_at=start)
    record(world, as_user, TOTAL_2, taken_at=start + dt.timedelta(hours=1))
    record(world, as_user, TOTAL_4, taken_at=start + dt.timedelta(hours=2))
    trend = Alert.objects.get(episode_key="observations:news2:trend")
    acknowledge(trend, world.home_nurse_a)
    record(world, as_user, VITALS_NORMAL)
    trend.refresh_from_db()
    assert trend.closed_at is None


def test_a_batch_with_a_normal_set_closes_the_acknowledged_alert(world, high_alert, as_user):
    from samhand.observations.services import BatchItem, ingest_batch

    acknowledge(high_alert, world.home_nurse_a)
    actor, grant = as_user(world.home_nurse_a, world.patient_a)
    ingest_batch(actor, [BatchItem(world.patient_a, grant, "vital_signs", VITALS_NORMAL)])
    high_alert.refresh_from_db()
    assert high_alert.closed_at is not None


def test_the_units_alert_page_shows_the_normal_again_line(world, as_user, high_alert, client):
    record(world, as_user, VITALS_NORMAL)
    world.login(client, world.home_nurse_a)
    page = client.get("/observations/alerts/").content.decode()
    assert "<br>↳ Verdiene er normale igjen: NEWS2 0" in page
