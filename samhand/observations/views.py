"""Pages of samhand.observations, all under /patients/<uuid:patient_id>/observations/
(and the relative's "report worse" page): the overview with the latest sets, a form
page per form (tablet-friendly, htmx), one set with its NEWS2 result, trend charts with
a table alternative, the SpO2 scale-2 order, ISBAR summaries.

Every page reaches the patient through samhand.access.policy.get_patient_for; sets and
reports are looked up within that patient.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from uuid import UUID

from django.contrib import messages
from django.db import transaction
from django.db.models import FloatField, Func, Max, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html_join
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from samhand.access import policy
from samhand.audit.models import AuditEvent
from samhand.lib.errors import DomainError
from samhand.patients.models import Delegation, Patient
from samhand.web.errors import render_error

from . import charts, reports, services
from .access import visible_sets_q
from .definitions import Form, Question, current_forms, get_form
from .escalation import first_level_target
from .models import IsbarReport, ObservationSet, VitalSign
from .reports import ISBAR_FIELDS, RESPONSE_TEXT, isbar_headings

LATEST = 10
TREND_CODES = ("news2", "respiration_rate", "spo2", "systolic_bp", "pulse", "temperature")
RISK_LABELS = {"low": "low", "low-medium": "low-medium", "medium": "medium", "high": "high"}


def _is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def _can_write(grant: policy.Grant) -> bool:
    return grant.basis in (AuditEvent.Basis.CARE_RELATION, AuditEvent.Basis.EMERGENCY)


def _read(request: HttpRequest, patient_id: UUID, object_type: str = "Observation",
          code: str = "samhand.observation.read") -> tuple[Patient, policy.Grant]:
    return policy.get_patient_for(request, patient_id, code=code, object_type=object_type)


def _set_in(patient: Patient, set_id: UUID, grant: policy.Grant) -> ObservationSet:
    obs = (ObservationSet.objects.filter(pk=set_id, patient=patient)
           .filter(visible_sets_q(patient, grant)).first())
    if obs is None:
        raise Http404
    return obs


def risk_label(risk: str) -> str:
    return {"low": _("low"), "low-medium": _("low-medium (a red parameter)"),
            "medium": _("medium"), "high": _("high")}.get(risk, "")


PARAMETER_LABELS = {
    "respiration_rate": lambda: _("Respiration rate"), "spo2": lambda: _("SpO2"),
    "air_or_oxygen": lambda: _("Air or oxygen"), "systolic_bp": lambda: _("Systolic pressure"),
    "pulse": lambda: _("Pulse"), "consciousness": lambda: _("Consciousness"),
    "temperature": lambda: _("Temperature"), "news2": lambda: _("NEWS2 total"),
    "oxygen_flow": lambda: _("Oxygen flow"), "diastolic_bp": lambda: _("Diastolic pressure"),
    "weight": lambda: _("Weight"), "ventilator_hours": lambda: _("Ventilator hours per day"),
    "mask_leak": lambda: _("Mask leak"),
}


def _result_context(obs: ObservationSet) -> dict[str, Any]:
    subscores = [{"key": k, "label": PARAMETER_LABELS[k](), "score": v}
                 for k, v in (obs.news2_subscores or {}).items()]
    response = ""
    monitoring = ""
    if obs.news2_total is not None:
        from . import news2

        resp = news2.response_for(obs.news2_total, obs.news2_risk)
        response = RESPONSE_TEXT[resp.key]()
        monitoring = {"routine": _("At least every 12 hours"),
                      "low": _("At least every 4-6 hours"), "red": _("At least every hour"),
                      "urgent": _("At least every hour"),
                      "emergency": _("Continuous monitoring")}[resp.key]
    return {"obs": obs, "subscores": subscores, "risk_label": risk_label(obs.news2_risk),
            "response": response, "monitoring": monitoring,
            "missing": [PARAMETER_LABELS[m]() for m in obs.news2_missing or []]}


# --------------------------------------------------------------------------- overview

@require_GET
def overview(request: HttpRequest, patient_id: UUID) -> HttpResponse:
    patient, grant = _read(request, patient_id)
    sets = list(ObservationSet.objects.filter(patient=patient)
                .filter(visible_sets_q(patient, grant))
                .exclude(status=ObservationSet.Status.ENTERED_IN_ERROR)
                .select_related("recorded_by", "organisation").order_by("-taken_at")[:LATEST])
    forms = {f.key: f for f in current_forms()}
    news = [o.news2_total for o in reversed(sets) if o.news2_total is not None]
    from .defaults import preview_for
    from .models import EscalationSettings
    from .schedule import open_task

    rules_row = EscalationSettings.objects.filter(patient=patient).first()
    shown_rules = rules_row or preview_for(patient)
    closer = rules_row if rules_row is not None and rules_row.close_since else None
    context = {
        "nav": "patients", "patient": patient, "grant": grant, "can_write": _can_write(grant),
        "sets": [{"obs": o, "form": forms.get(o.form_key),
                  "risk_label": risk_label(o.news2_risk)} for o in sets],
        "forms": [f for f in forms.values() if f.kind != "self_report"],
        "scale_order": services.active_scale_order(patient),
        "suggest_scale_2": bool(shown_rules and shown_rules.suggest_scale_2),
        "closer": closer, "closer_task": open_task(patient.pk) if closer else None,
        "may_order_scale": _can_write(grant) and getattr(request.user, "profession", "")
        == "doctor",
        "isbars": list(IsbarReport.objects.filter(patient=patient)
                       .select_related("created_by").order_by("-created_at")[:5]),
        "spark": charts.sparkline(news, label=_("NEWS2, latest sets: %(values)s") % {
            "values": ", ".join(map(str, news))}) if news else "",
    }
    return render(request, "observations/overview.html", context)


# --------------------------------------------------------------------------- form pages

def _raw_answers(form: Form, post: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {}
    for q in form.questions:
        if q.type == "multi_choice":
            values = post.getlist(q.key)
            if values:
                raw[q.key] = values
        elif q.type == "boolean":
            value = post.get(q.key, "")
            if value in ("yes", "no"):
                raw[q.key] = value == "yes"
        else:
            value = post.get(q.key, "")
            if str(value).strip():
                raw[q.key] = value
    return raw


def _fields(form: Form, values: dict[str, Any], problems: dict[str, str],
            confirm: list[str]) -> list[dict[str, Any]]:
    out = []
    for section in form.sections:
        questions = []
        for q in section.questions:
            value = values.get(q.key)
            questions.append({
                "q": q, "value": "" if value is None else value,
                "values": value if isinstance(value, list) else [value],
                "error": problems.get(q.key, ""), "confirm": q.key in confirm,
                "input": _input_kind(q)})
        out.append({"section": section, "questions": questions})
    return out


def _input_kind(q: Question) -> str:
    if q.type in ("integer", "scale"):
        return "numeric"
    if q.type == "decimal":
        return "decimal"
    return q.type


def _form_response(request: HttpRequest, patient: Patient, grant: policy.Grant, form: Form,
                   *, values: dict[str, Any], problems: dict[str, str] | None = None,
                   confirm: list[str] | None = None, draft: ObservationSet | None = None,
                   status: int = 200) -> HttpResponse:
    context = {"nav": "patients", "patient": patient, "grant": grant, "form": form,
               "fields": _fields(form, values, problems or {}, confirm or []),
               "problems": problems or {}, "draft": draft,
               "scale": services.spo2_scale_for(patient) if form.news2 else None,
               "taken_at": timezone.localtime(draft.taken_at if draft else timezone.now())
               .strftime("%Y-%m-%dT%H:%M")}
    return render(request, "observations/form.html", context, status=status)


def _parse_taken_at(request: HttpRequest) -> dt.datetime | None:
    text = request.POST.get("taken_at", "").strip()
    if not text:
        return None
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        raise services.ObservationRejected(
            {"taken_at": _("Give the time as date and hour.")}) from None
    return timezone.make_aware(parsed) if timezone.is_naive(parsed) else parsed


def _save(request: HttpRequest, patient: Patient, grant: policy.Grant, form: Form,
          draft: ObservationSet | None) -> HttpResponse:
    if not _can_write(grant):
        return render_error(request, 403, _("You may not change this record"),
                            _("You can see this patient, but not change the record."))
    raw = _raw_answers(form, request.POST)
    final = request.POST.get("action") != "draft"
    confirmed = [k for k in request.POST.getlist("confirm") if form.question(k)]
    try:
        obs = services.save_observation(
            policy.actor_for(request), patient, grant, form_key=form.key, answers=raw,
            final=final, confirmed=confirmed, draft=draft, taken_at=_parse_taken_at(request))
    except services.ObservationRejected as exc:
        return _form_response(request, patient, grant, form, values=raw,
                              problems=exc.problems, confirm=exc.needs_confirmation,
                              draft=draft, status=422)
    except DomainError as exc:
        return _form_response(request, patient, grant, form, values=raw,
                              problems={exc.field or "form": exc.message}, draft=draft,
                              status=422)
    if not final:
        messages.success(request, _("The form is saved as a draft. Finish it later."))
        return redirect("observations:overview", patient_id=patient.pk)
    url = reverse("observations:set", args=[patient.pk, obs.pk])
    if _is_htmx(request):
        response = HttpResponse(status=204)
        response["HX-Redirect"] = url
        return response
    return redirect(url)


@require_http_methods(["GET", "POST"])
def new_set(request: HttpRequest, patient_id: UUID, form_key: str) -> HttpResponse:
    patient, grant = _read(request, patient_id)
    form = get_form(form_key)
    if form is None or form.kind == "self_report":
        raise Http404
    if request.method == "POST":
        return _save(request, patient, grant, form, None)
    return _form_response(request, patient, grant, form, values={})


@require_http_methods(["GET", "POST"])
def edit_draft(request: HttpRequest, patient_id: UUID, set_id: UUID) -> HttpResponse:
    patient, grant = _read(request, patient_id)
    obs = _set_in(patient, set_id, grant)
    form = get_form(obs.form_key, obs.form_version)
    if form is None:
        raise Http404
    if not obs.is_draft:
        return redirect("observations:set", patient_id=patient.pk, set_id=obs.pk)
    if request.method == "POST":
        return _save(request, patient, grant, form, obs)
    return _form_response(request, patient, grant, form, values=dict(obs.answers), draft=obs)


@require_GET
def set_detail(request: HttpRequest, patient_id: UUID, set_id: UUID) -> HttpResponse:
    patient, grant = _read(request, patient_id)
    obs = _set_in(patient, set_id, grant)
    form = get_form(obs.form_key, obs.form_version)
    answers = []
    for q in form.questions if form else []:
        if q.key not in obs.answers:
            continue
        value = obs.answers[q.key]
        if q.type in ("choice", "change"):
            shown = q.choice_label(value)
        elif q.type == "multi_choice":
            shown = ", ".join(q.choice_label(v) for v in value)
        elif q.type == "boolean":
            shown = _("yes") if value else _("no")
        else:
            shown = f"{value} {q.unit}".strip()
        answers.append({"q": q, "shown": shown,
                        "alert": bool(q.alert_when) and any(
                            str(v) in q.alert_when for v in (
                                value if isinstance(value, list) else [value]))})
    from .corrections import may_mark

    context = {"nav": "patients", "patient": patient, "grant": grant, "form": form,
               "answers": answers, "can_write": _can_write(grant),
               "may_mark_error": _can_write(grant) and obs.status ==
               ObservationSet.Status.FINAL and may_mark(request.user, obs),
               **_result_context(obs)}
    return render(request, "observations/set.html", context)


@require_http_methods(["GET", "POST"])
def set_error(request: HttpRequest, patient_id: UUID, set_id: UUID) -> HttpResponse:
    """Mark a finished set as entered in error, with a reason (the recorder or a nurse
    of the recording unit)."""
    from .corrections import mark_in_error, may_mark

    patient, grant = _read(request, patient_id)
    obs = _set_in(patient, set_id, grant)
    form = get_form(obs.form_key, obs.form_version)
    allowed = _can_write(grant) and may_mark(request.user, obs) and \
        obs.status == ObservationSet.Status.FINAL
    error, status, reason = "", 200, ""
    if request.method == "POST":
        reason = request.POST.get("reason", "")
        try:
            mark_in_error(policy.actor_for(request), patient, grant, obs, reason=reason)
        except DomainError as exc:
            error, status = exc.message, 403 if exc.status == 403 else 422
        else:
            messages.success(request, _("The observations are marked as entered in error. "
                                        "They no longer count in NEWS2 and the trends."))
            return redirect("observations:set", patient_id=patient.pk, set_id=obs.pk)
    return render(request, "observations/set_error.html", {
        "nav": "patients", "patient": patient, "grant": grant, "obs": obs, "form": form,
        "allowed": allowed, "error": error, "reason": reason,
        "risk_label": risk_label(obs.news2_risk)}, status=status)


# --------------------------------------------------------------------------- trends

class Epoch(Func):
    """Seconds since 1970 as a float, computed by the database: converting thousands of
    timestamps to aware datetimes in Python costs more than the query. The database
    already returns a float, so no per-row converter is added."""

    output_field = FloatField()

    @property
    def convert_value(self) -> Any:
        return self._convert_value_noop  # type: ignore[attr-defined]

    def as_sql(self, compiler: Any, connection: Any, function: str | None = None,
               template: str | None = None, arg_joiner: str | None = None,
               **extra: Any) -> tuple[str, Any]:
        sql, params = compiler.compile(self.source_expressions[0])
        if connection.vendor == "postgresql":
            return f"EXTRACT(EPOCH FROM {sql})::float8", params
        return f"((julianday({sql}) - 2440587.5) * 86400.0)", params


def trend_rows(patient: Patient, codes: tuple[str, ...], since: dt.datetime,
               grant: policy.Grant | None = None) -> list[tuple[Any, ...]]:
    """One row per set, oldest first: (epoch seconds, then each code's value or None).
    The database turns the narrow table's rows (one per value, read from its
    (patient, code, taken_at) index) into one row per set, so two years of daily sets
    are 730 rows for Python instead of 4,380; the chart series and the table are both
    cut from these rows."""
    qs = VitalSign.objects.filter(patient=patient, code__in=codes, taken_at__gte=since)
    if grant is not None:
        qs = qs.filter(visible_sets_q(patient, grant, "observation_set__"))
    columns = {f"v{i}": Max("value", filter=Q(code=code)) for i, code in enumerate(codes)}
    return list(qs.values("observation_set_id")
                .annotate(at=Max(Epoch("taken_at")), **columns)
                .order_by("at").values_list("at", *columns))


def trend_data(patient: Patient, codes: tuple[str, ...], since: dt.datetime,
               grant: policy.Grant | None = None) -> dict[str, list[tuple[float, float]]]:
    """Each code's (epoch seconds, value) points, oldest first."""
    rows = trend_rows(patient, codes, since, grant)
    return {code: [(row[0], row[i]) for row in rows if row[i] is not None]
            for i, code in enumerate(codes, start=1)}


