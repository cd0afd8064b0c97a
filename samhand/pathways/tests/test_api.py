"""/api/v1/ pathways, events and tasks (samhand/pathways/api.py)."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from samhand.api.models import ApiToken
from samhand.audit.models import AuditEvent
from samhand.pathways import services as svc
from samhand.pathways.models import GateOverride, Pathway, PathwayEvent, Task, TaskNote

from .conftest import actor_of, grant

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_rate_budget(db: Any) -> None:
    cache.clear()


@pytest.fixture
def api(db: Any) -> Any:
    """`api(user)`: a client that sends the user's bearer token."""

    def make(user: Any) -> Client:
        _token, secret = ApiToken.issue(user, days=30)
        return Client(HTTP_AUTHORIZATION=f"Bearer {secret}")

    return make


def post(client: Client, path: str, body: dict[str, Any]) -> Any:
    return client.post(path, json.dumps(body), content_type="application/json")


def base(world: Any, patient: str = "patient_a") -> str:
    return f"/api/v1/patients/{getattr(world, patient).pk}"


def _start(world: Any, days_ago: int = 120) -> Pathway:
    nurse = world.ltmv_nurse
    return svc.start_pathway(actor_of(nurse), grant(nurse, world.patient_a), world.patient_a,
                             template_key="ltmv_invasive", entry="elective",
                             at=timezone.now() - dt.timedelta(days=days_ago))


def _event(world: Any, pathway: Pathway, kind: str, days_ago: int, **kw: Any) -> PathwayEvent:
    user = kw.pop("user", world.ltmv_nurse)
    return svc.record_event(pathway, kind, actor=actor_of(user),
                            grant=grant(user, world.patient_a),
                            at=timezone.now() - dt.timedelta(days=days_ago), **kw)


def _admitted(world: Any) -> Pathway:
    pathway = _start(world)
    for kind, days in (("referral", 100), ("meeting_held", 95), ("admitted", 90)):
        _event(world, pathway, kind, days)
    return pathway


# --------------------------------------------------------------------------- templates

def test_the_template_library_lists_every_template_with_due_rules_in_words(ltmv, api):
    response = api(ltmv.home_nurse_b).get("/api/v1/pathway-templates",
                                          headers={"accept-language": "en"})
    assert response.status_code == 200
    body = response.json()
    keys = {t["key"] for t in body["items"]}
    assert {"ltmv_invasive", "home_niv", "copd_hf_followup", "palliative_home"} <= keys
    ltmv_t = next(t for t in body["items"] if t["key"] == "ltmv_invasive")
    visit = next(t for t in ltmv_t["tasks"] if t["key"] == "first_home_visit")
    assert visit["due"].startswith("1 month after: discharged")
    assert ltmv_t["gates"][0]["before_event"] == "discharged"
    assert str(ltmv.patient_a.pk) not in response.content.decode()


def test_without_credentials_the_library_answers_401(ltmv):
    response = Client().get("/api/v1/pathway-templates")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


# --------------------------------------------------------------------------- start

def test_starting_a_pathway_creates_owned_tasks_and_audits(ltmv, api, audit):
    watch = audit()
    response = post(api(ltmv.ltmv_nurse), f"{base(ltmv)}/pathways",
                    {"template": "ltmv_invasive", "entry": "elective",
                     "at": (timezone.localdate() - dt.timedelta(days=3)).isoformat()})
    assert response.status_code == 201, response.content
    body = response.json()
    pathway = Pathway.objects.get(pk=body["id"])
    assert pathway.patient == ltmv.patient_a and pathway.template_version == 2
    assert body["template"]["key"] == "ltmv_invasive"
    assert body["phase"]["key"] == "establishment"
    assert body["gates"][0]["key"] == "discharge" and not body["gates"][0]["met"]
    rows = watch.rows()
    assert [(r.code, r.client) for r in rows][:2] == [
        ("samhand.pathway.read", "api"), ("samhand.pathway.started", "api")]
    assert all(r.patient_id == ltmv.patient_a.pk for r in rows)


