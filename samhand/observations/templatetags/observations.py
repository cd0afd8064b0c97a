"""{% news2_sparkline patient %}: a small NEWS2 line for worklists and patient pages.

    {% load observations %} … {% news2_sparkline row.patient %}

The caller lists only patients the user may see (the access layer); the tag itself
applies the access layer's sharing rule (`policy.health_info_q`): sets recorded by the
other sector only with the patient's consent.
"""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from samhand.access import policy
from samhand.observations.charts import sparkline
from samhand.observations.models import VitalSign

register = template.Library()


@register.simple_tag(takes_context=True)
def news2_sparkline(context: template.Context, patient: Any, count: int = 10) -> SafeString:
    """The patient's last `count` NEWS2 totals."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return sparkline([], label="")
    qs = VitalSign.objects.filter(patient=patient, code="news2").filter(policy.health_info_q(
        user, sector_field="observation_set__organisation", self_reports=True))
    values = list(qs.order_by("-taken_at").values_list("value", flat=True)[:count])
    values.reverse()
    return sparkline(values, label=_("NEWS2, latest sets: %(values)s") % {
        "values": ", ".join(str(int(v)) for v in values)})


@register.filter
def contains(values: Any, value: Any) -> bool:
    try:
        return value in values
    except TypeError:
        return False