TABLE_ROWS = 200
# One format string per table row: a format_html call per cell costs more than the query.
TABLE_ROW = ('<tr><th scope="row">{}</th>' + '<td class="num">{}</td>' * len(TREND_CODES)
             + "</tr>")


@require_GET
def trends(request: HttpRequest, patient_id: UUID) -> HttpResponse:
    patient, grant = _read(request, patient_id, code="samhand.observation.read")
    try:
        days = max(1, min(int(request.GET.get("days", "30")), 800))
    except ValueError:
        days = 30
    since = timezone.now() - dt.timedelta(days=days)
    rows = trend_rows(patient, TREND_CODES, since, grant)
    panels = []
    for i, code in enumerate(TREND_CODES, start=1):
        points = [(row[0], row[i]) for row in rows if row[i] is not None]
        label = PARAMETER_LABELS[code]()
        description = _("%(n)s values from %(first)s to %(last)s; latest %(latest)s.") % {
            "n": len(points), "first": charts.day(points[0][0]) if points else "–",
            "last": charts.day(points[-1][0]) if points else "–",
            "latest": charts._fmt(points[-1][1]) if points else "–"}
        panels.append({"code": code, "label": label, "count": len(points),
                       "chart": charts.line_chart(points, code=code, title=label,
                                                  description=description)})
    # The table alternative: one row per set, one column per code (latest first).
    latest = rows[:-TABLE_ROWS - 1:-1]
    table = format_html_join("\n", TABLE_ROW, (
        (f"{charts.local_time(row[0]):%d.%m.%Y %H:%M}",
         *("–" if value is None else charts._fmt(value) for value in row[1:]))
        for row in latest))
    context = {"nav": "patients", "patient": patient, "grant": grant, "days": days,
               "panels": panels, "rows": table, "row_count": len(latest),
               "columns": [PARAMETER_LABELS[c]() for c in TREND_CODES],
               "ranges": (7, 30, 90, 365, 730)}
    return render(request, "observations/trends.html", context)


