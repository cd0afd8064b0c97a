"""Emergency access (akuttilgang, break-the-glass; security.md #6).

1. The user types the patient's full national id (POST: never in a URL). Only
   health personnel (with an HPR number) get this far.
2. If the user already has access, they go straight to the patient. Otherwise the page
   says that the patient exists and that there is no care relation, and offers
   emergency access: re-enter the password, choose a reason, explain in free text.
3. `policy.start_emergency_access` opens the record for a limited time, audits the
   start and queues it for review. The patient page shows a red banner until it ends.
"""

from __future__ import annotations

import time
from typing import Any
from uuid import UUID

from django.contrib import messages
from django.contrib.auth import authenticate
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from samhand.access import policy
from samhand.access.models import EmergencyAccessGrant
from samhand.audit.models import AuditEvent
from samhand.patients.models import Patient

from ..forms import EmergencyLookupForm, EmergencyStartForm, show_domain_error
from .common import user_of

CANDIDATE_KEY = "samhand_emergency_candidate"
CANDIDATE_SECONDS = 10 * 60

# policy.AccessDenied codes -> the form field the message belongs to.
FIELD_FOR_CODE = {"reason": "reason_code", "reason_text": "reason_text"}


def _own_active_grants(request: HttpRequest) -> list[EmergencyAccessGrant]:
    return list(EmergencyAccessGrant.objects
                .filter(user=user_of(request), ended_at__isnull=True, expires_at__gt=timezone.now())
                .select_related("patient", "organisation").order_by("expires_at"))


def _candidate(request: HttpRequest) -> Patient | None:
    """The patient found by the last lookup in this session (for at most 10 minutes)."""
    data = request.session.get(CANDIDATE_KEY)
    if not isinstance(data, dict) or time.time() - float(data.get("at", 0)) > CANDIDATE_SECONDS:
        request.session.pop(CANDIDATE_KEY, None)
        return None
    return policy.emergency_candidate(request.user, patient_id=data.get("patient"))


def _page(request: HttpRequest, *, lookup_form: EmergencyLookupForm | None = None,
          start_form: EmergencyStartForm | None = None, status: int = 200) -> HttpResponse:
    context: dict[str, Any] = {
        "nav": "emergency",
        "may_use": user_of(request).is_health_personnel,
        "grants": _own_active_grants(request),
        "lookup_form": lookup_form or EmergencyLookupForm(),
        "candidate": _candidate(request) is not None,
        "start_form": start_form or EmergencyStartForm(),
        "minutes": _grant_minutes(),
    }
    return render(request, "web/emergency.html", context, status=status)


def _grant_minutes() -> int:
    from django.conf import settings

    return int(settings.SAMHAND_EMERGENCY_ACCESS_MINUTES)


@require_http_methods(["GET", "HEAD", "POST"])
def emergency(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return _page(request)
    if not user_of(request).is_health_personnel:
        return _page(request, status=403)
    form = EmergencyLookupForm(request.POST)
    if not form.is_valid():
        return _page(request, lookup_form=form, status=422)
    request.session.pop(CANDIDATE_KEY, None)
    patient = policy.emergency_candidate(request.user,
                                         national_id=form.cleaned_data["national_id"])
    # No grant exists yet: the lookup itself has no basis, and says so in the log.
    policy.audit_list(request, "samhand.patient.search", [patient] if patient else [],
                      query="emergency:national_id", basis=AuditEvent.Basis.NONE)
    if patient is None:
        form.add_error("national_id", _("No patient with this number is registered in "
                                        "samhand."))
        return _page(request, lookup_form=form, status=422)
    grant = policy.grant_for(request.user, patient)
    if grant is not None and grant.basis in (AuditEvent.Basis.CARE_RELATION,
                                             AuditEvent.Basis.EMERGENCY):
        messages.info(request, _("You already have access to this patient."))
        return redirect("web:patient", patient_id=patient.pk)
    request.session[CANDIDATE_KEY] = {"patient": str(patient.pk), "at": time.time()}
    return _page(request, lookup_form=EmergencyLookupForm())


@sensitive_post_parameters("password")
@require_POST
def emergency_start(request: HttpRequest) -> HttpResponse:
    user = user_of(request)
    if not user.is_health_personnel:
        return _page(request, status=403)
    patient = _candidate(request)
    if patient is None:
        messages.warning(request, _("Look the patient up again: the search is more than ten "
                                    "minutes old."))
        return redirect("web:emergency")
    form = EmergencyStartForm(request.POST)
    if not form.is_valid():
        return _page(request, start_form=form, status=422)
    # Re-authentication (security.md #6): the password again, counted by django-axes.
    again = authenticate(request, username=user.get_username(),
                         password=form.cleaned_data["password"])
    if again is None or again.pk != user.pk:
        form.add_error("password", _("Wrong password."))
        return _page(request, start_form=form, status=422)
    try:
        policy.start_emergency_access(request, patient,
                                      reason_code=form.cleaned_data["reason_code"],
                                      reason_text=form.cleaned_data["reason_text"])
    except policy.AccessDenied as exc:
        show_domain_error(form, exc, FIELD_FOR_CODE)
        return _page(request, start_form=form, status=422)
    request.session.pop(CANDIDATE_KEY, None)
    return redirect("web:patient", patient_id=patient.pk)


@require_POST
def emergency_end(request: HttpRequest, grant_id: UUID) -> HttpResponse:
    grant = EmergencyAccessGrant.objects.filter(pk=grant_id, user=user_of(request)).first()
    if grant is None:
        raise Http404
    policy.end_emergency_access(request, grant)
    messages.success(request, _("Emergency access has ended."))
    return redirect("web:emergency")
