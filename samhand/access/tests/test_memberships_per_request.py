"""The access layer reads a user's memberships once per request (samhand.lib.middleware
request memo) and reads them again as soon as one changes; outside a request it
remembers nothing."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from samhand.access import policy
from samhand.lib.middleware import request_memo_var
from samhand.orgs.models import Membership, Organisation
from samhand.patients.models import AccessBlock, CareTeamMember


@pytest.fixture
def in_a_request() -> Iterator[None]:
    token = request_memo_var.set({})
    yield
    request_memo_var.reset(token)


def membership_queries(captured: Any) -> list[str]:
    return [q["sql"] for q in captured.captured_queries if '"orgs_membership"' in q["sql"]]


def test_the_worklist_reads_the_users_memberships_once(world: Any) -> None:
    client = world.login(Client(), world.home_nurse_a)
    client.get("/")

    with CaptureQueriesContext(connection) as captured:
        response = client.get("/")

    assert [r["patient"] for r in response.context["rows"]] == [world.patient_a]
    assert len(membership_queries(captured)) == 1


def test_the_patient_page_reads_the_users_memberships_once(world: Any) -> None:
    client = world.login(Client(), world.home_nurse_a)
    url = f"/patients/{world.patient_a.pk}/"
    client.get(url)

    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)

    assert response.status_code == 200
    assert len(membership_queries(captured)) == 1


def test_a_membership_ended_during_the_request_counts_at_once(world: Any,
                                                              in_a_request: None) -> None:
    assert policy.user_org_ids(world.home_nurse_a) == [world.hn_a.pk]
    assert policy.visible_patients(world.home_nurse_a).count() == 1

    Membership.objects.get(user=world.home_nurse_a).end()

    assert policy.user_org_ids(world.home_nurse_a) == []
    assert not policy.visible_patients(world.home_nurse_a).exists()


def test_an_organisation_closed_during_the_request_counts_at_once(world: Any,
                                                                  in_a_request: None) -> None:
    assert policy.grant_for(world.home_nurse_a, world.patient_a) is not None
    world.hn_a.is_active = False
    world.hn_a.save()

    assert policy.grant_for(world.home_nurse_a, world.patient_a) is None


def test_outside_a_request_every_call_reads_the_database(world: Any) -> None:
    assert policy.user_org_ids(world.home_nurse_a) == [world.hn_a.pk]
    # A bulk update sends no signal; outside a request nothing is remembered anyway.
    Membership.objects.filter(user=world.home_nurse_a).update(
        valid_to=timezone.now() - dt.timedelta(seconds=1))

    assert policy.user_org_ids(world.home_nurse_a) == []


def test_memberships_at_another_time_are_answered_from_the_same_read(world: Any,
                                                                     in_a_request: None
                                                                     ) -> None:
    later = timezone.now() + dt.timedelta(days=30)
    Membership.objects.filter(user=world.home_nurse_a).update(valid_to=later)
    policy.user_org_ids(world.home_nurse_a)

    with CaptureQueriesContext(connection) as captured:
        now_ids = policy.user_org_ids(world.home_nurse_a)
        after_ids = policy.user_org_ids(world.home_nurse_a, later + dt.timedelta(days=1))

    assert now_ids == [world.hn_a.pk]
    assert after_ids == []
    assert captured.captured_queries == []


@pytest.mark.parametrize("remembered", [True, False])
def test_a_block_high_above_the_users_unit_still_hides_the_patient(
        world: Any, remembered: bool) -> None:
    """Memberships come with two levels of parents; a block further up is found by
    reading the levels above them."""
    K = Organisation.Kind
    section = Organisation.objects.create(kind=K.DEPARTMENT, parent=world.pulm,
                                          name="Seksjon for hjemmerespirator")
    team = Organisation.objects.create(kind=K.DEPARTMENT, parent=section,
                                       name="LTMV-teamet")
    nurse = world.ltmv_nurse
    Membership.objects.filter(user=nurse).delete()
    Membership.objects.create(user=nurse, organisation=team, role=Membership.Role.NURSE,
                              valid_from=timezone.now() - dt.timedelta(days=1))
    CareTeamMember.objects.create(patient=world.patient_a, organisation=team,
                                  role=CareTeamMember.Role.LTMV_NURSE,
                                  period_start=timezone.now() - dt.timedelta(days=1))
    token = request_memo_var.set({}) if remembered else None
    try:
        assert list(policy.visible_patients(nurse)) == [world.patient_a]
        AccessBlock.objects.create(patient=world.patient_a, blocked_organisation=world.hospital,
                                   created_by=world.coordinator_a)

        assert list(policy.visible_patients(nurse)) == []
        assert policy.grant_for(nurse, world.patient_a) is None
    finally:
        if token is not None:
            request_memo_var.reset(token)
