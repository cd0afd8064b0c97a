"""Who is calling the API or the FHIR facade, and whether they may call again now.

Two ways in, never mixed:

* **Bearer token** (`Authorization: Bearer shk_…`): machine clients. When the header is
  present it alone decides: a bad token is 401 even if the request also carries a
  valid session cookie, so cookie authentication can never ride along on a token
  request and token endpoints need no CSRF exemption (security.md #19).
* **Session** (the browser, e.g. the interactive docs): the Django session of a user
  who has confirmed the second factor (`request.user.is_verified()`); unsafe methods
  need the CSRF token, exactly as on the web pages.

Every authenticated call counts against a per-user budget of
`SAMHAND_API_RATE_PER_MINUTE` calls per minute (API and FHIR together); past it the
caller gets 429 with Retry-After, and the refusal is logged (security.md #15).
The budget is counted in the database (RateCount, one UPSERT a call), shared by every
worker process.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja.security import APIKeyCookie, HttpBearer

from .models import TOKEN_PREFIX, ApiToken, RateCount, hash_token

logger = logging.getLogger("samhand.api")

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
# How often last_used_at is written for a busy token.
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)


class NotAuthenticated(Exception):
    """401: no usable credentials. `message` is translated."""

    def __init__(self, message: str, code: str = "not_authenticated") -> None:
        super().__init__(message)
        self.message = message
        self.code = code


class CsrfFailed(Exception):
    """403: a session request that changes state came without a valid CSRF token."""


class RateLimited(Exception):
    """429: the user spent this minute's budget."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(retry_after)
        self.retry_after = retry_after


@dataclass(frozen=True)
class Caller:
    user: Any
    method: str  # "token" or "session"
    token: ApiToken | None = None


# --------------------------------------------------------------------------- pieces

def user_for_token(raw: str) -> tuple[Any, ApiToken] | None:
    """The active user behind a bearer token, or None. Updates last_used_at (coarsely)."""
    raw = raw.strip()
    if not raw.startswith(TOKEN_PREFIX) or len(raw) > 200:
        return None
    now = timezone.now()
    token = _usable_token(hash_token(raw), now)
    if token is None:
        return None
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user, token


# ApiToken.objects.usable().select_related("user").filter(digest=...) written out: it
# runs on every API request, and the ORM's compiling of it cost more CPU than the
# statement (bench/observations_bench.py). A test compares the two.
_USER_BY_DIGEST_SQL = (
    "SELECT u.*, t.id AS token_pk, t.last_used_at AS token_last_used_at"
    " FROM samhand_api_apitoken t JOIN accounts_user u ON u.id = t.user_id"
    " WHERE t.digest = %s AND t.revoked_at IS NULL AND t.expires_at > %s AND u.is_active")


def _usable_token(digest: str, now: dt.datetime) -> ApiToken | None:
    """The usable token with this digest, its user loaded (only id, user and
    last_used_at are read from the token)."""
    from django.contrib.auth import get_user_model
    from django.db import connection

    stamp = ApiToken._meta.get_field("expires_at").get_db_prep_value(now, connection)
    user = next(iter(get_user_model().objects.raw(_USER_BY_DIGEST_SQL, [digest, stamp])), None)
    if user is None:
        return None
    extra: Any = user  # the statement's own columns
    token = ApiToken(pk=ApiToken._meta.pk.to_python(extra.token_pk), user=user,
                     digest=digest, last_used_at=_as_datetime(extra.token_last_used_at))
    token._state.adding = False
    return token


def _as_datetime(value: Any) -> dt.datetime | None:
    """A timestamp as read by a raw statement (SQLite gives it naive, in UTC)."""
    from django.utils.dateparse import parse_datetime

    if value is not None and not isinstance(value, dt.datetime):
        value = parse_datetime(str(value))
    if value is not None and timezone.is_naive(value):
        value = timezone.make_aware(value, dt.UTC)
    return value


def _second_factor_ok(user: Any) -> bool:
    if not getattr(settings, "SAMHAND_REQUIRE_OTP", True):
        return True
    is_verified = getattr(user, "is_verified", None)
    return bool(is_verified and is_verified())


def _csrf_ok(request: HttpRequest) -> bool:
    if request.method in SAFE_METHODS:
        return True
    middleware = CsrfViewMiddleware(_no_view)
    request.csrf_processing_done = False  # type: ignore[attr-defined]
    middleware.process_request(request)
    return middleware.process_view(request, _no_view, (), {}) is None


def _no_view(request: HttpRequest) -> HttpResponse:  # pragma: no cover - never called
    raise AssertionError("CSRF check only")


