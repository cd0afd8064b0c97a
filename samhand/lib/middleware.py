"""Request-wide plumbing: correlation ids for logs and error pages, a per-request
memo for look-ups that cannot change during a request, and the security headers that
Django's own settings do not cover."""

from __future__ import annotations

import contextvars
import logging
import uuid
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse

correlation_id_var: contextvars.ContextVar[str] = contextvars.ContextVar(
    "correlation_id", default="-"
)

# A dict that lives for one request (None outside a request: workers, commands, tests
# calling services directly). For look-ups asked several times per request, such as
# the user's memberships (samhand.access.policy); whoever stores something here also
# clears it when the underlying rows change.
request_memo_var: contextvars.ContextVar[dict[Any, Any] | None] = contextvars.ContextVar(
    "request_memo", default=None
)


def request_memo() -> dict[Any, Any] | None:
    """The current request's memo, or None outside a request."""
    return request_memo_var.get()


class CorrelationIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.correlation_id = correlation_id_var.get()
        return True


class CorrelationIdMiddleware:
    """Give every request an id that appears in logs, audit rows and error pages, and
    an empty request memo (`request_memo()`)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        cid = uuid.uuid4().hex
        request.correlation_id = cid  # type: ignore[attr-defined]
        token = correlation_id_var.set(cid)
        memo_token = request_memo_var.set({})
        try:
            response = self.get_response(request)
        finally:
            request_memo_var.reset(memo_token)
            correlation_id_var.reset(token)
        response["X-Correlation-ID"] = cid
        return response


class SecurityHeadersMiddleware:
    """Headers on every response, error pages included.

    Nothing samhand serves to a logged-in user may be cached by a browser or proxy:
    almost every page carries patient data, so the rule is simply no-store everywhere
    except static files (served by WhiteNoise before this runs).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response["Cache-Control"] = "no-store"
        response.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        response.setdefault("Referrer-Policy", "same-origin")
        response.setdefault("X-Content-Type-Options", "nosniff")
        return response
