import datetime as dt

import pytest
from django.utils import timezone

from samhand.alerts.models import Alert
from samhand.alerts.services import (
    acknowledge,
    close,
    close_episode,
    open_alerts_for,
    raise_alert,
)
from samhand.lib.errors import Conflict, DomainError

pytestmark = pytest.mark.django_db


def _raise(world, key="news2:1", **kw):
    return raise_alert(patient=world.patient_a, organisation=world.hn_a, kind="news2",
                       episode_key=key, text="NEWS2 7 (høy)", actor=world.home_nurse_a, **kw)


def test_an_alert_is_raised_once_per_episode_and_audited(world, audit):
    watch = audit()
    first, created = _raise(world)
    again, created_again = _raise(world)
    assert created and not created_again
    assert again.pk == first.pk
    assert Alert.objects.count() == 1
    assert len(watch.rows(code="samhand.alert.raised")) == 1


def test_a_closed_episode_can_be_raised_again_as_a_new_alert(world):
    first, _ = _raise(world)
    close(first, world.home_nurse_a, note="Lege tilkalt")
    second, created = _raise(world)
    assert created and second.pk != first.pk
    assert close_episode(world.patient_a, "news2:1", world.home_nurse_a) == second
    assert not Alert.objects.open().exists()


def test_acknowledging_names_the_person_and_happens_once(world, audit):
    watch = audit()
    alert, _ = _raise(world, due_at=timezone.now() + dt.timedelta(minutes=30))
    acknowledge(alert, world.home_nurse_a, note="Drar nå")
    alert.refresh_from_db()
    assert alert.acknowledged_by == world.home_nurse_a
    assert alert.acknowledge_note == "Drar nå"
    assert not alert.is_overdue()
    with pytest.raises(Conflict):
        acknowledge(alert, world.ltmv_nurse)
    assert len(watch.rows(code="samhand.alert.acknowledged")) == 1


def test_an_unacknowledged_alert_past_its_deadline_is_overdue(world):
    alert, _ = _raise(world, due_at=timezone.now() - dt.timedelta(minutes=1))
    assert alert.is_overdue()


def test_a_closed_alert_cannot_be_acknowledged(world):
    alert, _ = _raise(world)
    close(alert)
    with pytest.raises(Conflict):
        acknowledge(alert, world.home_nurse_a)


def test_bad_severity_or_empty_text_is_refused_and_nothing_is_stored(world):
    with pytest.raises(DomainError):
        _raise(world, severity="panic")
    with pytest.raises(DomainError):
        raise_alert(patient=world.patient_a, organisation=world.hn_a, kind="x",
                    episode_key="x", text="  ")
    assert not Alert.objects.exists()


def test_open_alerts_are_listed_for_the_unit_they_are_addressed_to(world):
    _raise(world)
    assert list(open_alerts_for([world.hn_a.pk]).values_list("kind", flat=True)) == ["news2"]
    assert not open_alerts_for([world.hn_b.pk]).exists()
