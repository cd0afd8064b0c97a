"""Session lifetime (security.md #14): an idle timeout and an absolute lifetime.

The idle timeout is SESSION_COOKIE_AGE. Instead of writing the session to the
database on every request (SESSION_SAVE_EVERY_REQUEST), the session records when it
was last seen and is written again only when that is more than a minute old: a busy
page costs no session UPDATE, and an idle session still ends on time (at most a
minute early, never late).
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

SEEN_KEY = "samhand_seen_at"
REFRESH_SECONDS = 60


class SessionLifetimeMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            now = timezone.now().timestamp()
            session = request.session
            login_at = session.get("samhand_login_at")
            seen_at = float(session.get(SEEN_KEY, login_at or 0))
            if (login_at is None
                    or now - float(login_at) > settings.SAMHAND_SESSION_ABSOLUTE_SECONDS
                    or now - seen_at > settings.SESSION_COOKIE_AGE):
                logout(request)
            elif now - seen_at > REFRESH_SECONDS or SEEN_KEY not in session:
                session[SEEN_KEY] = now  # marks the session modified: saved, expiry renewed
        return self.get_response(request)
