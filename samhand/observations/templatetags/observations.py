"""{% news2_sparkline patient %}: a small NEWS2 line for worklists and patient pages."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from samhand.observations.charts import sparkline
from samhand.observations.models import VitalSign

register = template.Library()


@register.simple_tag
def news2_sparkline(patient: Any, count: int = 10) -> SafeString:
    """The patient's last `count` NEWS2 totals (the caller has checked access)."""
    values = list(VitalSign.objects.filter(patient=patient, code="news2")
                  .order_by("-taken_at").values_list("value", flat=True)[:count])
    values.reverse()
    return sparkline(values, label=_("NEWS2, latest sets: %(values)s") % {
        "values": ", ".join(str(int(v)) for v in values)})


@register.filter
def contains(values: Any, value: Any) -> bool:
    try:
        return value in values
    except TypeError:
        return False
