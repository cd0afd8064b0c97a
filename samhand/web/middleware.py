"""Default deny for every page (security.md #1): one middleware, one allowlist.

Every request needs a logged-in user who has confirmed the second factor
(`request.user.is_verified()`, from django-otp's OTPMiddleware), except the URL names
on PUBLIC_URL_NAMES below. A new page is therefore protected without anyone
remembering a decorator.

The REST API and the FHIR facade (URL namespaces `api` and `fhir`) authenticate each
request themselves (bearer token, or a verified session) and answer 401 as JSON, so
they are passed through here; their route walk checks them.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import Resolver404, resolve, reverse

# Pages anyone may open: the login steps, logout, the language switch, the health check.
PUBLIC_URL_NAMES = frozenset({
    "accounts:login",
    "accounts:otp",
    "accounts:enrol",
    "accounts:logout",
    "web:set_language",
    "web:health",
})

# Namespaces whose views authenticate every request themselves (JSON 401, not a redirect).
SELF_AUTHENTICATING_NAMESPACES = frozenset({"api", "fhir"})
# Single views that authenticate every request themselves (system-to-system, bearer).
SELF_AUTHENTICATING_URL_NAMES = frozenset({"messaging:process_message"})


def is_fully_authenticated(request: HttpRequest) -> bool:
    """Logged in, active, and (unless switched off) the second factor confirmed."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    if not settings.SAMHAND_REQUIRE_OTP:
        return True
    is_verified = getattr(user, "is_verified", None)
    return bool(is_verified and is_verified())


class LoginRequiredMiddleware:
    """Redirect to the login page unless the page is public or the user is verified.

    Must sit after AuthenticationMiddleware, OTPMiddleware and the session lifetime
    middleware (so that an expired session already counts as logged out).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if self._is_public(request) or is_fully_authenticated(request):
            return self.get_response(request)
        login_url = reverse("accounts:login")
        target = f"{login_url}?{urlencode({'next': request.get_full_path()})}"
        if request.headers.get("HX-Request") == "true":
            # htmx follows HX-Redirect with a full page load to the login page.
            response = HttpResponse(status=401)
            response["HX-Redirect"] = target
            return response
        return HttpResponseRedirect(target)

    @staticmethod
    def _is_public(request: HttpRequest) -> bool:
        try:
            match = resolve(request.path_info)
        except Resolver404:
            # Unknown paths are not public: anonymous users go to the login page and
            # learn nothing about which URLs exist.
            return False
        if match.namespaces and match.namespaces[0] in SELF_AUTHENTICATING_NAMESPACES:
            return True
        return match.view_name in PUBLIC_URL_NAMES | SELF_AUTHENTICATING_URL_NAMES
