"""Which of a patient's observation sets and ISBAR summaries the caller may see: the
sharing rule of the access layer (samhand.access.policy.health_info_q) on the row's
recording organisation. Sets with no recording organisation are the patient's own
reports and are shown to the care team. As queryset filters, so that lists, trends
and FHIR searches stay one query.
"""

from __future__ import annotations

from django.db.models import Q

from samhand.access import policy
from samhand.access.policy import Grant
from samhand.patients.models import Patient


def sector_q(sector: str, prefix: str = "") -> Q:
    """Rows (ObservationSet, or with a prefix a related model) recorded in `sector`."""
    return policy.sector_q(sector, f"{prefix}organisation")


def visible_sets_q(patient: Patient, grant: Grant, prefix: str = "") -> Q:
    """A filter on ObservationSet (or, with prefix "observation_set__", on VitalSign)."""
    shown = policy.health_info_q(grant, patient=patient, sector_field="organisation",
                                 self_reports=True)
    if shown == Q() or shown == Q(pk__in=[]):
        return shown
    from .models import ObservationSet

    # Most patients have only sets from one sector; then no filter (and no join) is
    # needed. One small query over the patient's sets decides.
    if not ObservationSet.objects.filter(patient=patient).exclude(shown).exists():
        return Q()
    return policy.health_info_q(grant, patient=patient, consent=False,
                                sector_field=f"{prefix}organisation", self_reports=True)


def visible_reports_q(patient: Patient, grant: Grant) -> Q:
    """The same rule for ISBAR summaries (filter on IsbarReport by its organisation)."""
    return policy.health_info_q(grant, patient=patient, sector_field="organisation",
                                self_reports=True)
