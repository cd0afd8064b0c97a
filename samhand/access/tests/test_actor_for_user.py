"""policy.actor_for_user: the Actor for a user without a request (workers, the demo,
tests) is the one actor_for builds from a request."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser
from django.test import RequestFactory

from samhand.access import policy

pytestmark = pytest.mark.django_db


def test_a_user_acts_for_their_oldest_active_membership_as_from_a_request(world):
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.9")
    request.user = world.home_nurse_a
    from_request = policy.actor_for(request, client="api")
    actor = policy.actor_for_user(world.home_nurse_a, client="api", source_ip="10.0.0.9")
    assert actor == from_request
    assert actor.organisation == world.hn_a and actor.role and actor.client == "api"


def test_a_user_without_a_membership_acts_in_their_profession_and_an_anonymous_as_nobody(world):
    nobody = world.nobody  # no membership in the world
    actor = policy.actor_for_user(nobody, client="system")
    assert actor.user == nobody and actor.client == "system"
    assert actor.organisation is None and actor.role == nobody.profession
    anonymous = policy.actor_for_user(AnonymousUser())
    assert anonymous.user is None and anonymous.role == "" and anonymous.organisation is None
