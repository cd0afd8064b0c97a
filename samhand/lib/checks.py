"""System checks for configuration mistakes (`manage.py check`, samhand.E001…)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, Warning, register


@register("samhand", deploy=True)
def production_configuration(app_configs: Any, **kwargs: Any) -> list[Any]:
    problems: list[Any] = []
    if not settings.PRODUCTION:
        problems.append(Warning(
            "SAMHAND_PRODUCTION is not set: development defaults are in force.",
            hint="Set SAMHAND_PRODUCTION=1 with SECRET_KEY, ALLOWED_HOSTS and DATABASE_URL.",
            id="samhand.W001"))
        return problems
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        problems.append(Error("Production needs PostgreSQL (set DATABASE_URL).",
                              id="samhand.E001"))
    if settings.SAMHAND_ALLOW_TEST_IDENTIFIERS or settings.SAMHAND_ALLOW_HELP_NUMBERS:
        problems.append(Warning(
            "Synthetic test numbers or H-numbers are accepted in production.",
            hint="Unset SAMHAND_ALLOW_TEST_IDENTIFIERS / SAMHAND_ALLOW_HELP_NUMBERS unless "
                 "this is a test environment.", id="samhand.W002"))
    if not settings.SAMHAND_REQUIRE_OTP:
        problems.append(Error("The second factor (TOTP) is switched off in production.",
                              id="samhand.E002"))
    if len(settings.SECRET_KEY) < 50 or settings.SECRET_KEY.startswith("dev-only"):
        problems.append(Error("SECRET_KEY must be at least 50 random characters.",
                              id="samhand.E003"))
    problems += _token_key_problems()
    return problems


def _token_key_problems() -> list[Any]:
    """Partner systems' tokens are encrypted with SAMHAND_MESSAGE_TOKEN_KEY; without it
    production cannot send a message, so it must fail at start, not at the first send."""
    keys = [k.strip() for k in settings.SAMHAND_MESSAGE_TOKEN_KEY.split(",") if k.strip()]
    hint = ("Generate one with: python -c \"from cryptography.fernet import Fernet; "
            "print(Fernet.generate_key().decode())\"")
    if not keys:
        return [Error("SAMHAND_MESSAGE_TOKEN_KEY is not set: partner systems' tokens cannot "
                      "be encrypted or read.", hint=hint, id="samhand.E004")]
    from cryptography.fernet import Fernet

    try:
        for key in keys:
            Fernet(key.encode())
    except ValueError:
        return [Error("SAMHAND_MESSAGE_TOKEN_KEY must be Fernet keys (32 url-safe "
                      "base64-encoded bytes), comma-separated.", hint=hint, id="samhand.E005")]
    return []


@register("samhand")
def basic_configuration(app_configs: Any, **kwargs: Any) -> list[Any]:
    problems: list[Any] = []
    if settings.SAMHAND_EMERGENCY_ACCESS_MINUTES <= 0 or \
            settings.SAMHAND_EMERGENCY_ACCESS_MINUTES > 24 * 60:
        problems.append(Error("SAMHAND_EMERGENCY_ACCESS_MINUTES must be between 1 and 1440.",
                              id="samhand.E010"))
    if settings.SESSION_COOKIE_AGE > settings.SAMHAND_SESSION_ABSOLUTE_SECONDS:
        problems.append(Error("The idle session timeout exceeds the absolute lifetime.",
                              id="samhand.E011"))
    return problems
