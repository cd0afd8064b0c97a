"""/fhir/CarePlan (individual and treatment plans beside pathways) and
/fhir/DocumentReference, through the access layer; resources validate as R4."""

from __future__ import annotations

from typing import Any

from django.core.cache import cache
from django.test import Client
from fhir.resources.R4B import get_fhir_model_class

from samhand.api.models import ApiToken
from samhand.plans import binder

from .helpers import actor_and_grant, full_ltmv_patient, start_ltmv_pathway


def fhir(user: Any) -> Client:
    cache.clear()
    _token, secret = ApiToken.issue(user, days=1)
    return Client(HTTP_AUTHORIZATION=f"Bearer {secret}")


def validate(resource: dict[str, Any]) -> Any:
    return get_fhir_model_class(resource["resourceType"]).model_validate(resource)


def test_the_individual_plan_is_a_careplan_with_goals(world, audit):
    patient = full_ltmv_patient(world)
    plan = patient.individual_plans.get()
    watch = audit()
    resource = fhir(world.gp_a).get(f"/fhir/CarePlan/{plan.pk}").json()
    validate(resource)
    assert resource["category"][0]["coding"][0]["code"] == "individual_plan"
    assert resource["contained"][0]["resourceType"] == "Goal"
    assert resource["goal"] == [{"reference": "#goal-1"}]
    assert {a["detail"]["code"]["coding"][0]["code"] for a in resource["activity"]} == {
        "municipality", "hospital", "gp", "relatives"}
    assert watch.rows(code="samhand.careplan.read")


def test_the_treatment_plan_is_a_signed_order(world):
    patient = full_ltmv_patient(world)
    resource = fhir(world.ltmv_nurse).get(f"/fhir/CarePlan/{patient.treatment_plan.pk}").json()
    validate(resource)
    assert resource["status"] == "active" and resource["intent"] == "order"
    assert resource["author"]["display"] == "Kari Krogh"
    assert any("Astral 150" in a["detail"]["description"] for a in resource["activity"])


def test_a_careplan_search_returns_pathways_and_plans(world):
    pathway = start_ltmv_pathway(world)
    patient = full_ltmv_patient(world)
    bundle = fhir(world.ltmv_nurse).get(
        f"/fhir/CarePlan?patient=Patient/{patient.pk}&_count=2").json()
    validate(bundle)
    assert bundle["total"] == 3
    assert {e["resource"]["id"] for e in bundle["entry"]} == {
        str(pathway.pk), str(patient.individual_plans.get().pk)}
    second = fhir(world.ltmv_nurse).get(
        f"/fhir/CarePlan?patient=Patient/{patient.pk}&_count=2&_offset=2").json()
    assert [e["resource"]["id"] for e in second["entry"]] == [str(patient.treatment_plan.pk)]


def test_an_outsider_gets_404_for_a_plan(world):
    patient = full_ltmv_patient(world)
    plan = patient.individual_plans.get()
    assert fhir(world.home_nurse_b).get(f"/fhir/CarePlan/{plan.pk}").status_code == 404


def test_binder_versions_are_document_references(world):
    patient = full_ltmv_patient(world)
    actor, _grant = actor_and_grant(world.ltmv_nurse, patient)
    first, _ = binder.generate_binder(actor, patient)
    world.hn_a.phone_24h = "400 12 345"
    world.hn_a.save()
    second, _ = binder.generate_binder(actor, patient)
    client = fhir(world.home_nurse_a)
    bundle = client.get(f"/fhir/DocumentReference?patient=Patient/{patient.pk}").json()
    validate(bundle)
    status = {e["resource"]["id"]: e["resource"]["status"] for e in bundle["entry"]}
    assert status == {str(first.pk): "superseded", str(second.pk): "current"}
    current = client.get(f"/fhir/DocumentReference?patient=Patient/{patient.pk}"
                         "&status=current").json()
    [entry] = current["entry"]
    assert entry["resource"]["identifier"][0]["value"] == second.code
    resource = client.get(f"/fhir/DocumentReference/{second.pk}").json()
    validate(resource)
    assert resource["content"][0]["attachment"]["url"].endswith(f"/documents/{second.pk}/pdf")
    assert fhir(world.home_nurse_b).get(
        f"/fhir/DocumentReference/{second.pk}").status_code == 404
