"""`samhand api-token`: create (printed once, stored hashed), list, revoke."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from samhand.api.models import ApiToken, hash_token


def run(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("api-token", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_create_prints_a_working_token_once_and_stores_only_its_digest(world):
    out, err = run("create", "home_nurse_a", "--days", "7", "--name", "EPJ")

    secret = out.strip()
    token = ApiToken.objects.get(user=world.home_nurse_a)
    assert token.digest == hash_token(secret)
    assert token.name == "EPJ"
    assert (token.expires_at - token.created_at).days == 7
    assert "not shown again" in err and secret not in err
    response = Client(HTTP_AUTHORIZATION=f"Bearer {secret}").get("/api/v1/me")
    assert response.status_code == 200


def test_list_never_shows_secrets(world):
    secret = run("create", "home_nurse_a")[0].strip()

    out, _err = run("list")

    assert "home_nurse_a" in out and "active" in out
    assert secret not in out


def test_revoke_stops_the_token_at_once(world):
    secret = run("create", "home_nurse_a")[0].strip()
    token = ApiToken.objects.get(user=world.home_nurse_a)

    run("revoke", str(token.pk))

    assert Client(HTTP_AUTHORIZATION=f"Bearer {secret}").get("/api/v1/me").status_code == 401
    assert "revoked" in run("list", "home_nurse_a")[0]


@pytest.mark.parametrize("args", [("create", "nosuchuser"), ("create", "home_nurse_a",
                                                              "--days", "0"),
                                  ("revoke", "not-an-id")])
def test_bad_arguments_are_refused(world, args):
    with pytest.raises(CommandError):
        run(*args)
    assert not ApiToken.objects.exists()
