"""counted_page gives the same page as Django's Paginator.get_page, with the count taken
from the page query itself (one query for a page inside the list)."""

from __future__ import annotations

import pytest
from django.core.paginator import Paginator
from django.db import connection
from django.test.utils import CaptureQueriesContext

from samhand.lib.paging import counted_page, requested_page
from samhand.orgs.models import Organisation

ASKED = ["", None, "1", "2", "3", "4", "0", "-1", "two", "2.5", "999", "9" * 40]


def municipalities(count: int) -> None:
    Organisation.objects.bulk_create(
        Organisation(kind=Organisation.Kind.MUNICIPALITY, name=f"Paging kommune {i:03d}")
        for i in range(count))


@pytest.mark.django_db
@pytest.mark.parametrize("length", [0, 1, 9, 10, 11, 25])
def test_every_page_asked_for_matches_the_paginator(length: int) -> None:
    municipalities(length)
    qs = Organisation.objects.filter(name__startswith="Paging").order_by("name", "id")

    for asked in ASKED:
        expected = Paginator(qs, 10).get_page(asked)
        page = counted_page(qs, asked, 10)
        keyed = counted_page(qs, asked, 10, load=lambda keys: list(
            Organisation.objects.filter(pk__in=keys).order_by("name", "id")))

        assert page.number == expected.number, asked
        assert page.paginator.count == expected.paginator.count == length
        assert page.paginator.num_pages == expected.paginator.num_pages
        assert [o.pk for o in page] == [o.pk for o in expected], asked
        assert [o.pk for o in keyed] == [o.pk for o in expected], asked
        assert page.has_next() == expected.has_next()


@pytest.mark.django_db
def test_a_page_inside_the_list_costs_one_query() -> None:
    municipalities(30)
    qs = Organisation.objects.filter(name__startswith="Paging").order_by("name", "id")

    with CaptureQueriesContext(connection) as queries:
        page = counted_page(qs, "2", 10)

    assert len(queries.captured_queries) == 1
    assert page.paginator.count == 30
    assert [o.name for o in page] == [f"Paging kommune {i:03d}" for i in range(10, 20)]


@pytest.mark.parametrize(("asked", "number"), [
    ("3", 3), ("", 1), (None, 1), ("0", 0), ("-7", -7), ("x", 1), ("2.5", 1),
    ("9" * 40, 1_000_000)])
def test_the_page_number_asked_for_is_read_like_the_paginator_reads_it(
        asked: str | None, number: int) -> None:
    assert requested_page(asked) == number
