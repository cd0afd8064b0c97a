"""Pages of long lists with the count taken in the same query.

Django's Paginator asks for COUNT(*) and then for the page: for an access-filtered
list the filter runs twice. `counted_page` asks once, with COUNT(*) OVER (), which
PostgreSQL and SQLite compute over the whole filtered list before LIMIT
(bench/my_patients.py, bench/worklist.py). Only a page past the end (a stale link)
costs a separate COUNT, to show the last page instead, as Paginator.get_page does.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import Count, QuerySet, Window

# Page numbers beyond this are cut down before they reach the database's OFFSET.
MAX_PAGE = 1_000_000


class CountedPaginator(Paginator):
    """A paginator whose count is already known."""

    def __init__(self, count: int, per_page: int) -> None:
        super().__init__([], per_page)
        self._known_count = count

    @property
    def count(self) -> int:
        return self._known_count


def requested_page(value: Any) -> int:
    """The page number asked for, read as Paginator.get_page reads it: what is not a
    whole number is page 1; a number below 1 or past the end shows the last page (an
    absurd one is cut down before it reaches the database)."""
    try:
        return min(int(value or 1), MAX_PAGE)
    except (TypeError, ValueError):
        return 1


def counted_page(qs: QuerySet[Any], requested: Any, per_page: int, *,
                 load: Callable[[list[Any]], Sequence[Any]] | None = None) -> Page[Any]:
    """The page `requested` (a query parameter's value) of the ordered `qs`.

    Without `load`, the page's rows are the queryset's own objects. With it, the
    window query selects only the page's keys, and `load(keys)` fetches what the page
    shows, in order: for lists whose joins should run for the rows shown only."""
    number = requested_page(requested)
    counted = qs.annotate(list_length=Window(Count("pk")))

    def rows_of(n: int) -> tuple[list[Any], int | None]:
        bottom = (n - 1) * per_page
        if load is None:
            objects = list(counted[bottom:bottom + per_page])
            return objects, (objects[0].list_length if objects else None)
        pairs = list(counted.values_list("pk", "list_length")[bottom:bottom + per_page])
        return [pk for pk, _length in pairs], (pairs[0][1] if pairs else None)

    rows, length = rows_of(number) if number >= 1 else ([], None)
    if length is None:
        length = qs.count() if number != 1 else 0
        last = max(1, -(-length // per_page))
        if number > last or number < 1:
            number = last
            rows, _length = rows_of(number) if length else ([], None)
    page = CountedPaginator(length, per_page).page(number)
    page.object_list = (load(rows) if rows else []) if load is not None else rows
    return page
