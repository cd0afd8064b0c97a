"""Which of a patient's observation sets the caller may see (security: health
information crosses sectors only with the patient's consent).

Sets recorded by the caller's own sector are shown; those recorded by the other sector
only while the patient's consent to share health information is active; emergency
access sees everything; self-reports (no recording organisation) are shown to the care
team. Mirrors samhand.access.policy.filter_health_info, as a queryset filter so that
lists, trends and FHIR searches stay one query.
"""

from __future__ import annotations

from django.db.models import Q

from samhand.access.policy import Grant
from samhand.audit.models import AuditEvent
from samhand.orgs.models import Organisation, Sector
from samhand.patients.models import Consent, Patient


def sector_q(sector: str, prefix: str = "") -> Q:
    field = f"{prefix}organisation__kind__in"
    specialist = list(Organisation.SPECIALIST_KINDS)
    if sector == Sector.SPECIALIST:
        return Q(**{field: specialist})
    return ~Q(**{field: specialist}) & Q(**{f"{prefix}organisation__isnull": False})


def visible_sets_q(patient: Patient, grant: Grant, prefix: str = "") -> Q:
    """A filter on ObservationSet (or, with prefix "observation_set__", on VitalSign)."""
    if grant.basis == AuditEvent.Basis.EMERGENCY:
        return Q()
    if grant.basis == AuditEvent.Basis.DELEGATION:
        return Q(pk__in=[])
    if Consent.objects.active_for(patient, Consent.Scope.SHARE_HEALTH_INFO):
        return Q()
    viewer = grant.organisation.sector if grant.organisation else Sector.PRIMARY
    from .models import ObservationSet

    # Most patients have only sets from one sector; then no filter (and no join) is
    # needed. One small query over the patient's sets decides.
    if not ObservationSet.objects.filter(patient=patient, organisation__isnull=False).exclude(
            sector_q(viewer)).exists():
        return Q()
    return sector_q(viewer, prefix) | Q(**{f"{prefix}organisation__isnull": True})


def visible_reports_q(patient: Patient, grant: Grant) -> Q:
    """The same rule for ISBAR summaries (filter on IsbarReport by its organisation)."""
    if grant.basis == AuditEvent.Basis.EMERGENCY:
        return Q()
    if grant.basis == AuditEvent.Basis.DELEGATION:
        return Q(pk__in=[])
    if Consent.objects.active_for(patient, Consent.Scope.SHARE_HEALTH_INFO):
        return Q()
    viewer = grant.organisation.sector if grant.organisation else Sector.PRIMARY
    return sector_q(viewer) | Q(organisation__isnull=True)
