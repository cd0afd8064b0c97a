"""The operator queue: messages not delivered, and received messages that could not be
processed — inspected (raw bytes, parsed summary, problems with element paths, every
transmission attempt, the acknowledgement), corrected and sent as a new message; and
the timeliness report.

Who: users with an operator role (coordinator or administrative staff) in the
organisation that owns the message — the municipality or hospital (with all its
units) that sent it, or whose address received it. Received transmissions that name
no known receiver belong to no organisation: only the installation's staff (is_staff)
with an operator role see those. A message about a patient opens only through
`policy.get_patient_for` (404 and an audit row otherwise). Everyone else gets 404,
like an address that does not exist. The queue lists message ids, never patient names.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from samhand.access import policy
from samhand.audit.services import record
from samhand.lib.errors import DomainError
from samhand.orgs.models import Membership

from . import bundle as fhirmsg
from .bundle import Message, Unreadable
from .models import OutboundMessage, Transmission, event_label
from .outbox import CorrectionRefused, resend_as_new, timeliness
from .receive import find_parties, find_patient, organisations_under

OPERATOR_ROLES = {Membership.Role.COORDINATOR, Membership.Role.ADMINISTRATIVE}
PROBLEM_OUTCOMES = [Transmission.Outcome.UNREADABLE, Transmission.Outcome.REJECTED,
                    Transmission.Outcome.FAILED, Transmission.Outcome.BUNDLE_REUSED]
MAX_RAW_SHOWN = 512 * 1024


@dataclass
class Scope:
    """What an operator may handle: the organisations (with their units) and, for staff,
    the transmissions that belong to no organisation."""

    organisation_ids: set[Any]
    unattributed: bool


def operator_scope(request: HttpRequest) -> Scope:
    """The caller's operator scope, or Http404 for a user who is no operator."""
    user = request.user
    if not user.is_authenticated:
        raise Http404
    ids: set[Any] = set()
    for membership in policy.active_memberships(user):
        if membership.role in OPERATOR_ROLES:
            ids.update(organisations_under(membership.organisation))
    if not ids:
        raise Http404
    return Scope(ids, unattributed=bool(user.is_staff))


def _parsed(raw: bytes) -> Message | None:
    try:
        return fhirmsg.parse(raw)
    except Unreadable:
        return None


def transmission_owner(t: Transmission) -> tuple[Any, Message | None]:
    """(the owning organisation id or None, the parsed message if readable)."""
    message = _parsed(bytes(t.raw))
    if t.message is not None and t.message.receiver is not None:
        return t.message.receiver.organisation_id, message
    if message is not None:
        receiver, _sender = find_parties(message)
        if receiver is not None:
            return receiver.organisation_id, message
    return None, message


def _owns(scope: Scope, org_id: Any) -> bool:
    return (org_id in scope.organisation_ids) if org_id is not None else scope.unattributed


def _outbound_for(request: HttpRequest, scope: Scope, outbound_id: UUID) -> OutboundMessage:
    out = (OutboundMessage.objects.select_related("sender__organisation", "receiver",
                                                  "patient", "replaced_by")
           .filter(pk=outbound_id).first())
    if out is None or not (_owns(scope, out.sending_organisation_id)
                           or _owns(scope, out.sender.organisation_id)):
        raise Http404
    if out.patient_id is not None:
        policy.get_patient_for(request, out.patient_id, code="samhand.message.inspected",
                               object_type="MessageHeader")
    else:
        record(policy.actor_for(request), "samhand.message.inspected", "R",
               object_type="MessageHeader", object_ids=[out.header_id])
    return out


def pretty(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False)


def pretty_raw(raw: bytes) -> tuple[str, bool]:
    """The received bytes as text for the page (pretty JSON when they are JSON), and
    whether they were cut."""
    cut = len(raw) > MAX_RAW_SHOWN
    data = raw[:MAX_RAW_SHOWN]
    if not cut:
        try:
            return pretty(json.loads(data)), False
        except ValueError:
            pass
    return data.decode("utf-8", errors="replace"), cut


def ack_issues(ack: dict[str, Any] | None) -> list[dict[str, str]]:
    """The OperationOutcome issues of an acknowledgement: element path, code, text."""
    out: list[dict[str, str]] = []
    for _index, outcome in Message(ack or {}).of_type("OperationOutcome"):
        for issue in outcome.get("issue") or []:
            if not isinstance(issue, dict) or issue.get("severity") == "information":
                continue
            coding = ((issue.get("details") or {}).get("coding") or [{}])[0]
            out.append({"path": ", ".join(issue.get("expression") or []) or "Bundle",
                        "code": str(coding.get("code") or issue.get("code") or ""),
                        "text": str(issue.get("diagnostics") or "")})
    return out


