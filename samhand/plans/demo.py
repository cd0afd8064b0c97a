"""Demo plans: for each LTMV patient with full consent an individual plan, a signed
treatment plan, an approved action plan and a binder; for the first one a signed
collaboration meeting with decisions as tasks; action plans for home-NIV and
palliative patients. Called by samhand/demo/data.py (`load(summary)`).

Each step goes through the services, as a user would; a step the data does not allow
(no consent, no number to call) is skipped, so the demo shows the refusals' other side.
"""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

from django.utils import timezone

from samhand.access.policy import grant_for
from samhand.audit.services import Actor
from samhand.lib.errors import DomainError
from samhand.lib.timeutil import today_oslo
from samhand.orgs.models import Membership
from samhand.patients.models import Patient

from . import binder, meetings, services

TREATMENT: dict[str, dict[str, Any]] = {
    "ltmv": {
        "physiotherapy": "Fysioterapeut 2 ganger i uka: pusteøvelser, leddbevegelighet, "
                         "mobilisering til stol.",
        "secretion_clearance": "Hostemaskin morgen og kveld og ved behov. Leiring og "
                               "vibrasjoner ved mye sekret.",
        "ventilation": {
            "kind": "invasive", "device": "Astral 150 (to respiratorer, én i reserve)",
            "interface": "Trakealkanyle Shiley 6.0 med cuff; reservekanyle 6.0 og 5.0",
            "mode": "PCV",
            "settings": [{"name": "IPAP", "value": "18", "unit": "cmH2O"},
                         {"name": "PEEP", "value": "5", "unit": "cmH2O"},
                         {"name": "Frekvens", "value": "14", "unit": "/min"},
                         {"name": "Ti", "value": "1,1", "unit": "s"}],
            "hours_per_day": "24", "battery": "Internt batteri 8 t, eksternt batteri 8 t",
            "pause_when": "Ingen pauser utover kanyleskifte og stell, da med bag.",
            "resume_how": "Koble til straks etter stell; kontroller trykk og alarmer."},
        "oxygen": {"without_niv": "1 l/min på nesebrille ved frakobling",
                   "with_niv": "1–2 l/min i respiratorens O2-inngang",
                   "how_to_switch": "Flytt oksygenslangen fra nesebrillen til respiratorens "
                                    "O2-inngang og still inn mengden.",
                   "saturation_target": "94–98 %"},
        "humidifier": "Aktiv fukter (37 °C), vann byttes daglig.",
        "cough_assist": "Cough Assist E70: +40/−40 cmH2O, 5 sykluser à 5 hoste.",
        "suction": "Sug ved behov med kateter 10 Ch; steril teknikk.",
        "other": "",
    },
    "home_niv": {
        "physiotherapy": "", "secretion_clearance": "PEP-fløyte morgen og kveld.",
        "ventilation": {
            "kind": "niv", "device": "BiPAP A40", "interface": "Helmaske ResMed AirFit F20, M",
            "mode": "ST", "settings": [{"name": "IPAP", "value": "16", "unit": "cmH2O"},
                                       {"name": "EPAP", "value": "5", "unit": "cmH2O"}],
            "hours_per_day": "8", "battery": "Ingen batteri",
            "pause_when": "Kan tas av om dagen og ved måltider.",
            "resume_how": "Masken settes på etter den skriftlige instruksen i permen."},
        "oxygen": {"without_niv": "1 l/min på nesebrille",
                   "with_niv": "2 l/min via adapter på slangen",
                   "how_to_switch": "Ta oksygenslangen av nesebrillen og koble den til "
                                    "adapteren på NIV-slangen.",
                   "saturation_target": "88–92 %"},
        "humidifier": "Innebygd fukter, trinn 3.", "cough_assist": "", "suction": "",
        "other": "",
    },
}


def _as(user: Any, patient: Patient) -> tuple[Actor, Any] | None:
    grant = grant_for(user, patient)
    if grant is None:
        return None
    membership = Membership.objects.active().filter(user=user).select_related(
        "organisation").first()
    return Actor(user=user, role=membership.role if membership else "",
                 organisation=grant.organisation, client="system"), grant


def _try(step: Any) -> Any:
    try:
        return step()
    except DomainError:
        return None