@pytest.mark.parametrize(("body", "status", "code", "field"), [
    ({"template": "no_such", "entry": "elective"}, 400, "unknown_template", "template"),
    ({"template": "ltmv_invasive", "entry": "sometime"}, 400, "unknown_entry", "entry"),
    ({"template": "ltmv_invasive", "entry": "elective", "at": "14.03.2026"}, 400, "bad_date",
     "at"),
    ({"template": "ltmv_invasive", "entry": "elective", "organisation": "x"}, 400,
     "unknown_field", "organisation"),
    ({"entry": "elective"}, 400, "required", "template"),
])
def test_a_bad_start_is_refused_with_code_and_field_and_nothing_stored(ltmv, api, body,
                                                                       status, code, field):
    response = post(api(ltmv.ltmv_nurse), f"{base(ltmv)}/pathways", body)
    assert response.status_code == status
    error = response.json()["error"]
    assert (error["code"], error["field"]) == (code, field)
    assert error["message"]
    assert not Pathway.objects.exists() and not Task.objects.exists()


def test_a_second_active_pathway_of_the_same_kind_is_a_conflict(ltmv, api):
    _start(ltmv)
    response = post(api(ltmv.ltmv_nurse), f"{base(ltmv)}/pathways",
                    {"template": "ltmv_invasive", "entry": "acute"})
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "pathway_exists"
    assert Pathway.objects.count() == 1


def test_an_outsider_gets_the_same_404_as_for_a_random_patient(ltmv, api, audit):
    pathway = _admitted(ltmv)
    events = PathwayEvent.objects.count()
    task = Task.objects.filter(pathway=pathway).first()
    client = api(ltmv.home_nurse_b)
    watch = audit()
    for suffix, body in [("/pathways", None), (f"/pathways/{pathway.pk}", None),
                         ("/tasks", None),
                         ("/pathways", {"template": "home_niv", "entry": "elective"}),
                         (f"/pathways/{pathway.pk}/events", {"kind": "referral"}),
                         (f"/tasks/{task.pk}/complete", {"note": "x"}),
                         (f"/tasks/{task.pk}/reassign", {"organisation_id": str(ltmv.hn_b.pk)})]:
        own = f"{base(ltmv)}{suffix}"
        random = own.replace(str(ltmv.patient_a.pk), str(uuid.uuid4()))
        answers = [client.get(u) if body is None else post(client, u, body)
                   for u in (own, random)]
        assert [a.status_code for a in answers] == [404, 404], suffix
        assert answers[0].content == answers[1].content
    assert Pathway.objects.count() == 1 and PathwayEvent.objects.count() == events
    assert not Task.objects.filter(completed_by=ltmv.home_nurse_b).exists()
    assert not Task.objects.filter(owner_organisation=ltmv.hn_b).exists()
    rows = watch.rows(patient_id=ltmv.patient_a.pk)
    assert rows and all(r.outcome == AuditEvent.Outcome.MINOR_FAILURE for r in rows)


def test_a_relative_with_a_delegation_cannot_reach_pathways(ltmv, api):
    _start(ltmv)
    client = api(ltmv.relative_a)
    assert client.get(f"{base(ltmv)}/pathways").status_code == 404
    response = post(client, f"{base(ltmv)}/pathways",
                    {"template": "home_niv", "entry": "elective"})
    assert response.status_code == 404
    assert Pathway.objects.count() == 1


def test_a_pathway_of_another_patient_is_not_found_under_my_patient(ltmv, api):
    nurse = ltmv.ltmv_nurse  # sees both patients
    other = svc.start_pathway(actor_of(nurse), grant(nurse, ltmv.patient_b), ltmv.patient_b,
                              template_key="home_niv", entry="elective")
    client = api(nurse)
    assert client.get(f"{base(ltmv)}/pathways/{other.pk}").status_code == 404
    response = post(client, f"{base(ltmv)}/pathways/{other.pk}/events", {"kind": "admitted"})
    assert response.status_code == 404
    assert not other.events.exists()


