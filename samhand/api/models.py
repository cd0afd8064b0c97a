"""API tokens: bearer credentials for machine clients, one user each.

The token itself is shown once, when it is created (`samhand api-token create`);
only its SHA-256 digest is stored. A token is 32 random bytes, so a fast hash is
enough (nothing to brute-force), and lookup is a unique-index hit on the digest.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import uuid
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

TOKEN_PREFIX = "shk_"  # noqa: S105  (a marker, not a secret)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class ApiTokenQuerySet(models.QuerySet["ApiToken"]):
    def usable(self, at: Any = None) -> ApiTokenQuerySet:
        at = at or timezone.now()
        return self.filter(revoked_at__isnull=True, expires_at__gt=at, user__is_active=True)


class ApiToken(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="api_tokens", verbose_name=_("user"))
    name = models.CharField(_("name"), max_length=100, blank=True)
    # The first characters of the token, so that a person can tell tokens apart.
    hint = models.CharField(_("starts with"), max_length=12)
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires"))
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(expires_at__gt=models.F("created_at")),
                                   name="apitoken_expires_after_created"),
        ]

    def __str__(self) -> str:
        return f"{self.hint}… ({self.user})"

    @classmethod
    def issue(cls, user: Any, *, days: int, name: str = "") -> tuple[ApiToken, str]:
        """Create a token; return the row and the secret, which is never stored."""
        secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
        now = timezone.now()
        token = cls.objects.create(user=user, name=name, hint=secret[:10],
                                   digest=hash_token(secret), created_at=now,
                                   expires_at=now + dt.timedelta(days=days))
        return token, secret

    def revoke(self) -> None:
        if self.revoked_at is None:
            self.revoked_at = timezone.now()
            self.save(update_fields=["revoked_at"])


class RateCount(models.Model):
    """The calls one user made in one minute: the API's rate budget
    (samhand.api.auth.check_rate). Counted by a single UPSERT in the shared database, so
    the budget holds across every worker process; a user's rows from before the previous
    minute are deleted when that user's next minute begins."""

    id = models.BigAutoField(primary_key=True)
    user_id = models.UUIDField()
    minute = models.BigIntegerField()  # whole minutes since 1970
    calls = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user_id", "minute"], name="ratecount_user_minute"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.minute}: {self.calls}"
