"""Alerts: a flag on a patient that a unit must act on (varsel).

An alert is addressed to an organisation (the unit that must act, e.g. the home-nursing
unit on duty) and optionally a care-team role. It is raised once per episode: while an
alert with the same `episode_key` is open for the patient, raising it again returns the
open one. A named person acknowledges it; it is closed when the episode is over.
Escalation (observations) raises a new alert at the next level, linked by `escalated_from`.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from samhand.orgs.models import Organisation
from samhand.patients.models import Patient


class AlertQuerySet(models.QuerySet["Alert"]):
    def open(self) -> AlertQuerySet:
        return self.filter(closed_at__isnull=True)

    def for_organisations(self, organisation_ids: list[object]) -> AlertQuerySet:
        return self.filter(organisation_id__in=organisation_ids)


class Alert(models.Model):
    class Severity(models.TextChoices):
        INFO = "info", _("Information")
        WARNING = "warning", _("Warning")
        URGENT = "urgent", _("Urgent")
        CRITICAL = "critical", _("Critical")

    SEVERITY_RANK = {"info": 0, "warning": 1, "urgent": 2, "critical": 3}

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="alerts")
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT,
                                     related_name="alerts", verbose_name=_("unit"))
    role = models.CharField(_("role"), max_length=32, blank=True)
    kind = models.CharField(_("kind"), max_length=40)
    severity = models.CharField(_("severity"), max_length=10, choices=Severity.choices,
                                default=Severity.WARNING)
    text = models.TextField(_("text"))
    episode_key = models.CharField(max_length=200)
    source = models.CharField(max_length=200, blank=True)
    raised_at = models.DateTimeField(default=timezone.now)
    due_at = models.DateTimeField(_("act by"), null=True, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                        null=True, blank=True, related_name="+")
    acknowledge_note = models.TextField(blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                  null=True, blank=True, related_name="+")
    close_note = models.TextField(blank=True)
    escalation_level = models.PositiveSmallIntegerField(default=0)
    escalated_from = models.ForeignKey("self", on_delete=models.PROTECT, null=True,
                                       blank=True, related_name="escalations")
    # The text as a sentence to say again in the reader's language (lib.i18n.Text):
    # `text` is in the language of whoever raised it (a worker, a nurse in English).
    text_source = models.JSONField(default=dict, blank=True)

    objects = AlertQuerySet.as_manager()

    class Meta:
        verbose_name = _("alert")
        verbose_name_plural = _("alerts")
        ordering = ["-raised_at"]
        constraints = [
            models.UniqueConstraint(fields=["patient", "episode_key"],
                                    condition=Q(closed_at__isnull=True),
                                    name="alert_one_open_per_episode"),
        ]
        indexes = [
            models.Index(fields=["organisation", "closed_at", "raised_at"],
                         name="alert_org_open_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_severity_display()}: {self.text[:60]}"

    @property
    def display_text(self) -> str:
        """The text in the reader's language (the stored text when it was not kept as
        a sentence)."""
        from samhand.lib.i18n import render

        return render(self.text_source, self.text)

    @property
    def is_open(self) -> bool:
        return self.closed_at is None

    @property
    def is_acknowledged(self) -> bool:
        return self.acknowledged_at is not None

    def is_overdue(self, now: object = None) -> bool:
        now = now or timezone.now()
        return (self.due_at is not None and self.acknowledged_at is None
                and self.closed_at is None and self.due_at <= now)  # type: ignore[operator]
