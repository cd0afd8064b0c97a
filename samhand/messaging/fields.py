"""A model field whose value is encrypted at rest: the bearer tokens samhand presents to
partner systems (`Partner.outbound_token`, security.md §(b)).

Fernet (AES-128-CBC with HMAC-SHA256, from `cryptography`) with the key in
SAMHAND_MESSAGE_TOKEN_KEY: one or more comma-separated Fernet keys, the first encrypts
and all decrypt, so that a key can be rotated (add the new key first, re-save, drop the
old one). Without the setting, development derives a key from SECRET_KEY; production
refuses to encrypt or decrypt without it. Stored as `fernet:<token>`; the code sees
plain text, the database never does.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models

PREFIX = "fernet:"


def _keys() -> list[bytes]:
    configured = str(getattr(settings, "SAMHAND_MESSAGE_TOKEN_KEY", "") or "")
    if configured:
        return [k.strip().encode() for k in configured.split(",") if k.strip()]
    if getattr(settings, "PRODUCTION", False):
        raise ImproperlyConfigured(
            "SAMHAND_MESSAGE_TOKEN_KEY must be set in production: the key that encrypts "
            "partner systems' tokens (a Fernet key; see samhand/messaging/fields.py).")
    digest = hashlib.sha256(f"samhand.messaging.token:{settings.SECRET_KEY}".encode()).digest()
    return [base64.urlsafe_b64encode(digest)]


def _fernet() -> MultiFernet:
    try:
        return MultiFernet([Fernet(key) for key in _keys()])
    except ValueError:
        raise ImproperlyConfigured(
            "SAMHAND_MESSAGE_TOKEN_KEY must be Fernet keys (32 url-safe base64-encoded "
            "bytes), comma-separated.") from None


def encrypt(plain: str) -> str:
    if not plain:
        return ""
    return PREFIX + _fernet().encrypt(plain.encode()).decode()


def decrypt(stored: str) -> str:
    if not stored:
        return ""
    if not stored.startswith(PREFIX):
        raise ValueError("an encrypted field holds a value that is not encrypted")
    try:
        return _fernet().decrypt(stored[len(PREFIX):].encode()).decode()
    except InvalidToken:
        raise ImproperlyConfigured(
            "An encrypted partner token cannot be decrypted with SAMHAND_MESSAGE_TOKEN_KEY "
            "(a key missing after a rotation?).") from None


class EncryptedCharField(models.CharField):
    """A CharField stored encrypted (see the module docstring). Not searchable."""

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        return decrypt(value) if value else value

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        return encrypt(value) if value else value