# The table is RateCount's (a test checks the name): fixed text, only values as parameters.
RATE_UPSERT = (
    'INSERT INTO "samhand_api_ratecount" (user_id, minute, calls) VALUES (%s, %s, 1) '
    'ON CONFLICT (user_id, minute) DO UPDATE SET calls = "samhand_api_ratecount".calls + 1 '
    "RETURNING calls")


def count_call(user_id: Any, minute: int) -> int:
    """Count one call and return the minute's count so far: one statement, atomic in
    the shared database (concurrent callers queue on the row and each gets its own
    number), so the budget holds however many worker processes run."""
    from django.db import connection

    with connection.cursor() as cursor:
        stored_id = RateCount._meta.get_field("user_id").get_db_prep_value(
            user_id, connection)
        cursor.execute(RATE_UPSERT, [stored_id, minute])
        (calls,) = cursor.fetchone()
    if calls == 1:  # the user's first call this minute: forget older minutes
        RateCount.objects.filter(user_id=user_id, minute__lt=minute - 1).delete()
    return int(calls)


def check_rate(user: Any) -> None:
    """Count one call for `user` in the current minute; RateLimited past the budget."""
    limit = settings.SAMHAND_API_RATE_PER_MINUTE
    if limit <= 0:
        return
    now = time.time()
    count = count_call(user.pk, int(now // 60))
    if count > limit:
        retry_after = max(1, 60 - int(now % 60))
        if count == limit + 1 or count % 100 == 0:
            logger.warning("API rate limit reached: user=%s limit=%s/min", user.pk, limit)
        raise RateLimited(retry_after)


def bearer_caller(request: HttpRequest, header: str) -> Caller:
    scheme, _sep, raw = header.partition(" ")
    if scheme.lower() != "bearer" or not raw.strip():
        raise NotAuthenticated(_("Use an Authorization header of the form 'Bearer <token>'."),
                               "bad_authorization_header")
    found = user_for_token(raw)
    if found is None:
        logger.info("API token rejected (unknown, expired or revoked)")
        raise NotAuthenticated(_("The API token is unknown, expired or revoked."),
                               "invalid_token")
    user, token = found
    request.user = user
    return Caller(user, "token", token)


def session_caller(request: HttpRequest) -> Caller | None:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not user.is_active:
        return None
    if not _second_factor_ok(user):
        request._samhand_auth_problem = NotAuthenticated(  # type: ignore[attr-defined]
            _("Confirm your second factor (one-time code) before using the API."),
            "second_factor_required")
        return None
    if not _csrf_ok(request):
        raise CsrfFailed
    return Caller(user, "session")


def _settle(request: HttpRequest, caller: Caller, client: str) -> Caller:
    """Count the call, remember the caller, and give the audit actor the token's id
    (the AuditEvent's `agent.policy`, BALP OAUTHaccessTokenUse)."""
    check_rate(caller.user)
    request.samhand_caller = caller  # type: ignore[attr-defined]
    if caller.token is not None:
        from samhand.access.policy import actor_for

        actor_for(request, client).token_jti = str(caller.token.pk)
    return caller


def authenticate(request: HttpRequest, client: str = "fhir") -> Caller:
    """The caller of a plain Django view (the FHIR facade): bearer or session, rate-checked.

    Raises NotAuthenticated, CsrfFailed or RateLimited.
    """
    header = request.headers.get("Authorization")
    if header is not None:
        caller = bearer_caller(request, header)
    else:
        found = session_caller(request)
        if found is None:
            raise getattr(request, "_samhand_auth_problem", None) or NotAuthenticated(
                _("Log in, or send an API token in the Authorization header."))
        caller = found
    return _settle(request, caller, client)


# --------------------------------------------------------------------------- ninja

class BearerAuth(HttpBearer):
    """API token in the Authorization header (OpenAPI security scheme `BearerAuth`)."""

    def __call__(self, request: HttpRequest) -> Any:
        header = request.headers.get("Authorization")
        if header is None:
            return None
        return _settle(request, bearer_caller(request, header), "api").user

    def authenticate(self, request: HttpRequest, token: str) -> Any:  # pragma: no cover
        raise NotImplementedError  # __call__ does the work


class SessionAuth(APIKeyCookie):
    """The browser session, second factor confirmed, CSRF on unsafe methods."""

    param_name = settings.SESSION_COOKIE_NAME

    def __init__(self) -> None:
        super().__init__(csrf=True)

    def __call__(self, request: HttpRequest) -> Any:
        if "Authorization" in request.headers:
            return None  # the bearer scheme decides alone
        caller = session_caller(request)
        if caller is None:
            return None
        return _settle(request, caller, "api").user

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:  # pragma: no cover
        raise NotImplementedError  # __call__ does the work