# --------------------------------------------------------------------------- scale 2

@require_POST
def scale_order(request: HttpRequest, patient_id: UUID) -> HttpResponse:
    patient, grant = _read(request, patient_id, object_type="Spo2ScaleOrder")
    try:
        scale = int(request.POST.get("scale", "0"))
    except ValueError:
        scale = 0
    try:
        services.order_spo2_scale(policy.actor_for(request), patient, grant, scale=scale,
                                  reason=request.POST.get("reason", ""))
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("SpO2 scale 2 is ordered.") if scale == 2
                         else _("SpO2 scale 1 applies again."))
    return redirect("observations:overview", patient_id=patient.pk)


# --------------------------------------------------------------------------- ISBAR

def _alert_in(patient: Patient, alert_id: Any) -> Any:
    if not alert_id:
        return None
    try:
        from samhand.alerts.models import Alert
    except ImportError:
        return None
    if not policy._is_uuid(alert_id):
        return None
    return Alert.objects.filter(pk=alert_id, patient=patient).first()


@require_http_methods(["GET", "POST"])
def isbar_new(request: HttpRequest, patient_id: UUID) -> HttpResponse:
    patient, grant = _read(request, patient_id, object_type="IsbarReport",
                           code="samhand.isbar.read")
    alert = _alert_in(patient, request.GET.get("alert") or request.POST.get("alert"))
    if request.method == "POST":
        return _isbar_save(request, patient, grant, alert, None)
    fields = reports.draft_isbar(policy.actor_for(request), patient, alert=alert)
    return _isbar_page(request, patient, grant, fields, alert=alert, report=None)