def _when(value: Any) -> str:
    try:
        moment = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return str(value or "")
    if timezone.is_naive(moment):
        return str(value)
    return date_format(timezone.localtime(moment), "SHORT_DATETIME_FORMAT")


def summary(message: Message | None, *, parties: bool = True) -> list[tuple[str, str]]:
    """The parsed message in a few lines (label, value); `parties`: sender, receiver and
    patient as the message names them."""
    if message is None:
        return []
    rows = [(_("Message type"), f"{event_label(message.event)} ({message.event})"
             if message.event else ""),
            (_("Activity"), message.current_activity()),
            (_("MessageHeader.id"), message.header_id), (_("Bundle.id"), message.bundle_id),
            (_("Sent at"), _when(message.bundle.get("timestamp")))]
    if parties:
        sender = message.sender() or {}
        receiver = message.primary_receiver() or {}
        names = []
        for _i, patient in message.patients():
            name = (patient.get("name") or [{}])[0] if patient.get("name") else {}
            if isinstance(name, dict):
                names.append(" ".join([*(name.get("given") or []), name.get("family") or ""]))
        rows += [(_("From"), str(sender.get("name") or "")),
                 (_("To"), str(receiver.get("name") or "")),
                 (_("Patient"), ", ".join(n.strip() for n in names if n.strip()))]
    return [(label, value) for label, value in rows if value]


# --------------------------------------------------------------------------- the queue

@require_http_methods(["GET"])
def operator_queue(request: HttpRequest) -> HttpResponse:
    scope = operator_scope(request)
    ids = scope.organisation_ids
    failed = (OutboundMessage.objects.filter(status=OutboundMessage.Status.FAILED)
              .filter(sending_organisation_id__in=ids)
              .select_related("receiver").defer("content", "ack").order_by("-created_at")[:100])
    problems = []
    for t in (Transmission.objects.filter(outcome__in=PROBLEM_OUTCOMES)
              .select_related("message__receiver").order_by("-received_at")[:300]):
        owner, _message = transmission_owner(t)
        if _owns(scope, owner):
            problems.append(t)
        if len(problems) >= 100:
            break
    record(policy.actor_for(request), "samhand.message.search", "E",
           object_type="MessageHeader", query="operator queue")
    return render(request, "messaging/operator_queue.html", {
        "failed": failed, "problems": problems})


@require_http_methods(["GET"])
def operator_outbound(request: HttpRequest, outbound_id: UUID) -> HttpResponse:
    """One sent message: content, summary, problems, every attempt, the acknowledgement."""
    out = _outbound_for(request, operator_scope(request), outbound_id)
    message = Message(out.content)
    return render(request, "messaging/operator_outbound.html", {
        "out": out, "summary": summary(message, parties=False), "raw": pretty(out.content),
        "problems": [p.as_dict() for p in fhirmsg.check(message, validate_fhir=False)],
        "ack_problems": ack_issues(out.ack), "ack": pretty(out.ack) if out.ack else "",
        "attempts": list(out.attempt_rows.all()),
        "replaces": OutboundMessage.objects.filter(replaced_by=out).only(
            "id", "header_id").first(),
        "can_correct": out.status == OutboundMessage.Status.FAILED})


class CorrectionForm(forms.Form):
    content = forms.CharField(
        label=gettext_lazy("The message (FHIR JSON)"), max_length=25 * 1024 * 1024,
        strip=False, widget=forms.Textarea(attrs={"rows": 24, "spellcheck": "false", "wrap": "off",
                                     "class": "json-editor"}),
        help_text=gettext_lazy("Correct what the receiver refused. It is checked like the "
                               "receiver checks it, and sent as a new message with new "
                               "ids; the original is marked as replaced."))


@require_http_methods(["GET", "POST"])
def operator_correct(request: HttpRequest, outbound_id: UUID) -> HttpResponse:
    """Correct a message that was not delivered and send it as a new message."""
    out = _outbound_for(request, operator_scope(request), outbound_id)
    if out.status != OutboundMessage.Status.FAILED:
        raise Http404
    form = CorrectionForm(request.POST or None, initial={"content": pretty(out.content)})
    problems: list[dict[str, str]] = []
    if request.method == "POST" and form.is_valid():
        try:
            new = resend_as_new(out, policy.actor_for(request),
                                content=form.cleaned_data["content"])
        except CorrectionRefused as exc:
            form.add_error("content", exc.message)
            problems = [p.as_dict() for p in exc.problems]
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("The corrected message is queued as a new message."))
            return redirect("messaging:operator_outbound", outbound_id=new.pk)
    return render(request, "messaging/operator_correct.html", {
        "out": out, "form": form, "problems": problems},
        status=422 if form.is_bound and form.errors else 200)


