"""Route policies of the pathway pages (merged into the route walk)."""

from __future__ import annotations

from typing import Any

from samhand.tests_security.policies import PATIENT, STAFF, Policy

START = {"template": "palliative_home", "entry": "at_home"}
EVENT = {"kind": "referral"}

ROUTES: dict[str, Policy] = {
    "pathways:patient_pathways": Policy(PATIENT, queries=({"list": "1"},)),
    "pathways:start": Policy(PATIENT, post_only=True, posts=(START,)),
    "pathways:detail": Policy(PATIENT),
    "pathways:record_event": Policy(PATIENT, post_only=True, posts=(EVENT,)),
    "pathways:judge": Policy(PATIENT, post_only=True, posts=(
        {"gate": "discharge", "criterion": "medically_stable", "met": "yes",
         "note": "Stabil"},)),
    "pathways:add_task": Policy(PATIENT, post_only=True, posts=(
        {"title": "Ring pasienten", "organisation": "{org:hn_a}"},)),
    "pathways:complete": Policy(PATIENT, post_only=True, posts=({"note": "Gjort"},)),
    "pathways:start_task": Policy(PATIENT, post_only=True),
    "pathways:comment": Policy(PATIENT, post_only=True, posts=({"text": "Ringt"},)),
    "pathways:reassign": Policy(PATIENT, post_only=True, posts=(
        {"organisation": "{org:hn_a}", "role": "home_nursing"},)),
    "pathways:timeline": Policy(PATIENT, queries=({"kind": "event"},)),
    "pathways:worklist_home_nursing": Policy(STAFF, queries=(
        {"unit": "{org:hn_a}"}, {"unit": "{org:hn_b}"}, {"window": "week"},
        {"window": "overdue"})),
    "pathways:worklist_hospital": Policy(STAFF, queries=({"unit": "{org:pulm}"},)),
    "pathways:worklist_coordinator": Policy(STAFF,    queries=({"unit": "{org:ke_a}"},)),
    "pathways:worklist_allocation": Policy(STAFF),
    "pathways:report_discharge_ready": Policy(STAFF, why="counts per municipality and "
                                              "month, no names"),
}


def objects(world: Any) -> dict[str, dict[str, str]]:
    """An LTMV pathway with tasks for each world patient, due today, so the worklists
    and task routes have something to show."""
    import datetime as dt

    from django.utils import timezone

    from samhand.audit.services import Actor
    from samhand.pathways.models import Pathway, Task
    from samhand.pathways.services import record_event, sync_tasks

    pathways, tasks = {}, {}
    for name, nurse_org in (("patient_a", world.hn_a), ("patient_b", world.hn_b)):
        patient = getattr(world, name)
        p = Pathway.objects.create(patient=patient, template_key="ltmv_invasive",
                                   template_version=1, template_hash="x", entry="elective",
                                   phase="establishment",
                                   started_at=timezone.now() - dt.timedelta(days=30))
        actor = Actor(user=world.consultant, organisation=world.pulm)
        record_event(p, "referral", actor=actor, at=timezone.now() - dt.timedelta(days=20))
        record_event(p, "meeting_held", actor=actor, at=timezone.now() - dt.timedelta(days=15))
        record_event(p, "application_sent", actor=actor,
                     at=timezone.now() - dt.timedelta(days=14))
        sync_tasks(p)
        task = Task.objects.create(patient=patient, pathway=p, title="Hjemmebesøk",
                                   owner_organisation=nurse_org, owner_role="home_nursing",
                                   due_at=timezone.now() + dt.timedelta(hours=1),
                                   side="municipality")
        pathways[name] = str(p.pk)
        tasks[name] = str(task.pk)
    return {"pathway_id": pathways, "task_id": tasks}


try:  # the REST endpoints, declared next to their tests
    from .route_policies_api import ROUTES as API_ROUTES
except ModuleNotFoundError:  # pragma: no cover - only while the API is being written
    API_ROUTES = {}
ROUTES.update(API_ROUTES)
