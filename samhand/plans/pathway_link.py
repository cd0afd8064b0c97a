"""The thin seam to samhand.pathways: the patient's pathway, its open tasks and unmet
gate criteria (for a meeting's agenda), tasks from meeting decisions, and the
"meeting held" event.

Everything the plans app needs from pathways goes through here, so that the rest of
the app does not depend on how pathways is built. While samhand.pathways has no
services yet, these functions answer "no pathway" and do nothing.
"""

from __future__ import annotations

import datetime as dt
import importlib
from dataclasses import dataclass
from typing import Any

from samhand.audit.services import Actor
from samhand.patients.models import Patient


@dataclass(frozen=True)
class TaskLine:
    id: str
    title: str
    owner: str
    due: dt.datetime | None
    status: str


def _module(name: str) -> Any:
    try:
        return importlib.import_module(f"samhand.pathways.{name}")
    except ImportError:
        return None


def _pathway_model() -> Any:
    models = _module("models")
    return getattr(models, "Pathway", None) if models is not None else None


def active_pathway(patient: Patient) -> Any:
    """The patient's current pathway, or None."""
    model = _pathway_model()
    if model is None:
        return None
    qs = model.objects.filter(patient=patient)
    status = getattr(model, "Status", None)
    if status is not None and hasattr(status, "ACTIVE"):
        qs = qs.filter(status=status.ACTIVE)
    order = "-started_at" if any(f.name == "started_at" for f in model._meta.fields) else "-pk"
    return qs.order_by(order).first()


def pathway_by_id(pathway_id: Any) -> Any:
    model = _pathway_model()
    if model is None or pathway_id is None:
        return None
    return model.objects.filter(pk=pathway_id).first()


def _text(value: Any, lang: str) -> str:
    if value is None:
        return ""
    getter = getattr(value, "get", None)
    if callable(getter) and not isinstance(value, dict):
        return str(getter(lang))
    if isinstance(value, dict):
        return str(value.get(lang) or value.get("nb") or "")
    return str(value)


def open_tasks(pathway: Any, lang: str = "nb") -> list[TaskLine]:
    if pathway is None or not hasattr(pathway, "tasks"):
        return []
    tasks = pathway.tasks.all()
    model = tasks.model
    status = getattr(model, "Status", None)
    if status is not None:
        done = [getattr(status, name) for name in ("COMPLETED", "CANCELLED", "DONE")
                if hasattr(status, name)]
        tasks = tasks.exclude(status__in=done)
    out = []
    for task in tasks[:50]:
        title = getattr(task, "title", "") or getattr(task, "key", "")
        owner = getattr(task, "owner_organisation", None) or getattr(task, "organisation", None)
        out.append(TaskLine(str(task.pk), _text(title, lang), str(owner or ""),
                            getattr(task, "due_at", None), str(getattr(task, "status", ""))))
    return out


def unmet_criteria(pathway: Any, lang: str = "nb") -> list[str]:
    """Titles of the pathway's gate criteria that are not met."""
    gate = _module("gate")
    if pathway is None or gate is None:
        return []
    evaluate = getattr(gate, "evaluate_gate", None) or getattr(gate, "evaluate", None)
    if evaluate is None:
        return []
    try:
        results = evaluate(pathway)
    except Exception:  # a gate that cannot be evaluated must not stop a meeting
        return []
    out = []
    for result in results or []:
        met = getattr(result, "met", True)
        if not met:
            title = getattr(result, "title", None) or getattr(result, "key", "")
            out.append(_text(title, lang))
    return out


def create_task(pathway: Any, *, actor: Actor, title: str, organisation: Any, role: str,
                due: dt.date, source: str) -> str | None:
    """A task on the pathway from a meeting decision; returns its id (None without
    pathways)."""
    services = _module("services")
    if pathway is None or services is None or not hasattr(services, "create_task"):
        return None
    from samhand.lib.timeutil import OSLO

    due_at = dt.datetime.combine(due, dt.time(16, 0), tzinfo=OSLO)
    task = services.create_task(pathway, title=title, organisation=organisation, role=role,
                                due_at=due_at, actor=actor, source=source)
    return str(task.pk)


def record_meeting_held(pathway: Any, *, actor: Actor, at: dt.datetime,
                        meeting_id: Any) -> None:
    services = _module("services")
    if pathway is None or services is None or not hasattr(services, "record_event"):
        return
    services.record_event(pathway, "meeting_held", at=at, actor=actor,
                          data={"meeting_id": str(meeting_id)})


def tasks_by_id(ids: list[Any]) -> dict[str, Any]:
    models = _module("models")
    model = getattr(models, "Task", None) if models is not None else None
    if model is None or not ids:
        return {}
    return {str(t.pk): t for t in model.objects.filter(pk__in=[i for i in ids if i])}