@require_http_methods(["POST"])
def operator_resend(request: HttpRequest, outbound_id: UUID) -> HttpResponse:
    """Send a failed message again unchanged, as a new message (new ids), audited."""
    out = _outbound_for(request, operator_scope(request), outbound_id)
    if out.status != OutboundMessage.Status.FAILED:
        raise Http404
    new = resend_as_new(out, policy.actor_for(request))
    messages.success(request, _("The message is queued again as a new message."))
    return redirect("messaging:operator_outbound", outbound_id=new.pk)


@require_http_methods(["GET"])
def operator_received(request: HttpRequest, transmission_id: int) -> HttpResponse:
    """One received transmission that was rejected or could not be read."""
    scope = operator_scope(request)
    t = (Transmission.objects.select_related("message__receiver", "message__patient")
         .filter(pk=transmission_id, outcome__in=PROBLEM_OUTCOMES).first())
    if t is None:
        raise Http404
    owner, message = transmission_owner(t)
    if not _owns(scope, owner):
        raise Http404
    patient = (t.message.patient if t.message is not None else None) or (
        find_patient(message) if message is not None else None)
    if patient is not None:
        policy.get_patient_for(request, patient.pk, code="samhand.message.inspected",
                               object_type="MessageHeader")
    else:
        record(policy.actor_for(request), "samhand.message.inspected", "R",
               object_type="MessageHeader", object_ids=[t.header_id or str(t.pk)])
    raw, cut = pretty_raw(bytes(t.raw))
    ack = t.message.ack if t.message is not None else None
    others = (Transmission.objects.filter(header_id=t.header_id).exclude(pk=t.pk)
              .defer("raw").order_by("received_at")[:20]) if t.header_id else []
    return render(request, "messaging/operator_received.html", {
        "t": t, "raw": raw, "cut": cut, "size": len(t.raw), "summary": summary(message),
        "problems": t.problems, "ack": pretty(ack) if ack else "",
        "others": others})


# --------------------------------------------------------------------------- timeliness

def _duration(value: float) -> str:
    seconds = round(value)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return _("%(h)d h %(m)02d min") % {"h": hours, "m": minutes}
    if minutes:
        return _("%(m)d min %(s)02d s") % {"m": minutes, "s": secs}
    return _("%(s)d s") % {"s": secs}


@require_http_methods(["GET"])
def operator_timeliness(request: HttpRequest) -> HttpResponse:
    """Per organisation and message type: count, median and slowest time from the event
    to the acknowledgement, weekdays and weekends apart (issue 6 point 9)."""
    from samhand.orgs.models import Organisation

    scope = operator_scope(request)
    rows = timeliness(list(scope.organisation_ids))
    names = dict(Organisation.objects.filter(
        pk__in={r["organisation_id"] for r in rows}).values_list("pk", "name"))
    table: dict[tuple[Any, str], dict[str, Any]] = {}
    for row in rows:
        key = (row["organisation_id"], row["event"])
        entry = table.setdefault(key, {
            "organisation": names.get(row["organisation_id"], "-"),
            "event": event_label(row["event"]), "code": row["event"],
            "weekday": None, "weekend": None})
        entry["weekend" if row["weekend"] else "weekday"] = {
            "count": row["count"], "median": _duration(row["median_seconds"]),
            "slowest": _duration(row["slowest_seconds"])}
    for entry in table.values():
        entry["parts"] = [(label, entry[key]) for key, label in (
            ("weekday", _("Weekdays")), ("weekend", _("Weekends"))) if entry[key]]
    record(policy.actor_for(request), "samhand.message.search", "E",
           object_type="MessageHeader", query="timeliness report")
    return render(request, "messaging/operator_timeliness.html", {
        "rows": sorted(table.values(), key=lambda r: (r["organisation"], str(r["event"]))),
        "alert_minutes": _alert_minutes()})


def _alert_minutes() -> int:
    from django.conf import settings

    return int(settings.SAMHAND_MESSAGE_ADMISSION_ACK_ALERT_SECONDS) // 60
