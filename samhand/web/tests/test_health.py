from __future__ import annotations

from typing import Any

from django.test import Client


def test_health_says_ok_without_touching_the_database(db: Any,
                                                      django_assert_num_queries: Any) -> None:
    with django_assert_num_queries(0):
        response = Client().get("/health")
    assert response.status_code == 200
    assert response.content == b"ok"
    assert response["Content-Type"].startswith("text/plain")


def test_health_does_not_change_state(db: Any) -> None:
    assert Client().post("/health").status_code == 405
