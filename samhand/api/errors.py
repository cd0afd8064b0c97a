"""Every API error is JSON of one shape, with a status that says what went wrong:

    {"error": {"code": "duplicate_patient", "message": "…", "field": "national_id"}}

* 400 — the request is malformed or invalid: a body that is not JSON
  (`malformed_body`), a body or query that does not fit the schema (`invalid`,
  `required`, `unknown_field`, with `field` and a `details` list), or a value the
  domain rejects (e.g. `national_id_check`, `unknown_organisation`). samhand does not
  use 422: schema and domain validation are both 400.
* 401 — no usable credentials (`not_authenticated`, `invalid_token`,
  `second_factor_required`), with `WWW-Authenticate: Bearer`.
* 403 — authenticated but not allowed (`csrf`, `read_only`, `no_organisation`, …).
* 404 — `not_found`: the object does not exist *or* you may not see it; the two are
  indistinguishable (security.md #3).
* 409 — a conflict with stored data (`duplicate_patient`, `already_ended`).
* 429 — `rate_limited`, with Retry-After.
* 500 — `server_error`, with a `correlation_id` to quote; no details (security.md #22).

`message` is translated into the request's language (Accept-Language; bokmål when
nothing matches).
"""

from __future__ import annotations

import logging
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from samhand.access.policy import AccessDenied
from samhand.lib.errors import DomainError

from .auth import CsrfFailed, NotAuthenticated, RateLimited

logger = logging.getLogger("samhand.api")


def error_body(code: str, message: str, field: str | None = None,
               **extra: Any) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "field": field, **extra}}


def json_error(status: int, code: str, message: str, field: str | None = None,
               **extra: Any) -> JsonResponse:
    response = JsonResponse(error_body(code, message, field, **extra), status=status,
                            content_type="application/json; charset=utf-8")
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="samhand"'
    return response


def not_found() -> JsonResponse:
    return json_error(404, "not_found", _("Not found."))


def unauthenticated(exc: NotAuthenticated | None = None) -> JsonResponse:
    if exc is None:
        return json_error(401, "not_authenticated",
                          _("Log in, or send an API token in the Authorization header."))
    return json_error(401, exc.code, exc.message)


def rate_limited(exc: RateLimited) -> JsonResponse:
    response = json_error(429, "rate_limited",
                          _("Too many requests. Wait a minute and try again."))
    response["Retry-After"] = str(exc.retry_after)
    return response


def server_error(request: HttpRequest) -> JsonResponse:
    cid = getattr(request, "correlation_id", "")
    return json_error(500, "server_error",
                      _("Something went wrong on our side. Quote reference %(id)s if you "
                        "contact support.") % {"id": cid}, correlation_id=cid)


# --------------------------------------------------------------------------- validation

def _field_of(loc: tuple[Any, ...] | list[Any]) -> str | None:
    parts = [str(p) for p in loc]
    if parts and parts[0] in {"body", "query", "path", "form", "header", "cookie"}:
        parts = parts[1:]
    if parts and parts[0] == "payload":
        parts = parts[1:]
    return ".".join(parts) or None


def _message_for(error: dict[str, Any]) -> tuple[str, str]:
    kind = error.get("type", "")
    ctx = error.get("ctx") or {}
    if kind == "missing":
        return "required", _("This field is required.")
    if kind == "extra_forbidden":
        return "unknown_field", _("Unknown field. Fields such as the organisation or the "
                                  "author are set by the server.")
    if kind == "enum":
        return "invalid", _("Choose one of: %(choices)s.") % {
            "choices": ctx.get("expected", "")}
    if kind == "literal_error":
        return "invalid", _("Choose one of: %(choices)s.") % {
            "choices": ctx.get("expected", "")}
    if kind in {"uuid_parsing", "uuid_type"}:
        return "invalid", _("This is not a valid id.")
    if kind.startswith("string_too_long"):
        return "invalid", _("The text is too long (at most %(max)s characters).") % {
            "max": ctx.get("max_length", "")}
    if kind == "string_pattern_mismatch" and r"\d{6}" in str(ctx.get("pattern", "")):
        return "national_id_in_url", _("Do not put national identity numbers in the "
                                       "address. Use POST /api/v1/patients/lookup with the "
                                       "number in the body.")
    if kind == "string_pattern_mismatch":
        return "invalid", _("The value has the wrong format.")
    if kind.startswith("string_too_short"):
        return "invalid", _("The text is too short.")
    if kind.startswith(("date", "datetime")):
        return "invalid", _("This is not a valid date or time (use ISO 8601).")
    if kind.startswith(("int", "greater_than", "less_than")):
        return "invalid", _("This is not an allowed number.")
    if kind.startswith("bool"):
        return "invalid", _("Use true or false.")
    if kind == "model_attributes_type" or kind == "dict_type":
        return "invalid", _("The request body must be a JSON object.")
    if kind.startswith(("string", "str")):
        return "invalid", _("This must be text.")
    return "invalid", _("This value is not valid.")


