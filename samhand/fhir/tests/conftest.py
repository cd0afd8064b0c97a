"""Helpers for the FHIR tests: bearer-token clients, R4 validation, audit rows."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client
from fhir.resources.R4B import get_fhir_model_class

from samhand.api.models import ApiToken


@pytest.fixture(autouse=True)
def _fresh_rate_budget(db: Any) -> None:
    # The budget lives in the database cache; transactional tests' flush leaves it.
    cache.clear()


@pytest.fixture
def fhir(db: Any) -> Callable[..., Client]:
    """`fhir(user)`: a client that sends the user's bearer token."""

    def make(user: Any, **kwargs: Any) -> Client:
        _token, secret = ApiToken.issue(user, days=30)
        return Client(HTTP_AUTHORIZATION=f"Bearer {secret}", **kwargs)

    return make


def validate(resource: dict[str, Any]) -> Any:
    """Validate with fhir.resources' R4B models (R4 has no package of its own there;
    the resources samhand serves are identical in R4 and R4B)."""
    return get_fhir_model_class(resource["resourceType"]).model_validate(resource)


def entry_ids(bundle: dict[str, Any]) -> set[str]:
    return {e["resource"]["id"] for e in bundle.get("entry", [])}