@require_http_methods(["GET", "POST"])
def isbar_detail(request: HttpRequest, patient_id: UUID, report_id: UUID) -> HttpResponse:
    patient, grant = _read(request, patient_id, object_type="IsbarReport",
                           code="samhand.isbar.read")
    report = IsbarReport.objects.filter(pk=report_id, patient=patient).first()
    if report is None:
        raise Http404
    if request.method == "POST":
        return _isbar_save(request, patient, grant, None, report)
    fields = {name: getattr(report, name) for name in ISBAR_FIELDS}
    return _isbar_page(request, patient, grant, fields, alert=None, report=report)


def _sender_phone(grant: policy.Grant) -> str:
    org = grant.organisation
    return (org.display_24h() or org.phone) if org is not None else ""


def _isbar_page(request: HttpRequest, patient: Patient, grant: policy.Grant,
                fields: dict[str, str], *, alert: Any, report: IsbarReport | None,
                error: str = "", status: int = 200, send_error: str = "",
                chosen: str = "", phone: str | None = None) -> HttpResponse:
    headings = isbar_headings()
    sendings = list(report.sendings.select_related("sent_by")) if report else []
    sender = reports.unit_address(grant.organisation) if report and _can_write(grant) \
        else None
    context = {"nav": "patients", "patient": patient, "grant": grant, "alert": alert,
               "report": report, "error": error,
               "can_write": _can_write(grant) and not sendings,
               "may_send": sender is not None, "send_error": send_error,
               "receivers": reports.isbar_receivers(patient, sender) if sender else [],
               "chosen": chosen,
               "phone": phone if phone is not None else _sender_phone(grant),
               "sendings": [{"s": s, "url": reverse("messaging:thread", args=[
                   patient.pk, s.thread_id]) if s.thread_id else ""} for s in sendings],
               "fields": [{"name": n, "heading": headings[n], "letter": "ISBAR"[i],
                           "value": fields.get(n, "")} for i, n in enumerate(ISBAR_FIELDS)],
               "as_text": "\n\n".join(f"{headings[n]}\n{fields.get(n, '')}"
                                      for n in ISBAR_FIELDS)}
    return render(request, "observations/isbar.html", context, status=status)


