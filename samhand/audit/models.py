"""The append-only audit log (Normen f15, pasientjournalloven § 22, IHE BALP).

Every row carries `seq` (gap-free, assigned under a lock on the chain head) and a
SHA-256 hash over its own content and the previous row's hash. Rows are never
updated or deleted: database triggers (migration 0002) reject UPDATE, DELETE and
TRUNCATE on both PostgreSQL and SQLite, the chain head may only move forward to a
row that exists, and `samhand audit verify` finds the first row that was altered
or removed anyway (by someone who could switch the triggers off).

Columns are plain relational fields, snapshots taken when the row is written (a
renamed user or organisation does not rewrite history). FHIR AuditEvent is
produced on export (`samhand.fhir.audit`), so the table, the FHIR export and the
patient's access log share one source.

Write rows only through `samhand.audit.services.record()`.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

GENESIS_HASH = "0" * 64


class AuditEvent(models.Model):
    class Action(models.TextChoices):  # FHIR AuditEvent.action
        CREATE = "C", _("Create")
        READ = "R", _("Read")
        UPDATE = "U", _("Update")
        DELETE = "D", _("Delete")
        EXECUTE = "E", _("Execute")

    class Outcome(models.TextChoices):  # FHIR AuditEvent.outcome
        SUCCESS = "0", _("Success")
        MINOR_FAILURE = "4", _("Denied or failed")
        SERIOUS_FAILURE = "8", _("Serious failure")

    class Basis(models.TextChoices):
        """Why the actor was allowed (or not) to touch the patient's data."""

        CARE_RELATION = "care_relation", _("Care relation")
        EMERGENCY = "emergency", _("Emergency access")
        DELEGATION = "delegation", _("Delegation from the patient")
        OWN_RECORD = "own_record", _("The patient's own record")
        DISCLOSURE = "disclosure", _("Disclosure by message")
        NONE = "none", _("No basis")
        SYSTEM = "system", _("System")

    id = models.BigAutoField(primary_key=True)
    seq = models.BigIntegerField(unique=True)
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    recorded_at = models.DateTimeField(_("recorded"))
    code = models.CharField(_("event"), max_length=80)  # namespaced, e.g. samhand.patient.read
    action = models.CharField(_("action"), max_length=1, choices=Action.choices)
    outcome = models.CharField(_("outcome"), max_length=1, choices=Outcome.choices,
                               default=Outcome.SUCCESS)
    # who
    user_id = models.UUIDField(null=True, blank=True)
    user_name = models.CharField(_("name"), max_length=200, blank=True)
    user_sub = models.CharField(max_length=200, blank=True)
    user_hpr = models.CharField(_("HPR number"), max_length=10, blank=True)
    user_role = models.CharField(_("role"), max_length=64, blank=True)  # Membership.Role
    user_profession = models.CharField(_("profession"), max_length=32, blank=True)
    organisation_id = models.UUIDField(null=True, blank=True)
    organisation_name = models.CharField(_("organisation"), max_length=200, blank=True)
    organisation_number = models.CharField(max_length=20, blank=True)  # ENH (org. number)
    organisation_her_id = models.CharField(max_length=20, blank=True)
    on_behalf_of = models.CharField(max_length=200, blank=True)  # relative → patient
    # what
    patient_id = models.UUIDField(null=True, blank=True)
    object_type = models.CharField(max_length=40, blank=True)
    object_ids = models.JSONField(default=list, blank=True)  # the ids actually returned
    query = models.CharField(max_length=200, blank=True)
    recipient_id = models.UUIDField(null=True, blank=True)  # disclosure: receiving party
    recipient_name = models.CharField(max_length=200, blank=True)
    # where
    client = models.CharField(max_length=20, blank=True)  # web, api, fhir, cli, admin, system
    client_id = models.CharField(max_length=200, blank=True)  # OAuth client id
    source_ip = models.GenericIPAddressField(null=True, blank=True)
    network = models.CharField(max_length=20, blank=True)  # helsenett / internett
    correlation_id = models.CharField(max_length=32, blank=True)
    token_jti = models.CharField(max_length=200, blank=True)
    # why
    basis = models.CharField(_("basis"), max_length=20, choices=Basis.choices,
                             default=Basis.NONE)
    basis_id = models.CharField(max_length=40, blank=True)
    reason_code = models.CharField(max_length=40, blank=True)
    reason_text = models.TextField(blank=True)  # internal; never shown to the patient
    blocked_data = models.BooleanField(default=False)
    # chain
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        ordering = ["seq"]
        indexes = [
            # The patient's access log and the FHIR export: newest first per patient.
            models.Index(fields=["patient_id", "-seq"], name="audit_patient_seq_idx"),
            # Log review (security.md #29): one employee's accesses.
            models.Index(fields=["user_id", "-seq"], name="audit_user_seq_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(seq__gte=1), name="audit_seq_positive"),
            models.CheckConstraint(condition=Q(action__in=["C", "R", "U", "D", "E"]),
                                   name="audit_action_valid"),
            models.CheckConstraint(condition=Q(outcome__in=["0", "4", "8"]),
                                   name="audit_outcome_valid"),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.code}"

    @property
    def denied(self) -> bool:
        return self.outcome != self.Outcome.SUCCESS


class ChainHead(models.Model):
    """One row: the newest seq and hash. Locked while rows are appended; a trigger
    lets it move only forward, onto a row that exists with that hash."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    seq = models.BigIntegerField(default=0)
    hash = models.CharField(max_length=64, default=GENESIS_HASH)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(id=1), name="audit_chainhead_single_row"),
        ]

    def __str__(self) -> str:
        return f"head {self.seq}"


class ReviewItem(models.Model):
    """An entry in the security officer's log-review queue (e.g. every emergency access).

    The audit rows stay untouched; the review decision lives here, and making it is
    itself audited (`resolve`)."""

    class Kind(models.TextChoices):
        EMERGENCY_ACCESS = "emergency_access", _("Emergency access")

    class Status(models.TextChoices):
        OPEN = "open", _("Awaiting review")
        ACCEPTED = "accepted", _("Reviewed, justified")
        FLAGGED = "flagged", _("Reviewed, followed up")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(_("kind"), max_length=40)
    audit_event = models.ForeignKey(AuditEvent, on_delete=models.PROTECT, related_name="+",
                                    verbose_name=_("audit event"))
    patient_id = models.UUIDField(null=True, blank=True)
    organisation_id = models.UUIDField(null=True, blank=True)  # whose officer reviews it
    status = models.CharField(_("status"), max_length=16, choices=Status.choices,
                              default=Status.OPEN)
    created_at = models.DateTimeField(_("queued"), default=timezone.now)
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                    null=True, blank=True, related_name="+",
                                    verbose_name=_("reviewed by"))
    reviewed_at = models.DateTimeField(_("reviewed"), null=True, blank=True)
    note = models.TextField(_("note"), blank=True)

    class Meta:
        verbose_name = _("review item")
        verbose_name_plural = _("review items")
        ordering = ["-created_at"]
        indexes = [
            # The review queue: open items, oldest first.
            models.Index(fields=["status", "created_at"], name="audit_review_queue_idx"),
        ]
        constraints = [
            # Queued once per event and kind, however often the sweep runs.
            models.UniqueConstraint(fields=["audit_event", "kind"],
                                    name="audit_review_once_per_event"),
            models.CheckConstraint(condition=Q(status__in=["open", "accepted", "flagged"]),
                                   name="audit_review_status_valid"),
            models.CheckConstraint(
                condition=Q(status="open") | Q(reviewed_at__isnull=False,
                                               reviewed_by__isnull=False),
                name="audit_review_decided_by_someone"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.status}"

    def resolve(self, *, by: Any, status: str, note: str = "", actor: Any = None) -> None:
        """Record the reviewer's decision (once) and audit it."""
        from .services import Actor, record

        if status not in (self.Status.ACCEPTED, self.Status.FLAGGED):
            raise ValueError(f"not a decision: {status!r}")
        if self.status != self.Status.OPEN:
            raise ValueError("this item has already been reviewed")
        with transaction.atomic():
            updated = ReviewItem.objects.filter(pk=self.pk, status=self.Status.OPEN).update(
                status=status, reviewed_by=by, reviewed_at=timezone.now(), note=note)
            if not updated:
                raise ValueError("this item has already been reviewed")
            record(actor or Actor(user=by, client="admin"), "samhand.review.resolved",
                   AuditEvent.Action.UPDATE, patient_id=self.patient_id,
                   object_type="ReviewItem", object_ids=[self.pk],
                   basis=AuditEvent.Basis.SYSTEM, reason_code=status)
        self.refresh_from_db()