# --------------------------------------------------------------------------- read

def test_the_patients_pathways_and_one_with_events_tasks_and_gate(ltmv, api, audit):
    pathway = _admitted(ltmv)
    client = api(ltmv.home_nurse_a)
    listing = client.get(f"{base(ltmv)}/pathways").json()
    assert [p["id"] for p in listing["items"]] == [str(pathway.pk)]
    watch = audit()
    response = client.get(f"{base(ltmv)}/pathways/{pathway.pk}")
    assert response.status_code == 200
    body = response.json()
    assert [e["kind"] for e in body["events"]] == ["referral", "meeting_held", "admitted"]
    assert body["events"][0]["recorded_by"]["name"] == "Lise Lunde"
    assert {t["task_key"] for t in body["tasks"]} >= {"indication_assessed", "consent_obtained"}
    gate = body["gates"][0]
    criteria = {c["key"]: c for c in gate["criteria"]}
    assert not gate["met"] and criteria["meeting_held"]["met"]
    stable = criteria["medically_stable"]
    assert not stable["met"] and stable["missing"]
    assert stable["owner_role"] == "responsible_consultant"
    assert [(r.code, r.client, r.object_type) for r in watch.rows()] == [
        ("samhand.pathway.read", "api", "CarePlan")]


# --------------------------------------------------------------------------- events

def test_recording_an_event_plans_the_tasks(ltmv, api, audit):
    pathway = _start(ltmv, days_ago=20)
    watch = audit()
    response = post(api(ltmv.ltmv_nurse), f"{base(ltmv)}/pathways/{pathway.pk}/events",
                    {"kind": "referral", "at": (timezone.localdate()
                                                - dt.timedelta(days=19)).isoformat(),
                     "note": "Henvist fra nevrolog"})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["kind"] == "referral" and body["source"] == "api" and body["override"] is None
    event = PathwayEvent.objects.get(pk=body["id"])
    assert event.note == "Henvist fra nevrolog"
    assert Task.objects.filter(pathway=pathway, task_key="meeting_called").exists()
    assert {"samhand.pathway.event", "samhand.task.created"} <= {r.code for r in watch.rows()}


@pytest.mark.parametrize(("body", "status", "code", "field"), [
    ({"kind": "discharged"}, 400, "out_of_order", "kind"),
    ({"kind": "landed"}, 400, "unknown_event", "kind"),
    ({"kind": "referral", "at": "yesterday"}, 400, "bad_date", "at"),
    ({"kind": "referral", "at": "2999-01-01"}, 400, "future", "at"),
    ({"kind": "referral", "data": "x"}, 400, "invalid", "data"),
])
def test_a_bad_event_is_refused_and_nothing_changes(ltmv, api, body, status, code, field):
    pathway = _start(ltmv)
    tasks = Task.objects.count()
    response = post(api(ltmv.ltmv_nurse), f"{base(ltmv)}/pathways/{pathway.pk}/events", body)
    assert response.status_code == status, response.content
    assert (response.json()["error"]["code"], response.json()["error"]["field"]) == (code, field)
    assert not pathway.events.exists() and Task.objects.count() == tasks


def test_a_municipal_decision_needs_its_date_in_data(ltmv, api):
    pathway = _start(ltmv)
    for kind, days in (("referral", 100), ("meeting_held", 95), ("application_sent", 90)):
        _event(ltmv, pathway, kind, days)
    client = api(ltmv.coordinator_a)
    url = f"{base(ltmv)}/pathways/{pathway.pk}/events"
    bad = post(client, url, {"kind": "municipal_decision", "data": {"discharge_ready_from": "1/2"}})
    assert bad.status_code == 400
    assert bad.json()["error"]["field"] == "data.discharge_ready_from"
    ready = timezone.localdate() - dt.timedelta(days=10)
    good = post(client, url, {"kind": "municipal_decision",
                              "data": {"discharge_ready_from": ready.isoformat()}})
    assert good.status_code == 201
    detail = client.get(f"{base(ltmv)}/pathways/{pathway.pk}").json()
    assert detail["discharge_ready_from"] == ready.isoformat()
    assert detail["days_discharge_ready"] == 10


