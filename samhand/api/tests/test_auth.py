"""Who may call the API: bearer tokens, verified sessions, CSRF, rate limit (security.md
#1, #15, #19)."""

from __future__ import annotations

import datetime as dt
import json
import logging

import pytest
from django.test import Client
from django.utils import timezone

from samhand.api.models import ApiToken, hash_token
from samhand.patients.models import RelatedPerson

RELATIVE = {"name": "Siri Aasen", "relation": "child", "phone": "911 11 111"}


def post_json(client: Client, url: str, body: object, **extra: str):
    return client.post(url, json.dumps(body), content_type="application/json", **extra)


def test_anonymous_caller_gets_401_json_with_a_bearer_challenge(world):
    response = Client().get("/api/v1/me")

    assert response.status_code == 401
    assert response["Content-Type"] == "application/json; charset=utf-8"
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert response.json()["error"]["code"] == "not_authenticated"
    assert set(response.json()["error"]) >= {"code", "message", "field"}


def test_anonymous_caller_gets_401_on_unknown_api_addresses_too(world):
    response = Client().get("/api/v1/no-such-thing")

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


def test_authenticated_caller_gets_json_404_on_unknown_api_addresses(world, token_client):
    response = token_client(world.home_nurse_a).get("/api/v1/no-such-thing")

    assert response.status_code == 404
    assert response.json() == {"error": {"code": "not_found", "message": response.json()[
        "error"]["message"], "field": None}}


def test_bearer_token_authenticates_and_records_its_use(world, token_client):
    client = token_client(world.home_nurse_a)

    response = client.get("/api/v1/me")

    assert response.status_code == 200
    assert response.json()["username"] == "home_nurse_a"
    assert response.json()["auth"] == "token"
    token = ApiToken.objects.get(user=world.home_nurse_a)
    assert token.last_used_at is not None


@pytest.mark.parametrize("state", ["expired", "revoked", "inactive_user", "unknown",
                                   "wrong_scheme"])
def test_unusable_bearer_credentials_get_401(world, state):
    token, secret = ApiToken.issue(world.home_nurse_a, days=30)
    header = f"Bearer {secret}"
    if state == "expired":
        ApiToken.objects.filter(pk=token.pk).update(
            created_at=timezone.now() - dt.timedelta(days=40),
            expires_at=timezone.now() - dt.timedelta(seconds=1))
    elif state == "revoked":
        token.revoke()
    elif state == "inactive_user":
        world.home_nurse_a.is_active = False
        world.home_nurse_a.save()
    elif state == "unknown":
        header = "Bearer shk_" + "x" * 43
    elif state == "wrong_scheme":
        header = f"Token {secret}"

    response = Client(HTTP_AUTHORIZATION=header).get("/api/v1/me")

    assert response.status_code == 401
    assert response.json()["error"]["code"] in {"invalid_token", "bad_authorization_header"}


def test_a_bad_bearer_token_does_not_fall_back_to_a_valid_session(world, session_client):
    client = session_client(world.home_nurse_a)
    assert client.get("/api/v1/me").status_code == 200

    response = client.get("/api/v1/me", HTTP_AUTHORIZATION="Bearer shk_not-a-token")

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_token"


def test_the_token_is_stored_only_as_a_digest(world):
    token, secret = ApiToken.issue(world.home_nurse_a, days=30)

    stored = ApiToken.objects.get(pk=token.pk)
    assert stored.digest == hash_token(secret)
    assert secret not in {stored.digest, stored.hint, stored.name}
    assert len(stored.hint) < 12


def test_session_without_confirmed_second_factor_gets_401(world):
    client = Client()
    client.force_login(world.home_nurse_a)  # password only, no TOTP confirmed

    response = client.get("/api/v1/me")

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "second_factor_required"


def test_session_with_second_factor_reads(world, session_client):
    response = session_client(world.home_nurse_a).get("/api/v1/me")

    assert response.status_code == 200
    assert response.json()["auth"] == "session"


