"""The organisation directory: hospitals and their departments, municipalities and
their units, GP offices and suppliers, with identifiers and 24-hour numbers.
No patient data."""

from __future__ import annotations

from typing import Any

from django.core.paginator import Paginator
from django.db.models import Prefetch, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from samhand.orgs.models import Organisation

K = Organisation.Kind
SECTIONS = [
    ("hospitals", _("Hospitals"), [K.HOSPITAL]),
    ("municipalities", _("Municipalities"), [K.MUNICIPALITY]),
    ("gp_offices", _("GP offices"), [K.GP_OFFICE]),
    ("suppliers", _("Suppliers"), [K.SUPPLIER]),
]
TOP_PAGE_SIZE = 20


def _children() -> Prefetch[Any]:
    grandchildren = Prefetch("children", queryset=Organisation.objects.filter(is_active=True)
                             .order_by("name"))
    return Prefetch("children", queryset=Organisation.objects.filter(is_active=True)
                    .prefetch_related(grandchildren).order_by("kind", "name"))


@require_GET
def organisations(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()[:100]
    context: dict[str, Any] = {"nav": "organisations", "query": query}
    if query:
        matches = (Organisation.objects.filter(is_active=True)
                   .filter(Q(name__icontains=query) | Q(org_number=query) | Q(her_id=query)
                           | Q(sor_id=query) | Q(city__icontains=query))
                   .select_related("parent__parent").order_by("name"))
        page = Paginator(matches, 50).get_page(request.GET.get("page"))
        context.update({"results": page, "result_count": page.paginator.count})
        return render(request, "web/organisations.html", context)
    # The hierarchy: top-level organisations of each kind with their units below.
    # GP offices placed under a municipality appear there; listed again at top level.
    sections = []
    for key, title, kinds in SECTIONS:
        qs = Organisation.objects.filter(is_active=True, kind__in=kinds)
        if key != "gp_offices":
            qs = qs.filter(parent__isnull=True)
        qs = qs.select_related("parent").prefetch_related(_children()).order_by("name")
        page = Paginator(qs, TOP_PAGE_SIZE).get_page(request.GET.get(f"{key}_page"))
        sections.append({"key": key, "title": title, "page": page})
    context["sections"] = sections
    return render(request, "web/organisations.html", context)