def _isbar_save(request: HttpRequest, patient: Patient, grant: policy.Grant, alert: Any,
                report: IsbarReport | None) -> HttpResponse:
    fields = {n: request.POST.get(n, "") for n in ISBAR_FIELDS}
    try:
        saved = reports.save_isbar(policy.actor_for(request), patient, grant, fields,
                                   alert_id=getattr(alert, "pk", None), report=report)
    except DomainError as exc:
        return _isbar_page(request, patient, grant, fields, alert=alert, report=report,
                           error=exc.message, status=403 if exc.status == 403 else 422)
    messages.success(request, _("The ISBAR summary is saved on the patient."))
    return redirect("observations:isbar", patient_id=patient.pk, report_id=saved.pk)


@require_POST
def isbar_send(request: HttpRequest, patient_id: UUID, report_id: UUID) -> HttpResponse:
    """Send a saved ISBAR as a message to a unit on the patient's care team."""
    patient, grant = _read(request, patient_id, object_type="IsbarReport",
                           code="samhand.isbar.read")
    report = IsbarReport.objects.filter(pk=report_id, patient=patient).first()
    if report is None:
        raise Http404
    fields = {name: getattr(report, name) for name in ISBAR_FIELDS}
    chosen = request.POST.get("receiver", "")
    phone = request.POST.get("phone", "")
    try:
        sending = reports.send_isbar(policy.actor_for(request), patient, grant, report,
                                     receiver_id=chosen, phone=phone)
    except DomainError as exc:
        return _isbar_page(request, patient, grant, fields, alert=None, report=report,
                           send_error=exc.message, chosen=chosen, phone=phone,
                           status=403 if exc.status == 403 else 422)
    messages.success(request, _("The ISBAR summary is sent to %(unit)s.") % {
        "unit": sending.receiver_name})
    return redirect("observations:isbar", patient_id=patient.pk, report_id=report.pk)


