"""Plans and documents of one patient (PL-1 … PL-6, TC-4).

* The individual plan, the treatment plan and the action plan each have one head row
  per patient and immutable versions: every change is a new version with the whole
  content (validated structured JSON, see samhand/plans/schema.py), so that any two
  versions can be shown side by side. Nothing updates a version row.
* A treatment-plan signature and an action-plan approval pin one version by its
  number and content hash; a later version needs a new signature.
* A collaboration meeting holds its participants, minutes and decisions, and the
  agreement that a named person from each side signs (the signature pins the
  agreement's content hash).
* Documents (the patient binder, the discharge summary, signed minutes and agreement)
  are stored PDFs with a short version code derived from their content sources.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from samhand.orgs.models import Organisation
from samhand.patients.models import Patient


def content_hash(content: Any) -> str:
    """SHA-256 over a canonical JSON form: equal content, equal hash."""
    body = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"),
                      default=str)
    return hashlib.sha256(body.encode()).hexdigest()


class PlanVersion(models.Model):
    """One immutable version of a plan's content."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    number = models.PositiveIntegerField(_("version"))
    content = models.JSONField(_("content"))
    content_hash = models.CharField(max_length=64)
    note = models.CharField(_("what changed"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   related_name="+", verbose_name=_("created by"))
    created_by_organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT,
                                                related_name="+")

    class Meta:
        abstract = True
        ordering = ["-number"]

    def __str__(self) -> str:
        return f"v{self.number}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise ValueError("plan versions are immutable: make a new version")
        self.content_hash = content_hash(self.content)
        super().save(*args, **kwargs)


# --------------------------------------------------------------------------- individual plan

class IndividualPlan(models.Model):
    """The individual plan (individuell plan, IP), owned by the municipal coordinator."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        CLOSED = "closed", _("Closed")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE,
                                related_name="individual_plans")
    status = models.CharField(_("status"), max_length=16, choices=Status.choices,
                              default=Status.ACTIVE)
    coordinator_organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="+",
        verbose_name=_("coordinator's unit"))
    coordinator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                    null=True, blank=True, related_name="+",
                                    verbose_name=_("coordinator"))
    started_at = models.DateTimeField(_("started"), default=timezone.now)
    started_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   related_name="+")

    class Meta:
        verbose_name = _("individual plan")
        verbose_name_plural = _("individual plans")
        constraints = [
            models.UniqueConstraint(fields=["patient"], condition=Q(status="active"),
                                    name="plans_one_active_ip_per_patient"),
        ]

    def __str__(self) -> str:
        return f"IP {self.patient_id}"

    def latest(self) -> IndividualPlanVersion | None:
        return self.versions.order_by("-number").first()


class IndividualPlanVersion(PlanVersion):
    plan = models.ForeignKey(IndividualPlan, on_delete=models.CASCADE, related_name="versions")

    class Meta(PlanVersion.Meta):
        verbose_name = _("individual plan version")
        constraints = [models.UniqueConstraint(fields=["plan", "number"],
                                               name="plans_ip_version_unique")]


# --------------------------------------------------------------------------- treatment plan

class TreatmentPlan(models.Model):
    """The treatment plan (behandlingsplan): physiotherapy and secretion clearance,
    ventilator/NIV orders, oxygen, humidifier, cough assist, suction (PL-3)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient = models.OneToOneField(Patient, on_delete=models.CASCADE,
                                   related_name="treatment_plan")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("treatment plan")
        verbose_name_plural = _("treatment plans")

    def __str__(self) -> str:
        return f"TP {self.patient_id}"

    def latest(self) -> TreatmentPlanVersion | None:
        return self.versions.order_by("-number").first()


class TreatmentPlanVersion(PlanVersion):
    plan = models.ForeignKey(TreatmentPlan, on_delete=models.CASCADE, related_name="versions")

    class Meta(PlanVersion.Meta):
        verbose_name = _("treatment plan version")
        constraints = [models.UniqueConstraint(fields=["plan", "number"],
                                               name="plans_tp_version_unique")]

    def valid_signature(self) -> TreatmentPlanSignature | None:
        return self.signatures.filter(content_hash=self.content_hash).order_by(
            "-signed_at").first()


