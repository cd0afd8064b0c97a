"""ISBAR summaries and self-reports by a patient or relative.

ISBAR (Norwegian headings Identifisering, Situasjon, Bakgrunn, Aktuell vurdering, Råd;
shared/standards.md §D.2) is pre-filled from the record: who calls and about whom (I),
the alert (S), diagnoses and the SpO2-scale order (B), the latest NEWS2 set and its
trend (A), and the response the NEWS2 chart recommends (R). The user edits it and it
is stored on the patient.
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
from .models import IsbarReport, ObservationSet
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
            "total": latest.news2_total, "risk": latest.news2_risk, "at": _fmt(latest.taken_at)}
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
            "total": latest.news2_total, "risk": latest.news2_risk, "scale": latest.spo2_scale})
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
