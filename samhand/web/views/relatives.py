"""What a relative sees (security.md #9, #28): the patients they hold an active
delegation for, and for each only what the delegation's scopes grant: the care team's
contacts and 24-hour numbers ("contacts") and who has looked at the record
("access_log"). The delegation is checked on every request, so a revocation takes
effect on the next one."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from samhand.access import policy
from samhand.audit.models import AuditEvent
from samhand.patients.models import Delegation

from .access_log import log_page
from .common import GROUP_RELATIVES, is_htmx
from .patients import _care_team_context

ACCESS_LOG_PAGE = 25


@require_GET
def relatives(request: HttpRequest) -> HttpResponse:
    patients = list(policy.delegated_patients(request.user).order_by("family_name",
                                                                      "given_name"))
    rows = []
    for patient in patients:
        grant = policy.grant_for(request.user, patient)
        scopes = set(grant.scopes) if grant is not None else set()
        rows.append({"patient": patient,
                     "contacts": Delegation.Scope.CONTACTS in scopes,
                     "access_log": Delegation.Scope.ACCESS_LOG in scopes})
    policy.audit_list(request, "samhand.patient.list", patients,
                      basis=AuditEvent.Basis.DELEGATION)
    return render(request, "web/relatives/list.html", {"nav": "relatives", "rows": rows})


@require_GET
def relative_contacts(request: HttpRequest, patient_id: UUID) -> HttpResponse:
    patient, grant = policy.get_patient_for(request, patient_id, code="samhand.careteam.read",
                                            object_type="CareTeam",
                                            scope=Delegation.Scope.CONTACTS)
    # The care team's units and people with their numbers; not other relatives, and
    # not those who have left the team.
    groups = [g for g in _care_team_context(patient)["team_groups"] if g.key != GROUP_RELATIVES]
    context: dict[str, Any] = {"nav": "relatives", "patient": patient, "grant": grant,
                               "may_see_log": Delegation.Scope.ACCESS_LOG in grant.scopes
                               or not grant.scopes,
                               "team_groups": groups}
    return render(request, "web/relatives/contacts.html", context)


@require_GET
def relative_access_log(request: HttpRequest, patient_id: UUID) -> HttpResponse:
    patient, grant = policy.get_patient_for(request, patient_id, code="samhand.access_log.read",
                                            object_type="AuditEvent",
                                            scope=Delegation.Scope.ACCESS_LOG)
    context = {"nav": "relatives", "patient": patient, "grant": grant,
               "may_see_contacts": Delegation.Scope.CONTACTS in grant.scopes
               or not grant.scopes,
               **log_page(request, patient, "web:relative_access_log", ACCESS_LOG_PAGE)}
    if is_htmx(request):
        return render(request, "web/patient/_access_log_page.html", context)
    return render(request, "web/relatives/access_log.html", context)
