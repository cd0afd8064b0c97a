"""Helpers shared by the plans pages: the patient through the access layer, the
read-only refusal, and service errors shown on the form."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from samhand.access import policy
from samhand.audit.models import AuditEvent
from samhand.lib.errors import DomainError
from samhand.orgs.models import Organisation
from samhand.patients.models import Patient
from samhand.web.errors import render_error
from samhand.web.forms import show_domain_error

CLIENT = "web"


def open_patient(request: HttpRequest, patient_id: UUID, code: str, object_type: str,
                 scope: str | None = None) -> tuple[Patient, policy.Grant]:
    """The patient if the user may see it (Http404 and an audit row otherwise)."""
    return policy.get_patient_for(request, patient_id, code=code, object_type=object_type,
                                  client=CLIENT, scope=scope)


def can_write(grant: policy.Grant) -> bool:
    return grant.basis in (AuditEvent.Basis.CARE_RELATION, AuditEvent.Basis.EMERGENCY)


def refuse_read_only(request: HttpRequest, grant: policy.Grant) -> HttpResponse | None:
    if can_write(grant):
        return None
    return render_error(request, 403, _("You may not change this record"),
                        _("You can see this patient, but not change the plans."))


def may_see(request: HttpRequest, patient: Patient, grant: policy.Grant,
            source: Organisation | None) -> bool:
    """Plan content recorded in the other sector is shown only while the patient's
    consent to share health information is active (the access layer decides)."""
    if source is None:
        return True
    return policy.may_see_health_info(request.user, patient, source, grant)


def base_context(request: HttpRequest, patient: Patient, grant: policy.Grant,
                 tab: str) -> dict[str, Any]:
    delegated = grant.basis == AuditEvent.Basis.DELEGATION
    return {"nav": "relatives" if delegated else "patients", "patient": patient,
            "grant": grant, "tab": tab, "can_write": can_write(grant), "delegated": delegated}


def apply_form(form: Any, apply: Callable[[], Any]) -> tuple[Any, int]:
    """Run the service for a valid form; a DomainError goes next to its field.
    (result, HTTP status): 200 when applied, 422 for input to fix, the error's status
    (403, 409) otherwise."""
    if not form.is_valid():
        return None, 422
    try:
        return apply(), 200
    except DomainError as exc:
        show_domain_error(form, exc)
        return None, 422 if exc.status == 400 else exc.status


def page(request: HttpRequest, template: str, context: dict[str, Any],
         status: int = 200) -> HttpResponse:
    return render(request, template, context, status=status)