# --------------------------------------------------------------------------- self-report

@require_http_methods(["GET", "POST"])
def report_worse(request: HttpRequest, patient_id: UUID) -> HttpResponse:
    """"I am / he is worse": for a relative with a delegation (and the care team)."""
    patient, grant = policy.get_patient_for(request, patient_id, code="samhand.careteam.read",
                                            object_type="CareTeam",
                                            scope=Delegation.Scope.CONTACTS)
    form = get_form("self_report")
    assert form is not None
    target = first_level_target(patient)
    context: dict[str, Any] = {"nav": "relatives", "patient": patient, "form": form,
                               "unit": target[1] if target else None,
                               "phone_24h": target[1].display_24h() if target else ""}
    if request.method == "POST":
        raw = _raw_answers(form, request.POST)
        try:
            receipt = reports.submit_self_report(policy.actor_for(request), patient, grant,
                                                 answers=raw)
        except services.ObservationRejected as exc:
            context.update(fields=_fields(form, raw, exc.problems, []), problems=exc.problems)
            return render(request, "observations/report_worse.html", context, status=422)
        except DomainError as exc:
            context.update(fields=_fields(form, raw, {}, []), problems={"form": exc.message})
            return render(request, "observations/report_worse.html", context, status=403)
        context["receipt"] = receipt
        return render(request, "observations/report_worse_sent.html", context)
    context["fields"] = _fields(form, {}, {}, [])
    return render(request, "observations/report_worse.html", context)


