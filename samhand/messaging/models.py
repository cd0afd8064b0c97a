"""Messages between organisations: address book, inbox, outbox, and what messages mean.

* `Partner` — the address book: one communication party (a service address of an
  organisation) with its identifiers (HER-id, SOR, GLN) and endpoint URL. `is_local`
  marks this instance's own addresses (messages to them are received here).
* `Transmission` — every received transmission, byte for byte (also unreadable ones,
  for the operator). `InboundMessage` — one row per MessageHeader.id (the dedupe key),
  with the parsed content and the acknowledgement it got.
* `OutboundMessage` — the outbox, written in the same transaction as the change that
  causes it; `samhand messaging-send` delivers it. `OutboundAttempt` — each
  transmission of it and its answer, for the operator.
* `HospitalStay` — the state a HospitalNotification flow builds up; `CareThread`,
  `CareMessage`, `ThreadRead` — CareCommunication correspondence;
  `DischargeReadiness` — the Norwegian discharge-ready chain (PW-6).
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from samhand.orgs.models import Organisation
from samhand.patients.models import Patient

from .bundle import Party
from .fields import EncryptedCharField

EVENT_LABELS: dict[str, Any] = {
    "care-communication-message": _("Care communication"),
    "hospital-notification-message": _("Hospital notification"),
    "acknowledgement-message": _("Acknowledgement"),
    "empty-message": _("Empty message"),
    "homecareobservation-message": _("Home care observation"),
    "plo-admission-notice": _("Admission notice"),
    "plo-admission-report": _("Admission report"),
    "plo-health-info-application": _("Health information and application"),
    "plo-discharge-ready": _("Discharge-ready notice"),
    "plo-discharge-ready-withdrawn": _("Discharge-ready notice withdrawn"),
    "plo-municipal-decision": _("Municipal answer and decision"),
    "plo-discharge-report": _("Discharge report"),
    "plo-medical-info": _("Medical information"),
    "plo-health-info-to-gp": _("Health information to the GP"),
    "plo-medication-info": _("Medication information"),
    "plo-service-info": _("Service information"),
    "plo-request": _("Request"),
    "plo-answer": _("Answer to a request"),
    "plo-deviation": _("Deviation notice"),
    "plo-meeting-minutes": _("Minutes of a collaboration meeting"),
    "plo-isbar": _("ISBAR summary"),
}


def event_label(event: str) -> Any:
    """The message type in the user's language."""
    return EVENT_LABELS.get(event, event)


