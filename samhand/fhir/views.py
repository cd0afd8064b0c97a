"""The /fhir/ facade: FHIR R4 read and search over samhand's data, JSON only.

    GET  /fhir/metadata                 CapabilityStatement (public)
    GET  /fhir/<Type>/<id>              read
    GET  /fhir/<Type>?param=value       search (searchset Bundle)
    POST /fhir/<Type>/_search           search with form-encoded parameters

Authentication is the API's (samhand.api.auth): a bearer token, or a verified
session with CSRF on POST. Identifier searches belong in `POST …/_search`, which
keeps national ids out of URLs and access logs; GET with `identifier=` is answered
too, as the standard requires, and samhand itself never logs query strings.

Every error is an OperationOutcome with the right status: 400 for a malformed search,
401 without credentials, 403 for a failed CSRF check, 404 for an unknown type or an
id that does not exist or is not yours (the two look the same), 405 for an
interaction samhand does not offer, 406 for a format other than JSON, 429 past the
rate limit, 500 with a correlation id.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django.http import Http404, HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from samhand.api.auth import CsrfFailed, NotAuthenticated, RateLimited, authenticate

from . import capability, mapping
from .resources import TYPES, ResourceType
from .search import FhirError, Search, parse

logger = logging.getLogger("samhand.fhir")

CONTENT_TYPE = "application/fhir+json; charset=utf-8"
FORM = "application/x-www-form-urlencoded"
View = Callable[..., HttpResponse]


def fhir_response(resource: dict[str, Any], status: int = 200) -> HttpResponse:
    return HttpResponse(json.dumps(resource, ensure_ascii=False), status=status,
                        content_type=CONTENT_TYPE)


def operation_outcome(status: int, code: str, diagnostics: str,
                      expression: str | None = None, severity: str = "error") -> HttpResponse:
    issue: dict[str, Any] = {"severity": severity, "code": code, "diagnostics": diagnostics}
    if expression:
        issue["expression"] = [expression]
    response = fhir_response({"resourceType": "OperationOutcome", "issue": [issue]}, status)
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="samhand"'
    return response


def not_found() -> HttpResponse:
    return operation_outcome(404, "not-found", _("Resource not found."))


def _guarded(view: View, *, public: bool = False) -> View:
    """Authenticate (unless public), and turn every failure into an OperationOutcome."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            if not public:
                authenticate(request, client="fhir")
            return view(request, *args, **kwargs)
        except NotAuthenticated as exc:
            return operation_outcome(401, "login", exc.message)
        except CsrfFailed:
            return operation_outcome(403, "security", _("The CSRF token is missing or wrong. "
                                                        "Use an API token instead of the "
                                                        "session."))
        except RateLimited as exc:
            response = operation_outcome(429, "throttled",
                                         _("Too many requests. Wait a minute and try again."))
            response["Retry-After"] = str(exc.retry_after)
            return response
        except Http404:
            return not_found()
        except FhirError as exc:
            return operation_outcome(exc.status, exc.code, exc.diagnostics, exc.expression)
        except Exception:
            cid = getattr(request, "correlation_id", "-")
            logger.exception("Unhandled error in FHIR view; correlation id %s", cid)
            return operation_outcome(500, "exception", _(
                "Something went wrong on our side. Quote reference %(id)s if you contact "
                "support.") % {"id": cid})

    return csrf_exempt(wrapper)  # CSRF is checked in authenticate() for sessions


def fhir_view(view: View) -> View:
    return _guarded(view)


def public_fhir_view(view: View) -> View:
    return _guarded(view, public=True)


def _type(resource_type: str) -> ResourceType:
    handler = TYPES.get(resource_type)
    if handler is None:
        raise FhirError(404, "not-supported",
                        _("samhand does not serve the resource type '%(type)s'.")
                        % {"type": resource_type[:40]})
    return handler


def _not_allowed(request: HttpRequest) -> FhirError:
    return FhirError(405, "not-supported",
                     _("The %(method)s interaction is not supported here; samhand's FHIR "
                       "facade is read and search only.") % {"method": request.method})


def _bundle(request: HttpRequest, handler: ResourceType, search: Search, total: int,
            resources: list[dict[str, Any]]) -> dict[str, Any]:
    base = request.build_absolute_uri(reverse("fhir:type", args=[handler.name]))
    params = search.link_params()
    links = [{"relation": "self", "url": _link(base, params, search.count, search.offset)}]
    if not search.has("identifier") and search.offset + search.count < total \
            and search.count:
        links.append({"relation": "next",
                      "url": _link(base, params, search.count, search.offset + search.count)})
    if search.offset and not search.has("identifier"):
        links.append({"relation": "previous", "url": _link(
            base, params, search.count, max(0, search.offset - search.count))})
    bundle: dict[str, Any] = {
        "resourceType": "Bundle",
        "type": "searchset",
        "timestamp": mapping.instant(timezone.now()),
        "total": total,
        "link": links,
    }
    if resources:  # FHIR allows no empty arrays
        bundle["entry"] = [{"fullUrl": f"{base}/{resource['id']}", "resource": resource,
                            "search": {"mode": "match"}} for resource in resources]
    return bundle


def _link(base: str, params: list[tuple[str, str]], count: int, offset: int) -> str:
    query = [*params, ("_count", str(count))]
    if offset:
        query.append(("_offset", str(offset)))
    return f"{base}?{urlencode(query)}"


# --------------------------------------------------------------------------- views

@public_fhir_view
def metadata(request: HttpRequest) -> HttpResponse:
    if request.method not in ("GET", "HEAD"):
        raise _not_allowed(request)
    base = request.build_absolute_uri(reverse("fhir:metadata")).removesuffix("metadata")
    return fhir_response(capability.capability_statement(base, TYPES))


@fhir_view
def type_view(request: HttpRequest, resource_type: str) -> HttpResponse:
    handler = _type(resource_type)
    if request.method not in ("GET", "HEAD"):
        raise _not_allowed(request)
    search = parse(request.GET, handler.search_params)
    total, resources = handler.search(request, search)
    return fhir_response(_bundle(request, handler, search, total, resources))


@fhir_view
def search_view(request: HttpRequest, resource_type: str) -> HttpResponse:
    handler = _type(resource_type)
    if request.method != "POST":
        raise _not_allowed(request)
    if request.body and request.content_type != FORM:
        raise FhirError(415, "not-supported", _("Send search parameters as %(type)s.")
                        % {"type": FORM})
    data = request.GET.copy()
    for key, values in request.POST.lists():
        for value in values:
            data.appendlist(key, value)
    search = parse(data, handler.search_params)
    total, resources = handler.search(request, search)
    return fhir_response(_bundle(request, handler, search, total, resources))


@fhir_view
def instance_view(request: HttpRequest, resource_type: str, resource_id: str) -> HttpResponse:
    handler = _type(resource_type)
    if request.method not in ("GET", "HEAD"):
        raise _not_allowed(request)
    return fhir_response(handler.read(request, resource_id))


@fhir_view
def unknown(request: HttpRequest, rest: str = "") -> HttpResponse:
    return not_found()
