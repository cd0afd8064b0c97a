"""Models of samhand.observations.

* `ObservationSet` — one answered form (vital signs, ventilation data, the 14-day
  checklist, ESAS-r, a self-report): answers as JSON checked against the form file,
  draft until finished, with the NEWS2 result stored beside it.
* `VitalSign` — the numeric values of a set, one narrow row each (for trends, the
  latest values and FHIR Observation); the NEWS2 total is stored here as code "news2".
* `Spo2ScaleOrder` — a clinician's order to score SpO2 on scale 2 (hypercapnic
  respiratory failure); without an active order every set is scored on scale 1.
* `EscalationSettings` — the patient's thresholds and rules, adjustable by a clinician.
* `IsbarReport` — an editable ISBAR summary, stored on the patient.
* `IsbarSending` — one sending of an ISBAR as a message (receiver, header id, thread).
"""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from samhand.orgs.models import Organisation
from samhand.patients.models import Patient


class ObservationSet(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        FINAL = "final", _("Finished")
        ENTERED_IN_ERROR = "entered_in_error", _("Entered in error")

    class Source(models.TextChoices):
        WEB = "web", _("Form")
        API = "api", _("API")
        SELF_REPORT = "self_report", _("Self-report")
        DEVICE = "device", _("Device")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE,
                                related_name="observation_sets")
    form_key = models.CharField(_("form"), max_length=50)
    form_version = models.PositiveSmallIntegerField(_("form version"))
    answers = models.JSONField(_("answers"), default=dict)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices,
                              default=Status.DRAFT)
    source = models.CharField(_("source"), max_length=20, choices=Source.choices,
                              default=Source.WEB)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                    null=True, blank=True, related_name="+")
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, null=True,
                                     blank=True, related_name="+")
    taken_at = models.DateTimeField(_("taken at"), default=timezone.now)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Unusual values the user confirmed after measuring again (NEWS2 `confirmed`).
    confirmed = models.JSONField(default=list, blank=True)
    # NEWS2, when the form carries it (vital signs).
    spo2_scale = models.PositiveSmallIntegerField(default=1)
    news2_total = models.PositiveSmallIntegerField(null=True, blank=True)
    news2_risk = models.CharField(max_length=12, blank=True)
    news2_subscores = models.JSONField(default=dict, blank=True)
    news2_missing = models.JSONField(default=list, blank=True)
    # Entered in error (corrections.mark_in_error): why, by whom, when.
    error_reason = models.CharField(_("reason"), max_length=500, blank=True)
    error_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                 null=True, blank=True, related_name="+")
    error_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("observation set")
        verbose_name_plural = _("observation sets")
        constraints = [
            models.CheckConstraint(condition=Q(spo2_scale__in=[1, 2]),
                                   name="obsset_spo2_scale_1_or_2"),
            models.CheckConstraint(condition=Q(news2_total__isnull=True) | Q(
                news2_total__lte=20), name="obsset_news2_total_0_20"),
        ]
        indexes = [
            # "Latest observations of one patient" (the patient page, the API list).
            models.Index(fields=["patient", "-taken_at"], name="obsset_patient_taken_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.form_key} {self.taken_at:%Y-%m-%d %H:%M}"

    @property
    def is_draft(self) -> bool:
        return self.status == self.Status.DRAFT

    @property
    def red_parameters(self) -> list[str]:
        return [k for k, v in (self.news2_subscores or {}).items() if v == 3]


class VitalSign(models.Model):
    """One numeric value of a finished set. Narrow on purpose: trends and latest values
    read (patient, code, taken_at) from one index."""

    id = models.BigAutoField(primary_key=True)
    observation_set = models.ForeignKey(ObservationSet, on_delete=models.CASCADE,
                                        related_name="vitals")
    # No index of its own: vitalsign_trend_idx starts with patient.
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="+",
                                db_index=False)
    code = models.CharField(max_length=24)
    value = models.FloatField()
    taken_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["observation_set", "code"],
                                    name="vitalsign_one_code_per_set"),
        ]
        indexes = [
            # Trend charts and sparklines: one patient, one code, over time.
            models.Index(fields=["patient", "code", "taken_at"], name="vitalsign_trend_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.code}={self.value}"


class Spo2ScaleOrder(models.Model):
    """A clinician's order to use SpO2 scale 2 for this patient (RCP: confirmed
    hypercapnic respiratory failure with a prescribed target of 88-92 %)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="spo2_orders")
    ordered_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   related_name="+")
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    ordered_at = models.DateTimeField(default=timezone.now)
    reason = models.CharField(_("reason"), max_length=500)
    ended_at = models.DateTimeField(null=True, blank=True)
    ended_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                 null=True, blank=True, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["patient"], condition=Q(ended_at__isnull=True),
                                    name="spo2order_one_active_per_patient"),
        ]

    def __str__(self) -> str:
        return f"SpO2 scale 2 for {self.patient_id}"


class EscalationSettings(models.Model):
    """The patient's escalation thresholds (defaults when there is no row)."""

    patient = models.OneToOneField(Patient, on_delete=models.CASCADE, primary_key=True,
                                   related_name="escalation_settings")
    news2_threshold = models.PositiveSmallIntegerField(
        _("alert from NEWS2 total"), default=5)
    alert_on_red_parameter = models.BooleanField(_("alert on a single red parameter"),
                                                 default=True)
    alert_on_checklist = models.BooleanField(_("alert on checklist answers"), default=True)
    trend_window = models.PositiveSmallIntegerField(
        _("rising trend over the last N sets"), default=3)
    trend_rise = models.PositiveSmallIntegerField(
        _("alert when NEWS2 rises by at least"), default=3)
    checklist_every_days = models.PositiveSmallIntegerField(
        _("checklist every (days)"), null=True, blank=True)
    vitals_every_hours = models.PositiveSmallIntegerField(
        _("vital signs every (hours)"), null=True, blank=True)
    # The schedule after a raised score (samhand.observations.schedule).
    close_every_hours = models.PositiveSmallIntegerField(
        _("after a medium or high NEWS2, vital signs every (hours)"), default=24)
    normal_sets_to_end = models.PositiveSmallIntegerField(
        _("until this many sets in a row are normal"), default=3)
    suggest_scale_2 = models.BooleanField(_("SpO2 scale 2 may apply (a doctor orders it)"),
                                          default=False)
    seeded_from = models.CharField(max_length=80, blank=True)  # rules/<template_key>.yaml
    # The schedule's state: closer observation since (None: routine), the interval in
    # force and the normal sets in a row since.
    close_since = models.DateTimeField(null=True, blank=True)
    close_hours = models.PositiveSmallIntegerField(null=True, blank=True)
    normal_in_row = models.PositiveSmallIntegerField(default=0)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   null=True, blank=True, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(news2_threshold__gte=1, news2_threshold__lte=20),
                                   name="escalation_threshold_1_20"),
            models.CheckConstraint(condition=Q(trend_window__gte=2),
                                   name="escalation_trend_window_2"),
            models.CheckConstraint(condition=Q(close_every_hours__gte=1,
                                               normal_sets_to_end__gte=1),
                                   name="escalation_schedule_positive"),
        ]

    def __str__(self) -> str:
        return f"escalation {self.patient_id}"


