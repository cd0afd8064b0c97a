"""The home-nursing worklist in pages of 25: soonest due first, the true number of pages,
and a stale page link showing the last page (samhand.lib.paging)."""

from __future__ import annotations

import datetime as dt

from django.test import Client
from django.utils import timezone

from samhand.pathways.models import Task


def _due_tasks(ltmv, count: int) -> None:
    now = timezone.now()
    Task.objects.bulk_create(
        Task(patient=ltmv.patient_a, title=f"Tilsyn {i:02d}", owner_organisation=ltmv.hn_a,
             owner_role="home_nursing", due_at=now - dt.timedelta(hours=count - i),
             side="municipality")
        for i in range(count))


def test_the_worklist_shows_25_tasks_a_page_soonest_due_first(ltmv):
    _due_tasks(ltmv, 30)
    client = ltmv.login(Client(), ltmv.home_nurse_a)

    first = client.get("/worklists/home-nursing/")
    second = client.get("/worklists/home-nursing/?page=2")

    assert [t.title for t in first.context["page"]] == [f"Tilsyn {i:02d}" for i in range(25)]
    assert [t.title for t in second.context["page"]] == [f"Tilsyn {i:02d}"
                                                         for i in range(25, 30)]
    assert second.context["page"].paginator.num_pages == 2
    assert "Tilsyn 29" in second.content.decode()


def test_a_stale_page_link_shows_the_last_page(ltmv):
    _due_tasks(ltmv, 30)
    client = ltmv.login(Client(), ltmv.home_nurse_a)

    response = client.get("/worklists/home-nursing/?page=7")

    assert response.status_code == 200
    assert response.context["page"].number == 2
    assert len(response.context["page"].object_list) == 5
