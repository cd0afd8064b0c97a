"""Route policies of samhand.plans for the route walk (samhand/tests_security)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from samhand.tests_security.policies import PATIENT, RELATIVE, Policy

VERSION = {"number": "1", "seen_hash": "0" * 64}

ROUTES = {
    "plans:overview": Policy(PATIENT),
    "plans:individual": Policy(RELATIVE, scope="plans", queries=({"version": "1"},)),
    "plans:individual_start": Policy(PATIENT, post_only=True, posts=({"start": "1"},)),
    "plans:individual_edit": Policy(PATIENT, why="GET shows the form (or goes to the plan "
                                    "when none is started); POST saves a version"),
    "plans:individual_confirm": Policy(PATIENT, post_only=True, posts=({"based_on": "1"},)),
    "plans:individual_compare": Policy(RELATIVE, scope="plans",
                                       queries=({"a": "1", "b": "2"},)),
    "plans:treatment": Policy(PATIENT),
    "plans:treatment_edit": Policy(PATIENT),
    "plans:treatment_sign": Policy(PATIENT, post_only=True, posts=(VERSION,)),
    "plans:action": Policy(PATIENT),
    "plans:action_build": Policy(PATIENT, post_only=True,
                                 posts=({"scenarios": "breathlessness"},)),
    "plans:action_approve": Policy(PATIENT, post_only=True, posts=(VERSION,)),
    "plans:action_scenario": Policy(PATIENT),
    "plans:meetings": Policy(PATIENT),
    "plans:meeting": Policy(PATIENT),
    "plans:meeting_minute": Policy(PATIENT, post_only=True,
                                   posts=({"kind": "note", "text": "Referat"},)),
    "plans:meeting_agreement": Policy(PATIENT, post_only=True,
                                      posts=({"agreement_text": "Avtale"},)),
    "plans:meeting_sign": Policy(PATIENT, post_only=True, posts=({"seen_hash": "0" * 64},)),
    "plans:binder": Policy(PATIENT),
    "plans:binder_generate": Policy(PATIENT, post_only=True, posts=({"go": "1"},)),
    "plans:discharge_summary": Policy(PATIENT, post_only=True, posts=({"go": "1"},)),
    "plans:document_download": Policy(PATIENT, why="the stored PDF; the download is audited"),
}


def objects(world: Any) -> dict[str, dict[str, str]]:
    """An action plan, a meeting and a document for each world patient."""
    from samhand.plans import meetings, services
    from samhand.plans.models import Document

    from .helpers import actor_and_grant

    out: dict[str, dict[str, str]] = {"key": {}, "meeting_id": {}, "document_id": {}}
    for name, key, hospital_side, municipal_side in (
            ("patient_a", "blocked_cannula", world.consultant, world.hn_a),
            ("patient_b", "mask_leak", world.consultant, world.hn_b)):
        patient = getattr(world, name)
        actor, grant = actor_and_grant(world.ltmv_nurse, patient)
        services.build_action_plan(actor, patient, grant, keys=[key])
        meeting = meetings.call_meeting(
            actor, patient, grant, starts_at=timezone.now() + dt.timedelta(days=2),
            place="Møterom", participants=[
                meetings.ParticipantIn(role="consultant", user_id=hospital_side.pk),
                meetings.ParticipantIn(role="care", organisation_id=municipal_side.pk)])
        document = Document.objects.create(
            patient=patient, kind=Document.Kind.BINDER, number=1, code="0000-0000",
            source_hash="0" * 64, pdf=b"%PDF-1.4\n%%EOF\n", size=15, pages=1)
        out["key"][name] = key
        out["meeting_id"][name] = str(meeting.pk)
        out["document_id"][name] = str(document.pk)
    return out

API_VERSION = {"content": {}, "note": "api"}
API_SEEN = {"number": "1", "seen_hash": "0" * 64}
ROUTES.update({
    "api:v1:plans_get": Policy(RELATIVE, scope="plans"),
    "api:v1:plans_individual_plan_version": Policy(PATIENT, post_only=True, json=True,
                                                   posts=(API_VERSION,)),
    "api:v1:plans_treatment_plan_version": Policy(PATIENT, post_only=True, json=True,
                                                  posts=(API_VERSION,)),
    "api:v1:plans_treatment_plan_signature": Policy(PATIENT, post_only=True, json=True,
                                                    posts=(API_SEEN,)),
    "api:v1:plans_action_plan_version": Policy(PATIENT, post_only=True, json=True,
                                               posts=(API_VERSION,)),
    "api:v1:plans_action_plan_approval": Policy(PATIENT, post_only=True, json=True,
                                                posts=(API_SEEN,)),
    "api:v1:plans_agreement_signature": Policy(PATIENT, post_only=True, json=True,
                                               posts=({"seen_hash": "0" * 64},)),
    "api:v1:plans_documents": Policy(PATIENT),
    "api:v1:plans_make_binder": Policy(PATIENT, post_only=True, json=True, posts=({},)),
    "api:v1:plans_document_pdf": Policy(PATIENT, why="the PDF; the download is audited"),
})
