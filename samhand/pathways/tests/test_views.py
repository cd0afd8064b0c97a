"""The pathway pages through Django's client: what a nurse, a consultant and a
coordinator see and can do, and what is refused."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from samhand.pathways import services as svc
from samhand.pathways.models import Pathway, PathwayEvent, Task

from .conftest import actor_of, grant

pytestmark = pytest.mark.django_db


def _pathway(world, days=60):
    return svc.start_pathway(actor_of(world.ltmv_nurse), grant(world.ltmv_nurse, world.patient_a),
                             world.patient_a, template_key="ltmv_invasive", entry="elective",
                             at=timezone.now() - dt.timedelta(days=days))


def test_a_nurse_starts_a_pathway_from_the_patient_page(ltmv, audit):
    client = ltmv.login(Client(), ltmv.ltmv_nurse)
    page = client.get(f"/patients/{ltmv.patient_a.pk}/pathways/")
    assert page.status_code == 200
    assert "Invasiv langtidsmekanisk ventilasjon" in page.content.decode()
    response = client.post(f"/patients/{ltmv.patient_a.pk}/pathways/start/",
                           {"template": "ltmv_invasive", "entry": "elective"})
    pathway = Pathway.objects.get(patient=ltmv.patient_a)
    assert response.status_code == 302
    assert response["Location"] == f"/patients/{ltmv.patient_a.pk}/pathways/{pathway.pk}/"
    detail = client.get(response["Location"]).content.decode()
    assert "Utskrivningskriterier" in detail or "utskrivning" in detail.lower()


def test_an_event_out_of_order_is_shown_next_to_the_field_and_nothing_is_stored(ltmv):
    pathway = _pathway(ltmv)
    client = ltmv.login(Client(), ltmv.ltmv_nurse)
    response = client.post(f"/patients/{ltmv.patient_a.pk}/pathways/{pathway.pk}/events/",
                           {"kind": "discharged"})
    assert response.status_code == 422
    assert "rekkefølge" in response.content.decode() or "order" in response.content.decode()
    assert not PathwayEvent.objects.filter(pathway=pathway).exists()


def test_a_municipal_decision_without_its_date_is_refused_in_norwegian(ltmv):
    pathway = _pathway(ltmv)
    for kind, days in (("referral", 50), ("meeting_held", 40), ("application_sent", 30)):
        svc.record_event(pathway, kind, actor=actor_of(ltmv.ltmv_nurse),
                         at=timezone.now() - dt.timedelta(days=days))
    client = ltmv.login(Client(), ltmv.coordinator_a)
    response = client.post(f"/patients/{ltmv.patient_a.pk}/pathways/{pathway.pk}/events/",
                           {"kind": "municipal_decision", "at": "2026-13-01"})
    assert response.status_code == 422
    assert not pathway.events.filter(kind="municipal_decision").exists()


def test_the_gate_shows_each_criterion_with_what_is_missing_and_its_owner(ltmv):
    pathway = _pathway(ltmv)
    for kind, days in (("referral", 50), ("meeting_held", 40), ("admitted", 30)):
        svc.record_event(pathway, kind, actor=actor_of(ltmv.ltmv_nurse),
                         at=timezone.now() - dt.timedelta(days=days))
    client = ltmv.login(Client(), ltmv.ltmv_nurse)
    html = client.get(f"/patients/{ltmv.patient_a.pk}/pathways/{pathway.pk}/").content.decode()
    assert 'id="criterion-medically_stable"' in html
    assert "gate__item--unmet" in html and "gate__item--met" in html
    response = client.post(f"/patients/{ltmv.patient_a.pk}/pathways/{pathway.pk}/events/",
                           {"kind": "discharged"})
    assert response.status_code == 422
    assert not pathway.events.filter(kind="discharged").exists()


def test_the_home_nursing_worklist_shows_my_units_tasks_and_audits_the_patients(ltmv, audit):
    pathway = _pathway(ltmv)
    Task.objects.create(patient=ltmv.patient_a, pathway=pathway, title="Kanylebytte",
                        owner_organisation=ltmv.hn_a, owner_role="home_nursing",
                        due_at=timezone.now() - dt.timedelta(hours=2), side="municipality")
    Task.objects.create(patient=ltmv.patient_b, title="Besøk", owner_organisation=ltmv.hn_b,
                        owner_role="home_nursing", due_at=timezone.now(), side="municipality")
    watch = audit()
    html = ltmv.login(Client(), ltmv.home_nurse_a).get("/worklists/home-nursing/"
                                                        ).content.decode()
    assert "Kanylebytte" in html and "Aasen" in html
    assert "Besøk" not in html and "Bakke" not in html
    assert [r.patient_id for r in watch.rows(code="samhand.task.list")] == [ltmv.patient_a.pk]


def test_completing_a_task_from_the_pathway_page_with_htmx_returns_the_task(ltmv, audit):
    pathway = _pathway(ltmv)
    task = Task.objects.create(patient=ltmv.patient_a, pathway=pathway, title="Ring GP",
                               owner_organisation=ltmv.pulm, due_at=timezone.now())
    client = ltmv.login(Client(), ltmv.ltmv_nurse)
    response = client.post(f"/patients/{ltmv.patient_a.pk}/tasks/{task.pk}/complete/",
                           {"note": "Ringt"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert f'id="task-{task.pk}"' in response.content.decode()
    task.refresh_from_db()
    assert task.status == "done" and task.completed_by == ltmv.ltmv_nurse
    again = client.post(f"/patients/{ltmv.patient_a.pk}/tasks/{task.pk}/complete/",
                        {"note": "Igjen"}, HTTP_HX_REQUEST="true")
    assert again.status_code == 422


def test_a_task_of_another_patient_is_not_found_under_this_patient(ltmv):
    other = Task.objects.create(patient=ltmv.patient_b, title="Besøk",
                                owner_organisation=ltmv.hn_b, due_at=timezone.now())
    client = ltmv.login(Client(), ltmv.ltmv_nurse)  # sees both patients
    response = client.post(f"/patients/{ltmv.patient_a.pk}/tasks/{other.pk}/complete/",
                           {"note": "x"})
    assert response.status_code == 404
    other.refresh_from_db()
    assert other.status == "open"


def test_the_timeline_lists_events_and_done_tasks_newest_first(ltmv):
    pathway = _pathway(ltmv)
    svc.record_event(pathway, "referral", actor=actor_of(ltmv.ltmv_nurse),
                     at=timezone.now() - dt.timedelta(days=50), note="Henvist fra nevro")
    svc.record_event(pathway, "meeting_held", actor=actor_of(ltmv.ltmv_nurse),
                     at=timezone.now() - dt.timedelta(days=40))
    html = ltmv.login(Client(), ltmv.gp_a).get(
        f"/patients/{ltmv.patient_a.pk}/timeline/").content.decode()
    assert html.index("Samarbeidsmøte") < html.index("Henvist fra nevro")


def test_the_timeline_filter_names_each_kind_in_the_users_language(ltmv):
    pathway = _pathway(ltmv)
    svc.record_event(pathway, "referral", actor=actor_of(ltmv.ltmv_nurse),
                     at=timezone.now() - dt.timedelta(days=5))
    task = svc.create_task(patient=ltmv.patient_a, title="Ring pasienten",
                           actor=actor_of(ltmv.ltmv_nurse), owner_organisation=ltmv.pulm)
    svc.complete_task(task, actor=actor_of(ltmv.ltmv_nurse), note="Ringt")
    client = ltmv.login(Client(), ltmv.ltmv_nurse)

    response = client.get(f"/patients/{ltmv.patient_a.pk}/timeline/")
    only_tasks = client.get(f"/patients/{ltmv.patient_a.pk}/timeline/?kind=task")

    assert ("event", "Forløpshendelser") in response.context["kinds"]
    assert ("task", "Utførte oppgaver") in response.context["kinds"]
    assert '<option value="task">Utførte oppgaver</option>' in response.content.decode()
    assert [i.kind for i in only_tasks.context["page"]] == ["task"]


def test_the_discharge_ready_report_counts_days_per_municipality_and_month(ltmv):
    pathway = _pathway(ltmv, days=90)
    for kind, days in (("referral", 80), ("meeting_held", 70), ("application_sent", 60)):
        svc.record_event(pathway, kind, actor=actor_of(ltmv.ltmv_nurse),
                         at=timezone.now() - dt.timedelta(days=days))
    ready = timezone.localdate() - dt.timedelta(days=12)
    svc.record_event(pathway, "municipal_decision", actor=actor_of(ltmv.coordinator_a),
                     at=timezone.now() - dt.timedelta(days=20),
                     data={"discharge_ready_from": ready.isoformat()})
    from samhand.pathways.worklists import discharge_ready_report

    rows = discharge_ready_report(ltmv.coordinator_a)
    assert sum(r.days for r in rows) == 12
    assert {r.municipality for r in rows} == {"Fjordby kommune"}
    assert discharge_ready_report(ltmv.home_nurse_b) == []
    html = ltmv.login(Client(), ltmv.coordinator_a).get("/reports/discharge-ready/"
                                                         ).content.decode()
    assert "Fjordby kommune" in html and "Aasen" not in html


def test_the_coordinator_worklist_shows_stale_contacts_and_a_due_revision(ltmv):
    from samhand.patients.models import Consent
    from samhand.plans import services as plans

    _pathway(ltmv)
    Consent.objects.create(patient=ltmv.patient_a, scope=Consent.Scope.INDIVIDUAL_PLAN,
                           status=Consent.Status.GIVEN, recorded_by=ltmv.coordinator_a,
                           recorded_by_organisation=ltmv.ke_a)
    old = (timezone.localdate() - dt.timedelta(days=200)).isoformat()
    content = {"summary": "", "goals": [], "measures": [],
               "contacts": [{"name": "Hjemmesykepleien", "role": "home_nursing",
                             "phone": "77 00 00 00", "around_the_clock": True,
                             "confirmed_on": old}],
               "revision": {"every_months": 6, "next_on": old}}
    plans.start_individual_plan(actor_of(ltmv.coordinator_a), ltmv.patient_a,
                                grant(ltmv.coordinator_a, ltmv.patient_a), content=content)
    html = ltmv.login(Client(), ltmv.coordinator_a).get(
        f"/worklists/coordinator/?unit={ltmv.ke_a.pk}").content.decode()
    assert "Aasen" in html
    assert "revision" in html.lower() or "revisjon" in html.lower()
    assert "1 contact not confirmed" in html or "1 kontakt" in html
