"""/fhir/PlanDefinition, /fhir/CarePlan and /fhir/Task (samhand/pathways/fhir_resources.py)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import timezone
from fhir.resources.R4B import get_fhir_model_class

from samhand.api.models import ApiToken
from samhand.audit.models import AuditEvent
from samhand.pathways import services as svc
from samhand.pathways.models import Pathway, Task

from .conftest import actor_of, grant

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_rate_budget(db: Any) -> None:
    cache.clear()


@pytest.fixture
def fhir(db: Any) -> Any:
    def make(user: Any) -> Client:
        _token, secret = ApiToken.issue(user, days=30)
        return Client(HTTP_AUTHORIZATION=f"Bearer {secret}")

    return make


def validate(resource: dict[str, Any]) -> Any:
    return get_fhir_model_class(resource["resourceType"]).model_validate(resource)


def ids(bundle: dict[str, Any]) -> set[str]:
    return {e["resource"]["id"] for e in bundle.get("entry", [])}


def _discharged(world: Any) -> Pathway:
    """patient_a on the LTMV pathway, discharged 70 days ago over the gate."""
    nurse = world.ltmv_nurse
    pathway = svc.start_pathway(actor_of(nurse), grant(nurse, world.patient_a),
                                world.patient_a, template_key="ltmv_invasive",
                                entry="elective",
                                at=timezone.now() - dt.timedelta(days=120))
    for kind, days, user, extra in (
            ("referral", 100, nurse, {}), ("meeting_held", 95, nurse, {}),
            ("admitted", 90, nurse, {}),
            ("discharged", 70, world.consultant, {"override_reason": "Ønsker hjem"})):
        svc.record_event(pathway, kind, actor=actor_of(user),
                         grant=grant(user, world.patient_a),
                         at=timezone.now() - dt.timedelta(days=days), **extra)
    return pathway


def _pathway_b(world: Any) -> Pathway:
    nurse = world.ltmv_nurse
    pathway = svc.start_pathway(actor_of(nurse), grant(nurse, world.patient_b),
                                world.patient_b, template_key="home_niv", entry="elective",
                                at=timezone.now() - dt.timedelta(days=10))
    svc.record_event(pathway, "admitted", actor=actor_of(nurse),
                     grant=grant(nurse, world.patient_b),
                     at=timezone.now() - dt.timedelta(days=9))
    return pathway


# --------------------------------------------------------------------------- PlanDefinition

def test_every_template_version_is_a_valid_plan_definition(ltmv, fhir):
    client = fhir(ltmv.home_nurse_b)
    bundle = client.get("/fhir/PlanDefinition?_count=50").json()
    validate(bundle)
    assert {"ltmv-invasive-1", "home-niv-1", "copd-hf-followup-1",
            "palliative-home-1", "ltmv-invasive-2"} <= ids(bundle)
    older = client.get("/fhir/PlanDefinition/ltmv-invasive-1").json()
    validate(older)
    assert older["version"] == "1" and older["status"] == "retired"
    resource = client.get("/fhir/PlanDefinition/ltmv-invasive-2").json()
    validate(resource)
    assert resource["url"] == "urn:samhand:plandefinition:ltmv_invasive"
    assert resource["version"] == "2" and resource["status"] == "active"
    actions = {a["id"]: a for a in resource["action"]}
    visit = actions["first-home-visit"]
    assert visit["trigger"] == [{"type": "named-event", "name": "discharged"}]
    assert visit["timingDuration"]["code"] == "mo"
    assert visit["participant"][0]["role"]["coding"][0]["code"]
    cannula = actions["cannula-change"]
    assert cannula["timingTiming"]["repeat"]["periodUnit"] == "mo"
    gate = actions["gate-discharge"]
    assert gate["groupingBehavior"] == "logical-group" and len(gate["action"]) >= 3


def test_plan_definitions_are_searched_by_name_and_status(ltmv, fhir):
    client = fhir(ltmv.gp_a)
    assert ids(client.get("/fhir/PlanDefinition?name=home_niv").json()) == {"home-niv-1",
                                                                          "home-niv-2"}
    assert ids(client.get("/fhir/PlanDefinition?status=retired").json()) == {
        "ltmv-invasive-1", "home-niv-1", "copd-hf-followup-1", "palliative-home-1"}
    assert client.get("/fhir/PlanDefinition?status=draft").status_code == 400
    assert client.get("/fhir/PlanDefinition/ltmv-invasive-9").status_code == 404
    assert client.get("/fhir/PlanDefinition?patient=x").status_code == 400


# --------------------------------------------------------------------------- CarePlan

def test_read_a_care_plan_of_my_patient(ltmv, fhir, audit):
    pathway = _discharged(ltmv)
    watch = audit()
    response = fhir(ltmv.home_nurse_a).get(f"/fhir/CarePlan/{pathway.pk}")
    assert response.status_code == 200
    resource = response.json()
    validate(resource)
    assert resource["status"] == "active" and resource["intent"] == "plan"
    assert resource["subject"]["reference"] == f"Patient/{ltmv.patient_a.pk}"
    assert resource["instantiatesCanonical"] == ["urn:samhand:plandefinition:ltmv_invasive|2"]
    assert resource["period"]["start"]
    task_refs = {a["reference"]["reference"] for a in resource["activity"]}
    assert task_refs == {f"Task/{t.pk}" for t in Task.objects.filter(pathway=pathway)}
    assert "Ønsker hjem" in resource["note"][0]["text"]
    assert [(r.code, r.client, r.object_type, r.patient_id) for r in watch.rows()] == [
        ("samhand.pathway.read", "fhir", "CarePlan", ltmv.patient_a.pk)]


def test_an_ended_pathway_is_a_completed_care_plan(ltmv, fhir):
    pathway = _discharged(ltmv)
    svc.record_event(pathway, "ended", actor=actor_of(ltmv.ltmv_nurse),
                     grant=grant(ltmv.ltmv_nurse, ltmv.patient_a))
    resource = fhir(ltmv.consultant).get(f"/fhir/CarePlan/{pathway.pk}").json()
    validate(resource)
    assert resource["status"] == "completed" and resource["period"]["end"]


def test_an_outsider_gets_404_identical_to_a_random_id_and_no_leak(ltmv, fhir, audit):
    pathway = _discharged(ltmv)
    task = Task.objects.filter(pathway=pathway).first()
    client = fhir(ltmv.home_nurse_b)
    watch = audit()
    for kind, own in (("CarePlan", pathway.pk), ("Task", task.pk)):
        foreign = client.get(f"/fhir/{kind}/{own}")
        random = client.get(f"/fhir/{kind}/{uuid.uuid4()}")
        garbage = client.get(f"/fhir/{kind}/zzz")
        assert foreign.status_code == random.status_code == garbage.status_code == 404
        assert foreign.content == random.content == garbage.content
    rows = watch.rows()
    assert rows and all(r.outcome == AuditEvent.Outcome.MINOR_FAILURE for r in rows)
    assert {r.patient_id for r in rows} == {ltmv.patient_a.pk, None}
    for query in (f"/fhir/CarePlan?patient=Patient/{ltmv.patient_a.pk}",
                  f"/fhir/Task?patient=Patient/{ltmv.patient_a.pk}", "/fhir/Task",
                  f"/fhir/CarePlan?_id={pathway.pk}", f"/fhir/Task?based-on=CarePlan/{pathway.pk}"):
        body = client.get(query).content.decode()
        assert "Aasen" not in body and str(task.pk) not in body, query


def test_a_relative_with_a_delegation_sees_no_care_plan(ltmv, fhir):
    pathway = _discharged(ltmv)
    client = fhir(ltmv.relative_a)
    assert client.get(f"/fhir/CarePlan/{pathway.pk}").status_code == 404
    assert client.get("/fhir/CarePlan").json()["total"] == 0


def test_care_plans_are_searched_by_patient_status_and_id(ltmv, fhir, audit):
    a = _discharged(ltmv)
    b = _pathway_b(ltmv)
    client = fhir(ltmv.ltmv_nurse)  # sees both patients
    watch = audit()
    everything = client.get("/fhir/CarePlan").json()
    validate(everything)
    assert ids(everything) == {str(a.pk), str(b.pk)}
    assert sorted(r.patient_id for r in watch.rows(code="samhand.pathway.list")) == sorted(
        [ltmv.patient_a.pk, ltmv.patient_b.pk])
    assert ids(client.get(f"/fhir/CarePlan?subject=Patient/{ltmv.patient_b.pk}").json()) == {
        str(b.pk)}
    assert ids(client.get(f"/fhir/CarePlan?_id={a.pk}").json()) == {str(a.pk)}
    assert ids(client.get("/fhir/CarePlan?status=completed").json()) == set()
    assert client.get("/fhir/CarePlan?status=done").status_code == 400
    assert ids(fhir(ltmv.home_nurse_b).get("/fhir/CarePlan").json()) == {str(b.pk)}


# --------------------------------------------------------------------------- Task

def test_read_a_task_with_owner_due_time_and_notes(ltmv, fhir, audit):
    pathway = _discharged(ltmv)
    first = Task.objects.filter(pathway=pathway, task_key="cannula_change").order_by("seq")[0]
    svc.complete_task(first, actor=actor_of(ltmv.home_nurse_a),
                      grant=grant(ltmv.home_nurse_a, ltmv.patient_a),
                      note="Veiledet av Lise Lunde")
    watch = audit()
    resource = fhir(ltmv.home_nurse_a).get(f"/fhir/Task/{first.pk}").json()
    validate(resource)
    assert resource["status"] == "completed" and resource["intent"] == "order"
    assert resource["for"]["reference"] == f"Patient/{ltmv.patient_a.pk}"
    assert resource["basedOn"] == [{"reference": f"CarePlan/{pathway.pk}"}]
    assert resource["owner"]["reference"] == f"Organization/{ltmv.hn_a.pk}"
    assert resource["restriction"]["period"]["end"]
    assert resource["executionPeriod"]["end"]
    assert resource["note"][0]["text"] == "Veiledet av Lise Lunde"
    assert resource["code"]["coding"][0]["code"] == "cannula_change"
    assert [(r.code, r.object_type) for r in watch.rows()] == [
        ("samhand.pathway.read", "Task")]


def test_an_overdue_open_task_says_so_in_its_business_status(ltmv, fhir):
    pathway = _discharged(ltmv)
    overdue = Task.objects.overdue().filter(pathway=pathway).first()
    assert overdue is not None
    resource = fhir(ltmv.home_nurse_a).get(f"/fhir/Task/{overdue.pk}").json()
    validate(resource)
    assert resource["status"] == "ready"
    assert "overdue" in {c["code"] for c in resource["businessStatus"]["coding"]}


def test_tasks_are_searched_by_patient_status_owner_period_and_pathway(ltmv, fhir, audit):
    pathway = _discharged(ltmv)
    b = _pathway_b(ltmv)
    client = fhir(ltmv.ltmv_nurse)
    mine = Task.objects.filter(patient=ltmv.patient_a)
    by_patient = client.get(f"/fhir/Task?patient=Patient/{ltmv.patient_a.pk}&_count=200").json()
    validate(by_patient)
    assert ids(by_patient) == {str(t.pk) for t in mine}
    ready = client.get(f"/fhir/Task?patient={ltmv.patient_a.pk}&status=ready&_count=200").json()
    assert ids(ready) == {str(t.pk) for t in mine.filter(status="open")}
    owned = client.get(f"/fhir/Task?owner=Organization/{ltmv.hn_a.pk}&_count=200").json()
    assert ids(owned) == {str(t.pk) for t in Task.objects.filter(owner_organisation=ltmv.hn_a)}
    assert ids(owned)
    today = timezone.localdate()
    past = client.get(f"/fhir/Task?period=lt{today.isoformat()}&_count=200").json()
    assert ids(past) == {str(t.pk) for t in Task.objects.filter(
        due_at__lt=timezone.make_aware(dt.datetime.combine(today, dt.time())))}
    based = client.get(f"/fhir/Task?based-on=CarePlan/{b.pk}&_count=200").json()
    assert ids(based) == {str(t.pk) for t in Task.objects.filter(pathway=b)}
    assert ids(client.get(f"/fhir/Task?based-on={pathway.pk}&_count=1").json())
    for bad in ("status=open", "period=yesterday", "period=ge2026-01-01T10:00",
                "owner=Patient/x", "based-on=nope"):
        response = client.get(f"/fhir/Task?{bad}")
        assert response.status_code == 400, bad
        assert response.json()["resourceType"] == "OperationOutcome"


def test_the_other_municipality_searches_only_its_own_tasks(ltmv, fhir, audit):
    _discharged(ltmv)
    b = _pathway_b(ltmv)
    watch = audit()
    bundle = fhir(ltmv.home_nurse_b).get("/fhir/Task?_count=200").json()
    assert ids(bundle) == {str(t.pk) for t in Task.objects.filter(pathway=b)}
    assert {r.patient_id for r in watch.rows(code="samhand.task.list")} <= {ltmv.patient_b.pk}
    assert "Aasen" not in str(bundle)
