"""Helpers for the observation tests: a grant and an actor for a persona."""

from __future__ import annotations

from typing import Any

import pytest

from samhand.access.policy import grant_for
from samhand.audit.services import Actor
from samhand.orgs.models import Membership

VITALS_NORMAL = {"respiration_rate": 16, "spo2": 97, "on_oxygen": False, "systolic_bp": 120,
                 "pulse": 70, "consciousness": "a", "temperature": 37.0}
VITALS_HIGH = {"respiration_rate": 26, "spo2": 91, "on_oxygen": True, "systolic_bp": 120,
               "pulse": 70, "consciousness": "a", "temperature": 37.0}  # NEWS2 8


def actor_and_grant(user: Any, patient: Any) -> tuple[Actor, Any]:
    membership = Membership.objects.active().filter(user=user).select_related(
        "organisation").first()
    actor = Actor(user=user, role=membership.role if membership else "",
                  organisation=membership.organisation if membership else None)
    return actor, grant_for(user, patient)


@pytest.fixture
def as_user():
    return actor_and_grant


@pytest.fixture
def token_client(db: Any) -> Any:
    from django.test import Client

    from samhand.api.models import ApiToken

    def make(user: Any, **kwargs: Any) -> Client:
        _token, secret = ApiToken.issue(user, days=30)
        return Client(HTTP_AUTHORIZATION=f"Bearer {secret}", **kwargs)

    return make
