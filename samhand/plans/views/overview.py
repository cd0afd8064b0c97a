"""The plans overview of one patient: where each plan stands, and the discharge-gate
criteria the plans answer."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from ..binder import binder_status
from ..gate import CRITERIA, TITLES
from ..models import ActionPlan, Meeting, TreatmentPlan
from ..services import active_individual_plan, revision_due, stale_contacts
from .common import base_context, open_patient, page


@require_GET
def overview(request: HttpRequest, patient_id: UUID) -> HttpResponse:
    patient, grant = open_patient(request, patient_id, "samhand.plans.read", "CarePlan")
    ip = active_individual_plan(patient)
    ip_version = ip.latest() if ip else None
    tp = TreatmentPlan.objects.filter(patient=patient).first()
    tp_version = tp.latest() if tp else None
    ap = ActionPlan.objects.filter(patient=patient).first()
    ap_version = ap.latest() if ap else None
    criteria = [{"title": TITLES[name], "answer": evaluate(patient)}
                for name, evaluate in CRITERIA.items()]
    context: dict[str, Any] = {
        **base_context(request, patient, grant, "overview"),
        "ip": ip, "ip_version": ip_version, "stale": stale_contacts(ip_version),
        "revision_due": revision_due(ip_version),
        "tp_version": tp_version,
        "tp_signature": tp_version.valid_signature() if tp_version else None,
        "ap_version": ap_version,
        "ap_approval": ap_version.valid_approval() if ap_version else None,
        "meetings": list(Meeting.objects.filter(patient=patient).order_by("-starts_at")[:3]),
        "binder": binder_status(patient),
        "criteria": criteria,
    }
    return page(request, "plans/overview.html", context)
