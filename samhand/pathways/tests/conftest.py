from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from samhand.access.policy import actor_for_user, grant_for
from samhand.audit.services import Actor
from samhand.orgs.models import Organisation
from samhand.patients.models import CareTeamMember


def actor_of(user: Any) -> Actor:
    return actor_for_user(user)


@pytest.fixture
def ltmv(world: Any) -> Any:
    """patient_a's care team completed with an allocation office, a supplier and a
    primary home-nursing contact, as an LTMV pathway needs."""
    K = Organisation.Kind
    alloc = Organisation.objects.create(kind=K.ALLOCATION_OFFICE, parent=world.fjordby,
                                        name="Tildelingskontoret Fjordby")
    supplier = Organisation.objects.create(kind=K.SUPPLIER, name="Respirasjon AS")
    since = timezone.now() - dt.timedelta(days=30)
    for org, role in ((alloc, "allocation_office"), (supplier, "supplier"),
                      (world.pulm, "hospital_coordinator")):
        CareTeamMember.objects.create(patient=world.patient_a, organisation=org, role=role,
                                      period_start=since)
    world.orgs.update(alloc_a=alloc, supplier=supplier)
    return world


def grant(user: Any, patient: Any) -> Any:
    g = grant_for(user, patient)
    assert g is not None
    return g
