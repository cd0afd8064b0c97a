"""Escalation: breaches raise one alert per episode for home nursing, with a deadline
following the NEWS2 response; the sweep moves unacknowledged alerts up a level."""

import datetime as dt

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone

from samhand.alerts.models import Alert
from samhand.alerts.services import acknowledge
from samhand.observations import services
from samhand.observations.escalation import ACK_MINUTES, sweep
from samhand.observations.models import EscalationSettings
from samhand.pathways.models import Task

from .conftest import VITALS_HIGH, VITALS_NORMAL

# A weekday at 10:00 in Oslo: the GP office is open.
OFFICE = dt.datetime(2026, 11, 24, 9, 0, tzinfo=dt.UTC)


def record(world, as_user, answers, form_key="vital_signs", **kw):
    actor, grant = as_user(world.home_nurse_a, world.patient_a)
    return services.save_observation(actor, world.patient_a, grant, form_key=form_key,
                                     answers=answers, final=True, **kw)


@time_machine.travel(OFFICE, tick=False)
def test_a_high_news2_raises_one_critical_alert_for_home_nursing_due_in_15_minutes(
        world, as_user, audit):
    watch = audit()
    obs = record(world, as_user, VITALS_HIGH)
    assert obs.news2_total == 8
    [alert] = Alert.objects.all()
    assert alert.organisation == world.hn_a
    assert alert.severity == "critical"
    assert alert.episode_key == "observations:news2:high"
    assert alert.due_at == timezone.now() + dt.timedelta(minutes=ACK_MINUTES["emergency"])
    assert watch.rows(code="samhand.alert.raised")
    [task] = Task.objects.filter(source=f"alert:{alert.pk}")
    assert (task.owner_organisation, task.owner_role, task.due_at) == (
        world.hn_a, "home_nursing", alert.due_at)
    record(world, as_user, VITALS_HIGH)  # the same episode: no second alert
    assert Alert.objects.count() == 1
    assert Task.objects.filter(kind=Task.Kind.ALERT).count() == 1


@time_machine.travel(OFFICE, tick=False)
def test_a_single_red_parameter_raises_a_warning(world, as_user):
    record(world, as_user, {**VITALS_NORMAL, "consciousness": "c"})
    [alert] = Alert.objects.all()
    assert (alert.severity, alert.episode_key) == ("warning", "observations:news2:red")
    assert "bevissthet" in alert.text  # in the default language, nb


def test_a_normal_set_raises_nothing(world, as_user):
    record(world, as_user, VITALS_NORMAL)
    assert not Alert.objects.exists()


def test_the_red_parameter_rule_can_be_switched_off_for_the_patient(world, as_user):
    EscalationSettings.objects.create(patient=world.patient_a, alert_on_red_parameter=False)
    record(world, as_user, {**VITALS_NORMAL, "consciousness": "c"})
    assert not Alert.objects.exists()


def test_a_patient_threshold_of_3_alerts_on_a_total_of_3(world, as_user):
    EscalationSettings.objects.create(patient=world.patient_a, news2_threshold=3)
    record(world, as_user, {**VITALS_NORMAL, "pulse": 115, "temperature": 38.5})
    [alert] = Alert.objects.all()
    assert alert.severity == "urgent"


def test_a_checklist_answer_worse_on_confusion_raises_an_alert(world, as_user):
    answers = {k: "unchanged" for k in ("appetite", "mobility", "breathless_rest",
                                        "breathless_effort", "cough_sputum", "sleep",
                                        "swelling", "mood_anxiety", "weight_change",
                                        "relatives_impression")}
    answers.update(confusion="worse", medication="as_prescribed")
    record(world, as_user, answers, form_key="change_checklist")
    [alert] = Alert.objects.all()
    assert alert.episode_key == "observations:answer:change_checklist:confusion"


def test_a_rising_trend_over_the_last_3_sets_raises_an_alert(world, as_user):
    start = timezone.now() - dt.timedelta(hours=3)
    record(world, as_user, VITALS_NORMAL, taken_at=start)
    record(world, as_user, {**VITALS_NORMAL, "pulse": 95}, taken_at=start + dt.timedelta(hours=1))
    assert not Alert.objects.exists()
    record(world, as_user, {**VITALS_NORMAL, "pulse": 115, "respiration_rate": 21},
           taken_at=start + dt.timedelta(hours=2))
    [alert] = Alert.objects.all()
    assert alert.episode_key == "observations:news2:trend"
    assert "0 → 4" in alert.text


def test_an_unacknowledged_alert_goes_to_the_gp_then_the_hospital(world, as_user, audit):
    with time_machine.travel(OFFICE, tick=False):
        record(world, as_user, VITALS_HIGH)
    first = Alert.objects.get()
    with time_machine.travel(OFFICE + dt.timedelta(minutes=10), tick=False):
        assert sweep() == {"escalated": 0, "missed": 0, "normalised": 0}
    watch = audit()
    with time_machine.travel(OFFICE + dt.timedelta(minutes=16), tick=False):
        assert sweep()["escalated"] == 1
        assert sweep()["escalated"] == 0  # idempotent
    gp = Alert.objects.get(escalation_level=1)
    assert gp.organisation == world.gp_office
    assert gp.escalated_from == first
    assert gp.episode_key == "observations:news2:high>L1"
    assert watch.rows(code="samhand.observation.escalated")
    with time_machine.travel(OFFICE + dt.timedelta(minutes=40), tick=False):
        call_command("observations-sweep")
    hospital = Alert.objects.get(escalation_level=2)
    assert hospital.organisation == world.pulm
    assert Task.objects.filter(owner_organisation=world.gp_office, kind="alert").exists()
    assert Task.objects.filter(owner_organisation=world.pulm, kind="alert").exists()
    assert Alert.objects.count() == 3


def test_an_acknowledged_alert_is_not_escalated(world, as_user):
    with time_machine.travel(OFFICE, tick=False):
        record(world, as_user, VITALS_HIGH)
        acknowledge(Alert.objects.get(), world.home_nurse_a)
    with time_machine.travel(OFFICE + dt.timedelta(hours=1), tick=False):
        assert sweep()["escalated"] == 0
    assert Alert.objects.count() == 1


def test_out_of_office_hours_the_gp_level_is_the_out_of_hours_service(world, as_user):
    from samhand.orgs.models import Organisation

    legevakt = Organisation.objects.create(kind=Organisation.Kind.OUT_OF_HOURS,
                                           parent=world.fjordby, name="Fjordby legevakt",
                                           phone_24h="116 117")
    night = dt.datetime(2026, 11, 24, 1, 0, tzinfo=dt.UTC)
    with time_machine.travel(night, tick=False):
        record(world, as_user, VITALS_HIGH)
    with time_machine.travel(night + dt.timedelta(minutes=20), tick=False):
        sweep()
    assert Alert.objects.get(escalation_level=1).organisation == legevakt


@pytest.mark.parametrize("hours_late", [1, 30])
def test_a_missed_observation_alerts_once_per_missed_period(world, as_user, hours_late):
    EscalationSettings.objects.create(patient=world.patient_a, vitals_every_hours=24)
    with time_machine.travel(OFFICE, tick=False):
        record(world, as_user, VITALS_NORMAL)
    with time_machine.travel(OFFICE + dt.timedelta(hours=24 + hours_late), tick=False):
        assert sweep()["missed"] == 1
        assert sweep()["missed"] == 0
    [alert] = Alert.objects.all()
    assert alert.episode_key.startswith("observations:missed:vital_signs:")