class Partner(models.Model):
    """An address in the address book (a PLO service address, a MedCom receiver)."""

    class Service(models.TextChoices):
        GENERAL = "general", _("General")
        HOME_NURSING = "home_nursing", _("Nursing service (home nursing)")
        COORDINATING_UNIT = "coordinating_unit", _("Coordinating unit")
        CASE_HANDLING = "case_handling", _("Case handling (allocation office)")
        HOSPITAL = "hospital", _("Hospital message reception")
        GP = "gp", _("GP")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(_("name"), max_length=200)
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, null=True,
                                     blank=True, related_name="message_addresses",
                                     verbose_name=_("organisation"))
    service = models.CharField(_("service"), max_length=32, choices=Service.choices,
                               default=Service.GENERAL)
    her_id = models.CharField(_("HER-id"), max_length=20, blank=True)
    sor_id = models.CharField(_("SOR-id"), max_length=20, blank=True)
    gln = models.CharField(_("GLN"), max_length=13, blank=True)
    endpoint_url = models.URLField(_("endpoint"), max_length=300, blank=True)
    is_local = models.BooleanField(_("this installation"), default=False)
    is_active = models.BooleanField(_("active"), default=True)
    # Inbound: the API token this partner's system authenticates with.
    inbound_token = models.ForeignKey("samhand_api.ApiToken", on_delete=models.SET_NULL,
                                      null=True, blank=True, related_name="+")
    # Outbound: the bearer token to present to this partner's endpoint, encrypted at
    # rest (fields.EncryptedCharField; never shown, also not in the admin).
    outbound_token = EncryptedCharField(max_length=500, blank=True)

    class Meta:
        verbose_name = _("message address")
        verbose_name_plural = _("message addresses")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["her_id"], condition=~Q(her_id=""),
                                    name="partner_unique_her_id"),
            models.UniqueConstraint(fields=["sor_id"], condition=~Q(sor_id=""),
                                    name="partner_unique_sor_id"),
            models.UniqueConstraint(fields=["gln"], condition=~Q(gln=""),
                                    name="partner_unique_gln"),
            models.CheckConstraint(condition=~Q(her_id="", sor_id="", gln=""),
                                   name="partner_has_an_identifier"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def party(self) -> Party:
        return Party(name=self.name, sor=self.sor_id, gln=self.gln, her_id=self.her_id,
                     endpoint=self.endpoint_url)

    @classmethod
    def own_address(cls, organisation: Organisation | None) -> Partner | None:
        """This installation's address for a unit to send from: the unit's own, or the
        nearest one above it (a department sends through its hospital's reception)."""
        org = organisation
        while org is not None:
            found = cls.objects.filter(organisation=org, is_local=True, is_active=True).first()
            if found is not None:
                return found
            org = org.parent
        return None


class Transmission(models.Model):
    """One received transmission, as received (byte for byte)."""

    class Via(models.TextChoices):
        HTTP = "http", "HTTP"
        FOLDER = "folder", _("Folder")

    class Outcome(models.TextChoices):
        PROCESSED = "processed", _("Processed")
        DUPLICATE = "duplicate", _("Duplicate (answered with the first acknowledgement)")
        REJECTED = "rejected", _("Rejected")
        UNREADABLE = "unreadable", _("Unreadable")
        BUNDLE_REUSED = "bundle_reused", _("Bundle id reused")
        FAILED = "failed", _("Failed inside samhand")
        ACKNOWLEDGEMENT = "acknowledgement", _("Acknowledgement")

    id = models.BigAutoField(primary_key=True)
    received_at = models.DateTimeField(default=timezone.now)
    via = models.CharField(max_length=8, choices=Via.choices, default=Via.HTTP)
    bundle_id = models.CharField(max_length=64, blank=True)
    header_id = models.CharField(max_length=64, blank=True)
    raw = models.BinaryField()
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    message = models.ForeignKey("InboundMessage", on_delete=models.PROTECT, null=True,
                                blank=True, related_name="transmissions")
    problems = models.JSONField(default=list, blank=True)

    class Meta:
        indexes = [
            # The reused-Bundle.id check on every received message.
            models.Index(fields=["bundle_id"], name="transmission_bundle_idx"),
            # The operator queue.
            models.Index(fields=["outcome", "-received_at"], name="transmission_outcome_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.outcome} {self.bundle_id}"


class InboundMessage(models.Model):
    """One received message (one MessageHeader.id), applied once."""

    class Status(models.TextChoices):
        ACCEPTED = "accepted", _("Accepted")
        REJECTED = "rejected", _("Rejected")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    header_id = models.CharField(max_length=64)
    bundle_id = models.CharField(max_length=64)
    event = models.CharField(max_length=64, blank=True)
    activity = models.CharField(max_length=64, blank=True)
    sender = models.ForeignKey(Partner, on_delete=models.PROTECT, null=True, blank=True,
                               related_name="received_from")
    receiver = models.ForeignKey(Partner, on_delete=models.PROTECT, null=True, blank=True,
                                 related_name="received_for")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, null=True, blank=True,
                                related_name="inbound_messages")
    # Not for anyone here (a HospitalNotification about someone the municipality does
    # not serve): acknowledged and kept, never shown.
    hidden = models.BooleanField(default=False)
    status = models.CharField(max_length=16, choices=Status.choices)
    notification_code = models.CharField(max_length=16, blank=True)
    content = models.JSONField()
    problems = models.JSONField(default=list, blank=True)
    ack_code = models.CharField(max_length=16)
    ack = models.JSONField()
    event_at = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-received_at"]
        constraints = [
            # MedCom MR8: a MessageHeader.id seen before is a duplicate.
            models.UniqueConstraint(fields=["header_id"], name="inbound_unique_header_id"),
        ]
        indexes = [models.Index(fields=["patient", "-received_at"], name="inbound_patient_idx")]

    def __str__(self) -> str:
        return f"{self.event} {self.header_id}"


class OutboundMessage(models.Model):
    """The outbox. Written in the transaction of the change that causes it."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting to be sent")
        SENT = "sent", _("Sent, waiting for the acknowledgement")
        DELIVERED = "delivered", _("Delivered")
        FAILED = "failed", _("Not delivered")
        CANCELLED = "cancelled", _("Cancelled")
        SUPERSEDED = "superseded", _("Replaced by a corrected message")

    OPEN = (Status.PENDING, Status.SENT)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    header_id = models.CharField(max_length=64)
    bundle_id = models.CharField(max_length=64)  # of the latest transmission
    event = models.CharField(max_length=64)
    activity = models.CharField(max_length=64, blank=True)
    sender = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="outbox_from")
    receiver = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="outbox_to")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, null=True, blank=True,
                                related_name="outbound_messages")
    sending_organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT,
                                             null=True, blank=True, related_name="+")
    content = models.JSONField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)  # HTTP tries, all kinds
    resends = models.PositiveSmallIntegerField(default=0)  # MedCom resends (no/transient ack)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    last_error = models.TextField(blank=True)
    ack_code = models.CharField(max_length=16, blank=True)
    ack = models.JSONField(null=True, blank=True)
    event_at = models.DateTimeField(default=timezone.now)  # when the cause happened
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    acked_at = models.DateTimeField(null=True, blank=True)
    replaced_by = models.ForeignKey("self", on_delete=models.SET_NULL, null=True, blank=True,
                                    related_name="+")

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.UniqueConstraint(fields=["header_id"], name="outbound_unique_header_id"),
        ]
        indexes = [
            # The worker: open messages whose time has come.
            models.Index(fields=["next_attempt_at"], condition=Q(status__in=["pending", "sent"]),
                         name="outbound_due_idx"),
            models.Index(fields=["patient", "-created_at"], name="outbound_patient_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.event} {self.header_id} ({self.status})"

    @property
    def event_label(self) -> Any:
        return event_label(self.event)

    @property
    def seconds_to_ack(self) -> float | None:
        if self.acked_at is None:
            return None
        return (self.acked_at - self.event_at).total_seconds()


class OutboundAttempt(models.Model):
    """One transmission of an outbox message (its Bundle.id) and what came of it, for the
    operator: the HTTP status, the error, the acknowledgement code."""

    id = models.BigAutoField(primary_key=True)
    message = models.ForeignKey(OutboundMessage, on_delete=models.CASCADE,
                                related_name="attempt_rows")
    bundle_id = models.CharField(max_length=64)
    at = models.DateTimeField(default=timezone.now)
    resend = models.BooleanField(default=False)  # a MedCom resend (silence, transient-error)
    http_status = models.PositiveSmallIntegerField(null=True, blank=True)  # 0: not reached
    error = models.CharField(max_length=500, blank=True)
    ack_code = models.CharField(max_length=16, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.bundle_id} {self.http_status}"


class HospitalStay(models.Model):
    """A hospital stay as HospitalNotifications describe it (one episode of care)."""

    class State(models.TextChoices):
        ACUTE_AMBULANT = "acute_ambulant", _("Acute ambulant at hospital")
        ADMITTED = "admitted", _("Admitted")
        ON_LEAVE = "on_leave", _("On leave")
        DISCHARGED = "discharged", _("Discharged")
        DECEASED = "deceased", _("Deceased")
        CANCELLED = "cancelled", _("Cancelled (sent in error)")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="hospital_stays")
    episode_ids = models.JSONField(default=list)
    hospital_name = models.CharField(max_length=200, blank=True)
    sender = models.ForeignKey(Partner, on_delete=models.PROTECT, null=True, blank=True,
                               related_name="+")
    state = models.CharField(max_length=16, choices=State.choices)
    state_before_death = models.CharField(max_length=16, blank=True)
    state_at = models.DateTimeField()  # the event time of the notification that set it
    last_code = models.CharField(max_length=16)
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    leave_started_at = models.DateTimeField(null=True, blank=True)
    leave_ended_at = models.DateTimeField(null=True, blank=True)
    report_requested = models.BooleanField(default=False)
    history = models.JSONField(default=list)  # [{code, at, applied, header_id}]
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-state_at"]
        indexes = [models.Index(fields=["patient", "-state_at"], name="stay_patient_idx")]

    def __str__(self) -> str:
        return f"{self.last_code} {self.state}"

    @property
    def is_in_hospital(self) -> bool:
        return self.state in (self.State.ACUTE_AMBULANT, self.State.ADMITTED,
                              self.State.ON_LEAVE)


class CareThread(models.Model):
    """A CareCommunication thread about one patient (MedCom §A.4, or a PLO dialogue)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    thread_key = models.CharField(max_length=100)  # Communication.identifier (urn:uuid:…)
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, null=True, blank=True,
                                related_name="care_threads")
    category = models.CharField(max_length=40)
    topic = models.CharField(max_length=200, blank=True)
    priority = models.CharField(max_length=8, blank=True)
    episode_of_care = models.CharField(max_length=100, blank=True)
    counterpart = models.ForeignKey(Partner, on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="+")
    # This installation's side of the thread (the address it was received at or sent from).
    local = models.ForeignKey(Partner, on_delete=models.PROTECT, null=True, blank=True,
                              related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    last_message_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-last_message_at"]
        constraints = [models.UniqueConstraint(fields=["thread_key"], name="thread_unique_key")]
        indexes = [models.Index(fields=["patient", "-last_message_at"],
                                name="thread_patient_idx")]

    def __str__(self) -> str:
        return self.topic or self.category


class CareMessage(models.Model):
    """One message in a thread: its new segments, who wrote it, which way it went."""

    class Direction(models.TextChoices):
        IN = "in", _("Received")
        OUT = "out", _("Sent")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    thread = models.ForeignKey(CareThread, on_delete=models.CASCADE, related_name="messages")
    header_id = models.CharField(max_length=64)
    direction = models.CharField(max_length=4, choices=Direction.choices)
    activity = models.CharField(max_length=32)
    from_name = models.CharField(max_length=200)
    to_name = models.CharField(max_length=200, blank=True)
    author_name = models.CharField(max_length=200, blank=True)
    author_phone = models.CharField(max_length=30, blank=True)
    # [{id, kind: text|attachment, text, title, content_type, data(base64)?, author, phone, at, by}]
    segments = models.JSONField(default=list)
    sent_at = models.DateTimeField(default=timezone.now)
    inbound = models.ForeignKey(InboundMessage, on_delete=models.PROTECT, null=True,
                                blank=True, related_name="+")
    outbound = models.ForeignKey(OutboundMessage, on_delete=models.PROTECT, null=True,
                                 blank=True, related_name="+")

    class Meta:
        ordering = ["sent_at"]
        constraints = [models.UniqueConstraint(fields=["header_id", "direction"],
                                               name="caremessage_unique_header")]

    def __str__(self) -> str:
        return f"{self.direction} {self.header_id}"

    def new_segments(self) -> list[dict[str, Any]]:
        return [s for s in self.segments if s.get("new", True)]


class ThreadRead(models.Model):
    """A unit has read a thread up to a time (read/unread per unit)."""

    thread = models.ForeignKey(CareThread, on_delete=models.CASCADE, related_name="reads")
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    read_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["thread", "organisation"],
                                               name="threadread_unique")]

    def __str__(self) -> str:
        return f"{self.thread_id} {self.organisation_id}"


