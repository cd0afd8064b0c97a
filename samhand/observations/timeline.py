"""What samhand.observations adds to the patient's timeline (samhand.pathways.views
calls `items(patient, grant)` for every app in TIMELINE_APPS).

* `observation` — a finished set, with its NEWS2 total and risk when it has one
  (self-reports too); drafts and sets entered in error are left out;
* `checklist` — a finished "what has changed" checklist, with the answers that alert;
* `isbar` — an ISBAR summary written, and each time it was sent (to whom);
* `alert` — an observation alert acknowledged (who, when) or closed because the
  values normalised. (Raised alerts are listed by pathways itself.)

The same visibility as the pages: sets and summaries from the other sector only with
the patient's consent to share health information (access.visible_sets_q), nothing for
a relative's delegation.
"""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from samhand.access.policy import Grant
from samhand.audit.models import AuditEvent
from samhand.patients.models import Patient

from .access import visible_reports_q, visible_sets_q
from .definitions import get_form
from .models import IsbarReport, IsbarSending, ObservationSet

# Names for the timeline's "Show" filter (the pathways template may use them).
KIND_LABELS = {"observation": gettext_lazy("Observations"),
               "checklist": gettext_lazy("Checklists"),
               "isbar": gettext_lazy("ISBAR summaries"),
               "alert": gettext_lazy("Alerts")}
LIMIT = 500  # per kind: the timeline pages by 50; older items are on the pages themselves


def _name(user: Any) -> str:
    return user.get_full_name() if user is not None else ""


def _risk(risk: str) -> str:
    return {"low": _("low"), "low-medium": _("low-medium (a red parameter)"),
            "medium": _("medium"), "high": _("high")}.get(risk, risk)


def items(patient: Patient, grant: Grant) -> list[dict[str, Any]]:
    if grant.basis == AuditEvent.Basis.DELEGATION:
        return []
    out: list[dict[str, Any]] = []
    sets = (ObservationSet.objects.filter(patient=patient, status=ObservationSet.Status.FINAL)
            .filter(visible_sets_q(patient, grant))
            .select_related("recorded_by", "organisation").order_by("-taken_at")[:LIMIT])
    for obs in sets:
        form = get_form(obs.form_key, obs.form_version)
        title = str(form.title) if form else obs.form_key
        url = reverse("observations:set", args=[patient.pk, obs.pk])
        who = _name(obs.recorded_by)
        if obs.organisation is not None:
            who = f"{who}, {obs.organisation.name}" if who else obs.organisation.name
        if form is not None and form.kind == "change_checklist":
            flagged = [str(q.label) for q in form.questions if q.alert_when and any(
                str(v).lower() in q.alert_when for v in (
                    obs.answers.get(q.key) if isinstance(obs.answers.get(q.key), list)
                    else [obs.answers.get(q.key)]))]
            detail = (_("Changes that alert: %(list)s") % {"list": ", ".join(flagged)}
                      if flagged else _("No change that alerts."))
            out.append({"at": obs.taken_at, "kind": "checklist",
                        "title": _("Checklist finished: %(form)s") % {"form": title},
                        "detail": detail, "who": who, "url": url})
            continue
        if obs.news2_total is not None:
            title = _("%(form)s: NEWS2 %(total)s (%(risk)s)") % {
                "form": title, "total": obs.news2_total, "risk": _risk(obs.news2_risk)}
        out.append({"at": obs.taken_at, "kind": "observation", "title": title,
                    "detail": "", "who": who, "url": url})
    reports = list(IsbarReport.objects.filter(patient=patient)
                   .filter(visible_reports_q(patient, grant))
                   .select_related("created_by").order_by("-created_at")[:LIMIT])
    for report in reports:
        out.append({"at": report.created_at, "kind": "isbar",
                    "title": _("ISBAR written"), "detail": report.situation[:200],
                    "who": _name(report.created_by),
                    "url": reverse("observations:isbar", args=[patient.pk, report.pk])})
    for sending in IsbarSending.objects.filter(report__in=reports).select_related("sent_by"):
        out.append({"at": sending.sent_at, "kind": "isbar",
                    "title": _("ISBAR sent to %(unit)s") % {"unit": sending.receiver_name},
                    "detail": "", "who": _name(sending.sent_by),
                    "url": reverse("observations:isbar", args=[patient.pk,
                                                               sending.report_id])})
    out.extend(_alert_items(patient))
    return out


def _alert_items(patient: Patient) -> list[dict[str, Any]]:
    from samhand.alerts.models import Alert

    out: list[dict[str, Any]] = []
    alerts = (Alert.objects.filter(patient=patient, episode_key__startswith="observations:")
              .exclude(acknowledged_at__isnull=True, closed_at__isnull=True)
              .select_related("acknowledged_by", "closed_by", "organisation")
              .order_by("-raised_at")[:LIMIT])
    for alert in alerts:
        if alert.acknowledged_at is not None:
            out.append({"at": alert.acknowledged_at, "kind": "alert",
                        "title": _("Alert acknowledged: %(text)s") % {"text": alert.display_text},
                        "detail": alert.acknowledge_note,
                        "who": _name(alert.acknowledged_by)})
        if alert.closed_at is not None and alert.close_note:
            out.append({"at": alert.closed_at, "kind": "alert",
                        "title": _("Alert closed: %(text)s") % {"text": alert.display_text},
                        "detail": alert.close_note, "who": _name(alert.closed_by)})
    return out
