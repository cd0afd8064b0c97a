"""Helpers for the web view tests."""

from __future__ import annotations

from typing import Any

from django.test import Client

from samhand.audit.models import AuditEvent


def as_user(world: Any, user: Any, language: str = "en") -> Client:
    """A client logged in as `user` (TOTP confirmed), showing pages in `language`."""
    client = world.login(Client(), user)
    client.cookies["django_language"] = language
    return client


def htmx(client: Client) -> dict[str, str]:
    return {"HTTP_HX_REQUEST": "true"}


def audit_rows(**filters: Any) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(**filters).order_by("seq"))


def text(response: Any) -> str:
    return str(response.content.decode())
