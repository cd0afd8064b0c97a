"""`patient_rules` reads in one written-out statement what recording a set needs of the
patient. Each case compares it with what the ORM says, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from samhand.access.policy import grant_for
from samhand.alerts.services import raise_alert
from samhand.observations.defaults import _active_template
from samhand.observations.escalation import patient_rules
from samhand.observations.models import EscalationSettings, Spo2ScaleOrder
from samhand.pathways import services as pathways

from .conftest import actor_and_grant


def _orm(patient):
    """The same facts, one ORM query each (as before the statement was written out)."""
    rules = EscalationSettings.objects.filter(patient=patient).first()
    scale = 2 if Spo2ScaleOrder.objects.filter(patient=patient,
                                               ended_at__isnull=True).exists() else 1
    return scale, rules, _active_template(patient)


def _alert(world, episode_key):
    alert, _created = raise_alert(patient=world.patient_a, organisation=world.hn_a,
                                  kind="observation", episode_key=episode_key, text="NEWS2 7")
    return alert


def test_a_patient_with_nothing_recorded_gets_scale_1_and_no_rules(world):
    known = patient_rules(world.patient_a.pk)

    assert (known.spo2_scale, known.rules, known.seed_from) == _orm(world.patient_a) == (
        1, None, None)
    assert known.open_news2_alert is False


def test_the_rules_row_is_read_whole(world):
    row = EscalationSettings.objects.create(
        patient=world.patient_a, news2_threshold=7, alert_on_red_parameter=False,
        trend_window=4, trend_rise=2, vitals_every_hours=12, seeded_from="home_niv",
        close_since=timezone.now() - dt.timedelta(hours=3), close_hours=6, normal_in_row=2)

    known = patient_rules(world.patient_a.pk)

    assert known.rules is not None
    for field in EscalationSettings._meta.concrete_fields:
        assert getattr(known.rules, field.attname) == getattr(row, field.attname), field.name
    assert known.rules == _orm(world.patient_a)[1]


def test_an_active_scale_2_order_gives_scale_2_and_an_ended_one_does_not(world):
    order = Spo2ScaleOrder.objects.create(patient=world.patient_a,
                                          ordered_by=world.consultant,
                                          organisation=world.pulm, reason="Hyperkapni")
    assert patient_rules(world.patient_a.pk).spo2_scale == _orm(world.patient_a)[0] == 2

    order.ended_at = timezone.now()
    order.save()
    assert patient_rules(world.patient_a.pk).spo2_scale == _orm(world.patient_a)[0] == 1


def test_the_newest_active_pathway_with_a_rule_file_is_the_one_to_seed_from(world):
    actor, _grant = actor_and_grant(world.ltmv_nurse, world.patient_a)
    grant = grant_for(world.ltmv_nurse, world.patient_a)
    # The seeding waits for the commit, which a test's transaction never reaches.
    pathways.start_pathway(actor, grant, world.patient_a, template_key="home_niv",
                           entry="elective")

    known = patient_rules(world.patient_a.pk)

    assert known.rules is None
    assert known.seed_from == _orm(world.patient_a)[2] == "home_niv"


def test_only_an_open_news2_alert_is_reported(world):
    assert patient_rules(world.patient_a.pk).open_news2_alert is False
    _alert(world, "pathways:discharge_ready")
    assert patient_rules(world.patient_a.pk).open_news2_alert is False

    alert = _alert(world, "observations:news2:high")
    assert patient_rules(world.patient_a.pk).open_news2_alert is True

    from samhand.alerts.services import close

    close(alert)
    assert patient_rules(world.patient_a.pk).open_news2_alert is False
