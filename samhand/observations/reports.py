"""ISBAR summaries and self-reports by a patient or relative.

ISBAR (Norwegian headings Identifisering, Situasjon, Bakgrunn, Aktuell vurdering, Råd;
shared/standards.md §D.2) is pre-filled from the record: who calls and about whom (I),
the alert (S), diagnoses and the SpO2-scale order (B), the latest NEWS2 set and its
trend (A), and the response the NEWS2 chart recommends (R). The user edits it and it
is stored on the patient, copied as plain text, or sent as a message (`send_isbar`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from samhand.access.policy import Grant
from samhand.audit.models import AuditEvent
from samhand.audit.services import Actor, record
from samhand.lib.errors import DomainError, Forbidden
from samhand.lib.timeutil import OSLO
from samhand.orgs.models import Organisation
from samhand.patients.models import Patient

from . import news2
from .definitions import get_form
from .escalation import Breach, dispatch, first_level_target
from .models import IsbarReport, IsbarSending, ObservationSet
from .services import ObservationRejected, active_scale_order, answer_message, require_write

A = AuditEvent.Action
ISBAR_FIELDS = ("identify", "situation", "background", "assessment", "recommendation")
# The headings are the standard's own words, per language (not UI strings).
ISBAR_HEADINGS = {
    "nb": ("Identifisering", "Situasjon", "Bakgrunn", "Aktuell vurdering", "Råd"),
    "en": ("Identify", "Situation", "Background", "Assessment", "Recommendation"),
    "da": ("Identifikation", "Situation", "Baggrund", "Aktuel vurdering", "Råd"),
}


def isbar_headings(language: str | None = None) -> dict[str, str]:
    lang = (language or get_language() or "nb").split("-")[0]
    return dict(zip(ISBAR_FIELDS, ISBAR_HEADINGS.get(lang, ISBAR_HEADINGS["nb"]),
                    strict=True))


def _fmt(at: Any) -> str:
    return timezone.localtime(at, OSLO).strftime("%d.%m.%Y %H:%M")


RESPONSE_TEXT = {
    "routine": lambda: _("Continue routine NEWS2 monitoring (at least every 12 hours)."),
    "low": lambda: _("The nurse assesses the patient and decides whether to observe more "
                     "often or escalate (observe at least every 4-6 hours)."),
    "red": lambda: _("Inform the doctor, who reviews and decides on escalation (observe at "
                     "least every hour)."),
    "urgent": lambda: _("Urgent assessment by a doctor competent in acute illness; observe "
                        "at least every hour, in a setting with monitoring."),
    "emergency": lambda: _("Emergency assessment now (call 113 / AMK if the doctor cannot "
                           "come at once); continuous monitoring; consider admission."),
}


def _risk(risk: str) -> str:
    return {"low": _("low"), "low-medium": _("low-medium (a red parameter)"),
            "medium": _("medium"), "high": _("high")}.get(risk, risk)


def response_text(obs: ObservationSet | None) -> str:
    if obs is None or obs.news2_total is None:
        return ""
    result_risk = obs.news2_risk
    key = news2.response_for(obs.news2_total, result_risk).key
    return RESPONSE_TEXT[key]()


def draft_isbar(actor: Actor, patient: Patient, *, alert: Any = None) -> dict[str, str]:
    """The five ISBAR fields, pre-filled from the record."""
    user = actor.user
    org = actor.organisation
    who = ", ".join(x for x in [user.get_full_name() if user else "",
                                org.name if org else "",
                                (org.display_24h() or org.phone) if org else ""] if x)
    born = patient.birth_date.strftime("%d.%m.%Y") if patient.birth_date else ""
    identify = _("%(who)s calls about %(patient)s%(born)s, %(address)s.") % {
        "who": who or _("I"), "patient": patient.full_name,
        "born": f" ({_('born')} {born})" if born else "",
        "address": ", ".join(x for x in [patient.street, patient.city] if x)}
    latest = (ObservationSet.objects.filter(patient=patient, status="final",
                                            news2_total__isnull=False)
              .order_by("-taken_at").first())
    situation = str(getattr(alert, "text", "") or "")
    if not situation and latest is not None:
        situation = _("NEWS2 %(total)s (%(risk)s) at %(at)s.") % {
            "total": latest.news2_total, "risk": _risk(latest.news2_risk),
            "at": _fmt(latest.taken_at)}
    diagnoses = "; ".join(f"{d.code} {d.text}".strip() for d in patient.diagnoses.all())
    background = [_("Diagnoses: %(list)s.") % {"list": diagnoses or _("none recorded")}]
    if patient.group:
        background.append(_("Patient group: %(group)s.") % {
            "group": patient.get_group_display()})
    order = active_scale_order(patient)
    if order is not None:
        background.append(_("SpO2 scale 2 ordered by %(who)s on %(at)s (target 88-92 %%).") % {
            "who": order.ordered_by.get_full_name(), "at": _fmt(order.ordered_at)})
    assessment = []
    if latest is not None:
        parts = []
        values = latest.answers
        form = get_form(latest.form_key, latest.form_version)
        for question in form.questions if form else []:
            if question.vital and question.key in values:
                value = values[question.key]
                if question.type == "choice":
                    value = question.choice_label(value)
                elif question.type == "boolean":
                    value = _("yes") if value else _("no")
                unit = f" {question.unit}" if question.unit else ""
                parts.append(f"{question.label} {value}{unit}")
        assessment.append(_("Latest observations %(at)s: %(values)s.") % {
            "at": _fmt(latest.taken_at), "values": "; ".join(parts)})
        assessment.append(_("NEWS2 %(total)s (%(risk)s), SpO2 scale %(scale)s.") % {
            "total": latest.news2_total, "risk": _risk(latest.news2_risk),
            "scale": latest.spo2_scale})
        trend = list(ObservationSet.objects.filter(
            patient=patient, status="final", news2_total__isnull=False)
            .order_by("-taken_at").values_list("news2_total", flat=True)[:5])
        if len(trend) > 1:
            assessment.append(_("NEWS2 trend (oldest first): %(trend)s.") % {
                "trend": " → ".join(str(t) for t in reversed(trend))})
    return {"identify": identify, "situation": situation,
            "background": " ".join(background), "assessment": " ".join(assessment),
            "recommendation": response_text(latest)}


def save_isbar(actor: Actor, patient: Patient, grant: Grant, fields: dict[str, str], *,
               alert_id: Any = None, report: IsbarReport | None = None) -> IsbarReport:
    require_write(grant)
    if report is not None and report.sendings.exists():
        raise DomainError(_("The ISBAR summary has been sent and can no longer be changed. "
                            "Write a new one."), code="isbar_sent")
    clean = {name: str(fields.get(name, "")).strip()[:4000] for name in ISBAR_FIELDS}
    if not clean["situation"] or not clean["recommendation"]:
        raise DomainError(_("Situation and recommendation are needed."), code="isbar_empty",
                          field="situation" if not clean["situation"] else "recommendation")
    with transaction.atomic():
        if report is None:
            latest = (ObservationSet.objects.filter(patient=patient, status="final")
                      .order_by("-taken_at").first())
            report = IsbarReport(patient=patient, alert_id=alert_id, created_by=actor.user,
                                 organisation=grant.organisation or actor.organisation,
                                 observation_set=latest)
            code = "samhand.isbar.created"
        else:
            code = "samhand.isbar.updated"
        for name, value in clean.items():
            setattr(report, name, value)
        report.save()
        record(actor, code, A.CREATE if code.endswith("created") else A.UPDATE,
               patient_id=patient.pk, object_type="IsbarReport", object_ids=[report.pk],
               basis=grant.basis, basis_id=grant.basis_id)
    return report


# --------------------------------------------------------------------------- sending

def unit_address(organisation: Organisation | None) -> Any:
    """The sending unit's own message address (or its parent's), as messaging sends from."""
    from samhand.messaging.models import Partner

    return Partner.own_address(organisation)


# The order receivers are offered in: the doctor first (GP, out-of-hours), then the
# hospital, then the municipality's own units.
_KIND_ORDER: dict[str, int] = {
    Organisation.Kind.GP_OFFICE: 0, Organisation.Kind.OUT_OF_HOURS: 1,
    Organisation.Kind.DEPARTMENT: 2, Organisation.Kind.HOSPITAL: 3}
DOCTOR_KINDS = (Organisation.Kind.GP_OFFICE, Organisation.Kind.OUT_OF_HOURS)


def isbar_receivers(patient: Patient, sender: Any = None) -> list[Any]:
    """The address-book entries an ISBAR may go to: those of the units on the patient's
    active care team (or a unit above them, e.g. the hospital's PLO reception) and the
    out-of-hours service (legevakt) of the patient's municipality."""
    from samhand.messaging.models import Partner
    from samhand.patients.models import CareTeamMember

    org_ids: set[Any] = set()
    for member in (CareTeamMember.objects.active().filter(patient=patient,
                                                         organisation__isnull=False)
                   .select_related("organisation")):
        assert member.organisation is not None
        org_ids.add(member.organisation.pk)
        org_ids.update(o.pk for o in member.organisation.ancestors()
                       if o.kind not in (Organisation.Kind.MUNICIPALITY,))
    if patient.municipality_id:
        org_ids.update(Organisation.objects.filter(
            kind=Organisation.Kind.OUT_OF_HOURS, parent_id=patient.municipality_id,
            is_active=True).values_list("pk", flat=True))
    partners = list(Partner.objects.filter(organisation_id__in=org_ids, is_active=True)
                    .select_related("organisation"))
    if sender is not None:
        partners = [p for p in partners if p.pk != sender.pk]
    partners.sort(key=lambda p: (_KIND_ORDER.get(str(getattr(p.organisation, "kind", "")), 9),
                                 p.name))
    return partners


def isbar_event(receiver: Any) -> str:
    """Which message carries the ISBAR.

    PLO (v1.6) has no ISBAR message of its own. A nurse's observations and concerns for
    a doctor travel as *Helseopplysninger til lege* (municipal PLO → GP; standards.md §B),
    so an ISBAR to a GP office or the out-of-hours service (legevakt) goes as
    `plo-health-info-to-gp`: a doctor's system that speaks PLO files it where nursing
    observations belong. To anyone else (the hospital ward, another home-nursing unit)
    there is no fitting PLO message (Forespørsel asks a question; the ISBAR reports and
    recommends), so it goes as samhand's `plo-isbar` event. Either way it is built by
    messaging's CareCommunication code — the MedCom model samhand's PLO flows use: one
    thread, the whole ISBAR (five headed sections) as the text segment with the author,
    phone and time, so the receiver can reply in the same thread.
    """
    from samhand.messaging.codes import Event

    org = getattr(receiver, "organisation", None)
    if org is not None and org.kind in DOCTOR_KINDS:
        return Event.PLO_HEALTH_INFO_TO_GP
    return Event.PLO_ISBAR


def send_isbar(actor: Actor, patient: Patient, grant: Grant, report: IsbarReport, *,
               receiver_id: Any, phone: str) -> IsbarSending:
    """Send a saved ISBAR to a care-team unit: the message goes into the outbox, the
    thread into the patient's message trail, and the report is marked sent — all in one
    transaction, audited."""
    from samhand.messaging.codes import Activity
    from samhand.messaging.plo import send_plo

    require_write(grant)
    if report.patient_id != patient.pk:
        raise DomainError(_("The ISBAR summary belongs to another patient."),
                          code="wrong_patient")
    sender = unit_address(grant.organisation or actor.organisation)
    if sender is None:
        raise DomainError(_("Your unit has no message address, so it cannot send messages. "
                            "Copy the text instead."), code="no_address", field="receiver")
    receiver = next((p for p in isbar_receivers(patient, sender) if str(p.pk) ==
                     str(receiver_id)), None)
    if receiver is None:
        raise DomainError(_("Choose a unit on the patient's care team."), code="receiver",
                          field="receiver")
    phone = (phone or "").strip()[:30]
    if not phone:
        raise DomainError(_("Give a phone number the receiver can call you on."),
                          code="phone", field="phone")
    user = actor.user
    author = (user.get_full_name() or user.get_username()) if user else ""
    event = isbar_event(receiver)
    text = report.as_text_in(isbar_headings("nb"))
    if event != "plo-isbar":
        text = "ISBAR\n\n" + text
    with transaction.atomic():
        locked = IsbarReport.objects.select_for_update().get(pk=report.pk)
        care = send_plo(event=event, patient=patient, sender=sender, receiver=receiver,
                        actor=actor, author_name=author, author_phone=phone, text=text,
                        activity=Activity.NEW)
        sending = IsbarSending.objects.create(
            report=locked, receiver_name=receiver.name, receiver_partner_id=receiver.pk,
            event=event, header_id=care.header_id, thread_id=care.thread_id,
            sent_by=user, organisation=grant.organisation or actor.organisation)
        record(actor, "samhand.isbar.sent", A.EXECUTE, patient_id=patient.pk,
               object_type="IsbarReport", object_ids=[report.pk, care.header_id],
               basis=grant.basis, basis_id=grant.basis_id,
               recipient=receiver.organisation)
    return sending


# --------------------------------------------------------------------------- self-report

@dataclass
class SelfReportReceipt:
    observation: ObservationSet
    unit: Organisation | None
    phone_24h: str
    due_at: Any
    alert: Any = None


def submit_self_report(actor: Actor, patient: Patient, grant: Grant, *,
                       answers: dict[str, Any]) -> SelfReportReceipt:
    """"I am / he is worse": stored as a self-report set and raised as an alert for the
    home-nursing unit, with a deadline. Allowed for the care team and for a relative
    with an active delegation (the page asks for the "contacts" scope)."""
    if grant.basis not in (AuditEvent.Basis.DELEGATION, AuditEvent.Basis.CARE_RELATION,
                           AuditEvent.Basis.EMERGENCY):
        raise Forbidden(_("You may not report for this patient."), code="not_allowed")
    form = get_form("self_report")
    assert form is not None
    clean, errors = form.validate(answers, final=True)
    if errors:
        raise ObservationRejected({e.key or "answers": answer_message(form, e) for e in errors})
    labels = [form.question("symptoms").choice_label(v)  # type: ignore[union-attr]
              for v in clean.get("symptoms", [])]
    text = _("Self-report: %(symptoms)s.") % {"symptoms": ", ".join(labels)}
    if clean.get("text"):
        text += " " + clean["text"][:300]
    with transaction.atomic():
        obs = ObservationSet.objects.create(
            patient=patient, form_key=form.key, form_version=form.version, answers=clean,
            status=ObservationSet.Status.FINAL, source=ObservationSet.Source.SELF_REPORT,
            recorded_by=actor.user, organisation=None, finished_at=timezone.now())
        record(actor, "samhand.observation.self_reported", A.CREATE, patient_id=patient.pk,
               object_type="Observation", object_ids=[obs.pk], basis=grant.basis,
               basis_id=grant.basis_id)
        alerts = dispatch(actor, patient, [Breach("self_report", "self_report",
                                                  "self_report", text)], source_id=obs.pk)
    target = first_level_target(patient)
    unit = target[1] if target else None
    alert = alerts[0] if alerts else _open_self_report_alert(patient)
    return SelfReportReceipt(obs, unit, unit.display_24h() if unit else "",
                             getattr(alert, "due_at", None), alert)


def _open_self_report_alert(patient: Patient) -> Any:
    from samhand.alerts.models import Alert

    return (Alert.objects.filter(patient=patient, episode_key="observations:self_report",
                                 closed_at__isnull=True).order_by("-raised_at").first())