class IsbarReport(models.Model):
    """An ISBAR summary (Identifisering, Situasjon, Bakgrunn, Aktuell vurdering, Råd)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="isbar_reports")
    alert_id = models.UUIDField(null=True, blank=True)
    observation_set = models.ForeignKey(ObservationSet, on_delete=models.SET_NULL, null=True,
                                        blank=True, related_name="+")
    identify = models.TextField(_("Identification"))
    situation = models.TextField(_("Situation"))
    background = models.TextField(_("Background"))
    assessment = models.TextField(_("Assessment"))
    recommendation = models.TextField(_("Recommendation"))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   related_name="+")
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, null=True,
                                     blank=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["patient", "-created_at"], name="isbar_patient_idx")]

    def __str__(self) -> str:
        return f"ISBAR {self.created_at:%Y-%m-%d %H:%M}"

    def as_text(self) -> str:
        parts: list[tuple[Any, str]] = [
            (_("Identification"), self.identify), (_("Situation"), self.situation),
            (_("Background"), self.background), (_("Assessment"), self.assessment),
            (_("Recommendation"), self.recommendation)]
        return "\n\n".join(f"{title}\n{text}" for title, text in parts)

    def as_text_in(self, headings: dict[str, str]) -> str:
        """The five sections under the given headings (reports.isbar_headings)."""
        return "\n\n".join(f"{headings[name]}\n{getattr(self, name)}" for name in (
            "identify", "situation", "background", "assessment", "recommendation"))


class IsbarSending(models.Model):
    """One sending of an ISBAR summary as a message to a care-team unit. Written in the
    same transaction as the message's outbox row; the report cannot change afterwards
    (what was sent stays what the record shows)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    report = models.ForeignKey(IsbarReport, on_delete=models.CASCADE, related_name="sendings")
    receiver_name = models.CharField(_("to"), max_length=200)
    receiver_partner_id = models.UUIDField()
    event = models.CharField(max_length=40)
    header_id = models.CharField(max_length=64)
    thread_id = models.UUIDField(null=True, blank=True)
    sent_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                related_name="+")
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, null=True,
                                     blank=True, related_name="+")
    sent_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["sent_at"]

    def __str__(self) -> str:
        return f"ISBAR sent {self.sent_at:%Y-%m-%d %H:%M}"
