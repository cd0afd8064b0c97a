"""Absolute session lifetime on top of Django's idle timeout (security.md #14)."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse
from django.utils import timezone


class SessionLifetimeMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            login_at = request.session.get("samhand_login_at")
            limit = settings.SAMHAND_SESSION_ABSOLUTE_SECONDS
            if login_at is None or timezone.now().timestamp() - float(login_at) > limit:
                logout(request)
        return self.get_response(request)
