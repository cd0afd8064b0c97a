"""Route policies of samhand.observations for the route walk (samhand/tests_security)."""

from __future__ import annotations

from typing import Any

from samhand.tests_security.policies import PATIENT, RELATIVE, SHADOWED, STAFF, Policy

VITALS = {"respiration_rate": "16", "spo2": "97", "on_oxygen": "no", "systolic_bp": "120",
          "pulse": "70", "consciousness": "a", "temperature": "37.0", "action": "finish"}

VITALS_JSON = {"form": "vital_signs", "answers": {
    "respiration_rate": 16, "spo2": 97, "on_oxygen": False, "systolic_bp": 120,
    "pulse": 70, "consciousness": "a", "temperature": 37.0}}

ROUTES = {
    "observations:overview": Policy(PATIENT),
    "observations:new": Policy(PATIENT, posts=(VITALS,)),
    "observations:trends": Policy(PATIENT, queries=({"days": "365"},)),
    "observations:scale": Policy(PATIENT, post_only=True, posts=(
        {"scale": "2", "reason": "Hyperkapnisk respirasjonssvikt"},)),
    "observations:rules": Policy(PATIENT, posts=(
        {"news2_threshold": "4", "trend_window": "3", "trend_rise": "3",
         "alert_on_red_parameter": "on", "alert_on_checklist": "on"},)),
    "observations:isbar_new": Policy(PATIENT, posts=(
        {"identify": "I", "situation": "S", "background": "B", "assessment": "A",
         "recommendation": "R"},)),
    "observations:isbar": Policy(PATIENT, posts=(
        {"identify": "I", "situation": "S2", "background": "B", "assessment": "A",
         "recommendation": "R"},)),
    "observations:isbar_send": Policy(PATIENT, post_only=True, posts=(
        {"receiver": "00000000-0000-0000-0000-000000000000", "phone": "400 00 001"},)),
    "observations:set": Policy(PATIENT),
    "observations:edit": Policy(PATIENT, posts=(VITALS,)),
    "observations:set_error": Policy(PATIENT, posts=({"reason": "Feil pasient valgt"},)),
    "observations:acknowledge": Policy(PATIENT, post_only=True, posts=({"note": "ok"},)),
    "observations:report_worse": Policy(RELATIVE, scope="contacts", posts=(
        {"symptoms": "breathless", "text": "Tyngre pust i natt"},)),
    "api:v1:create_observation": Policy(PATIENT, json=True, posts=(VITALS_JSON,),
                                        queries=({"limit": "5", "form": "vital_signs"},)),
    "api:v1:list_observations": Policy(SHADOWED, why="GET on the same ninja path as "
                                       "create_observation, which answers for it"),
    "api:v1:create_batch": Policy(STAFF, post_only=True, json=True,
                                  why="patients named in the body, each checked through "
                                  "visible_patients; a foreign one refuses the batch (404)"),
    "observations:alerts": Policy(STAFF, why="open alerts for the user's own units, "
                                  "filtered through visible_patients"),
}


def objects(world: Any) -> dict[str, dict[str, str]]:
    """A draft set, an ISBAR report and an open alert for each world patient."""
    from samhand.alerts.models import Alert
    from samhand.observations.models import IsbarReport, ObservationSet

    out: dict[str, dict[str, str]] = {"set_id": {}, "report_id": {}, "alert_id": {},
                                      "form_key": {}}
    for name, org in (("patient_a", world.hn_a), ("patient_b", world.hn_b)):
        patient = getattr(world, name)
        # No recording organisation: visible to the whole care team whatever the
        # consent (the consent rule is tested in test_views_pages.py).
        obs = ObservationSet.objects.create(patient=patient, form_key="vital_signs",
                                            form_version=1, answers={"pulse": 80},
                                            recorded_by=world.ltmv_nurse, organisation=None)
        report = IsbarReport.objects.create(
            patient=patient, identify="I", situation="S", background="B", assessment="A",
            recommendation="R", created_by=world.ltmv_nurse, organisation=world.pulm)
        alert = Alert.objects.create(patient=patient, organisation=org, kind="observation.news2",
                                     text="NEWS2 8", episode_key="observations:news2:high",
                                     severity="critical")
        out["set_id"][name] = str(obs.pk)
        out["report_id"][name] = str(report.pk)
        out["alert_id"][name] = str(alert.pk)
        out["form_key"][name] = "vital_signs"
    return out