def test_session_write_without_csrf_token_gets_403_and_stores_nothing(world, session_client):
    client = session_client(world.home_nurse_a, enforce_csrf=True)

    response = post_json(client, f"/api/v1/patients/{world.patient_a.pk}/relatives", RELATIVE)

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "csrf"
    assert not RelatedPerson.objects.filter(name="Siri Aasen").exists()


def test_session_write_with_csrf_token_is_accepted(world, session_client):
    client = session_client(world.home_nurse_a, enforce_csrf=True)
    client.get("/api/v1/docs")  # sets the CSRF cookie, as the docs page does
    csrf = client.cookies["csrftoken"].value

    response = post_json(client, f"/api/v1/patients/{world.patient_a.pk}/relatives", RELATIVE,
                         HTTP_X_CSRFTOKEN=csrf)

    assert response.status_code == 201, response.content
    assert RelatedPerson.objects.filter(name="Siri Aasen", patient=world.patient_a).exists()


def test_bearer_write_needs_no_csrf_token(world, token_client):
    client = token_client(world.home_nurse_a, enforce_csrf_checks=True)

    response = post_json(client, f"/api/v1/patients/{world.patient_a.pk}/relatives", RELATIVE)

    assert response.status_code == 201, response.content


def test_past_the_budget_the_caller_gets_429_and_it_is_logged(world, token_client, settings,
                                                              caplog):
    settings.SAMHAND_API_RATE_PER_MINUTE = 3
    client = token_client(world.home_nurse_a)
    with caplog.at_level(logging.WARNING, logger="samhand.api"):
        statuses = [client.get("/api/v1/me").status_code for _ in range(5)]

    assert statuses == [200, 200, 200, 429, 429]
    response = client.get("/api/v1/me")
    assert response.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(response["Retry-After"]) <= 60
    assert any("rate limit" in r.getMessage() and str(world.home_nurse_a.pk) in r.getMessage()
               for r in caplog.records)


def test_the_budget_is_per_user(world, token_client, settings):
    settings.SAMHAND_API_RATE_PER_MINUTE = 2
    nurse, consultant = token_client(world.home_nurse_a), token_client(world.consultant)
    for _ in range(3):
        nurse.get("/api/v1/me")

    assert nurse.get("/api/v1/me").status_code == 429
    assert consultant.get("/api/v1/me").status_code == 200


def test_the_budget_renews_the_next_minute(world, token_client, settings):
    import time_machine

    settings.SAMHAND_API_RATE_PER_MINUTE = 1
    client = token_client(world.home_nurse_a)
    start = dt.datetime(2026, 11, 25, 10, 0, 5, tzinfo=dt.UTC)
    with time_machine.travel(start, tick=False):
        assert client.get("/api/v1/me").status_code == 200
        assert client.get("/api/v1/me").status_code == 429
    with time_machine.travel(start + dt.timedelta(minutes=1), tick=False):
        assert client.get("/api/v1/me").status_code == 200


def test_without_the_otp_requirement_a_password_session_is_enough(world, settings):
    settings.SAMHAND_REQUIRE_OTP = False
    client = Client()
    client.force_login(world.home_nurse_a)

    assert client.get("/api/v1/me").status_code == 200


def test_the_last_use_is_written_at_most_once_a_resolution(world):
    """The token's last use is read along with the token; a recent one is kept as it
    is, an older one is moved to now."""
    from samhand.api.auth import LAST_USED_RESOLUTION

    token, secret = ApiToken.issue(world.home_nurse_a, days=30)
    client = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    recent = timezone.now() - LAST_USED_RESOLUTION / 2
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=recent)

    assert client.get("/api/v1/me").status_code == 200
    assert ApiToken.objects.get(pk=token.pk).last_used_at == recent

    old = timezone.now() - LAST_USED_RESOLUTION * 2
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=old)
    assert client.get("/api/v1/me").status_code == 200
    assert ApiToken.objects.get(pk=token.pk).last_used_at > recent
