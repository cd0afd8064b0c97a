"""Login in two steps: password, then a TOTP code (security.md #14-#16).

1. `login_view` checks the password through `authenticate()`, which runs django-axes
   first: after AXES_FAILURE_LIMIT failures per username or per IP address the account
   is locked (even for the right password) and AxesMiddleware answers with
   `accounts/locked_out.html`. A correct password does *not* log the user in: it only
   remembers, for five minutes, who is half-way through.
2. `otp_view` asks for the six-digit code and verifies it against the user's confirmed
   TOTP device. django-otp refuses a code that was already used (`last_t`) and slows
   down guessing (throttling); every wrong code also counts as a failed login for
   django-axes. Only then is the user logged in: Django rotates the session id, and
   django-otp marks the session as verified.
   A user without a confirmed device is sent to `enrol_view` first, which shows the
   secret as text and as a QR code, and confirms it with a first code.

Every other page requires the full login; see samhand/web/middleware.py.
"""

from __future__ import annotations

import base64
import io
import time
from typing import Any

import segno
from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_lockout_response
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import authenticate, login, logout
from django.contrib.auth.signals import user_login_failed
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from samhand.web.middleware import is_fully_authenticated

from .forms import CodeForm, LoginForm
from .models import User

PENDING_KEY = "samhand_pending_login"
PENDING_SECONDS = 5 * 60


# --------------------------------------------------------------------------- helpers

def _safe_next(request: HttpRequest, value: str | None) -> str:
    if value and url_has_allowed_host_and_scheme(
            value, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return value
    return reverse(settings.LOGIN_REDIRECT_URL)


def _pending(request: HttpRequest) -> tuple[User, dict[str, Any]] | None:
    """The user half-way through logging in (password checked, code not yet)."""
    data = request.session.get(PENDING_KEY)
    if not isinstance(data, dict):
        return None
    if time.time() - float(data.get("at", 0)) > PENDING_SECONDS:
        request.session.pop(PENDING_KEY, None)
        return None
    user = User.objects.filter(pk=str(data.get("user")), is_active=True).first()
    if user is None:
        request.session.pop(PENDING_KEY, None)
        return None
    return user, data


def _confirmed_device(user: User) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).order_by("id").first()


def _locked(request: HttpRequest, user: User) -> HttpResponse | None:
    credentials = {"username": user.get_username()}
    if AxesProxyHandler.is_locked(request, credentials):
        return get_lockout_response(request, None, credentials)
    return None


def _code_failed(request: HttpRequest, user: User) -> None:
    """A wrong code counts as a failed login for django-axes (per username and IP)."""
    user_login_failed.send(sender=__name__, credentials={"username": user.get_username()},
                           request=request)


def _throttled_message(device: TOTPDevice) -> str | None:
    allowed, data = device.verify_is_allowed()
    if allowed:
        return None
    until = (data or {}).get("locked_until")
    if until is not None:
        local = timezone.localtime(until)
        return _("Too many wrong codes. Wait until %(time)s and try again.") % {
            "time": formats.time_format(local, "H:i:s")}
    return _("Too many wrong codes. Wait a moment and try again.")


def _code_accepted(request: HttpRequest, user: User, device: TOTPDevice, form: CodeForm,
                   wrong: str) -> bool:
    """A posted code, checked against the device's throttling; a wrong one counts as a
    failed login (django-axes) and is shown on the form with `wrong`."""
    if request.method != "POST" or not form.is_valid():
        return False
    throttled = _throttled_message(device)
    if throttled:
        form.add_error("code", throttled)
        return False
    if device.verify_token(form.cleaned_data["code"]):
        return True
    _code_failed(request, user)
    form.add_error("code", wrong)
    return False


def _finish_login(request: HttpRequest, user: User, device: TOTPDevice | None,
                  data: dict[str, Any]) -> HttpResponse:
    if device is not None:
        user.otp_device = device  # type: ignore[attr-defined]
    # login() rotates the session id (cycle_key) and fires user_logged_in, which
    # records the session for "end all sessions" and resets django-axes' counter.
    login(request, user, backend=data.get("backend") or settings.AUTHENTICATION_BACKENDS[-1])
    if device is not None:
        otp_login(request, device)
    request.session.pop(PENDING_KEY, None)
    response = HttpResponseRedirect(_safe_next(request, data.get("next")))
    if user.preferred_language:
        response.set_cookie(settings.LANGUAGE_COOKIE_NAME, user.preferred_language,
                            samesite="Lax", secure=settings.SESSION_COOKIE_SECURE)
    return response


