"""Marking a set as entered in error, with a reason: by the person who recorded it or a
nurse of the recording unit; the NEWS2 history and the trends leave it out; audited."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from samhand.accounts.models import User
from samhand.observations import services
from samhand.observations.models import ObservationSet, VitalSign
from samhand.orgs.models import Membership

from .conftest import VITALS_HIGH, VITALS_NORMAL


@pytest.fixture
def high_set(world, as_user):
    actor, grant = as_user(world.home_nurse_a, world.patient_a)
    services.save_observation(actor, world.patient_a, grant, form_key="vital_signs",
                              answers=VITALS_NORMAL, final=True,
                              taken_at=timezone.now() - dt.timedelta(hours=2))
    return services.save_observation(actor, world.patient_a, grant, form_key="vital_signs",
                                     answers=VITALS_HIGH, final=True)


def url(world, obs, tail="error/"):
    return f"/patients/{world.patient_a.pk}/observations/{obs.pk}/{tail}"


def colleague(world):
    """Another nurse of Fjordby home nursing."""
    user = User.objects.create_user(username="nurse2", password="x", first_name="Nils",
                                    last_name="Natt", profession="nurse", hpr_number="1000010")
    Membership.objects.create(user=user, organisation=world.hn_a, role=Membership.Role.NURSE,
                              valid_from=timezone.now() - dt.timedelta(days=10))
    return user


def test_the_recorder_marks_it_with_a_reason_and_it_leaves_history_and_trend(
        world, high_set, client, audit):
    world.login(client, world.home_nurse_a)
    set_page = client.get(url(world, high_set, "")).content.decode()
    assert url(world, high_set) in set_page  # the link to the page
    assert client.get(url(world, high_set)).status_code == 200
    watch = audit()
    response = client.post(url(world, high_set), {"reason": "Feil pasient valgt i lista"})
    assert response.status_code == 302
    high_set.refresh_from_db()
    assert high_set.status == "entered_in_error"
    assert (high_set.error_reason, high_set.error_by) == ("Feil pasient valgt i lista",
                                                          world.home_nurse_a)
    assert high_set.error_at is not None
    assert not VitalSign.objects.filter(observation_set=high_set).exists()
    assert watch.rows(code="samhand.observation.entered_in_error",
                      patient_id=world.patient_a.pk)
    page = client.get(response["Location"]).content.decode()
    assert 'id="entered-in-error"' in page and "Feil pasient valgt i lista" in page
    # No recommended response and no ISBAR from values that were wrong.
    assert "/isbar/" not in page and "callout--danger" not in page
    overview = client.get(f"/patients/{world.patient_a.pk}/observations/").content.decode()
    assert "NEWS2 8" not in overview and ">8<" not in overview
    trends = client.get(f"/patients/{world.patient_a.pk}/observations/trends/").content
    assert b">8<" not in trends


def test_a_nurse_of_the_same_unit_may_mark_it(world, high_set, client):
    world.login(client, colleague(world))
    response = client.post(url(world, high_set), {"reason": "Målt med defekt apparat"})
    assert response.status_code == 302
    high_set.refresh_from_db()
    assert high_set.status == "entered_in_error"


@pytest.mark.parametrize("who", ["ltmv_nurse", "gp_a", "clerk_a"])
def test_others_on_the_care_team_may_not(world, high_set, client, who, audit):
    world.login(client, getattr(world, who))
    page = client.get(url(world, high_set))
    assert page.status_code == 200 and 'name="reason"' not in page.content.decode()
    watch = audit()
    response = client.post(url(world, high_set), {"reason": "Feil pasient valgt"})
    assert response.status_code == 403
    high_set.refresh_from_db()
    assert high_set.status == "final" and high_set.error_reason == ""
    assert not watch.rows(code="samhand.observation.entered_in_error")


def test_a_foreign_user_gets_404(world, high_set, client):
    world.login(client, world.home_nurse_b)
    assert client.post(url(world, high_set), {"reason": "Feil pasient"}).status_code == 404
    high_set.refresh_from_db()
    assert high_set.status == "final"


@pytest.mark.parametrize("reason", ["", "feil", " " * 20, "x" * 501])
def test_a_missing_or_too_long_reason_is_refused_and_nothing_changes(world, high_set, client,
                                                                     reason):
    world.login(client, world.home_nurse_a)
    response = client.post(url(world, high_set), {"reason": reason})
    assert response.status_code == 422
    assert 'role="alert"' in response.content.decode()
    high_set.refresh_from_db()
    assert high_set.status == "final"
    assert VitalSign.objects.filter(observation_set=high_set).exists()


def test_the_trend_rule_and_the_isbar_no_longer_see_it(world, high_set, as_user):
    from samhand.observations.escalation import previous_totals
    from samhand.observations.reports import draft_isbar

    actor, grant = as_user(world.home_nurse_a, world.patient_a)
    from samhand.observations.corrections import mark_in_error

    mark_in_error(actor, world.patient_a, grant, high_set, reason="Feil pasient valgt")
    later = {world.patient_a.pk: timezone.now() + dt.timedelta(minutes=1)}
    assert previous_totals([world.patient_a.pk], before=later)[world.patient_a.pk] == [0]
    assert "NEWS2 8" not in draft_isbar(actor, world.patient_a)["assessment"]


def test_a_draft_cannot_be_marked(world, as_user):
    from samhand.lib.errors import DomainError
    from samhand.observations.corrections import mark_in_error

    actor, grant = as_user(world.home_nurse_a, world.patient_a)
    draft = services.save_observation(actor, world.patient_a, grant, form_key="vital_signs",
                                      answers={"pulse": 80}, final=False)
    with pytest.raises(DomainError):
        mark_in_error(actor, world.patient_a, grant, draft, reason="Feil pasient valgt")
    assert ObservationSet.objects.get(pk=draft.pk).status == "draft"


# --------------------------------------------------------------------------- undoing

def _mark(world, as_user, obs, reason="Feil pasient valgt i lista"):
    from samhand.observations.corrections import mark_in_error

    actor, grant = as_user(world.home_nurse_a, world.patient_a)
    return mark_in_error(actor, world.patient_a, grant, obs, reason=reason)


def test_the_alerts_it_raised_and_their_escalations_close_and_their_tasks_are_cancelled(
        world, high_set, as_user, audit):
    import time_machine

    from samhand.alerts.models import Alert
    from samhand.observations.escalation import sweep
    from samhand.pathways.models import Task

    [alert] = Alert.objects.filter(patient=world.patient_a)
    with time_machine.travel(alert.due_at + dt.timedelta(minutes=1), tick=False):
        assert sweep()["escalated"] == 1
    raised = list(Alert.objects.filter(patient=world.patient_a, closed_at__isnull=True))
    assert len(raised) == 2  # the unit's and the GP's
    tasks = Task.objects.filter(source__in=[f"alert:{a.pk}" for a in raised])
    assert tasks.count() == 2
    watch = audit()

    _mark(world, as_user, high_set)

    for a in Alert.objects.filter(pk__in=[a.pk for a in raised]):
        assert a.closed_at is not None and "Feil pasient valgt i lista" in a.close_note
    assert set(tasks.values_list("status", flat=True)) == {Task.Status.CANCELLED}
    assert len(watch.rows(code="samhand.alert.closed")) == 2


def test_the_closer_observation_it_started_ends_and_its_task_is_cancelled(
        world, high_set, as_user, audit):
    from samhand.observations.models import EscalationSettings
    from samhand.observations.schedule import SOURCE
    from samhand.pathways.models import Task

    rules = EscalationSettings.objects.get(patient=world.patient_a)
    assert rules.close_since == high_set.taken_at
    [task] = Task.objects.filter(patient=world.patient_a, source=SOURCE,
                                 status__in=Task.OPEN_STATUSES)
    watch = audit()

    _mark(world, as_user, high_set)

    rules.refresh_from_db()
    assert (rules.close_since, rules.normal_in_row, rules.close_hours) == (None, 0, None)
    task.refresh_from_db()
    assert task.status == Task.Status.CANCELLED
    assert watch.rows(code="samhand.observation.schedule_ended", patient_id=world.patient_a.pk)


def test_a_later_raised_set_keeps_closer_observation_from_its_own_time(world, high_set,
                                                                       as_user):
    from samhand.observations.models import EscalationSettings
    from samhand.observations.schedule import SOURCE
    from samhand.pathways.models import Task

    actor, grant = as_user(world.home_nurse_a, world.patient_a)
    later = services.save_observation(actor, world.patient_a, grant, form_key="vital_signs",
                                      answers=VITALS_HIGH, final=True,
                                      taken_at=timezone.now() + dt.timedelta(minutes=1))

    _mark(world, as_user, high_set)

    rules = EscalationSettings.objects.get(patient=world.patient_a)
    assert rules.close_since == later.taken_at
    assert Task.objects.filter(patient=world.patient_a, source=SOURCE,
                               status__in=Task.OPEN_STATUSES).count() == 1


def test_an_alert_of_another_set_stays_open(world, high_set, as_user):
    from samhand.alerts.models import Alert
    from samhand.alerts.services import raise_alert

    other, _created = raise_alert(patient=world.patient_a, organisation=world.hn_a,
                                  kind="observation.self_report",
                                  episode_key="observations:self_report:x", text="Verre",
                                  source="observations:someone-else")

    _mark(world, as_user, high_set)

    other.refresh_from_db()
    assert other.closed_at is None
    assert Alert.objects.filter(closed_at__isnull=True).count() == 1
