"""Closer observation after a raised score: home nursing gets vital-signs tasks at the
tighter interval until N sets in a row are normal; a missed one alerts. Rule defaults
come from the pathway template (rules/<template_key>.yaml)."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.utils import timezone

from samhand.alerts.models import Alert
from samhand.observations import services
from samhand.observations.defaults import RuleFileError, load_all, parse
from samhand.observations.escalation import sweep
from samhand.observations.models import EscalationSettings, Spo2ScaleOrder
from samhand.observations.schedule import SOURCE
from samhand.pathways.models import Task

from .conftest import VITALS_HIGH, VITALS_NORMAL

# A weekday morning in Oslo.
MORNING = dt.datetime(2026, 11, 24, 7, 0, tzinfo=dt.UTC)
MEDIUM = {**VITALS_NORMAL, "respiration_rate": 22, "pulse": 115, "temperature": 38.5}  # 5


def record(world, as_user, answers, at):
    actor, grant = as_user(world.home_nurse_a, world.patient_a)
    with time_machine.travel(at, tick=False):
        return services.save_observation(actor, world.patient_a, grant,
                                         form_key="vital_signs", answers=answers, final=True)


def schedule_tasks(world):
    return list(Task.objects.filter(patient=world.patient_a, source=SOURCE).order_by("due_at"))


def test_a_high_score_starts_daily_tasks_for_home_nursing(world, as_user, audit):
    watch = audit()
    obs = record(world, as_user, VITALS_HIGH, MORNING)
    rules = EscalationSettings.objects.get(patient=world.patient_a)
    assert rules.close_since == obs.taken_at and rules.close_hours == 24
    [task] = schedule_tasks(world)
    assert task.due_at == obs.taken_at + dt.timedelta(hours=24)
    assert (task.owner_organisation, task.owner_role, task.status) == (
        world.hn_a, "home_nursing", "open")
    assert watch.rows(code="samhand.observation.schedule_started",
                      patient_id=world.patient_a.pk)


def test_a_medium_score_starts_it_too_but_a_low_one_does_not(world, as_user):
    record(world, as_user, {**VITALS_NORMAL, "respiration_rate": 22}, MORNING)  # 2, low
    assert not schedule_tasks(world)
    record(world, as_user, MEDIUM, MORNING + dt.timedelta(hours=1))
    assert len(schedule_tasks(world)) == 1


def test_each_set_completes_the_task_and_three_normal_sets_end_it(world, as_user, audit):
    record(world, as_user, VITALS_HIGH, MORNING)
    watch = audit()
    for day in (1, 2):
        record(world, as_user, VITALS_NORMAL, MORNING + dt.timedelta(days=day))
        tasks = schedule_tasks(world)
        assert [t.status for t in tasks] == ["done"] * day + ["open"]
        assert tasks[-1].due_at == MORNING + dt.timedelta(days=day + 1)
    assert EscalationSettings.objects.get(patient=world.patient_a).normal_in_row == 2
    record(world, as_user, VITALS_NORMAL, MORNING + dt.timedelta(days=3))
    assert all(t.status == "done" for t in schedule_tasks(world))
    rules = EscalationSettings.objects.get(patient=world.patient_a)
    assert rules.close_since is None and rules.normal_in_row == 0
    assert watch.rows(code="samhand.observation.schedule_ended",
                      patient_id=world.patient_a.pk)
    record(world, as_user, VITALS_NORMAL, MORNING + dt.timedelta(days=4))
    assert len(schedule_tasks(world)) == 3  # routine again: no new task


def test_a_raised_set_on_the_way_starts_the_count_again(world, as_user):
    record(world, as_user, VITALS_HIGH, MORNING)
    record(world, as_user, VITALS_NORMAL, MORNING + dt.timedelta(days=1))
    record(world, as_user, VITALS_NORMAL, MORNING + dt.timedelta(days=2))
    record(world, as_user, MEDIUM, MORNING + dt.timedelta(days=3))
    rules = EscalationSettings.objects.get(patient=world.patient_a)
    assert rules.close_since is not None and rules.normal_in_row == 0
    assert schedule_tasks(world)[-1].status == "open"


def test_a_missed_observation_raises_an_alert_once(world, as_user):
    obs = record(world, as_user, VITALS_HIGH, MORNING)
    with time_machine.travel(MORNING + dt.timedelta(hours=23), tick=False):
        assert sweep()["missed"] == 0
    with time_machine.travel(MORNING + dt.timedelta(hours=25), tick=False):
        assert sweep()["missed"] == 1
        assert sweep()["missed"] == 0
    alert = Alert.objects.get(episode_key=f"observations:missed:vital_signs:{obs.pk}")
    assert alert.organisation == world.hn_a


def test_the_doctors_interval_is_used(world, as_user):
    EscalationSettings.objects.create(patient=world.patient_a, close_every_hours=8,
                                      normal_sets_to_end=1)
    record(world, as_user, VITALS_HIGH, MORNING)
    assert schedule_tasks(world)[0].due_at == MORNING + dt.timedelta(hours=8)
    record(world, as_user, VITALS_NORMAL, MORNING + dt.timedelta(hours=8))
    assert EscalationSettings.objects.get(patient=world.patient_a).close_since is None


# --------------------------------------------------------------------------- defaults

def _start(world, template_key, entry):
    """Start a pathway and run what waits for the commit (the seeding)."""
    from django.test import TestCase

    from samhand.access.policy import grant_for
    from samhand.pathways import services as pathways

    from .conftest import actor_and_grant

    actor, _grant = actor_and_grant(world.ltmv_nurse, world.patient_a)
    with TestCase.captureOnCommitCallbacks(execute=True):
        return pathways.start_pathway(actor, grant_for(world.ltmv_nurse, world.patient_a),
                                      world.patient_a, template_key=template_key,
                                      entry=entry)


def test_every_rule_file_is_valid_and_names_a_pathway_template():
    from samhand.pathways.loader import load_library

    files = load_all()
    assert set(files) == {"home_niv", "ltmv_invasive", "copd_hf_followup", "palliative_home"}
    assert set(files) <= set(load_library())
    for found in files.values():
        assert {"nb", "en", "da"} <= set(found.note)


@pytest.mark.parametrize("content", [
    {"news2_threshold": 0, "note": {"nb": "x"}},
    {"news2_threshold": True, "note": {"nb": "x"}},
    {"spo2_scale": 2, "note": {"nb": "x"}},
    {"suggest_scale_2": "yes", "note": {"nb": "x"}},
    {"news2_threshold": 5},
])
def test_a_bad_rule_file_is_refused(content):
    with pytest.raises(RuleFileError):
        parse("x", content)


def test_starting_a_home_niv_pathway_seeds_the_rules_but_orders_no_scale_2(world, audit):
    watch = audit()
    _start(world, "home_niv", "elective")
    rules = EscalationSettings.objects.get(patient=world.patient_a)
    assert (rules.seeded_from, rules.close_every_hours, rules.suggest_scale_2) == (
        "home_niv", 24, True)
    assert not Spo2ScaleOrder.objects.exists()
    assert watch.rows(code="samhand.observation.rules_seeded", patient_id=world.patient_a.pk)


def test_copd_seeds_the_14_day_checklist_rule(world):
    _start(world, "copd_hf_followup", "discharge")
    assert EscalationSettings.objects.get(patient=world.patient_a).checklist_every_days == 14


def test_rules_a_doctor_set_are_not_overwritten_by_a_pathway(world):
    EscalationSettings.objects.create(patient=world.patient_a, news2_threshold=3)
    _start(world, "palliative_home", next(iter(load_library_entries("palliative_home"))))
    rules = EscalationSettings.objects.get(patient=world.patient_a)
    assert rules.news2_threshold == 3 and rules.seeded_from == ""


def test_a_pathway_started_earlier_seeds_on_first_use(world, as_user):
    _start(world, "home_niv", "elective")
    EscalationSettings.objects.all().delete()  # as before this feature existed
    record(world, as_user, VITALS_NORMAL, timezone.now())
    assert EscalationSettings.objects.get(patient=world.patient_a).seeded_from == "home_niv"


def test_the_doctor_adjusts_the_seeded_rules(world, client):
    _start(world, "home_niv", "elective")
    world.login(client, world.consultant)
    url = f"/patients/{world.patient_a.pk}/observations/rules/"
    page = client.get(url).content.decode()
    assert "forordnes av lege" in page  # the template's note, in nb
    response = client.post(url, {"news2_threshold": "5", "trend_window": "3",
                                 "trend_rise": "3", "close_every_hours": "12",
                                 "normal_sets_to_end": "2", "alert_on_red_parameter": "on"})
    assert response.status_code == 302
    rules = EscalationSettings.objects.get(patient=world.patient_a)
    assert (rules.close_every_hours, rules.normal_sets_to_end, rules.suggest_scale_2) == (
        12, 2, False)
    response = client.post(url, {"news2_threshold": "5", "trend_window": "3",
                                 "trend_rise": "3", "close_every_hours": "0"})
    assert response.status_code == 422
    assert EscalationSettings.objects.get(patient=world.patient_a).close_every_hours == 12


def load_library_entries(key):
    from samhand.pathways.loader import load_library

    return load_library()[key].entries


def test_a_missed_checklist_alerts_once_the_pathway_does_not_track_it(world):
    """The COPD pathway's 14-day checklist task already reminds the unit (and alerts when
    it is overdue): the missed-observation rule stays quiet for that patient. Without
    the pathway's task series, the rule alone alerts."""
    from samhand.observations.escalation import missed_observations
    from samhand.pathways import services as pathways
    from samhand.pathways.models import Task

    from .conftest import actor_and_grant

    start = timezone.now()
    pathway = _start(world, "copd_hf_followup", "discharge")
    actor, grant = actor_and_grant(world.ltmv_nurse, world.patient_a)
    pathways.record_event(pathway, "vulnerable_marked", actor=actor, grant=grant)
    assert Task.objects.filter(patient=world.patient_a,
                               task_key="structured_observation").exists()
    later = start + dt.timedelta(days=16)
    with time_machine.travel(later, tick=False):
        assert missed_observations() == 0
        assert pathways.sweep()["alerts"] >= 1
    assert not Alert.objects.filter(episode_key__startswith="observations:missed:").exists()
    overdue = Alert.objects.filter(kind="task_overdue", source__startswith="pathways.task:")
    assert any("sjekkliste" in a.text.lower() or "checklist" in a.text.lower()
               for a in overdue)

    # The pathway ends (the patient is no longer followed up on it): the rule takes over.
    pathway.status = pathway.Status.ENDED
    pathway.save(update_fields=["status"])
    with time_machine.travel(later, tick=False):
        assert missed_observations() == 1
    assert Alert.objects.filter(
        episode_key__startswith="observations:missed:change_checklist:").count() == 1
