"""The message view of one patient (mail-like threads, read/unread per unit, answer),
and the operator queue of messages that were not delivered or not understood.

Every page reaches the patient through samhand.access.policy.get_patient_for; threads
are looked up *within* the patient. Marking a thread read is a POST (GET changes
nothing). A thread shows to units on the side that sent or received it; across
sectors only while the patient's consent to share health information is active.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from samhand.access import policy
from samhand.audit.models import AuditEvent
from samhand.orgs.models import Organisation
from samhand.patients.models import Patient

from . import codes
from .codes import Activity
from .models import CareThread, OutboundMessage, Partner, ThreadRead
from .stays import stays_for
from .threads import send_care_communication


def _is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def visible_threads(patient: Patient, grant: policy.Grant) -> QuerySet[CareThread]:
    """The patient's threads this grant may read: the sharing rule of the access layer,
    with the thread's two parties (without consent, the threads the viewer's own
    municipality or hospital is a party to)."""
    return CareThread.objects.filter(patient=patient).filter(policy.health_info_q(
        grant, patient=patient,
        party_fields=("local__organisation", "counterpart__organisation"))).select_related(
        "local__organisation", "counterpart")


def _thread_for(patient: Patient, grant: policy.Grant, thread_id: UUID) -> CareThread:
    thread = visible_threads(patient, grant).filter(pk=thread_id).first()
    if thread is None:
        raise Http404
    return thread


def _unit_partner(grant: policy.Grant) -> Partner | None:
    """This unit's own address (or its parent's) to send from."""
    return Partner.own_address(grant.organisation)


def _unread(threads: list[CareThread], unit: Organisation | None) -> set[Any]:
    if unit is None:
        return set()
    read = dict(ThreadRead.objects.filter(thread__in=threads, organisation=unit)
                .values_list("thread_id", "read_at"))
    return {t.pk for t in threads if t.pk not in read or read[t.pk] < t.last_message_at}


class MessageForm(forms.Form):
    text = forms.CharField(label=gettext_lazy("Message"), max_length=10000,
                           widget=forms.Textarea(attrs={"rows": 5}))
    phone = forms.CharField(label=gettext_lazy("Phone number the receiver can call"),
                            max_length=30)


class NewThreadForm(MessageForm):
    receiver = forms.ModelChoiceField(label=gettext_lazy("To"), queryset=Partner.objects.none())
    category = forms.ChoiceField(label=gettext_lazy("Category"),
                                 choices=[(k, k) for k in codes.CATEGORIES])
    topic = forms.CharField(label=gettext_lazy("Topic"), max_length=60, required=False)

    field_order = ["receiver", "category", "topic", "text", "phone"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        receiver = self.fields["receiver"]
        assert isinstance(receiver, forms.ModelChoiceField)
        receiver.queryset = Partner.objects.filter(is_local=False, is_active=True)
        category = self.fields["category"]
        assert isinstance(category, forms.ChoiceField)
        category.choices = [(k, CATEGORY_LABELS.get(k, k)) for k in codes.CATEGORIES]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("category") == "other" and not data.get("topic"):
            self.add_error("topic", _("Write a topic when the category is 'other'."))
        return data


CATEGORY_LABELS: dict[str, Any] = {
    "activity": gettext_lazy("Activity"), "assistive-devices": gettext_lazy("Assistive devices"),
    "discharge": gettext_lazy("Discharge"),
    "examination-results": gettext_lazy("Examination results"),
    "medication": gettext_lazy("Medication"), "patient-info": gettext_lazy("Patient information"),
    "nursing": gettext_lazy("Nursing"), "appointment": gettext_lazy("Appointment"),
    "pre-admission": gettext_lazy("Pre-admission"),
    "rehabilitation": gettext_lazy("Rehabilitation"),
    "treatment": gettext_lazy("Treatment"), "decease": gettext_lazy("Death"),
    "regarding-referral": gettext_lazy("Regarding referral"),
    "telemedicine": gettext_lazy("Telemedicine"), "training": gettext_lazy("Training"),
    "acute-ambulant": gettext_lazy("Acute ambulant"),
    "extended-care-responsibility": gettext_lazy("Extended care responsibility"),
    "other": gettext_lazy("Other"),
}


def _author(request: HttpRequest) -> str:
    user = request.user
    return (user.get_full_name() or user.get_username()) if user.is_authenticated else ""


@require_http_methods(["GET"])
def patient_messages(request: HttpRequest, patient_id: UUID) -> HttpResponse:
    patient, grant = policy.get_patient_for(request, patient_id, code="samhand.message.read",
                                            object_type="Communication")
    threads = list(visible_threads(patient, grant)[:100])
    unread = _unread(threads, grant.organisation)
    outbox = (OutboundMessage.objects.filter(patient=patient).exclude(
        status__in=[OutboundMessage.Status.DELIVERED, OutboundMessage.Status.CANCELLED,
                    OutboundMessage.Status.SUPERSEDED]).select_related("receiver")
        .defer("content", "ack")[:20])
    return render(request, "messaging/patient_messages.html", {
        "patient": patient, "threads": threads, "unread": unread, "stays": stays_for(patient),
        "outbox": outbox, "can_send": _unit_partner(grant) is not None,
        "categories": CATEGORY_LABELS})


@require_http_methods(["GET", "POST"])
def new_thread(request: HttpRequest, patient_id: UUID) -> HttpResponse:
    patient, grant = policy.get_patient_for(request, patient_id, code="samhand.message.read",
                                            object_type="Communication")
    own = _unit_partner(grant)
    if grant.basis not in (AuditEvent.Basis.CARE_RELATION, AuditEvent.Basis.EMERGENCY):
        raise PermissionDenied
    form = NewThreadForm(request.POST or None)
    if request.method == "POST" and own is not None and form.is_valid():
        data = form.cleaned_data
        care = send_care_communication(
            patient=patient, sender=own, receiver=data["receiver"],
            actor=policy.actor_for(request), author_name=_author(request),
            author_phone=data["phone"], text=data["text"], category=data["category"],
            topic=data["topic"])
        ThreadRead.objects.update_or_create(thread=care.thread, organisation=grant.organisation,
                                            defaults={"read_at": timezone.now()})
        messages.success(request, _("The message is on its way."))
        return redirect("messaging:thread", patient_id=patient.pk, thread_id=care.thread.pk)
    return render(request, "messaging/new_thread.html", {
        "patient": patient, "form": form, "own": own})


@require_http_methods(["GET", "POST"])
def thread_detail(request: HttpRequest, patient_id: UUID, thread_id: UUID) -> HttpResponse:
    """GET shows the thread; POST marks it read for the user's unit."""
    patient, grant = policy.get_patient_for(request, patient_id, code="samhand.message.read",
                                            object_type="Communication")
    thread = _thread_for(patient, grant, thread_id)
    if request.method == "POST":
        if grant.organisation is not None:
            ThreadRead.objects.update_or_create(thread=thread, organisation=grant.organisation,
                                                defaults={"read_at": timezone.now()})
        if _is_htmx(request):
            return HttpResponse(_("Read"))
        return redirect("messaging:thread", patient_id=patient.pk, thread_id=thread.pk)
    unread = thread.pk in _unread([thread], grant.organisation)
    return render(request, "messaging/thread.html", _thread_context(
        request, patient, grant, thread, MessageForm(), unread=unread))