class DischargeReadiness(models.Model):
    """The discharge-ready chain of one stay (forskrift om kommunal betaling §§ 8-13):
    notice, municipal answer and decision, withdrawal, discharge — with timestamps, so
    that the days the municipality must pay for can be computed (PW-6)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT,
                                related_name="discharge_readiness")
    declared_at = models.DateTimeField()  # the notice: the doctor declared the patient ready
    notice_header_id = models.CharField(max_length=64)
    answered_at = models.DateTimeField(null=True, blank=True)
    can_receive = models.BooleanField(null=True)
    receive_from = models.DateField(null=True, blank=True)  # the decision's date
    decision_header_id = models.CharField(max_length=64, blank=True)
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    discharged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-declared_at"]

    def __str__(self) -> str:
        return f"{self.patient_id} {self.declared_at:%Y-%m-%d}"

    def payable_days(self, until: dt.date | None = None) -> int:
        """Bed-days from and including the declared day until (not including) the first
        of: the day the municipality can receive the patient, discharge, withdrawal, and
        `until` (default today: the days so far). 0 when the municipality could receive
        the patient from the declared day."""
        start = timezone.localdate(self.declared_at)
        ends = [d for d in (
            self.receive_from,
            timezone.localdate(self.discharged_at) if self.discharged_at else None,
            timezone.localdate(self.withdrawn_at) if self.withdrawn_at else None,
            until or timezone.localdate()) if d is not None]
        end = min(ends)
        if self.can_receive and self.receive_from is not None and self.receive_from <= start:
            return 0
        return max(0, (end - start).days)
