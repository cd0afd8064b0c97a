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


def test_raising_takes_one_statement_and_an_open_episode_two(world, django_assert_num_queries):
    from django.db import transaction

    from samhand.audit.services import chained_at_end

    with transaction.atomic(), chained_at_end():
        with django_assert_num_queries(1):  # INSERT … ON CONFLICT DO NOTHING
            first, created = _raise(world)
        with django_assert_num_queries(2):  # the insert that does nothing, the open one
            again, created_again = _raise(world)
    assert created and not created_again and again.pk == first.pk
    row = Alert.objects.get()
    assert (row.kind, row.severity, row.episode_key, row.text) == (
        "news2", "warning", "news2:1", "NEWS2 7 (høy)")


def test_another_open_episode_of_the_same_patient_or_key_of_another_patient_is_raised(world):
    _raise(world)
    _second, created = _raise(world, key="news2:2")
    _other, created_other = raise_alert(patient=world.patient_b, organisation=world.hn_b,
                                       kind="news2", episode_key="news2:1", text="x")
    assert created and created_other
    assert Alert.objects.open().count() == 3


def test_the_fixed_insert_names_every_column_of_the_alert_table_in_order():
    from samhand.alerts.services import INSERT_UNLESS_OPEN_COLUMNS, INSERT_UNLESS_OPEN_SQL

    assert tuple(f.column for f in Alert._meta.concrete_fields) == INSERT_UNLESS_OPEN_COLUMNS
    assert Alert._meta.db_table == "alerts_alert"
    assert ", ".join(f'"{c}"' for c in INSERT_UNLESS_OPEN_COLUMNS) in INSERT_UNLESS_OPEN_SQL
    assert INSERT_UNLESS_OPEN_SQL.count("%s") == len(INSERT_UNLESS_OPEN_COLUMNS)
