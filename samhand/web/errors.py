"""Error pages (security.md #22): translated and generic, with the request's
correlation id so that support can find the log entry; never a stack trace, never
data. They render without the database (no request context processors, no user, no
session), so they still work when the database is down."""

from __future__ import annotations

import logging

from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.utils.translation import get_language
from django.utils.translation import gettext as _

log = logging.getLogger(__name__)


def render_error(request: HttpRequest, status: int, title: str, message: str) -> HttpResponse:
    correlation_id = getattr(request, "correlation_id", "")
    context = {"status": status, "title": title, "message": message,
               "correlation_id": correlation_id, "LANGUAGE_CODE": get_language() or "nb",
               "home_url": "/"}
    try:
        body = render_to_string("web/error.html", context)
    except Exception:  # the error page must never fail: fall back to plain text
        log.exception("error page %s could not be rendered", status)
        text = f"{title}\n\n{message}\n\n{_('Reference')}: {correlation_id}\n"
        return HttpResponse(text, status=status, content_type="text/plain; charset=utf-8")
    return HttpResponse(body, status=status, content_type="text/html; charset=utf-8")


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render_error(request, 400, _("The request could not be understood"),
                        _("Something in the request was wrong. Go back and try again."))


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render_error(request, 403, _("You do not have access"),
                        _("You do not have access to this page. If you think you should, "
                          "contact your organisation's administrator."))


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render_error(request, 404, _("Page not found"),
                        _("There is no page at this address, or you do not have access to "
                          "it. Patients you have no care relation to are not shown."))


def server_error(request: HttpRequest) -> HttpResponse:
    return render_error(request, 500, _("Something went wrong"),
                        _("samhand could not complete the request. Nothing was shown or "
                          "changed. Try again in a moment; if it happens again, give the "
                          "reference below to your support team."))


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """For settings.CSRF_FAILURE_VIEW: an expired form, in the user's language."""
    return render_error(request, 403, _("The form has expired"),
                        _("The page was open too long or you were signed out. Go back, "
                          "reload the page and try again."))
