"""Login: password, then a TOTP code; lockout, throttling and first-time set-up
(security.md #14, #15, #16)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine
from axes.models import AccessAttempt
from django.contrib.auth import SESSION_KEY
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from samhand.accounts.models import User, UserSession
from samhand.conftest import PASSWORD

LOGIN = "/accounts/login/"
OTP = "/accounts/login/code/"
ENROL = "/accounts/login/set-up/"

# An instant in the middle of a 30-second TOTP step, near the real time: after a
# `travel` block the test client's session is checked at the real time, and its
# idle and absolute limits must not have run out in between.
_NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)
NOON = _NOW - dt.timedelta(seconds=_NOW.second % 30) + dt.timedelta(seconds=10)


def english() -> Client:
    """A browser that asks for English pages (the default language is Norwegian)."""
    return Client(HTTP_ACCEPT_LANGUAGE="en")


def device_for(user: User) -> TOTPDevice:
    return TOTPDevice.objects.create(user=user, name="phone", confirmed=True)


def code(device: TOTPDevice, steps_ahead: int = 0) -> str:
    device.refresh_from_db()
    return f"{totp(device.bin_key, device.step, device.t0, device.digits, steps_ahead):06d}"


def password_step(client: Client, username: str, password: str = PASSWORD,
                  **extra: Any) -> Any:
    return client.post(LOGIN, {"username": username, "password": password, **extra})


def is_logged_in(client: Client) -> bool:
    return client.get("/").status_code == 200


@pytest.fixture
def nurse(world: Any) -> User:
    user: User = world.home_nurse_a
    return user


def test_password_then_code_logs_in_and_lands_on_my_patients(nurse: User) -> None:
    device = device_for(nurse)
    client = english()

    with time_machine.travel(NOON, tick=False):
        response = password_step(client, "home_nurse_a")
        assert response.status_code == 302 and response["Location"] == OTP
        assert not is_logged_in(client)  # the password alone is not enough

        response = client.post(OTP, {"code": code(device)})

        assert response.status_code == 302 and response["Location"] == "/"
        assert is_logged_in(client)
    assert UserSession.objects.filter(user=nurse).count() == 1


def test_the_page_asked_for_before_login_is_opened_afterwards(nurse: User, world: Any) -> None:
    device = device_for(nurse)
    client = english()
    target = f"/patients/{world.patient_a.pk}/"

    first = client.get(target)
    assert first.status_code == 302 and first["Location"].startswith(LOGIN + "?next=")

    with time_machine.travel(NOON, tick=False):
        password_step(client, "home_nurse_a", next=target)
        response = client.post(OTP, {"code": code(device)})

    assert response["Location"] == target


def test_a_next_address_on_another_site_is_ignored(nurse: User) -> None:
    device = device_for(nurse)
    client = english()
    with time_machine.travel(NOON, tick=False):
        password_step(client, "home_nurse_a", next="https://evil.example/steal")
        response = client.post(OTP, {"code": code(device)})
    assert response["Location"] == "/"


def test_wrong_password_gets_one_message_for_every_kind_of_failure(nurse: User) -> None:
    client = english()
    wrong = password_step(client, "home_nurse_a", "not the password at all")
    unknown = password_step(client, "nobody_by_that_name", "not the password at all")

    for response in (wrong, unknown):
        assert response.status_code == 400
        assert "Wrong username or password." in response.content.decode()
    assert not is_logged_in(client)


def test_an_inactive_user_cannot_log_in(nurse: User) -> None:
    nurse.is_active = False
    nurse.save()
    response = password_step(english(), "home_nurse_a")
    assert response.status_code == 400


def test_the_session_id_rotates_at_login(nurse: User) -> None:
    device = device_for(nurse)
    client = english()
    client.get(LOGIN)
    with time_machine.travel(NOON, tick=False):
        password_step(client, "home_nurse_a")
        half_way = client.session.session_key
        client.post(OTP, {"code": code(device)})
    after = client.session.session_key

    assert half_way and after and half_way != after
    assert client.session[SESSION_KEY] == str(nurse.pk)


def test_a_totp_code_cannot_be_used_twice(nurse: User) -> None:
    device = device_for(nurse)
    with time_machine.travel(NOON, tick=False):
        used = code(device)
        first = english()
        password_step(first, "home_nurse_a")
        assert first.post(OTP, {"code": used}).status_code == 302

        second = english()
        password_step(second, "home_nurse_a")
        replay = second.post(OTP, {"code": used})

    assert replay.status_code == 400
    assert "already been used" in replay.content.decode()
    assert not is_logged_in(second)


def test_wrong_codes_slow_down_the_next_attempt(nurse: User) -> None:
    device = device_for(nurse)
    client = english()
    with time_machine.travel(NOON, tick=False):
        password_step(client, "home_nurse_a")
        client.post(OTP, {"code": "000000" if code(device) != "000000" else "111111"})
        right_code_too_soon = client.post(OTP, {"code": code(device)})
        assert right_code_too_soon.status_code == 400
        assert "Too many wrong codes" in right_code_too_soon.content.decode()
    with time_machine.travel(NOON + dt.timedelta(seconds=2), tick=False):
        assert client.post(OTP, {"code": code(device)}).status_code == 302


def test_a_malformed_code_is_refused_without_counting(nurse: User) -> None:
    device_for(nurse)
    client = english()
    password_step(client, "home_nurse_a")
    response = client.post(OTP, {"code": "12ab56"})
    assert response.status_code == 400
    assert "The code has six digits." in response.content.decode()


def test_five_wrong_passwords_lock_the_account_even_for_the_right_password(nurse: User) -> None:
    device_for(nurse)
    client = english()
    for _ in range(5):
        password_step(client, "home_nurse_a", "wrong password number x")

    locked = password_step(client, "home_nurse_a")

    assert locked.status_code == 429
    assert "accounts/locked_out.html" in [t.name for t in locked.templates]
    assert client.session.get("samhand_pending_login") is None
    assert AccessAttempt.objects.filter(username="home_nurse_a").exists()


def test_the_lockout_ends_after_the_cool_off(nurse: User) -> None:
    device = device_for(nurse)
    client = english()
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        for _ in range(5):
            password_step(client, "home_nurse_a", "wrong password number x")
        assert password_step(client, "home_nurse_a").status_code == 429
    with time_machine.travel(start + dt.timedelta(minutes=16), tick=False):
        assert password_step(client, "home_nurse_a").status_code == 302
        assert client.post(OTP, {"code": code(device)}).status_code == 302


def test_wrong_codes_count_towards_the_lockout(nurse: User) -> None:
    device = device_for(nurse)
    client = english()
    start = NOON
    for attempt in range(5):
        with time_machine.travel(start + dt.timedelta(minutes=attempt), tick=False):
            password_step(client, "home_nurse_a")
            wrong = "000000" if code(device) != "000000" else "111111"
            client.post(OTP, {"code": wrong})

    with time_machine.travel(start + dt.timedelta(minutes=6), tick=False):
        assert password_step(client, "home_nurse_a").status_code == 429


def test_the_lockout_page_is_translated(nurse: User) -> None:
    client = Client(headers={"accept-language": "nb"})
    for _ in range(6):
        response = password_step(client, "home_nurse_a", "wrong password number x")
    assert response.status_code == 429
    assert 'lang="nb"' in response.content.decode()


def test_the_code_step_needs_the_password_step_first(db: Any) -> None:
    client = english()
    for url in (OTP, ENROL):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"] == LOGIN


def test_the_half_way_state_expires_after_five_minutes(nurse: User) -> None:
    device = device_for(nurse)
    client = english()
    with time_machine.travel(NOON, tick=False):
        password_step(client, "home_nurse_a")
    later = NOON + dt.timedelta(minutes=6)
    with time_machine.travel(later, tick=False):
        response = client.post(OTP, {"code": code(device)})
    assert response.status_code == 302 and response["Location"] == LOGIN
    assert not is_logged_in(client)


def test_a_user_without_an_authenticator_sets_one_up_first(nurse: User) -> None:
    client = english()
    with time_machine.travel(NOON, tick=False):
        response = password_step(client, "home_nurse_a")
        assert response["Location"] == ENROL

        page = client.get(ENROL)
        assert page.status_code == 200
        html = page.content.decode()
        assert 'src="data:image/svg+xml;base64,' in html
        device = TOTPDevice.objects.get(user=nurse, confirmed=False)
        secret = page.context["secret_groups"]
        assert "".join(secret) and "".join(secret) in html.replace(" ", "")
        assert client.get(ENROL).context["secret_groups"] == secret  # same key on reload

        wrong = client.post(ENROL, {"code": "000000" if code(device) != "000000" else "1"})
        assert wrong.status_code == 400
    with time_machine.travel(NOON + dt.timedelta(seconds=2), tick=False):
        confirmed = client.post(ENROL, {"code": code(device)})

    assert confirmed.status_code == 302
    assert is_logged_in(client)
    device.refresh_from_db()
    assert device.confirmed
    assert TOTPDevice.objects.filter(user=nurse).count() == 1


def test_a_user_with_an_authenticator_cannot_set_up_another(nurse: User) -> None:
    device_for(nurse)
    client = english()
    password_step(client, "home_nurse_a")
    assert client.get(ENROL)["Location"] == OTP
    assert TOTPDevice.objects.filter(user=nurse).count() == 1


def test_the_preferred_language_is_set_at_login(nurse: User) -> None:
    nurse.preferred_language = "en"
    nurse.save()
    device = device_for(nurse)
    client = english()
    with time_machine.travel(NOON, tick=False):
        password_step(client, "home_nurse_a")
        response = client.post(OTP, {"code": code(device)})
    assert response.cookies["django_language"].value == "en"


def test_logout_needs_a_post_and_ends_the_session(world: Any) -> None:
    client = world.login(english(), world.home_nurse_a)
    assert client.get(reverse("accounts:logout")).status_code == 200
    assert is_logged_in(client)  # GET only asks

    response = client.post(reverse("accounts:logout"))

    assert response.status_code == 302 and response["Location"] == LOGIN
    assert not is_logged_in(client)


def test_the_stored_password_hash_is_argon2(db: Any, settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.Argon2PasswordHasher"]
    user = User.objects.create_user("argon_user", password="a long enough passphrase 42")

    assert user.password.startswith("argon2$argon2id$")
    assert user.check_password("a long enough passphrase 42")


@pytest.mark.parametrize("password", ["short pass 1", "1q2w3e4r5t6y7u8i9o0p", "123456789123456"])
def test_short_and_common_passwords_are_refused(db: Any, password: str) -> None:
    with pytest.raises(ValidationError):
        validate_password(password)


def test_a_long_uncommon_password_is_accepted(db: Any) -> None:
    validate_password("fjordby tidevann lykt 2026")


def test_without_the_second_factor_setting_the_password_is_enough(nurse: User,
                                                                    settings: Any) -> None:
    settings.SAMHAND_REQUIRE_OTP = False
    client = english()
    response = password_step(client, "home_nurse_a")
    assert response.status_code == 302 and response["Location"] == "/"
    assert is_logged_in(client)