def test_discharge_behind_an_unmet_gate_is_a_conflict_naming_what_is_missing(ltmv, api):
    pathway = _admitted(ltmv)
    response = post(api(ltmv.ltmv_nurse), f"{base(ltmv)}/pathways/{pathway.pk}/events",
                    {"kind": "discharged"})
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "gate_unmet" and error["field"] == "kind"
    assert not pathway.events.filter(kind="discharged").exists()


def test_only_the_responsible_consultant_may_override_the_gate(ltmv, api, audit):
    pathway = _admitted(ltmv)
    url = f"{base(ltmv)}/pathways/{pathway.pk}/events"
    refused = post(api(ltmv.ltmv_nurse), url, {"kind": "discharged",
                                               "override_reason": "Pasienten vil hjem"})
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "override_forbidden"
    assert not GateOverride.objects.exists()
    watch = audit()
    response = post(api(ltmv.consultant), url, {
        "kind": "discharged", "override_reason": "Ønsker å dø hjemme; risiko akseptert"})
    assert response.status_code == 201
    override = response.json()["override"]
    assert override["reason"] == "Ønsker å dø hjemme; risiko akseptert"
    assert override["by"]["name"] == "Kari Krogh"
    assert any(u["key"] == "medically_stable" for u in override["unmet"])
    assert [r.reason_text for r in watch.rows(code="samhand.pathway.gate_override")] == [
        "Ønsker å dø hjemme; risiko akseptert"]


# --------------------------------------------------------------------------- tasks

def _discharged(world: Any) -> Pathway:
    pathway = _admitted(world)
    _event(world, pathway, "discharged", 70, user=world.consultant, override_reason="Test")
    return pathway


def test_the_patients_tasks_filtered_by_state(ltmv, api):
    pathway = _discharged(ltmv)
    client = api(ltmv.home_nurse_a)
    everything = client.get(f"{base(ltmv)}/tasks?state=all&limit=200").json()
    open_ = client.get(f"{base(ltmv)}/tasks").json()
    overdue = client.get(f"{base(ltmv)}/tasks?state=overdue&limit=200").json()
    assert everything["count"] == Task.objects.filter(patient=ltmv.patient_a).count()
    assert open_["count"] == Task.objects.filter(
        patient=ltmv.patient_a, status__in=("open", "in_progress", "paused")).count()
    assert overdue["count"] == Task.objects.overdue().filter(patient=ltmv.patient_a).count()
    assert all(t["overdue"] for t in overdue["items"])
    assert client.get(f"{base(ltmv)}/tasks?state=late").status_code == 400
    only = client.get(f"{base(ltmv)}/tasks?state=all&pathway_id={pathway.pk}").json()
    assert only["count"] == everything["count"]


def test_the_task_list_costs_the_same_queries_for_few_and_many_tasks(ltmv, api):
    pathway = _discharged(ltmv)
    client = api(ltmv.home_nurse_a)
    url = f"{base(ltmv)}/tasks?state=all&limit=200"
    client.get(url)
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    for i in range(5):
        task = svc.create_task(patient=ltmv.patient_a, title=f"Ekstra {i}",
                               actor=actor_of(ltmv.home_nurse_a), owner_organisation=ltmv.hn_a,
                               pathway=pathway)
        svc.comment_task(task, "Notat", actor=actor_of(ltmv.home_nurse_a))
    with CaptureQueriesContext(connection) as many:
        client.get(url)
    assert len(data_queries(many)) == len(data_queries(few))


def data_queries(captured: CaptureQueriesContext) -> list[str]:
    """The queries of the request without the rate budget and the token's last use,
    which change with the minute the request falls in."""
    return [q["sql"] for q in captured.captured_queries
            if "samhand_cache" not in q["sql"] and "apitoken" not in q["sql"]]


