from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_safe


@require_safe
def health(request: HttpRequest) -> HttpResponse:
    """Public liveness check: says "ok" and nothing else (no database, no data)."""
    return HttpResponse("ok", content_type="text/plain; charset=utf-8")