def _thread_context(request: HttpRequest, patient: Patient, grant: policy.Grant,
                    thread: CareThread, form: forms.Form, *, unread: bool = False,
                    ) -> dict[str, Any]:
    return {"patient": patient, "thread": thread, "form": form, "unread": unread,
            "items": list(thread.messages.select_related("outbound")),
            "can_reply": _unit_partner(grant) is not None and thread.counterpart is not None,
            "category_label": CATEGORY_LABELS.get(thread.category, thread.category)}


@require_http_methods(["POST"])
def reply(request: HttpRequest, patient_id: UUID, thread_id: UUID) -> HttpResponse:
    patient, grant = policy.get_patient_for(request, patient_id, code="samhand.message.read",
                                            object_type="Communication")
    thread = _thread_for(patient, grant, thread_id)
    own = _unit_partner(grant)
    if grant.basis not in (AuditEvent.Basis.CARE_RELATION, AuditEvent.Basis.EMERGENCY) or \
            own is None or thread.counterpart is None:
        raise PermissionDenied
    form = MessageForm(request.POST)
    if form.is_valid():
        send_care_communication(
            patient=patient, sender=own, receiver=thread.counterpart,
            actor=policy.actor_for(request), author_name=_author(request),
            author_phone=form.cleaned_data["phone"], text=form.cleaned_data["text"],
            category=thread.category, topic=thread.topic, thread=thread,
            activity=Activity.REPLY)
        if grant.organisation is not None:
            ThreadRead.objects.update_or_create(thread=thread, organisation=grant.organisation,
                                                defaults={"read_at": timezone.now()})
        form = MessageForm()
        if not _is_htmx(request):
            messages.success(request, _("The answer is on its way."))
            return redirect("messaging:thread", patient_id=patient.pk, thread_id=thread.pk)
    template = "messaging/_thread_body.html" if _is_htmx(request) else "messaging/thread.html"
    return render(request, template, _thread_context(request, patient, grant, thread, form),
                  status=200 if form.is_bound is False or form.is_valid() else 422)


