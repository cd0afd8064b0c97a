"""Helpers for the API tests: clients logged in by session (second factor confirmed)
or carrying a bearer token, and a view of the audit rows a request wrote."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client

from samhand.api.models import ApiToken


@pytest.fixture(autouse=True)
def _fresh_rate_budget(db: Any) -> None:
    # The budget lives in the database cache; transactional tests' flush leaves it.
    cache.clear()


@pytest.fixture
def session_client(world: Any) -> Callable[..., Client]:
    def make(user: Any, *, enforce_csrf: bool = False) -> Client:
        return world.login(Client(enforce_csrf_checks=enforce_csrf), user)

    return make


@pytest.fixture
def token_client(db: Any) -> Callable[..., Client]:
    def make(user: Any, **kwargs: Any) -> Client:
        _token, secret = ApiToken.issue(user, days=30)
        return Client(HTTP_AUTHORIZATION=f"Bearer {secret}", **kwargs)

    return make