# --------------------------------------------------------------------------- unit alerts

@require_GET
def unit_alerts(request: HttpRequest) -> HttpResponse:
    """Open alerts for the user's units, for patients the user may see (the access
    layer filters; each patient listed is audited)."""
    from samhand.alerts.services import open_alerts_for

    user = request.user
    org_ids = policy.user_org_ids(user)
    visible = policy.visible_patients(user)
    alerts = list(open_alerts_for(org_ids).filter(patient__in=visible)
                  .order_by("due_at", "-raised_at")[:200])
    rank = {"critical": 0, "urgent": 1, "warning": 2, "info": 3}
    alerts.sort(key=lambda a: (a.acknowledged_at is not None, rank.get(a.severity, 9),
                               a.due_at or a.raised_at))
    patients = list({a.patient_id: a.patient for a in alerts}.values())
    policy.audit_list(request, "samhand.alert.list", patients, object_type="Flag")
    now = timezone.now()
    return render(request, "observations/unit_alerts.html", {
        "nav": "patients", "alerts": [{"alert": a, "overdue": a.is_overdue(now)}
                                      for a in alerts]})


@require_POST
def acknowledge_alert(request: HttpRequest, patient_id: UUID, alert_id: UUID) -> HttpResponse:
    from samhand.alerts.models import Alert
    from samhand.alerts.services import acknowledge

    patient, grant = policy.get_patient_for(request, patient_id, code="samhand.observation.read",
                                            object_type="Flag")
    alert = Alert.objects.filter(pk=alert_id, patient=patient).first()
    if alert is None:
        raise Http404
    if not _can_write(grant):
        return render_error(request, 403, _("You may not change this record"),
                            _("You can see this patient, but not change the record."))
    try:
        alert = acknowledge(alert, request.user, note=request.POST.get("note", "")[:500],
                            actor=policy.actor_for(request))
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("You have acknowledged the alert. You act on it now."))
        from .escalation import settle_acknowledged

        if settle_acknowledged(policy.actor_for(request), alert):
            messages.info(request, _("The values have normalised since, so the alert is "
                                     "closed."))
    target = request.POST.get("next", "")
    if target == "isbar":
        return redirect(reverse("observations:isbar_new", args=[patient.pk]) +
                        f"?alert={alert.pk}")
    return redirect("observations:alerts")


# --------------------------------------------------------------------------- rules

@require_http_methods(["GET", "POST"])
def rules(request: HttpRequest, patient_id: UUID) -> HttpResponse:
    """The patient's escalation thresholds (a doctor changes them)."""
    from .defaults import defaults_for, preview_for, seed_rules, update_schedule_rules
    from .escalation import DEFAULTS
    from .models import EscalationSettings

    patient, grant = _read(request, patient_id, object_type="EscalationSettings")
    # GET stores nothing: the pathway's defaults are shown until a set or a doctor's
    # save stores them.
    current = EscalationSettings.objects.filter(patient=patient).first() or \
        preview_for(patient) or DEFAULTS
    may_change = _can_write(grant) and getattr(request.user, "profession", "") == "doctor"
    error, field, status = "", "", 200
    if request.method == "POST":
        try:
            with transaction.atomic():
                actor = policy.actor_for(request)
                if may_change:
                    seed_rules(patient, actor=actor)
                services.update_rules(actor, patient, grant, request.POST.dict())
                update_schedule_rules(actor, patient, request.POST.dict())
        except DomainError as exc:
            error, field, status = exc.message, exc.field or "", (
                403 if exc.status == 403 else 422)
        else:
            messages.success(request, _("The escalation rules are saved."))
            return redirect("observations:rules", patient_id=patient.pk)
    seeded = defaults_for(current.seeded_from) if current.seeded_from else None
    return render(request, "observations/rules.html", {
        "nav": "patients", "patient": patient, "grant": grant, "rules": current,
        "seeded_note": seeded.note_text() if seeded else "",
        "may_change": may_change, "error": error, "error_field": field}, status=status)
