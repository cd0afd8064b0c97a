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