# --------------------------------------------------------------------------- views

@sensitive_post_parameters("password")
@csrf_protect
@never_cache
def login_view(request: HttpRequest) -> HttpResponse:
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    if is_fully_authenticated(request):
        return redirect(_safe_next(request, next_url))
    form = LoginForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = authenticate(request, username=form.cleaned_data["username"],
                            password=form.cleaned_data["password"])
        if user is None:
            # Same words for an unknown user, a wrong password and a locked account
            # (a locked account is answered by django-axes' lockout page instead).
            form.add_error(None, _("Wrong username or password."))
        else:
            request.session.cycle_key()
            data = {"user": str(user.pk), "at": time.time(), "next": next_url,
                    "backend": getattr(user, "backend", "")}
            request.session[PENDING_KEY] = data
            if not settings.SAMHAND_REQUIRE_OTP:
                return _finish_login(request, user, None, data)
            if _confirmed_device(user) is None:
                return redirect("accounts:enrol")
            return redirect("accounts:otp")
    status = 400 if request.method == "POST" else 200
    return render(request, "accounts/login.html", {"form": form, "next": next_url},
                  status=status)


@csrf_protect
@never_cache
def otp_view(request: HttpRequest) -> HttpResponse:
    pending = _pending(request)
    if pending is None:
        messages.info(request, _("Your sign-in timed out. Start again."))
        return redirect("accounts:login")
    user, data = pending
    device = _confirmed_device(user)
    if device is None:
        return redirect("accounts:enrol")
    locked = _locked(request, user)
    if locked is not None:
        return locked
    form = CodeForm(request.POST or None)
    if _code_accepted(request, user, device, form, _(
            "The code is wrong or has already been used. Wait for a new code in the app "
            "and try again.")):
        return _finish_login(request, user, device, data)
    status = 400 if request.method == "POST" else 200
    return render(request, "accounts/otp.html", {"form": form, "pending_user": user},
                  status=status)


@csrf_protect
@never_cache
def enrol_view(request: HttpRequest) -> HttpResponse:
    """First login: set up the authenticator app and confirm it with a first code."""
    pending = _pending(request)
    if pending is None:
        messages.info(request, _("Your sign-in timed out. Start again."))
        return redirect("accounts:login")
    user, data = pending
    if _confirmed_device(user) is not None:
        return redirect("accounts:otp")
    locked = _locked(request, user)
    if locked is not None:
        return locked
    if not settings.SAMHAND_OTP_SELF_ENROLMENT:
        # In production an operator sets up the second factor (`samhand otp-enrol`), so
        # that a stolen password alone can never bind an attacker's authenticator.
        return render(request, "accounts/enrol_closed.html", {"pending_user": user},
                      status=403)
    device = (TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-id").first()
              or TOTPDevice.objects.create(user=user, name="samhand", confirmed=False))
    form = CodeForm(request.POST or None)
    if _code_accepted(request, user, device, form, _(
            "The code is wrong. Check that the app shows samhand and try the newest code.")):
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        TOTPDevice.objects.filter(user=user, confirmed=False).delete()
        return _finish_login(request, user, device, data)
    secret = base64.b32encode(device.bin_key).decode()
    status = 400 if request.method == "POST" else 200
    return render(request, "accounts/enrol.html", {
        "form": form, "pending_user": user,
        "secret_groups": [secret[i:i + 4] for i in range(0, len(secret), 4)],
        "qr_data_uri": qr_data_uri(device.config_url),
    }, status=status)


def qr_data_uri(text: str) -> str:
    """An SVG QR code as a data: URI (allowed by the CSP's img-src data:)."""
    buffer = io.BytesIO()
    segno.make(text, error="m").save(buffer, kind="svg", scale=6, border=3,
                                     dark="#000000", light="#ffffff", xmldecl=False)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode()


@csrf_protect
@never_cache
def logout_view(request: HttpRequest) -> HttpResponse:
    """POST ends the server-side session; GET asks first (GET never changes state)."""
    if request.method == "POST":
        logout(request)
        messages.success(request, _("You are signed out."))
        return redirect("accounts:login")
    return render(request, "accounts/logout.html")
