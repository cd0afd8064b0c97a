"""The plans pages: access through the access layer, audit rows, relatives with the
"plans" scope reading the individual plan, version compare, the audited download."""

from __future__ import annotations

from django.test import Client

from samhand.patients.models import Delegation
from samhand.plans import binder
from samhand.plans.models import IndividualPlanVersion

from .helpers import actor_and_grant, consent, full_ltmv_patient


def _client(world, user):
    return world.login(Client(), user)


def test_the_overview_shows_the_criteria_and_audits_the_read(world, audit):
    watch = audit()
    response = _client(world, world.home_nurse_a).get(f"/patients/{world.patient_a.pk}/plans/")
    assert response.status_code == 200
    assert "Utskrivningskriterier fra planene" in response.content.decode()
    [row] = watch.rows(code="samhand.plans.read")
    assert row.patient_id == world.patient_a.pk and row.basis == "care_relation"


def test_an_outsider_gets_404_and_an_audit_row(world, audit):
    watch = audit()
    response = _client(world, world.home_nurse_b).get(
        f"/patients/{world.patient_a.pk}/plans/individual/")
    assert response.status_code == 404
    [row] = watch.rows(code="samhand.individual_plan.read")
    assert row.outcome != "0"


def test_starting_the_plan_from_the_page(world, audit):
    consent(world)
    client = _client(world, world.coordinator_a)
    watch = audit()
    response = client.post(f"/patients/{world.patient_a.pk}/plans/individual/start/")
    assert response.status_code == 302
    assert IndividualPlanVersion.objects.filter(plan__patient=world.patient_a).count() == 1
    assert watch.rows(code="samhand.individual_plan.started")


def test_starting_without_consent_shows_why(world):
    response = _client(world, world.coordinator_a).post(
        f"/patients/{world.patient_a.pk}/plans/individual/start/")
    assert response.status_code == 422
    assert "samtykket" in response.content.decode()


def test_editing_makes_a_version_that_compares_side_by_side(world):
    consent(world)
    client = _client(world, world.coordinator_a)
    client.post(f"/patients/{world.patient_a.pk}/plans/individual/start/")
    form = client.get(f"/patients/{world.patient_a.pk}/plans/individual/edit/")
    assert form.status_code == 200
    initial = form.context["form"].initial
    data = {k: v for k, v in initial.items() if v is not None}
    data["goals"] = "Jeg vil være hjemme."
    data["measures_municipality"] = "Stell morgen og kveld | Hjemmesykepleien"
    data["note"] = "Mål"
    response = client.post(f"/patients/{world.patient_a.pk}/plans/individual/edit/", data)
    assert response.status_code == 302, response.content.decode()[:2000]
    compare = client.get(f"/patients/{world.patient_a.pk}/plans/individual/compare/?a=1&b=2")
    body = compare.content.decode()
    assert compare.status_code == 200
    assert "Jeg vil være hjemme." in body and "Stell morgen og kveld" in body
    assert compare.context["changed"] >= 2


def test_a_stale_edit_is_refused_on_the_form(world):
    consent(world)
    client = _client(world, world.coordinator_a)
    client.post(f"/patients/{world.patient_a.pk}/plans/individual/start/")
    initial = client.get(f"/patients/{world.patient_a.pk}/plans/individual/edit/"
                         ).context["form"].initial
    data = {k: v for k, v in initial.items() if v is not None}
    client.post(f"/patients/{world.patient_a.pk}/plans/individual/edit/",
                {**data, "summary": "Første"})
    response = client.post(f"/patients/{world.patient_a.pk}/plans/individual/edit/",
                           {**data, "summary": "Andre"})
    assert response.status_code == 409
    assert IndividualPlanVersion.objects.filter(plan__patient=world.patient_a).count() == 2


def test_a_relative_reads_the_plan_only_with_the_plans_scope(world, audit):
    consent(world)
    actor, grant = actor_and_grant(world.coordinator_a, world.patient_a)
    from samhand.plans import services

    services.start_individual_plan(actor, world.patient_a, grant)
    client = _client(world, world.relative_a)
    url = f"/patients/{world.patient_a.pk}/plans/individual/"
    assert client.get(url).status_code == 404
    delegation = Delegation.objects.get(related_person__patient=world.patient_a)
    delegation.scopes = [*delegation.scopes, "plans"]
    delegation.save()
    watch = audit()
    response = client.get(url)
    assert response.status_code == 200
    body = response.content.decode()
    assert "Kontaktliste" in body and "Endre planen" not in body
    [row] = watch.rows(code="samhand.individual_plan.read")
    assert row.basis == "delegation"
    assert client.get(f"/patients/{world.patient_a.pk}/plans/treatment/").status_code == 404
    assert client.post(f"/patients/{world.patient_a.pk}/plans/individual/confirm-contacts/"
                       ).status_code == 404


def test_the_binder_download_is_audited_and_named_without_the_patient(world, audit):
    patient = full_ltmv_patient(world)
    actor, _grant = actor_and_grant(world.ltmv_nurse, patient)
    document, _ = binder.generate_binder(actor, patient)
    watch = audit()
    response = _client(world, world.home_nurse_a).get(
        f"/patients/{patient.pk}/plans/documents/{document.pk}/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert bytes(response.content).startswith(b"%PDF")
    disposition = response["Content-Disposition"]
    assert document.code in disposition and "Aasen" not in disposition
    [row] = watch.rows(code="samhand.binder.downloaded")
    assert row.patient_id == patient.pk


def test_the_binder_page_says_when_the_binder_is_out_of_date(world):
    patient = full_ltmv_patient(world)
    actor, _grant = actor_and_grant(world.ltmv_nurse, patient)
    binder.generate_binder(actor, patient)
    client = _client(world, world.ltmv_nurse)
    assert "Gjeldende" in client.get(f"/patients/{patient.pk}/plans/binder/").content.decode()
    world.hn_a.phone_24h = "400 12 345"
    world.hn_a.save()  # no commit hook in this test: the page must notice by itself
    body = client.get(f"/patients/{patient.pk}/plans/binder/").content.decode()
    assert "Utdatert" in body
    response = client.post(f"/patients/{patient.pk}/plans/binder/generate/")
    assert response.status_code == 302
    assert patient.documents.filter(kind="binder").count() == 2


def test_the_municipality_does_not_see_the_hospitals_plan_without_sharing_consent(world):
    from samhand.patients.models import Consent

    patient = full_ltmv_patient(world)
    Consent.objects.create(patient=patient, scope=Consent.Scope.SHARE_HEALTH_INFO,
                           status=Consent.Status.WITHDRAWN, recorded_by=world.ltmv_nurse,
                           recorded_by_organisation=world.pulm)
    body = _client(world, world.home_nurse_a).get(
        f"/patients/{patient.pk}/plans/treatment/").content.decode()
    assert "Astral 150" not in body and "skjult" in body
    body = _client(world, world.ltmv_nurse).get(
        f"/patients/{patient.pk}/plans/treatment/").content.decode()
    assert "Astral 150" in body