def validation_error(exc: ValidationError) -> JsonResponse:
    for error in exc.errors:
        if error.get("type") == "missing" and tuple(error.get("loc", ())) == ("body", "payload"):
            return json_error(400, "malformed_body",
                              _("The request body is empty. Send a JSON object."))
    details: list[dict[str, Any]] = []
    for error in exc.errors:
        code, message = _message_for(error)
        details.append({"code": code, "message": message,
                        "field": _field_of(error.get("loc", ()))})
    first: dict[str, Any] = details[0] if details else {"code": "invalid", "field": None,
                                        "message": _("The request is not valid.")}
    return json_error(400, first["code"], first["message"], first["field"], details=details)


# --------------------------------------------------------------------------- ninja

def install(api: NinjaAPI) -> None:
    """Replace ninja's default exception handlers with samhand's JSON errors."""

    def on_validation(request: HttpRequest, exc: Any) -> HttpResponse:
        return validation_error(exc)

    def on_domain(request: HttpRequest, exc: Any) -> HttpResponse:
        return json_error(exc.status, exc.code, exc.message, exc.field)

    def on_access_denied(request: HttpRequest, exc: Any) -> HttpResponse:
        return json_error(403, exc.code, exc.message)

    def on_404(request: HttpRequest, exc: Any) -> HttpResponse:
        return not_found()

    def on_not_authenticated(request: HttpRequest, exc: Any) -> HttpResponse:
        return unauthenticated(exc)

    def on_authentication(request: HttpRequest, exc: Any) -> HttpResponse:
        return unauthenticated(getattr(request, "_samhand_auth_problem", None))

    def on_csrf(request: HttpRequest, exc: Any) -> HttpResponse:
        return json_error(403, "csrf", _("The CSRF token is missing or wrong. Reload the "
                                         "page, or use an API token instead of the session."))

    def on_rate(request: HttpRequest, exc: Any) -> HttpResponse:
        return rate_limited(exc)

    def on_http_error(request: HttpRequest, exc: Any) -> HttpResponse:
        if exc.status_code == 400 and exc.__cause__ is not None:
            return json_error(400, "malformed_body",
                              _("The request body is not valid JSON."))
        if exc.status_code == 405:
            return json_error(405, "method_not_allowed", _("Method not allowed."))
        return json_error(exc.status_code, "error", _("The request could not be handled."))

    def on_exception(request: HttpRequest, exc: Any) -> HttpResponse:
        logger.exception("Unhandled error in API view; correlation id %s",
                         getattr(request, "correlation_id", "-"))
        return server_error(request)

    api.add_exception_handler(Exception, on_exception)
    api.add_exception_handler(HttpError, on_http_error)
    api.add_exception_handler(AuthenticationError, on_authentication)
    api.add_exception_handler(ValidationError, on_validation)
    api.add_exception_handler(DomainError, on_domain)
    api.add_exception_handler(AccessDenied, on_access_denied)
    api.add_exception_handler(Http404, on_404)
    api.add_exception_handler(NotAuthenticated, on_not_authenticated)
    api.add_exception_handler(CsrfFailed, on_csrf)
    api.add_exception_handler(RateLimited, on_rate)


def unknown_route(request: HttpRequest, rest: str = "") -> HttpResponse:
    """Any other address under /api/: 401 without credentials, else JSON 404."""
    from .auth import authenticate

    try:
        authenticate(request, client="api")
    except NotAuthenticated as exc:
        return unauthenticated(exc)
    except CsrfFailed:
        return json_error(403, "csrf", _("The CSRF token is missing or wrong."))
    except RateLimited as exc:
        return rate_limited(exc)
    return not_found()
