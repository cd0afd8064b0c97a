"""Default deny (security.md #1): every page needs a login with a confirmed second
factor, except an explicit allowlist."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from samhand.web.middleware import PUBLIC_URL_NAMES

PROTECTED = [
    "/",
    "/organisations/",
    "/emergency/",
    "/relatives/",
    f"/patients/{uuid.uuid4()}/",
    f"/relatives/{uuid.uuid4()}/",
    f"/relatives/{uuid.uuid4()}/access-log/",
    "/admin/",
    "/admin/login/",
    "/no-such-page/",
]


@pytest.mark.parametrize("url", PROTECTED)
def test_anonymous_users_are_sent_to_the_login_page(db: Any, url: str) -> None:
    response = Client().get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


@pytest.mark.parametrize("url", ["/patients/find/", "/emergency/", "/emergency/start/",
                                 f"/patients/{uuid.uuid4()}/consents/"])
def test_anonymous_posts_are_sent_to_the_login_page_too(db: Any, url: str) -> None:
    response = Client().post(url, {"national_id": "x"})
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize("url", PROTECTED[:5])
def test_a_password_without_the_second_factor_is_not_enough(world: Any, url: str) -> None:
    client = Client()
    client.force_login(world.home_nurse_a)  # no TOTP device confirmed in the session
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_htmx_requests_are_told_to_load_the_login_page(db: Any) -> None:
    response = Client().post(f"/patients/{uuid.uuid4()}/national-id/", HTTP_HX_REQUEST="true")
    assert response.status_code == 401
    assert response["HX-Redirect"].startswith("/accounts/login/?next=")


def test_the_public_pages_open_without_login(db: Any) -> None:
    client = Client()
    assert client.get(reverse("accounts:login")).status_code == 200
    assert client.get(reverse("accounts:logout")).status_code == 200
    assert client.get(reverse("web:health")).content == b"ok"
    response = client.post(reverse("web:set_language"), {"language": "en", "next": "/"})
    assert response.status_code == 302
    assert response.cookies["django_language"].value == "en"


def test_the_allowlist_is_short_and_explicit() -> None:
    expected = {"accounts:login", "accounts:otp", "accounts:enrol", "accounts:logout",
                "web:set_language", "web:health"}
    assert expected == PUBLIC_URL_NAMES


def test_the_api_answers_for_itself_instead_of_redirecting(db: Any) -> None:
    response = Client().get("/api/v1/patients")
    assert response.status_code in {401, 403, 404}
    assert "Location" not in response


def test_verified_users_get_through(world: Any) -> None:
    client = world.login(Client(), world.home_nurse_a)
    assert client.get("/").status_code == 200
    assert client.get("/no-such-page/").status_code == 404
