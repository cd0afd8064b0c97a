"""The thin seam to samhand.pathways: the patient's pathway, its open tasks and unmet
gate criteria (for a meeting's agenda), tasks from meeting decisions, and the
"meeting held" event.

Everything the plans app needs from samhand.pathways goes through here, so that the
rest of the app does not depend on how pathways is built.
"""

from __future__ import annotations

import datetime as dt
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


def active_pathway(patient: Patient) -> Any:
    """The patient's current pathway (the newest active one), or None."""
    from samhand.pathways.models import Pathway

    return (Pathway.objects.filter(patient=patient, status=Pathway.Status.ACTIVE)
            .order_by("-started_at").first())


def pathway_by_id(pathway_id: Any) -> Any:
    if pathway_id is None:
        return None
    from samhand.pathways.models import Pathway

    return Pathway.objects.filter(pk=pathway_id).first()


def _text(value: Any, lang: str) -> str:
    if isinstance(value, dict):
        return str(value.get(lang) or value.get("nb") or "")
    return str(value or "")


def open_tasks(pathway: Any, lang: str = "nb") -> list[TaskLine]:
    if pathway is None:
        return []
    from samhand.pathways.models import Task

    tasks = (Task.objects.filter(pathway=pathway).open().select_related("owner_organisation")
             .order_by("due_at", "created_at")[:50])
    return [TaskLine(str(t.pk), _text(t.titles, lang) if t.titles else t.title,
                     t.owner_organisation.name if t.owner_organisation else "", t.due_at,
                     t.status) for t in tasks]


def unmet_criteria(pathway: Any, lang: str = "nb") -> list[str]:
    """Titles of the pathway's gate criteria that are not met, with what is missing."""
    if pathway is None:
        return []
    from django.utils import translation

    from samhand.pathways import gate

    with translation.override(lang):
        return [f"{status.title}: {criterion.title}"
                for status in gate.gates(pathway) for criterion in status.unmet]


def create_task(pathway: Any, *, actor: Actor, patient: Patient, title: str,
                organisation: Any, role: str, due: dt.date, source: str) -> str | None:
    """A task on the pathway (or the patient, without one) from a meeting decision."""
    from samhand.lib.timeutil import OSLO
    from samhand.pathways import services
    from samhand.pathways.models import Task

    due_at = dt.datetime.combine(due, dt.time(16, 0), tzinfo=OSLO)
    task = services.create_task(patient=patient, title=title, actor=actor,
                                owner_organisation=organisation, owner_role=role,
                                due_at=due_at, pathway=pathway, kind=Task.Kind.DECISION,
                                source=source)
    return str(task.pk)


def record_meeting_held(pathway: Any, *, actor: Actor, at: dt.datetime,
                        meeting_id: Any) -> bool:
    """The pathway event "meeting_held". A pathway that cannot take it (a template
    without the event, an ended pathway, a date out of order) keeps the meeting signed:
    the event is then recorded by hand, and False says so."""
    if pathway is None:
        return False
    from django.utils import timezone

    from samhand.lib.errors import DomainError
    from samhand.pathways import services

    try:
        services.record_event(pathway, "meeting_held", actor=actor,
                              at=min(at, timezone.now()), data={"meeting_id": str(meeting_id)},
                              source="meeting")
    except DomainError:
        return False
    return True


def contact_max_age_days(patient: Patient, default: int) -> int:
    """How old a confirmed contact may be: the interval of the pathway's task
    "contact_list_checked" (LTMV: every 3 months), else `default`."""
    pathway = active_pathway(patient)
    if pathway is None:
        return default
    return template_contact_max_age_days(pathway.template, default)


def template_contact_max_age_days(template: Any, default: int) -> int:
    """The interval of the template's task "contact_list_checked" in days, else
    `default` (the worklist asks this for many pathways without a query each)."""
    if not template.has_task("contact_list_checked"):
        return default
    due = template.task("contact_list_checked").due
    every = due.every if due is not None else None
    if every is None:
        return default
    days = every.months * 30 + every.days + every.hours // 24
    return days if days > 0 else default


def tasks_by_id(ids: list[Any]) -> dict[str, Any]:
    if not ids:
        return {}
    from samhand.pathways.models import Task

    return {str(t.pk): t for t in Task.objects.filter(pk__in=[i for i in ids if i])}
