"""The append-only audit log (Normen f15, pasientjournalloven § 22, IHE BALP).

Every row carries `seq` (gap-free, assigned under a lock on the chain head) and a
SHA-256 hash over its own content and the previous row's hash. Rows are never
updated or deleted: on PostgreSQL a trigger rejects UPDATE and DELETE; on both
databases `samhand audit verify` finds the first row that was altered or removed.

Columns are plain relational fields; FHIR AuditEvent is produced on export
(`samhand.fhir.audit`), so the table, the FHIR export and the patient's access log
share one source.
"""

from __future__ import annotations

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _


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
        CARE_RELATION = "care_relation", _("Care relation")
        EMERGENCY = "emergency", _("Emergency access")
        DELEGATION = "delegation", _("Delegation from the patient")
        OWN_RECORD = "own_record", _("The patient's own record")
        NONE = "none", _("No basis")
        SYSTEM = "system", _("System")

    id = models.BigAutoField(primary_key=True)
    seq = models.BigIntegerField(unique=True)
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    recorded_at = models.DateTimeField()
    code = models.CharField(max_length=80)  # namespaced, e.g. samhand.patient.read
    action = models.CharField(max_length=1, choices=Action.choices)
    outcome = models.CharField(max_length=1, choices=Outcome.choices, default=Outcome.SUCCESS)
    # who
    user_id = models.UUIDField(null=True, blank=True)
    user_name = models.CharField(max_length=200, blank=True)
    user_sub = models.CharField(max_length=200, blank=True)
    user_hpr = models.CharField(max_length=10, blank=True)
    user_role = models.CharField(max_length=64, blank=True)
    organisation_id = models.UUIDField(null=True, blank=True)
    organisation_name = models.CharField(max_length=200, blank=True)
    organisation_number = models.CharField(max_length=20, blank=True)
    on_behalf_of = models.CharField(max_length=200, blank=True)
    # what
    patient_id = models.UUIDField(null=True, blank=True, db_index=True)
    object_type = models.CharField(max_length=40, blank=True)
    object_ids = models.JSONField(default=list, blank=True)
    query = models.CharField(max_length=200, blank=True)
    # where
    client = models.CharField(max_length=20, blank=True)  # web, api, fhir, cli, admin
    source_ip = models.GenericIPAddressField(null=True, blank=True)
    correlation_id = models.CharField(max_length=32, blank=True)
    # why
    basis = models.CharField(max_length=20, choices=Basis.choices, default=Basis.NONE)
    basis_id = models.CharField(max_length=40, blank=True)
    reason_code = models.CharField(max_length=40, blank=True)
    reason_text = models.TextField(blank=True)
    blocked_data = models.BooleanField(default=False)
    # chain
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        ordering = ["seq"]
        indexes = [
            # The patient's access log: newest first per patient.
            models.Index(fields=["patient_id", "-seq"], name="audit_patient_seq_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.code}"


class ChainHead(models.Model):
    """One row: the newest seq and hash. Locked while a row is appended."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    seq = models.BigIntegerField(default=0)
    hash = models.CharField(max_length=64, default="0" * 64)

    def __str__(self) -> str:
        return f"head {self.seq}"


class ReviewItem(models.Model):
    """An entry in the security officer's log-review queue (e.g. every emergency access)."""

    class Status(models.TextChoices):
        OPEN = "open", _("Awaiting review")
        ACCEPTED = "accepted", _("Reviewed, justified")
        FLAGGED = "flagged", _("Reviewed, followed up")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(max_length=40)
    audit_event = models.ForeignKey(AuditEvent, on_delete=models.PROTECT, db_constraint=False,
                                    related_name="+")
    patient_id = models.UUIDField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField(auto_now_add=True)
    reviewed_by_id = models.UUIDField(null=True, blank=True)
    reviewed_at = models.DateTimeField(null=True, blank=True)
    note = models.TextField(blank=True)

    class Meta:
        verbose_name = _("review item")
        verbose_name_plural = _("review items")

    def __str__(self) -> str:
        return f"{self.kind} {self.status}"