class TreatmentPlanSignature(models.Model):
    """The responsible doctor's signature on one version (pinned by its content hash)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    version = models.ForeignKey(TreatmentPlanVersion, on_delete=models.PROTECT,
                                related_name="signatures")
    content_hash = models.CharField(max_length=64)
    signed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                  related_name="+", verbose_name=_("signed by"))
    signed_by_organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT,
                                               related_name="+")
    signed_at = models.DateTimeField(_("signed"), default=timezone.now)

    class Meta:
        verbose_name = _("treatment plan signature")
        constraints = [models.UniqueConstraint(fields=["version", "signed_by"],
                                               name="plans_tp_one_signature_per_doctor")]

    def __str__(self) -> str:
        return f"{self.version} signed by {self.signed_by_id}"


# --------------------------------------------------------------------------- action plan

class ActionPlan(models.Model):
    """The action plan for acute events and deterioration (PL-4) with the role
    descriptions (TC-4)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient = models.OneToOneField(Patient, on_delete=models.CASCADE,
                                   related_name="action_plan")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("action plan")
        verbose_name_plural = _("action plans")

    def __str__(self) -> str:
        return f"AP {self.patient_id}"

    def latest(self) -> ActionPlanVersion | None:
        return self.versions.order_by("-number").first()


class ActionPlanVersion(PlanVersion):
    plan = models.ForeignKey(ActionPlan, on_delete=models.CASCADE, related_name="versions")

    class Meta(PlanVersion.Meta):
        verbose_name = _("action plan version")
        constraints = [models.UniqueConstraint(fields=["plan", "number"],
                                               name="plans_ap_version_unique")]

    def valid_approval(self) -> ActionPlanApproval | None:
        return self.approvals.filter(content_hash=self.content_hash).order_by(
            "-approved_at").first()


class ActionPlanApproval(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    version = models.ForeignKey(ActionPlanVersion, on_delete=models.PROTECT,
                                related_name="approvals")
    content_hash = models.CharField(max_length=64)
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                    related_name="+", verbose_name=_("approved by"))
    approved_by_organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT,
                                                 related_name="+")
    approved_at = models.DateTimeField(_("approved"), default=timezone.now)

    class Meta:
        verbose_name = _("action plan approval")
        constraints = [models.UniqueConstraint(fields=["version", "approved_by"],
                                               name="plans_ap_one_approval_per_person")]

    def __str__(self) -> str:
        return f"{self.version} approved by {self.approved_by_id}"


# --------------------------------------------------------------------------- meetings

class Meeting(models.Model):
    """A collaboration meeting (samarbeidsmøte, PL-2), called by the hospital."""

    class Status(models.TextChoices):
        CALLED = "called", _("Called")
        SIGNED = "signed", _("Agreement signed")
        CANCELLED = "cancelled", _("Cancelled")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="meetings")
    # The pathway (samhand.pathways) the meeting belongs to, when there is one.
    pathway_id = models.UUIDField(null=True, blank=True)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices,
                              default=Status.CALLED)
    starts_at = models.DateTimeField(_("time"))
    place = models.CharField(_("place"), max_length=200, blank=True)
    video_link = models.URLField(_("video link"), blank=True)
    agenda = models.JSONField(_("agenda"), default=list)
    agreement_text = models.TextField(_("agreement"), blank=True)
    called_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                  related_name="+", verbose_name=_("called by"))
    called_by_organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT,
                                               related_name="+")
    called_at = models.DateTimeField(default=timezone.now)
    signed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("collaboration meeting")
        verbose_name_plural = _("collaboration meetings")
        ordering = ["-starts_at"]
        constraints = [
            models.CheckConstraint(condition=~Q(place="") | ~Q(video_link=""),
                                   name="plans_meeting_has_place_or_link"),
        ]

    def __str__(self) -> str:
        return f"Meeting {self.starts_at:%Y-%m-%d}"

    def agreement_content(self) -> dict[str, Any]:
        """What the signatures cover: the agreement text and every minute."""
        minutes = [{"id": str(m.pk), "kind": m.kind, "text": m.text,
                    "owner": str(m.owner_organisation_id or ""), "role": m.owner_role,
                    "deadline": m.deadline.isoformat() if m.deadline else ""}
                   for m in self.minutes.order_by("recorded_at", "id")]
        return {"agreement": self.agreement_text, "minutes": minutes}

    def agreement_hash(self) -> str:
        return content_hash(self.agreement_content())


