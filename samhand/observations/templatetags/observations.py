"""{% news2_sparkline patient %}: a small NEWS2 line for worklists and patient pages.

    {% load observations %} … {% news2_sparkline row.patient %}

The caller lists only patients the user may see (the access layer); the tag itself
leaves out sets recorded by the other sector unless the patient consents to sharing.
"""

from __future__ import annotations

from typing import Any

from django import template
from django.db.models import Q
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from samhand.access import policy
from samhand.observations.access import sector_q
from samhand.observations.charts import sparkline
from samhand.observations.models import VitalSign
from samhand.patients.models import Consent

register = template.Library()


def _sectors(context: template.Context) -> set[str]:
    request = context.get("request")
    if request is None:
        return set()
    cached = getattr(request, "_samhand_obs_sectors", None)
    if cached is None:
        cached = policy.sector_of_user(request.user)
        request._samhand_obs_sectors = cached
    return set(cached)


@register.simple_tag(takes_context=True)
def news2_sparkline(context: template.Context, patient: Any, count: int = 10) -> SafeString:
    """The patient's last `count` NEWS2 totals."""
    qs = VitalSign.objects.filter(patient=patient, code="news2")
    if not Consent.objects.active_for(patient, Consent.Scope.SHARE_HEALTH_INFO):
        own = Q(observation_set__organisation__isnull=True)
        for sector in _sectors(context):
            own |= sector_q(sector, "observation_set__")
        qs = qs.filter(own)
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