def test_completing_a_supervised_task_needs_a_note(ltmv, api, audit):
    _discharged(ltmv)
    first = Task.objects.filter(task_key="cannula_change").order_by("seq").first()
    assert first.supervised
    client = api(ltmv.home_nurse_a)
    url = f"{base(ltmv)}/tasks/{first.pk}/complete"
    refused = post(client, url, {})
    assert refused.status_code == 400
    assert (refused.json()["error"]["code"], refused.json()["error"]["field"]) == (
        "note_required", "note")
    first.refresh_from_db()
    assert first.status == Task.Status.OPEN
    watch = audit()
    done = post(client, url, {"note": "Veiledet av Lise Lunde"})
    assert done.status_code == 200
    assert done.json()["status"] == "done"
    assert done.json()["completed_by"]["name"] == "Hanne Hjem"
    first.refresh_from_db()
    assert first.completion_note == "Veiledet av Lise Lunde"
    assert "samhand.task.completed" in {r.code for r in watch.rows(client="api")}
    again = post(client, url, {"note": "igjen"})
    assert again.status_code == 409 and again.json()["error"]["code"] == "bad_transition"


def test_a_task_of_another_patient_is_not_found_under_my_patient(ltmv, api):
    nurse = ltmv.ltmv_nurse
    other = svc.create_task(patient=ltmv.patient_b, title="Ring pasienten",
                            actor=actor_of(nurse), owner_organisation=ltmv.pulm)
    response = post(api(nurse), f"{base(ltmv)}/tasks/{other.pk}/complete", {"note": "x"})
    assert response.status_code == 404
    other.refresh_from_db()
    assert other.status == Task.Status.OPEN


def test_reassigning_moves_the_task_and_keeps_the_reason(ltmv, api):
    pathway = _start(ltmv, days_ago=20)
    _event(ltmv, pathway, "referral", 19)
    task = Task.objects.get(pathway=pathway, task_key="consent_obtained")
    response = post(api(ltmv.ltmv_nurse), f"{base(ltmv)}/tasks/{task.pk}/reassign", {
        "organisation_id": str(ltmv.ke_a.pk), "role": "municipal_coordinator",
        "assignee_id": str(ltmv.coordinator_a.pk), "reason": "Kommunen innhenter samtykke"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["owner_organisation"]["id"] == str(ltmv.ke_a.pk)
    assert body["assignee"]["id"] == str(ltmv.coordinator_a.pk)
    assert "Kommunen innhenter samtykke" in body["notes"][0]["text"]
    assert TaskNote.objects.get(task=task).kind == TaskNote.Kind.REASSIGNED


@pytest.mark.parametrize(("body", "code", "field"), [
    ({"organisation_id": "00000000-0000-4000-8000-000000000001"}, "unknown_organisation",
     "organisation_id"),
    ({"organisation_id": "{hn_b}", "assignee_id": "{coordinator_a}"}, "not_member",
     "assignee_id"),
    ({"organisation_id": "{hn_b}", "assignee_id": "00000000-0000-4000-8000-000000000001"},
     "unknown_person", "assignee_id"),
    ({"organisation_id": "{hn_b}", "role": "captain"}, "unknown_role", "role"),
    ({"organisation_id": "not-a-uuid"}, "invalid", "organisation_id"),
])
def test_a_bad_reassignment_is_refused_and_the_task_stays(ltmv, api, body, code, field):
    pathway = _start(ltmv, days_ago=20)
    _event(ltmv, pathway, "referral", 19)
    task = Task.objects.get(pathway=pathway, task_key="consent_obtained")
    filled = {k: (str(getattr(ltmv, v[1:-1]).pk) if v.startswith("{") else v)
              for k, v in body.items()}
    response = post(api(ltmv.ltmv_nurse), f"{base(ltmv)}/tasks/{task.pk}/reassign", filled)
    assert response.status_code == 400, response.content
    assert (response.json()["error"]["code"], response.json()["error"]["field"]) == (code, field)
    task.refresh_from_db()
    assert task.owner_organisation == ltmv.pulm and not task.notes.exists()
