"""Shared test data for the plans app: grants for personas, a full LTMV treatment plan,
the consents the plans need."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from samhand.access.policy import Grant, grant_for
from samhand.audit.services import Actor
from samhand.orgs.models import Membership
from samhand.patients.models import Consent


def actor_and_grant(user: Any, patient: Any) -> tuple[Actor, Grant]:
    grant = grant_for(user, patient)
    assert grant is not None, f"{user} has no access to {patient}"
    membership = Membership.objects.active().filter(user=user).select_related(
        "organisation").first()
    return Actor(user=user, role=membership.role if membership else "",
                 organisation=grant.organisation or (membership.organisation
                                                     if membership else None)), grant


def consent(world: Any, scope: str = Consent.Scope.INDIVIDUAL_PLAN, status: str = "given",
            at: dt.datetime | None = None, patient: Any = None) -> Consent:
    return Consent.objects.create(patient=patient or world.patient_a, scope=scope,
                                  status=status, recorded_by=world.coordinator_a,
                                  recorded_by_organisation=world.ke_a,
                                  recorded_at=at or timezone.now())


LTMV_TREATMENT = {
    "physiotherapy": "Fysioterapi 3 ganger i uka: pusteøvelser og mobilisering.",
    "secretion_clearance": "Hostemaskin morgen og kveld, PEP ved behov.",
    "ventilation": {
        "kind": "invasive", "device": "Astral 150", "interface": "Trakealkanyle Shiley 6.0",
        "mode": "PCV",
        "settings": [{"name": "IPAP", "value": "18", "unit": "cmH2O"},
                     {"name": "PEEP", "value": "5", "unit": "cmH2O"},
                     {"name": "Frekvens", "value": "14", "unit": "/min"}],
        "hours_per_day": "24", "battery": "Internt 8 t, eksternt 8 t",
        "pause_when": "Ikke pause; kun under kanyleskifte med bag.",
        "resume_how": "Koble til straks etter stell; kontroller alarmene.",
    },
    "oxygen": {"without_niv": "1 l/min på nesebrille",
               "with_niv": "2 l/min i respiratorens O2-inngang",
               "how_to_switch": "Flytt slangen fra nesebrillen til respiratorens inngang.",
               "saturation_target": "92–96 %"},
    "humidifier": "Aktiv fukter, 37 °C.",
    "cough_assist": "Cough Assist E70, +40/-40 cmH2O, 5 sykluser.",
    "suction": "Sug ved behov, kateter 10 Ch.",
    "other": "",
}


def add_supplier(world: Any, patient: Any = None) -> Any:
    """An equipment supplier with a 24-hour number on the patient's care team (the LTMV
    library's technical-fault scenario calls the supplier)."""
    from samhand.orgs.models import Organisation
    from samhand.patients.models import CareTeamMember

    supplier = Organisation.objects.filter(kind=Organisation.Kind.SUPPLIER).first() or \
        Organisation.objects.create(kind=Organisation.Kind.SUPPLIER, name="Pustehjelp AS",
                                    phone="22 00 00 00", phone_24h="22 00 00 99")
    CareTeamMember.objects.create(patient=patient or world.patient_a, organisation=supplier,
                                  role=CareTeamMember.Role.SUPPLIER,
                                  period_start=timezone.now() - dt.timedelta(days=1))
    return supplier


def full_ltmv_patient(world: Any) -> Any:
    """patient_a with every plan: IP (with goals and measures), a signed treatment plan
    and an approved action plan with the whole LTMV library."""
    import copy

    from samhand.plans import services

    add_supplier(world)
    consent(world)
    patient = world.patient_a
    actor, grant = actor_and_grant(world.coordinator_a, patient)
    plan = services.start_individual_plan(actor, patient, grant)
    content = dict(plan.latest().content)
    content["summary"] = "Astrid bor hjemme med ektefellen og har respirator hele døgnet."
    content["goals"] = [{"text": "Jeg vil bo hjemme og være med på hytta i sommer."}]
    content["measures"] = [
        {"text": "Stell og tilsyn hele døgnet", "party": "municipality",
         "service": "Hjemmesykepleien Fjordby sentrum"},
        {"text": "Kontroll og kanyleskifte hver måned", "party": "hospital",
         "service": "LTMV-teamet"},
        {"text": "Legetilsyn ved andre sykdommer", "party": "gp", "service": "Fastlegen"},
        {"text": "Bagging ved akutt behov", "party": "relatives", "service": ""}]
    services.revise_individual_plan(actor, patient, grant, content=content, note="Mål og tiltak")
    nurse, nurse_grant = actor_and_grant(world.ltmv_nurse, patient)
    tp = services.save_treatment_plan(nurse, patient, nurse_grant,
                                      content=copy.deepcopy(LTMV_TREATMENT))
    ap = services.build_action_plan(nurse, patient, nurse_grant)
    doctor, doctor_grant = actor_and_grant(world.consultant, patient)
    services.sign_treatment_plan(doctor, patient, doctor_grant, number=tp.number,
                                 seen_hash=tp.content_hash)
    services.approve_action_plan(doctor, patient, doctor_grant, number=ap.number,
                                 seen_hash=ap.content_hash)
    return patient


def start_ltmv_pathway(world: Any, at: dt.datetime | None = None) -> Any:
    from samhand.pathways import services as pathways

    actor, grant = actor_and_grant(world.ltmv_nurse, world.patient_a)
    return pathways.start_pathway(actor, grant, world.patient_a, template_key="ltmv_invasive",
                                  entry="elective",
                                  at=at or timezone.now() - dt.timedelta(days=10))
