"""Per-patient pathways (pasientforløp), their events, tasks and gate decisions.

A Pathway pins the template key, version and content hash it was started with: a new
template version never changes a running pathway until someone migrates it
(services.migrate_pathway). Events are append-only facts that drive the due dates;
Tasks are materialised from the template's due rules (services.sync_tasks) or written
by hand (a decision in a meeting, an alert), and are owned by an organisation and a
care-team role rather than by one person.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from samhand.orgs.models import Organisation
from samhand.patients.models import Patient

from .definitions import Template, Text


class Pathway(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        ENDED = "ended", _("Ended")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="pathways")
    template_key = models.CharField(max_length=64)
    template_version = models.PositiveIntegerField()
    template_hash = models.CharField(max_length=64)
    entry = models.CharField(_("entry"), max_length=32)
    phase = models.CharField(_("phase"), max_length=64, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    started_at = models.DateTimeField(default=timezone.now)
    started_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   null=True, blank=True, related_name="+")
    started_by_organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT,
                                                null=True, blank=True, related_name="+")
    ended_at = models.DateTimeField(null=True, blank=True)
    # From the municipal decision: the date from which the patient is discharge-ready.
    discharge_ready_from = models.DateField(_("discharge-ready from"), null=True, blank=True)
    discharged_at = models.DateTimeField(null=True, blank=True)
    admitted = models.BooleanField(default=False)
    # When the due rules must be planned again (the next occurrence falls due).
    resync_at = models.DateTimeField(null=True, blank=True, db_index=True)

    class Meta:
        verbose_name = _("care pathway")
        verbose_name_plural = _("care pathways")
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["patient", "status"], name="pathway_patient_idx")]

    def __str__(self) -> str:
        return f"{self.template_key} v{self.template_version}"

    @property
    def template(self) -> Template:
        from .loader import get_template

        return get_template(self.template_key, self.template_version)

    def title(self, lang: str | None = None) -> str:
        return self.template.title.get(lang or get_language())

    def entry_title(self, lang: str | None = None) -> str:
        text = self.template.entries.get(self.entry)
        return text.get(lang or get_language()) if text else self.entry

    def phase_title(self, lang: str | None = None) -> str:
        if not self.phase:
            return ""
        try:
            return self.template.phase(self.phase).title.get(lang or get_language())
        except KeyError:
            return self.phase

    def ready_periods(self) -> list[Any]:
        """The periods as discharge-ready (samhand.pathways.readiness), from the notice
        chain's events; uses `chain_events` when a list prefetched them."""
        from .readiness import CHAIN_KINDS, periods

        events = getattr(self, "chain_events", None)
        if events is None:
            events = list(self.events.filter(kind__in=CHAIN_KINDS).order_by(
                "occurred_at", "recorded_at"))
        return periods((e.kind, e.occurred_at, e.data) for e in events)

    def days_discharge_ready(self, today: dt.date | None = None) -> int | None:
        """Days as discharge-ready (PW-6): from the notice (or the municipal decision's
        date) to discharge, withdrawal or today; None when the patient never was."""
        found = self.ready_periods()
        if not found:
            return None
        today = today or timezone.localdate()
        return sum(p.ready_days(today) for p in found)

    def payable_days(self, today: dt.date | None = None) -> int | None:
        """Of those, the days the municipality pays for (readiness.py has the rule)."""
        found = self.ready_periods()
        if not found:
            return None
        today = today or timezone.localdate()
        return sum(p.payable_days(today) for p in found)


class PathwayEvent(models.Model):
    """Something that happened on the pathway. Append-only."""

    class Source(models.TextChoices):
        WEB = "web", _("Entered by hand")
        API = "api", _("API")
        MESSAGE = "message", _("Message")
        MEETING = "meeting", _("Collaboration meeting")
        SYSTEM = "system", _("samhand")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    pathway = models.ForeignKey(Pathway, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=32)
    occurred_at = models.DateTimeField()
    recorded_at = models.DateTimeField(default=timezone.now)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                    null=True, blank=True, related_name="+")
    recorded_by_organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT,
                                                 null=True, blank=True, related_name="+")
    data = models.JSONField(default=dict, blank=True)
    note = models.TextField(blank=True)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.WEB)

    class Meta:
        ordering = ["occurred_at", "recorded_at"]
        indexes = [models.Index(fields=["pathway", "occurred_at"], name="pathway_event_idx")]

    def __str__(self) -> str:
        return f"{self.kind} {self.occurred_at:%Y-%m-%d}"


def chain_prefetch() -> models.Prefetch:
    """Prefetch the notice chain of many pathways (Pathway.ready_periods reads it)."""
    from .readiness import CHAIN_KINDS

    return models.Prefetch("events", to_attr="chain_events",
                           queryset=PathwayEvent.objects.filter(kind__in=CHAIN_KINDS)
                           .order_by("occurred_at", "recorded_at"))


EVENT_LABELS: dict[str, Any] = {
    "referral": _("Referral"),
    "meeting_held": _("Collaboration meeting held"),
    "application_sent": _("Application for services sent"),
    "municipal_decision": _("Municipal decision"),
    "training_date_set": _("Training date set"),
    "admitted": _("Admitted"),
    "discharge_ready": _("Discharge-ready notice sent"),
    "discharge_ready_answered": _("Municipality answered the discharge-ready notice"),
    "discharge_ready_withdrawn": _("Discharge-ready notice withdrawn"),
    "discharged": _("Discharged"),
    "readmitted": _("Readmitted"),
    "phase_changed": _("Phase changed"),
    "ended": _("Pathway ended"),
    "vulnerable_marked": _("Marked vulnerable to rapid deterioration"),
    "vulnerable_cleared": _("No longer marked vulnerable"),
}