def _plans(summary: Any, patient: Patient, *, with_binder: bool = False) -> None:
    users = summary.users
    nurse = _as(users["ltmv_nurse"], patient) or _as(users["consultant"], patient)
    if patient.group in TREATMENT and nurse is not None:
        version = _try(lambda: services.save_treatment_plan(
            *nurse[:1], patient, nurse[1], content=copy.deepcopy(TREATMENT[patient.group]),
            note="Demo"))
        doctor = next((d for d in (_as(users.get(k), patient) for k in (
            "consultant", "neuro_consultant", "paed_consultant") if users.get(k)) if d), None)
        if version is not None and doctor is not None:
            _try(lambda: services.sign_treatment_plan(doctor[0], patient, doctor[1],
                                                      number=version.number,
                                                      seen_hash=version.content_hash))
    writer = nurse or _as(users.get("palliative_nurse"), patient) or _as(
        users["home_nurse_a"], patient)
    if writer is not None:
        action = _try(lambda: services.build_action_plan(writer[0], patient, writer[1]))
        doctor = next((d for d in (_as(users.get(k), patient) for k in (
            "consultant", "neuro_consultant", "paed_consultant", "gp_a") if users.get(k))
            if d), None)
        if action is not None and doctor is not None:
            _try(lambda: services.approve_action_plan(
                doctor[0], patient, doctor[1], number=action.number,
                seen_hash=action.content_hash))
    coordinator = services.municipal_coordinator(patient)
    if coordinator is not None and coordinator.user is not None:
        as_coordinator = _as(coordinator.user, patient)
        if as_coordinator is not None:
            plan = _try(lambda: services.start_individual_plan(
                as_coordinator[0], patient, as_coordinator[1]))
            if plan is not None:
                content = dict(plan.latest().content)
                content["goals"] = [{"text": "Jeg vil bo hjemme og være sammen med familien."},
                                    {"text": "Jeg vil komme meg ut på tur når været er fint."}]
                content["measures"] = [
                    {"text": "Stell og tilsyn etter vedtak", "party": "municipality",
                     "service": "Hjemmesykepleien"},
                    {"text": "Kontroller og veiledning av teamet", "party": "hospital",
                     "service": "Sykehusets team"},
                    {"text": "Legetilsyn ved andre sykdommer", "party": "gp",
                     "service": "Fastlegen"},
                    {"text": "Sier fra ved forverring", "party": "relatives", "service": ""}]
                content["revision"] = {"every_months": 6,
                                       "next_on": today_oslo() + dt.timedelta(days=150)}
                _try(lambda: services.revise_individual_plan(
                    as_coordinator[0], patient, as_coordinator[1], content=content,
                    note="Mål og tiltak fra samarbeidsmøtet"))
    # One rendered binder is enough to show; each takes seconds of WeasyPrint, and the
    # others are made on the binder page the first time someone asks.
    if nurse is not None and with_binder:
        _try(lambda: binder.generate_binder(nurse[0], patient, reason="Demo"))


def _meeting(summary: Any, patient: Patient) -> None:
    users = summary.users
    nurse = _as(users["ltmv_nurse"], patient)
    coordinator = services.municipal_coordinator(patient)
    if nurse is None or coordinator is None or coordinator.user is None:
        return
    doctor = next((u for u in (users.get(k) for k in ("consultant", "neuro_consultant"))
                   if u is not None and services.is_responsible_doctor(u, patient)), None)
    if doctor is None:
        return
    actor, grant = nurse
    P = meetings.ParticipantIn
    meeting = _try(lambda: meetings.call_meeting(
        actor, patient, grant, starts_at=timezone.now(), place="Møterom 3, lungeavdelingen",
        participants=[P(role="consultant", user_id=doctor.pk),
                      P(role="nurse", user_id=users["ltmv_nurse"].pk),
                      P(role="coordinator", user_id=coordinator.user.pk),
                      P(role="care", organisation_id=coordinator.organisation_id)]))
    if meeting is None:
        return
    home = patient.care_team.active().filter(role__in=["home_nursing_primary",
                                                       "home_nursing"]).first()
    if home is not None:
        _try(lambda: meetings.add_minute(
            actor, meeting, grant, kind="decision", text="Teamet fra kommunen får opplæring",
            owner_organisation_id=home.organisation_id,
            deadline=today_oslo() + dt.timedelta(days=30)))
    _try(lambda: meetings.add_minute(
        actor, meeting, grant, kind="note",
        text="Pasienten ønsker å bo hjemme; familien deltar i opplæringen."))
    _try(lambda: meetings.set_agreement(
        actor, meeting, grant, text="Sykehuset står for opplæringen og veileder teamet. "
        "Kommunen stiller et fast team innen tre måneder. Kostnader etter hovedregelen."))
    for user in (doctor, coordinator.user):
        signer = _as(user, patient)
        if signer is None:
            return
        meeting.refresh_from_db()
        _try(lambda signer=signer: meetings.sign_agreement(
            signer[0], meeting, signer[1], seen_hash=meeting.agreement_hash()))


def load(summary: Any) -> None:
    patients: dict[str, Patient] = summary.patients
    ltmv = [p for p in patients.values() if p.group == Patient.Group.LTMV]
    for index, patient in enumerate(sorted(ltmv, key=lambda p: p.family_name)):
        first = patient.pk == patients.get("torbjorn.haugland", ltmv[0]).pk
        if index == 0 or first:
            _meeting(summary, patient)
        _plans(summary, patient, with_binder=first)
    others = [p for p in patients.values()
              if p.group in (Patient.Group.HOME_NIV, Patient.Group.PALLIATIVE)]
    for patient in sorted(others, key=lambda p: p.family_name)[:6]:
        _plans(summary, patient)
