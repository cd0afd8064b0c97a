"""policy.visible_q (a condition on another model's patient) agrees with
visible_patients for every persona, blocks and ended care relations included."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from samhand.access import policy
from samhand.pathways.models import Task
from samhand.patients.models import AccessBlock, CareTeamMember

pytestmark = pytest.mark.django_db

PERSONAS = ("home_nurse_a", "home_nurse_b", "ltmv_nurse", "consultant", "coordinator_a",
            "gp_a", "clerk_a", "nobody", "relative_a")


def _tasks(world):
    for patient, org in ((world.patient_a, world.hn_a), (world.patient_b, world.hn_b)):
        Task.objects.create(patient=patient, title="Besøk", owner_organisation=org,
                            due_at=timezone.now())


def _agree(world):
    for name in PERSONAS:
        user = getattr(world, name)
        by_q = set(Task.objects.filter(policy.visible_q(user)).values_list("patient_id",
                                                                           flat=True))
        by_list = set(policy.visible_patients(user).values_list("pk", flat=True))
        assert by_q == by_list & {world.patient_a.pk, world.patient_b.pk}, name


def test_visible_q_agrees_with_visible_patients(world):
    _tasks(world)
    _agree(world)


def test_visible_q_honours_blocks_and_ended_relations(world):
    _tasks(world)
    AccessBlock.objects.create(patient=world.patient_a, blocked_organisation=world.fjordby,
                               reason="Nabo", created_by=world.coordinator_a)
    CareTeamMember.objects.filter(patient=world.patient_b, organisation=world.hn_b).update(
        period_end=timezone.now() - dt.timedelta(minutes=1))
    _agree(world)
    assert not Task.objects.filter(policy.visible_q(world.home_nurse_a)).exists()
    assert not Task.objects.filter(policy.visible_q(world.home_nurse_b)).exists()