class TaskQuerySet(models.QuerySet["Task"]):
    def open(self) -> TaskQuerySet:
        return self.filter(status__in=Task.OPEN_STATUSES)

    def overdue(self, now: dt.datetime | None = None) -> TaskQuerySet:
        return self.open().filter(due_at__lt=now or timezone.now())


class Task(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", _("To do")
        IN_PROGRESS = "in_progress", _("In progress")
        PAUSED = "paused", _("Paused")
        DONE = "done", _("Done")
        CANCELLED = "cancelled", _("Cancelled")

    OPEN_STATUSES = (Status.OPEN, Status.IN_PROGRESS)
    # The fixed lifecycle: from -> allowed targets.
    TRANSITIONS: dict[str, tuple[str, ...]] = {
        "open": ("in_progress", "paused", "done", "cancelled"),
        "in_progress": ("open", "paused", "done", "cancelled"),
        "paused": ("open", "cancelled"),
        "done": (),
        "cancelled": (),
    }

    class Kind(models.TextChoices):
        TEMPLATE = "template", _("From the pathway")
        MANUAL = "manual", _("Written by hand")
        DECISION = "decision", _("Decision in a meeting")
        ALERT = "alert", _("From an alert")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="tasks")
    pathway = models.ForeignKey(Pathway, on_delete=models.CASCADE, null=True, blank=True,
                                related_name="tasks")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.MANUAL)
    task_key = models.CharField(max_length=64, blank=True)
    seq = models.PositiveIntegerField(default=1)
    series = models.PositiveIntegerField(default=1)
    title = models.CharField(_("task"), max_length=300)
    titles = models.JSONField(default=dict, blank=True)  # {"nb":..,"en":..,"da":..}
    description = models.TextField(_("description"), blank=True)
    side = models.CharField(max_length=16, blank=True)
    phase = models.CharField(max_length=64, blank=True)
    owner_role = models.CharField(_("role"), max_length=32, blank=True)
    owner_organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, null=True,
                                           blank=True, related_name="tasks",
                                           verbose_name=_("owner"))
    assignee = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                 null=True, blank=True, related_name="assigned_tasks",
                                 verbose_name=_("assigned to"))
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.OPEN)
    supervised = models.BooleanField(_("supervised"), default=False)
    due_at = models.DateTimeField(_("due"), null=True, blank=True)
    warn_at = models.DateTimeField(null=True, blank=True)
    latest_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   null=True, blank=True, related_name="+")
    completed_at = models.DateTimeField(null=True, blank=True)
    completed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                     null=True, blank=True, related_name="+")
    completion_note = models.TextField(blank=True)
    overdue_since = models.DateTimeField(null=True, blank=True)
    paused_reason = models.CharField(max_length=200, blank=True)
    source = models.CharField(max_length=200, blank=True)

    objects = TaskQuerySet.as_manager()

    class Meta:
        verbose_name = _("task")
        verbose_name_plural = _("tasks")
        ordering = ["due_at", "created_at"]
        constraints = [
            models.UniqueConstraint(fields=["pathway", "task_key", "seq"],
                                    condition=~Q(task_key=""), name="task_one_per_occurrence"),
        ]
        indexes = [
            # The home-nursing worklist: my unit's open tasks by due time.
            models.Index(fields=["owner_organisation", "status", "due_at"],
                         name="task_worklist_idx"),
            models.Index(fields=["patient", "status"], name="task_patient_idx"),
        ]

    def __str__(self) -> str:
        return self.title

    def display_title(self, lang: str | None = None) -> str:
        if self.titles:
            return Text(**{k: self.titles.get(k, self.title) for k in ("nb", "en", "da")}
                        ).get(lang or get_language())
        return self.title

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES

    def is_overdue(self, now: dt.datetime | None = None) -> bool:
        return bool(self.is_open and self.due_at and self.due_at < (now or timezone.now()))


class TaskNote(models.Model):
    """A comment on a task, or a line of its history (reassigned, status changed)."""

    class Kind(models.TextChoices):
        COMMENT = "comment", _("Comment")
        REASSIGNED = "reassigned", _("Reassigned")
        STATUS = "status", _("Status changed")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="notes")
    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.COMMENT)
    text = models.TextField()
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True,
                               blank=True, related_name="+")
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, null=True,
                                     blank=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return self.text[:60]


class GateJudgement(models.Model):
    """A clinical judgement on one gate criterion (who, when, note). Append-only: the
    newest row for (pathway, gate, criterion) is in force."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    pathway = models.ForeignKey(Pathway, on_delete=models.CASCADE, related_name="judgements")
    gate_key = models.CharField(max_length=64)
    criterion_key = models.CharField(max_length=64)
    met = models.BooleanField()
    note = models.TextField()
    judged_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                  related_name="+")
    judged_by_organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT,
                                               null=True, blank=True, related_name="+")
    judged_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["judged_at"]

    def __str__(self) -> str:
        return f"{self.gate_key}.{self.criterion_key}: {self.met}"


class GateOverride(models.Model):
    """Discharge recorded with unmet criteria, by the responsible consultant, with a
    written reason. Shown on the pathway; audited."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    pathway = models.ForeignKey(Pathway, on_delete=models.CASCADE, related_name="overrides")
    event = models.OneToOneField(PathwayEvent, on_delete=models.CASCADE,
                                 related_name="override")
    gate_key = models.CharField(max_length=64)
    unmet = models.JSONField(default=list)
    reason = models.TextField()
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                           related_name="+")
    at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"override {self.gate_key}"
