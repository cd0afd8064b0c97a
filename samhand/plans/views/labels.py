"""Readable labels for the fields of a plan's content (the compare view)."""

from __future__ import annotations

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

LABELS = {
    "summary": gettext_lazy("About me"),
    "goals": gettext_lazy("Goal"),
    "measures": gettext_lazy("Measure"),
    "contacts": gettext_lazy("Contact"),
    "revision": gettext_lazy("Revision"),
    "text": gettext_lazy("text"),
    "party": gettext_lazy("carried by"),
    "service": gettext_lazy("service"),
    "name": gettext_lazy("name"),
    "role": gettext_lazy("role"),
    "phone": gettext_lazy("phone"),
    "around_the_clock": gettext_lazy("24 h"),
    "confirmed_on": gettext_lazy("last confirmed"),
    "every_months": gettext_lazy("every (months)"),
    "next_on": gettext_lazy("next"),
}


def field_label(path: str) -> str:
    """'measures.2.service' → 'Measure 2: service'."""
    parts = path.split(".")
    head = str(LABELS.get(parts[0], parts[0]))
    rest = parts[1:]
    if rest and rest[0].isdigit():
        head = f"{head} {rest[0]}"
        rest = rest[1:]
    if rest:
        return _("%(head)s: %(field)s") % {"head": head,
                                           "field": str(LABELS.get(rest[-1], rest[-1]))}
    return head
