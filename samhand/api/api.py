"""The API v1 instance: auth, error handlers, routers, and the docs page.

Schema: /api/v1/openapi.json. Interactive docs: /api/v1/docs (Swagger UI, vendored
under static/api/vendor/swagger-ui, started by a static script so that the CSP
needs no inline script). Both are public: they describe the API, not its data.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from ninja import NinjaAPI
from ninja.openapi.docs import DocsBase

from . import errors
from .auth import BearerAuth, SessionAuth
from .views import directory, patients

DESCRIPTION = """
samhand's REST API for care across sectors (hospital, municipality, GP).

**Authentication.** Either a bearer token (`Authorization: Bearer shk_…`, created by an
operator with `samhand api-token create USERNAME`), or the browser session of a user
who has confirmed the second factor. When an Authorization header is sent, it alone
decides: the session cookie is ignored. Session requests that change data need the
CSRF token (`X-CSRFToken`). Every caller has a budget of requests per minute; past it
the answer is 429 with `Retry-After`.

**Access.** You see a patient while an organisation you work in is on the patient's
active care team. Anything else answers 404, exactly like an id that does not exist.
Every read and write is recorded in the audit log.

**National identity numbers never go in URLs.** Look a patient up with
`POST /api/v1/patients/lookup` and the number in the JSON body.

**Errors** are JSON: `{"error": {"code": ..., "message": ..., "field": ...}}`.
400 for malformed JSON, schema and domain validation (422 is not used), 401 without
usable credentials, 403 when not allowed (including a missing CSRF token), 404 for
what does not exist or is not yours, 409 for conflicts such as a duplicate patient,
429 past the rate limit, 500 with a `correlation_id` to quote. Messages follow
`Accept-Language` (nb, en, da; bokmål by default).
"""


class LocalSwagger(DocsBase):
    """Swagger UI from samhand's own static files: no CDN, no inline script."""

    def __init__(self, settings: dict[str, Any] | None = None) -> None:
        # deepLinking off: its anchors inside the operation buttons are nested
        # interactive controls (axe: nested-interactive).
        self.settings = {"layout": "BaseLayout", "deepLinking": False, **(settings or {})}

    def render_page(self, request: HttpRequest, api: NinjaAPI, **kwargs: Any) -> HttpResponse:
        settings = {**self.settings, "url": self.get_openapi_url(api, kwargs)}
        # The template writes the settings with |json_script (escaped, type JSON).
        return render(request, "api/docs.html", {"api": api, "swagger_settings": settings})


def _with_charset(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """The schema is served by a JsonResponse without a charset (security.md #18)."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = view(request, *args, **kwargs)
        if response.get("Content-Type") == "application/json":
            response["Content-Type"] = "application/json; charset=utf-8"
        return response

    return wrapper


api = NinjaAPI(
    title="samhand API",
    version="1",
    description=DESCRIPTION,
    urls_namespace="api:v1",  # nested in samhand/api/urls.py's app_name
    auth=[BearerAuth(), SessionAuth()],
    docs=LocalSwagger(),
    docs_url="/docs",
    docs_decorator=_with_charset,
    openapi_url="/openapi.json",
)
errors.install(api)
api.add_router("/", directory)
api.add_router("/", patients)
# Each later app brings its own router (samhand/<app>/api.py).
for _app in ("alerts", "pathways", "plans", "observations", "messaging"):
    api.add_router("/", f"samhand.{_app}.api.router")
