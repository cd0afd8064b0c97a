from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class EmergencyAccessGrant(models.Model):
    """Break-the-glass (akuttilgang): time-boxed access to a patient with no care relation."""

    class Reason(models.TextChoices):
        ACUTE_TREATMENT = "acute", _("Acute treatment: the patient needs help now")
        UNREACHABLE_TEAM = "unreachable", _("The care team cannot be reached")
        NEW_RELATION = "new_relation", _("Care relation not yet registered")
        OTHER = "other", _("Other (explain below)")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                             related_name="emergency_grants")
    patient = models.ForeignKey("patients.Patient", on_delete=models.CASCADE,
                                related_name="emergency_grants")
    organisation = models.ForeignKey("orgs.Organisation", on_delete=models.PROTECT,
                                     related_name="+")
    reason_code = models.CharField(_("reason"), max_length=20, choices=Reason.choices)
    reason_text = models.TextField(_("explanation"))
    started_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("emergency access")
        verbose_name_plural = _("emergency accesses")
        indexes = [models.Index(fields=["user", "patient", "expires_at"],
                                name="emergency_active_idx")]
        constraints = [
            models.CheckConstraint(condition=Q(expires_at__gt=models.F("started_at")),
                                   name="emergency_expires_after_start"),
        ]

    def __str__(self) -> str:
        return f"{self.user} → {self.patient_id} until {self.expires_at:%Y-%m-%d %H:%M}"

    def is_active(self, at: object | None = None) -> bool:
        at = at or timezone.now()
        return self.ended_at is None and self.started_at <= at < self.expires_at  # type: ignore[operator]