class MeetingParticipant(models.Model):
    class Side(models.TextChoices):
        HOSPITAL = "hospital", _("Hospital")
        MUNICIPALITY = "municipality", _("Municipality")
        PATIENT = "patient", _("Patient and relatives")

    class Role(models.TextChoices):
        CONSULTANT = "consultant", _("Responsible consultant")
        NURSE = "nurse", _("Nurse")
        COORDINATOR = "coordinator", _("Coordinator")
        ADMINISTRATION = "administration", _("Administration (allocation office)")
        CARE = "care", _("Care services")
        EXECUTING_SERVICE = "executing_service", _("Executing service")
        HEALTH_NURSE = "health_nurse", _("Health nurse (children)")
        GP = "gp", _("GP")
        PATIENT = "patient", _("Patient")
        RELATIVE = "relative", _("Relative")
        OTHER = "other", _("Other")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="participants")
    side = models.CharField(_("side"), max_length=16, choices=Side.choices)
    role = models.CharField(_("role"), max_length=32, choices=Role.choices)
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, null=True,
                                     blank=True, related_name="+",
                                     verbose_name=_("organisation"))
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True,
                             blank=True, related_name="+", verbose_name=_("person"))
    name = models.CharField(_("name"), max_length=200)

    class Meta:
        verbose_name = _("participant")
        ordering = ["side", "role", "name"]
        constraints = [
            models.UniqueConstraint(fields=["meeting", "user"], condition=Q(user__isnull=False),
                                    name="plans_participant_once"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.role})"


class MeetingMinute(models.Model):
    """A line of the minutes; a decision names an owner and a deadline and becomes a
    task on the pathway when the agreement is signed."""

    class Kind(models.TextChoices):
        NOTE = "note", _("Note")
        DECISION = "decision", _("Decision")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="minutes")
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    text = models.TextField(_("text"))
    owner_organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, null=True,
                                           blank=True, related_name="+",
                                           verbose_name=_("responsible unit"))
    owner_role = models.CharField(_("responsible role"), max_length=32, blank=True)
    deadline = models.DateField(_("deadline"), null=True, blank=True)
    task_id = models.UUIDField(null=True, blank=True)  # samhand.pathways Task, once created
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                    related_name="+")
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("minute")
        ordering = ["recorded_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind="note") | (Q(owner_organisation__isnull=False)
                                            & Q(deadline__isnull=False)),
                name="plans_decision_has_owner_and_deadline"),
        ]

    def __str__(self) -> str:
        return self.text[:40]


class AgreementSignature(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="signatures")
    participant = models.ForeignKey(MeetingParticipant, on_delete=models.PROTECT,
                                    related_name="signatures")
    side = models.CharField(max_length=16, choices=MeetingParticipant.Side.choices)
    content_hash = models.CharField(max_length=64)
    signed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                  related_name="+")
    signed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("agreement signature")
        ordering = ["signed_at"]

    def __str__(self) -> str:
        return f"{self.side} {self.signed_by_id}"


# --------------------------------------------------------------------------- documents

class Document(models.Model):
    """A generated PDF: the patient binder (every version kept), the discharge summary,
    signed minutes and agreement. `code` is printed on every page so that the paper in
    the home can be checked against the current version."""

    class Kind(models.TextChoices):
        BINDER = "binder", _("Patient binder")
        DISCHARGE_SUMMARY = "discharge_summary", _("Discharge summary")
        MINUTES = "minutes", _("Minutes of the collaboration meeting")
        AGREEMENT = "agreement", _("Collaboration agreement")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="documents")
    kind = models.CharField(_("kind"), max_length=32, choices=Kind.choices)
    number = models.PositiveIntegerField(_("version"))
    code = models.CharField(_("version code"), max_length=9)
    source_hash = models.CharField(max_length=64)
    language = models.CharField(max_length=5, default="nb")
    pdf = models.BinaryField()
    size = models.PositiveIntegerField(default=0)
    pages = models.PositiveIntegerField(default=0)
    meeting = models.ForeignKey(Meeting, on_delete=models.PROTECT, null=True, blank=True,
                                related_name="documents")
    reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   null=True, blank=True, related_name="+")
    # Binders only: the last moment this version was known to print the current sources
    # (when it was made, or when a refresh found nothing changed); NULL from the moment
    # a source changes (binder.mark_binder_stale) until a refresh confirms or replaces
    # it. Lets the discharge gate judge many binders without building their content.
    current_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("document")
        verbose_name_plural = _("documents")
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["patient", "kind", "number"],
                                               name="plans_document_version_unique")]
        indexes = [
            # "The latest binder of this patient" on every plans page.
            models.Index(fields=["patient", "kind", "-number"], name="plans_document_latest"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.number} ({self.code})"

    @property
    def filename(self) -> str:
        return f"{self.kind}-{self.number}-{self.code}.pdf"
