"""Collaboration meetings: the list and the invitation (hospital), one meeting with its
agenda, consent check, minutes, agreement and signatures (htmx swaps the record part),
and the resulting tasks on the pathway once signed."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from samhand.access.policy import actor_for
from samhand.lib.timeutil import OSLO
from samhand.orgs.models import Sector
from samhand.patients.models import Patient

from .. import meetings as service
from .. import pathway_link
from ..contacts import active_team
from ..forms import MEETING_ROLE, AgreementForm, CallMeetingForm, MinuteForm, SignAgreementForm
from ..models import Document, Meeting
from .common import apply_form, base_context, can_write, open_patient, page, refuse_read_only


def _meetings_context(request: HttpRequest, patient: Patient, grant: Any,
                      form: CallMeetingForm | None = None) -> dict[str, Any]:
    org = grant.organisation
    return {**base_context(request, patient, grant, "meetings"),
            "meetings": list(Meeting.objects.filter(patient=patient)
                             .select_related("called_by", "called_by_organisation")
                             .order_by("-starts_at")),
            "may_call": org is not None and org.sector == Sector.SPECIALIST,
            "form": form or CallMeetingForm(team=active_team(patient))}


@require_http_methods(["GET", "POST"])
def meetings(request: HttpRequest, patient_id: UUID) -> HttpResponse:
    if request.method == "GET":
        patient, grant = open_patient(request, patient_id, "samhand.meeting.read", "Encounter")
        return page(request, "plans/meetings.html", _meetings_context(request, patient, grant))
    patient, grant = open_patient(request, patient_id, "samhand.meeting.change", "Encounter")
    refused = refuse_read_only(request, grant)
    if refused:
        return refused
    team = active_team(patient)
    form = CallMeetingForm(request.POST, team=team)

    def call() -> Meeting:
        chosen = set(form.cleaned_data["invite"])
        participants = [service.ParticipantIn(role=MEETING_ROLE[m.role],
                                              organisation_id=m.organisation_id,
                                              user_id=m.user_id)
                        for m in team if str(m.pk) in chosen]
        if form.cleaned_data["extra_name"] and form.cleaned_data["extra_role"]:
            participants.append(service.ParticipantIn(role=form.cleaned_data["extra_role"],
                                                      name=form.cleaned_data["extra_name"]))
        return service.call_meeting(
            actor_for(request), patient, grant, starts_at=form.cleaned_data["starts_at"],
            place=form.cleaned_data["place"], video_link=form.cleaned_data["video_link"],
            participants=participants)

    meeting, status = apply_form(form, call)
    if meeting is not None:
        messages.success(request, _("The collaboration meeting is called."))
        return redirect("plans:meeting", patient_id=patient.pk, meeting_id=meeting.pk)
    return page(request, "plans/meetings.html",
                _meetings_context(request, patient, grant, form), status=status)


def _meeting_for(patient: Patient, meeting_id: UUID) -> Meeting:
    meeting = (Meeting.objects.filter(pk=meeting_id, patient=patient)
               .select_related("called_by", "called_by_organisation", "patient").first())
    if meeting is None:
        raise Http404
    return meeting


def _record_context(request: HttpRequest, patient: Patient, grant: Any, meeting: Meeting,
                    **forms: Any) -> dict[str, Any]:
    team = active_team(patient)
    minutes = list(meeting.minutes.select_related("owner_organisation", "recorded_by"))
    signatures = list(meeting.signatures.select_related("signed_by", "participant"))
    valid = {s.pk for s in service.valid_signatures(meeting)}
    participant = meeting.participants.filter(user=request.user).first() \
        if request.user.is_authenticated else None
    tasks = pathway_link.tasks_by_id([m.task_id for m in minutes if m.task_id])
    consent = service.consent_before(patient, meeting.starts_at)
    return {
        **base_context(request, patient, grant, "meetings"),
        "meeting": meeting, "starts_local": meeting.starts_at.astimezone(OSLO),
        "participants": list(meeting.participants.select_related("organisation", "user")),
        "minutes": [{"minute": m, "task": tasks.get(str(m.task_id))} for m in minutes],
        "signatures": [{"signature": s, "valid": s.pk in valid} for s in signatures],
        "signed_sides": {s.side for s in signatures if s.pk in valid},
        "consent": consent, "is_open": meeting.status == Meeting.Status.CALLED,
        "participant": participant,
        "agreement_hash": meeting.agreement_hash(),
        "documents": list(Document.objects.filter(meeting=meeting).defer("pdf")
                          .order_by("kind")),
        "minute_form": forms.get("minute_form") or MinuteForm(team=team),
        "agreement_form": forms.get("agreement_form") or AgreementForm(
            initial={"agreement_text": meeting.agreement_text}),
        "sign_form": SignAgreementForm(initial={"seen_hash": meeting.agreement_hash()}),
        "sign_error": forms.get("sign_error", ""),
        "can_write": can_write(grant),
    }


@require_GET
def meeting(request: HttpRequest, patient_id: UUID, meeting_id: UUID) -> HttpResponse:
    patient, grant = open_patient(request, patient_id, "samhand.meeting.read", "Encounter")
    found = _meeting_for(patient, meeting_id)
    return page(request, "plans/meeting.html", _record_context(request, patient, grant, found))


def _respond(request: HttpRequest, patient: Patient, grant: Any, meeting: Meeting,
             status: int, **forms: Any) -> HttpResponse:
    """htmx gets the record part back; a plain POST the page (or a redirect)."""
    meeting.refresh_from_db()
    context = _record_context(request, patient, grant, meeting, **forms)
    if request.headers.get("HX-Request") == "true":
        # htmx swaps 422 only (base.html): a refusal (403, 409) is shown the same way.
        return render(request, "plans/_meeting_record.html", context,
                      status=200 if status == 200 else 422)
    if status == 200:
        return redirect("plans:meeting", patient_id=patient.pk, meeting_id=meeting.pk)
    return page(request, "plans/meeting.html", context, status=status)


@require_POST
def meeting_minute(request: HttpRequest, patient_id: UUID, meeting_id: UUID) -> HttpResponse:
    patient, grant = open_patient(request, patient_id, "samhand.meeting.change", "Encounter")
    refused = refuse_read_only(request, grant)
    if refused:
        return refused
    found = _meeting_for(patient, meeting_id)
    form = MinuteForm(request.POST, team=active_team(patient))
    _minute, status = apply_form(form, lambda: service.add_minute(
        actor_for(request), found, grant, kind=form.cleaned_data["kind"],
        text=form.cleaned_data["text"],
        owner_organisation_id=form.cleaned_data["owner_organisation"] or None,
        deadline=form.cleaned_data["deadline"]))
    return _respond(request, patient, grant, found, status,
                    minute_form=None if status == 200 else form)


@require_POST
def meeting_agreement(request: HttpRequest, patient_id: UUID, meeting_id: UUID) -> HttpResponse:
    patient, grant = open_patient(request, patient_id, "samhand.meeting.change", "Encounter")
    refused = refuse_read_only(request, grant)
    if refused:
        return refused
    found = _meeting_for(patient, meeting_id)
    form = AgreementForm(request.POST)
    _meeting, status = apply_form(form, lambda: service.set_agreement(
        actor_for(request), found, grant, text=form.cleaned_data["agreement_text"]))
    return _respond(request, patient, grant, found, status,
                    agreement_form=None if status == 200 else form)


@require_POST
def meeting_sign(request: HttpRequest, patient_id: UUID, meeting_id: UUID) -> HttpResponse:
    patient, grant = open_patient(request, patient_id, "samhand.meeting.change", "Encounter")
    refused = refuse_read_only(request, grant)
    if refused:
        return refused
    found = _meeting_for(patient, meeting_id)
    form = SignAgreementForm(request.POST)
    _signature, status = apply_form(form, lambda: service.sign_agreement(
        actor_for(request), found, grant, seen_hash=form.cleaned_data["seen_hash"]))
    error = "" if status == 200 else " ".join(str(e) for e in form.non_field_errors()) or \
        _("The signature was not saved.")
    return _respond(request, patient, grant, found, status, sign_error=error)
