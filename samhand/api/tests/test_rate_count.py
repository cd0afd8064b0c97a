"""The API's rate budget is one UPSERT a call in the shared database: the count must hold
when several connections (worker processes) count at once, and old minutes go away."""

from __future__ import annotations

import threading
import uuid

import pytest
from django.db import connection, connections

from samhand.api.auth import count_call
from samhand.api.models import RateCount


def test_each_call_gets_the_next_number_and_a_new_minute_starts_at_one(db):
    user_id = uuid.uuid4()
    assert [count_call(user_id, 1000) for _ in range(3)] == [1, 2, 3]
    assert count_call(user_id, 1001) == 1
    assert count_call(uuid.uuid4(), 1001) == 1


def test_a_users_minutes_before_the_last_are_deleted_when_a_new_minute_begins(db):
    user_id, other = uuid.uuid4(), uuid.uuid4()
    for minute in (1000, 1001, 1002):
        count_call(user_id, minute)
    count_call(other, 1000)
    count_call(user_id, 1003)
    assert sorted(RateCount.objects.filter(user_id=user_id).values_list("minute", flat=True)
                  ) == [1002, 1003]
    assert RateCount.objects.filter(user_id=other).count() == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql",
                    reason="concurrent connections: PostgreSQL")
def test_calls_counted_from_four_connections_at_once_are_all_counted():
    user_id = uuid.uuid4()
    seen: list[int] = []
    lock = threading.Lock()

    def worker() -> None:
        try:
            numbers = [count_call(user_id, 5000) for _ in range(25)]
            with lock:
                seen.extend(numbers)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(seen) == list(range(1, 101))
    assert RateCount.objects.get(user_id=user_id, minute=5000).calls == 100


def test_the_counting_statement_names_the_rate_table() -> None:
    from samhand.api.auth import RATE_UPSERT
    from samhand.api.models import RateCount

    assert f'"{RateCount._meta.db_table}"' in RATE_UPSERT