class ForwardForm(forms.Form):
    receiver = forms.ModelChoiceField(label=gettext_lazy("Forward to"),
                                      queryset=Partner.objects.none())
    text = forms.CharField(label=gettext_lazy("Your note to the receiver"), max_length=10000,
                           required=False, widget=forms.Textarea(attrs={"rows": 4}),
                           help_text=gettext_lazy("The whole thread is sent with it, "
                                                  "attachments included."))
    phone = forms.CharField(label=gettext_lazy("Phone number the receiver can call"),
                            max_length=30)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        receiver = self.fields["receiver"]
        assert isinstance(receiver, forms.ModelChoiceField)
        receiver.queryset = Partner.objects.filter(is_local=False, is_active=True)


@require_http_methods(["GET", "POST"])
def forward(request: HttpRequest, patient_id: UUID, thread_id: UUID) -> HttpResponse:
    """Forward a thread to another address (MedCom forward-message: a new thread id; the
    earlier segments repeated with their attachments)."""
    patient, grant = policy.get_patient_for(request, patient_id, code="samhand.message.read",
                                            object_type="Communication")
    thread = _thread_for(patient, grant, thread_id)
    own = _unit_partner(grant)
    if grant.basis not in (AuditEvent.Basis.CARE_RELATION, AuditEvent.Basis.EMERGENCY):
        raise PermissionDenied
    form = ForwardForm(request.POST or None)
    if request.method == "POST" and own is not None and form.is_valid():
        data = form.cleaned_data
        text = data["text"].strip() or _("Forwarded from %(unit)s.") % {"unit": own.name}
        care = send_care_communication(
            patient=patient, sender=own, receiver=data["receiver"],
            actor=policy.actor_for(request), author_name=_author(request),
            author_phone=data["phone"], text=text, category=thread.category,
            topic=thread.topic, thread=thread, activity=Activity.FORWARD)
        if grant.organisation is not None:
            ThreadRead.objects.update_or_create(thread=care.thread,
                                                organisation=grant.organisation,
                                                defaults={"read_at": timezone.now()})
        messages.success(request, _("The thread is forwarded."))
        return redirect("messaging:thread", patient_id=patient.pk, thread_id=care.thread.pk)
    return render(request, "messaging/forward.html", {
        "patient": patient, "thread": thread, "form": form, "own": own,
        "category_label": CATEGORY_LABELS.get(thread.category, thread.category),
        "items": list(thread.messages.all())},
        status=422 if form.is_bound and form.errors else 200)
