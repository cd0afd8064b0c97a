"""Sessions end: after 30 idle minutes, after 12 hours whatever happens, at logout
(the old cookie is dead), and when the user is deactivated or leaves their
organisation (security.md #14)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import time_machine
from django.contrib.sessions.models import Session
from django.test import Client
from django.utils import timezone

from samhand.accounts.models import UserSession, end_sessions_for
from samhand.orgs.models import Membership


def opens_my_patients(client: Client) -> bool:
    response = client.get("/")
    if response.status_code == 302:
        assert response["Location"].startswith("/accounts/login/")
        return False
    assert response.status_code == 200
    return True


def test_a_session_survives_29_idle_minutes_but_not_31(world: Any) -> None:
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        client = world.login(Client(), world.home_nurse_a)
        assert opens_my_patients(client)
    with time_machine.travel(start + dt.timedelta(minutes=29), tick=False):
        assert opens_my_patients(client)  # ... and this request resets the idle clock
    with time_machine.travel(start + dt.timedelta(minutes=58), tick=False):
        assert opens_my_patients(client)
    with time_machine.travel(start + dt.timedelta(minutes=90), tick=False):
        assert not opens_my_patients(client)


def test_a_busy_session_still_ends_after_twelve_hours(world: Any) -> None:
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        client = world.login(Client(), world.home_nurse_a)
    for minutes in range(20, 12 * 60, 20):
        with time_machine.travel(start + dt.timedelta(minutes=minutes), tick=False):
            assert opens_my_patients(client), f"logged out after {minutes} minutes"
    with time_machine.travel(start + dt.timedelta(hours=12, minutes=5), tick=False):
        assert not opens_my_patients(client)


def test_logout_kills_the_old_cookie(world: Any) -> None:
    client = world.login(Client(), world.home_nurse_a)
    old_cookie = client.cookies["sessionid"].value

    client.post("/accounts/logout/")

    replay = Client()
    replay.cookies["sessionid"] = old_cookie
    assert not opens_my_patients(replay)
    assert not Session.objects.filter(session_key=old_cookie).exists()


def test_deactivating_a_user_ends_all_their_sessions(world: Any) -> None:
    tablet = world.login(Client(), world.home_nurse_a)
    phone = world.login(Client(), world.home_nurse_a)
    other = world.login(Client(), world.home_nurse_b)

    user = world.home_nurse_a
    user.is_active = False
    user.save()

    assert not opens_my_patients(tablet)
    assert not opens_my_patients(phone)
    assert opens_my_patients(other)
    assert not UserSession.objects.filter(user=user).exists()


def test_ending_the_membership_ends_the_sessions(world: Any) -> None:
    client = world.login(Client(), world.home_nurse_a)
    membership = Membership.objects.get(user=world.home_nurse_a)

    membership.end()

    assert not opens_my_patients(client)


def test_an_administrator_can_end_a_users_sessions(world: Any) -> None:
    client = world.login(Client(), world.home_nurse_a)

    assert end_sessions_for(world.home_nurse_a) == 1

    assert not opens_my_patients(client)


def test_a_busy_page_does_not_write_the_session_on_every_request(world: Any) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    start = timezone.now()
    with time_machine.travel(start, tick=False):
        client = world.login(Client(), world.home_nurse_a)
        assert opens_my_patients(client)
    with time_machine.travel(start + dt.timedelta(seconds=20), tick=False), \
            CaptureQueriesContext(connection) as queries:
        assert opens_my_patients(client)
    assert not [q for q in queries if "django_session" in q["sql"]
                and q["sql"].lstrip().upper().startswith("UPDATE")]
    with time_machine.travel(start + dt.timedelta(minutes=2), tick=False), \
            CaptureQueriesContext(connection) as queries:
        assert opens_my_patients(client)
    assert [q for q in queries if "django_session" in q["sql"]
            and q["sql"].lstrip().upper().startswith("UPDATE")]
