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


def _new(world, patient, key, unit=None):
    from samhand.alerts.services import new_alert

    return new_alert(patient=patient, organisation=unit or world.hn_a, kind="admission",
                     episode_key=key, text="Innlagt", severity="urgent", source="messaging")


def test_new_alerts_raised_together_are_each_raised_once_per_open_episode_and_audited(world):
    """As raise_alert for each: not while an open alert of the episode exists (raised
    before, or earlier in the same list); the ones inserted are audited, once."""
    from samhand.alerts.services import raise_new_alerts
    from samhand.audit.models import AuditEvent
    from samhand.audit.services import verify_chain

    open_before, _created = _raise(world, key="stay:1")
    alerts = [_new(world, world.patient_a, "stay:1"),            # open already
              _new(world, world.patient_a, "stay:2"),            # new
              _new(world, world.patient_a, "stay:2", world.hn_b),  # same episode, again
              _new(world, world.patient_b, "stay:1")]            # another patient's
    raised = raise_new_alerts(alerts, world.home_nurse_a)

    assert [a.pk for a in raised] == [alerts[1].pk, alerts[3].pk]
    assert set(Alert.objects.open().values_list("pk", flat=True)) == {
        open_before.pk, alerts[1].pk, alerts[3].pk}
    assert Alert.objects.get(pk=alerts[1].pk).organisation == world.hn_a
    audited = AuditEvent.objects.filter(code="samhand.alert.raised")
    assert sorted(str(i) for e in audited for i in e.object_ids) == sorted(
        str(a.pk) for a in (open_before, *raised))
    assert verify_chain().ok


def test_the_fixed_many_row_insert_names_every_column_with_its_type_in_order():
    from django.db import connection

    from samhand.alerts.services import INSERT_MANY_UNLESS_OPEN_SQL, INSERT_UNLESS_OPEN_COLUMNS

    columns = ", ".join(f'"{c}"' for c in INSERT_UNLESS_OPEN_COLUMNS)
    assert columns in INSERT_MANY_UNLESS_OPEN_SQL
    casts = INSERT_MANY_UNLESS_OPEN_SQL.split("unnest(")[1].split(") ON CONFLICT")[0]
    types = [cast.strip().removeprefix("%s::").removesuffix("[]") for cast in casts.split(", ")]
    if connection.vendor == "postgresql":
        aliases = {"timestamp with time zone": "timestamptz"}
        assert types == [aliases.get(t, t) for t in (
            f.db_type(connection) for f in Alert._meta.concrete_fields)]
    assert len(types) == len(INSERT_UNLESS_OPEN_COLUMNS)
