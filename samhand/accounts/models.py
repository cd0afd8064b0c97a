"""Users of samhand: health personnel, operators, and relatives with a delegation.

Accounts are keyed on an opaque UUID. When OIDC login (HelseID, ID-porten) arrives,
the stable key is (oidc_issuer, oidc_subject); the HPR number is an attribute taken
from verified claims, never a key (security.md #8, #13).
"""

from __future__ import annotations

import uuid

from django.contrib.auth.models import AbstractUser
from django.contrib.sessions.models import Session
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class User(AbstractUser):
    class Profession(models.TextChoices):
        NURSE = "nurse", _("Nurse")
        DOCTOR = "doctor", _("Doctor")
        HEALTH_WORKER = "health_worker", _("Health worker")
        PHYSIOTHERAPIST = "physiotherapist", _("Physiotherapist")
        SOCIAL_WORKER = "social_worker", _("Social worker")
        ADMINISTRATIVE = "administrative", _("Administrative staff")
        RELATIVE = "relative", _("Relative")
        PATIENT = "patient", _("Patient")
        OPERATOR = "operator", _("Operator")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    profession = models.CharField(_("profession"), max_length=32, choices=Profession.choices,
                                  default=Profession.ADMINISTRATIVE)
    hpr_number = models.CharField(_("HPR number"), max_length=10, blank=True)
    phone = models.CharField(_("phone"), max_length=30, blank=True)
    preferred_language = models.CharField(_("language"), max_length=5, blank=True,
                                          choices=[("nb", "Norsk bokmål"), ("en", "English"),
                                                   ("da", "Dansk")])
    oidc_issuer = models.CharField(max_length=200, blank=True)
    oidc_subject = models.CharField(max_length=200, blank=True)

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        constraints = [
            models.UniqueConstraint(fields=["oidc_issuer", "oidc_subject"],
                                    condition=~Q(oidc_subject=""),
                                    name="user_unique_oidc_identity"),
        ]

    def __str__(self) -> str:
        return self.get_full_name() or self.username

    @property
    def is_health_personnel(self) -> bool:
        """Authorised health personnel: has an HPR number (later: from a verified claim)."""
        return bool(self.hpr_number)


class UserSession(models.Model):
    """Which sessions belong to which user, so that they can all be ended at once."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="sessions")
    session_key = models.CharField(max_length=40, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.user_id} {self.created_at:%Y-%m-%d %H:%M}"


def end_sessions_for(user: User) -> int:
    """End every server-side session of a user (deactivation, end of employment, admin)."""
    keys = list(UserSession.objects.filter(user=user).values_list("session_key", flat=True))
    deleted, _ = Session.objects.filter(session_key__in=keys).delete()
    UserSession.objects.filter(user=user).delete()
    return deleted
