"""Error pages (security.md #22): generic, translated, with the correlation id, never
data or a stack trace, with the security headers, and without the database."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from django.test import Client, RequestFactory
from django.utils import translation

from samhand.web import errors

from .helpers import as_user, text


def test_404_is_generic_and_carries_the_correlation_id(world: Any) -> None:
    response = as_user(world, world.home_nurse_a).get("/no-such-page/")

    assert response.status_code == 404
    assert response["X-Correlation-ID"] in text(response)
    assert "Page not found" in text(response)
    assert response["Cache-Control"] == "no-store"
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]
    assert response["Content-Type"] == "text/html; charset=utf-8"


def test_an_exception_in_a_view_gives_a_generic_500_without_data(
        world: Any, monkeypatch: Any, caplog: Any) -> None:
    from samhand.web.views import patients

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("SELECT secret FROM patients_patient")

    monkeypatch.setattr(patients.policy, "get_patient_for", broken)
    client = world.login(Client(raise_request_exception=False), world.home_nurse_a)
    client.cookies["django_language"] = "en"

    with caplog.at_level(logging.ERROR):
        response = client.get(f"/patients/{world.patient_a.pk}/")

    assert response.status_code == 500
    body = text(response)
    assert "Something went wrong" in body
    assert response["X-Correlation-ID"] in body
    for leak in ("SELECT", "Traceback", "RuntimeError", "Astrid", world.patient_a.national_id):
        assert leak not in body
    assert response["Cache-Control"] == "no-store"


@pytest.mark.parametrize("handler,status", [
    (errors.bad_request, 400), (errors.permission_denied, 403),
    (errors.page_not_found, 404), (errors.csrf_failure, 403)])
def test_error_pages_render_without_the_database(db: Any, django_assert_num_queries: Any,
                                                 handler: Any, status: int) -> None:
    request = RequestFactory().get("/x")
    request.correlation_id = "abc123"  # type: ignore[attr-defined]
    with django_assert_num_queries(0):
        response = handler(request, None)
    assert response.status_code == status
    assert "abc123" in text(response)


def test_the_500_page_renders_without_the_database(db: Any,
                                                   django_assert_num_queries: Any) -> None:
    request = RequestFactory().get("/x")
    request.correlation_id = "c0ffee"  # type: ignore[attr-defined]
    with django_assert_num_queries(0):
        response = errors.server_error(request)
    assert response.status_code == 500
    assert "c0ffee" in text(response)


def test_error_pages_are_translated() -> None:
    request = RequestFactory().get("/x")
    with translation.override("nb"):
        response = errors.page_not_found(request)
    assert 'lang="nb"' in text(response)
    assert "Fant ikke siden" in text(response)


def test_a_form_without_its_csrf_token_gets_the_translated_expired_page(world: Any) -> None:
    client = world.login(Client(enforce_csrf_checks=True), world.home_nurse_a)
    client.cookies["django_language"] = "nb"
    response = client.post("/patients/find/", {"national_id": world.patient_a.national_id})
    assert response.status_code == 403
    assert "Skjemaet er utløpt" in text(response)
    assert response["X-Correlation-ID"] in text(response)
