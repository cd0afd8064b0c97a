"""FHIR read and search for pathways: PlanDefinition (a template version), CarePlan (a
patient's pathway) and Task. Registered by samhand/fhir/resources.py register_app_types.

PlanDefinition is the library and holds no patient data: any authenticated caller.
CarePlan and Task are in the patient compartment and reach patients only through
samhand.access.policy, like the foundation's types: a read goes through
`get_patient_for` (404 and an audit row for what the caller may not see, exactly like
an id that does not exist); a search starts from `visible_patients` and audits one row
per patient returned (`audit_list`).

Mapping (R4, validated with fhir.resources R4B in the tests):

* PlanDefinition `<key>-<version>` (underscores as '-', which FHIR ids need:
  `ltmv-invasive-1`): one action per task with its owner role
  (participant.role), its due rule in words (textEquivalent), the pathway event that
  starts it (trigger, named-event), the task it follows (relatedAction after-end with
  the offset), recurrence (timingTiming) or a plain offset (timingDuration); one
  action group per gate with its criteria.
* CarePlan: subject, status (active → active, ended → completed), intent plan,
  period, category and instantiatesCanonical from the template, activity → Task.
* Task: status (open → ready, in_progress → in-progress, paused → on-hold,
  done → completed, cancelled → cancelled; samhand's status and "overdue" in
  businessStatus), intent order, for Patient, basedOn CarePlan, owner Organization,
  performerType the care-team role, restriction.period.end the due time,
  executionPeriod.end the completion, notes.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Prefetch, QuerySet
from django.http import Http404, HttpRequest
from django.utils import timezone
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext as _

from samhand.access import policy
from samhand.fhir import mapping
from samhand.fhir.resources import ResourceType, _denied, _id_param, _is_uuid, _page, _param
from samhand.fhir.search import (
    Search,
    date_q,
    invalid,
    patient_reference,
    status_codes,
    token,
    uuids,
)

from .definitions import DueRule, Offset, TaskDef, Template
from .loader import load_library, load_versions
from .models import EVENT_LABELS, Pathway, Task, TaskNote

CLIENT = "fhir"
Row = dict[str, Any]

PLAN_URL = "urn:samhand:plandefinition:"
CS_PATHWAY_TEMPLATE = "urn:samhand:codesystem:pathway-template"
CS_PATHWAY_TASK = "urn:samhand:codesystem:pathway-task"
CS_PATHWAY_PHASE = "urn:samhand:codesystem:pathway-phase"
CS_TASK_STATUS = "urn:samhand:codesystem:task-status"
CS_GATE_CRITERION = "urn:samhand:codesystem:gate-criterion"
EXT_PHASE = "urn:samhand:extension:pathway-phase"
EXT_ENTRY = "urn:samhand:extension:pathway-entry"
EXT_ENTRIES = "urn:samhand:extension:pathway-entries"
EXT_DISCHARGE_READY = "urn:samhand:extension:discharge-ready-from"
EXT_ASSIGNEE = "urn:samhand:extension:task-assignee"
EXT_LATEST = "urn:samhand:extension:task-latest"
PLAN_TYPE = "http://terminology.hl7.org/CodeSystem/plan-definition-type"
CAREPLAN_CATEGORY = "http://hl7.org/fhir/us/core/CodeSystem/careplan-category"
UCUM = "http://unitsofmeasure.org"

TASK_STATUS = {Task.Status.OPEN: "ready", Task.Status.IN_PROGRESS: "in-progress",
               Task.Status.PAUSED: "on-hold", Task.Status.DONE: "completed",
               Task.Status.CANCELLED: "cancelled"}
FROM_FHIR_TASK_STATUS = {v: k for k, v in TASK_STATUS.items()}
CAREPLAN_STATUS = {Pathway.Status.ACTIVE: "active", Pathway.Status.ENDED: "completed"}
FROM_FHIR_CAREPLAN_STATUS = {v: k for k, v in CAREPLAN_STATUS.items()}


# --------------------------------------------------------------------------- due rules

def _offset_words(offset: Offset) -> str:
    parts = []
    if offset.months:
        parts.append(ngettext("%(n)d month", "%(n)d months", abs(offset.months))
                     % {"n": abs(offset.months)})
    if offset.days:
        parts.append(ngettext("%(n)d day", "%(n)d days", abs(offset.days))
                     % {"n": abs(offset.days)})
    if offset.hours:
        parts.append(ngettext("%(n)d hour", "%(n)d hours", abs(offset.hours))
                     % {"n": abs(offset.hours)})
    return " ".join(parts) or _("at once")


def _anchor_words(template: Template, rule: DueRule) -> str:
    if rule.anchor_kind == "event":
        return str(EVENT_LABELS.get(rule.anchor_target, rule.anchor_target)).lower()
    if rule.anchor_kind == "task" and template.has_task(rule.anchor_target):
        return _("“%(task)s” done") % {
            "task": template.task(rule.anchor_target).title.get(get_language())}
    return _("the start of the pathway")


def describe_due(template: Template, task: TaskDef) -> str:
    """When the task falls due, in words in the active language."""
    rule = task.due
    if rule is None:
        return _("From the start of the pathway, no deadline.")
    anchor = _anchor_words(template, rule)
    if rule.every is not None:
        text = _("Every %(every)s after: %(anchor)s") % {"every": _offset_words(rule.every),
                                                         "anchor": anchor}
        if rule.offset is not None and rule.offset != rule.every and \
                not rule.offset.is_zero():
            text += _(", the first %(offset)s after it") % {
                "offset": _offset_words(rule.offset)}
    elif rule.offset is None or rule.offset.is_zero():
        text = _("Appears at: %(anchor)s") % {"anchor": anchor}
        if rule.offset is None:
            text += _(", no deadline")
    else:
        text = _("%(offset)s after: %(anchor)s") % {"offset": _offset_words(rule.offset),
                                                    "anchor": anchor}
    extra = []
    if rule.count:
        extra.append(ngettext("at most %(n)d time", "at most %(n)d times", rule.count)
                     % {"n": rule.count})
    if rule.max_per_year:
        extra.append(ngettext("at most %(n)d a year", "at most %(n)d a year",
                              rule.max_per_year) % {"n": rule.max_per_year})
    if rule.supervised_first:
        extra.append(ngettext("the first supervised", "the first %(n)d supervised",
                              rule.supervised_first) % {"n": rule.supervised_first})
    if rule.while_flag:
        extra.append(_("while the patient is marked %(flag)s") % {"flag": rule.while_flag})
    if rule.warn is not None:
        extra.append(_("warn at %(offset)s") % {"offset": _offset_words(rule.warn)})
    if rule.at_latest is not None:
        extra.append(_("at the latest %(offset)s") % {"offset": _offset_words(rule.at_latest)})
    if rule.until:
        extra.append(_("not after: %(events)s") % {"events": ", ".join(
            str(EVENT_LABELS.get(k, k)).lower() for k in rule.until)})
    return text + ("; " + "; ".join(extra) if extra else "") + "."


def _duration(offset: Offset) -> dict[str, Any] | None:
    """A FHIR Duration when the offset is in one unit (else the words say it)."""
    units = [(offset.months, "mo", "month"), (offset.days, "d", "day"),
             (offset.hours, "h", "hour")]
    used = [u for u in units if u[0]]
    if len(used) != 1:
        return None
    value, code, unit = used[0]
    return {"value": value, "unit": unit, "system": UCUM, "code": code}


# --------------------------------------------------------------------------- shapes

def canonical(template: Template) -> str:
    return f"{PLAN_URL}{template.key}"


def fhir_id(key: str) -> str:
    """FHIR ids allow letters, digits, '-' and '.': a key's underscores become '-'."""
    return key.replace("_", "-")


def plan_definition_id(template: Template) -> str:
    """`ltmv-invasive-1` for version 1 of the template `ltmv_invasive`."""
    return f"{fhir_id(template.key)}-{template.version}"


def _lang() -> str | None:
    return get_language()


def _task_action(template: Template, task: TaskDef) -> Row:
    action: Row = {
        "id": fhir_id(task.key),
        "title": task.title.get(_lang()),
        "textEquivalent": describe_due(template, task),
        "code": [{"coding": [mapping._coding(CS_PATHWAY_TASK, task.key),
                             mapping._coding(CS_PATHWAY_PHASE, task.phase)]}],
        "participant": [{"type": "practitioner", "role": mapping._concept(
            mapping.CS_CARE_TEAM_ROLE, task.role)}],
    }
    if task.description:
        action["description"] = task.description.get(_lang())
    if task.entries:
        action["extension"] = [{"url": EXT_ENTRIES, "valueCode": e}
                               for e in sorted(task.entries)]
    rule = task.due
    if rule is None:
        return action
    if rule.anchor_kind == "event":
        action["trigger"] = [{"type": "named-event", "name": rule.anchor_target}]
    elif rule.anchor_kind == "task":
        related: Row = {"actionId": fhir_id(rule.anchor_target), "relationship": "after-end"}
        duration = _duration(rule.offset) if rule.offset is not None else None
        if duration:
            related["offsetDuration"] = duration
        action["relatedAction"] = [related]
    if rule.every is not None:
        period = _duration(rule.every)
        if period is not None:
            repeat: Row = {"frequency": 1, "period": period["value"],
                           "periodUnit": period["code"]}
            if rule.count:
                repeat["count"] = rule.count
            action["timingTiming"] = {"repeat": repeat}
    elif rule.offset is not None and rule.anchor_kind != "task":
        duration = _duration(rule.offset)
        if duration:
            action["timingDuration"] = duration
    return action


def plan_definition(template: Template, *, newest: bool) -> Row:
    actions = [_task_action(template, t) for t in template.tasks]
    for gate in template.gates:
        actions.append({
            "id": fhir_id(f"gate-{gate.key}"),
            "title": gate.title.get(_lang()),
            "description": _("Must be met before: %(event)s") % {
                "event": str(EVENT_LABELS.get(gate.before_event, gate.before_event)).lower()},
            "groupingBehavior": "logical-group",
            "selectionBehavior": "all",
            "action": [mapping._drop_empty({
                "id": fhir_id(f"gate-{gate.key}-{c.key}"),
                "title": c.title.get(_lang()),
                "code": [{"coding": [mapping._coding(CS_GATE_CRITERION, c.kind)]}],
                "participant": [{"type": "practitioner", "role": mapping._concept(
                    mapping.CS_CARE_TEAM_ROLE, c.owner_role)}] if c.owner_role else [],
            }) for c in gate.criteria],
        })
    return mapping._drop_empty({
        "resourceType": "PlanDefinition",
        "id": plan_definition_id(template),
        "url": canonical(template),
        "version": str(template.version),
        "name": "".join(part.capitalize() for part in template.key.split("_")),
        "title": template.title.get(_lang()),
        "type": mapping._concept(PLAN_TYPE, "clinical-protocol", "Clinical Protocol"),
        "status": "active" if newest else "retired",
        "publisher": "samhand",
        "description": template.description.get(_lang()) if template.description else "",
        "extension": [{"url": EXT_ENTRY, "valueCode": key} for key in template.entries],
        "action": actions,
    })


def _ref(kind: str, obj: Any, display: str | None = None) -> Row | None:
    return mapping.reference(kind, obj, display) if obj is not None else None


def _practitioner(user: Any) -> Row | None:
    if user is None:
        return None
    return mapping.reference("Practitioner", user, user.get_full_name() or None)


def care_plan(pathway: Pathway) -> Row:
    template = pathway.template
    title = template.title.get(_lang())
    extension: list[Row] = [{"url": EXT_ENTRY, "valueCode": pathway.entry}]
    if pathway.phase:
        extension.append({"url": EXT_PHASE, "valueCodeableConcept": mapping._concept(
            CS_PATHWAY_PHASE, pathway.phase, pathway.phase_title())})
    if pathway.discharge_ready_from:
        extension.append({"url": EXT_DISCHARGE_READY,
                          "valueDate": pathway.discharge_ready_from.isoformat()})
    period = mapping._drop_empty({
        "start": mapping.instant(pathway.started_at),
        "end": mapping.instant(pathway.ended_at) if pathway.ended_at else ""})
    notes = [{"text": _("Discharge recorded with the gate unmet (%(unmet)s): %(reason)s") % {
                  "unmet": ", ".join(u.get("title", u.get("key", "")) for u in o.unmet),
                  "reason": o.reason},
              "time": mapping.instant(o.at), "authorReference": _practitioner(o.by)}
             for o in pathway.overrides.all()]
    return mapping._drop_empty({
        "resourceType": "CarePlan",
        "id": str(pathway.pk),
        "extension": extension,
        "instantiatesCanonical": [f"{canonical(template)}|{template.version}"],
        "status": CAREPLAN_STATUS[Pathway.Status(pathway.status)],
        "intent": "plan",
        "category": [{"coding": [
            mapping._coding(CAREPLAN_CATEGORY, "assess-plan", "Assessment and Plan of "
                                                              "Treatment"),
            mapping._coding(CS_PATHWAY_TEMPLATE, pathway.template_key, title)],
            "text": title}],
        "title": title,
        "subject": mapping.reference("Patient", pathway.patient, pathway.patient.full_name),
        "period": period,
        "created": mapping.instant(pathway.started_at),
        "author": _ref("Organization", pathway.started_by_organisation,
                       pathway.started_by_organisation.name
                       if pathway.started_by_organisation else None),
        "activity": [{"reference": mapping.reference("Task", t, t.display_title())}
                     for t in pathway.tasks.all()],
        "note": notes,
    })


def task_resource(task: Task, now: dt.datetime) -> Row:
    status = TASK_STATUS[Task.Status(task.status)]
    business = [mapping._coding(CS_TASK_STATUS, task.status, task.get_status_display())]
    overdue = task.is_overdue(now)
    if overdue:
        business.append(mapping._coding(CS_TASK_STATUS, "overdue", _("Overdue")))
    code: Row = {"text": task.display_title()}
    if task.task_key:
        code["coding"] = [mapping._coding(CS_PATHWAY_TASK, task.task_key)]
    notes = []
    if task.completion_note:
        notes.append(mapping._drop_empty({
            "text": task.completion_note,
            "time": mapping.instant(task.completed_at) if task.completed_at else "",
            "authorReference": _practitioner(task.completed_by)}))
    for note in task.notes.all():
        notes.append(mapping._drop_empty({
            "text": note.text, "time": mapping.instant(note.created_at),
            "authorReference": _practitioner(note.author)}))
    extension = []
    if task.assignee is not None:
        extension.append({"url": EXT_ASSIGNEE, "valueReference": _practitioner(task.assignee)})
    if task.latest_at is not None:
        extension.append({"url": EXT_LATEST, "valueDateTime": mapping.instant(task.latest_at)})
    return mapping._drop_empty({
        "resourceType": "Task",
        "id": str(task.pk),
        "extension": extension,
        "basedOn": [mapping.reference("CarePlan", task.pathway)] if task.pathway_id else [],
        "status": status,
        "statusReason": {"text": task.paused_reason} if task.paused_reason else None,
        "businessStatus": {"coding": business,
                           "text": _("Overdue") if overdue else str(task.get_status_display())},
        "intent": "order",
        "code": code,
        "description": task.description or task.display_title(),
        "for": mapping.reference("Patient", task.patient, task.patient.full_name),
        "executionPeriod": {"end": mapping.instant(task.completed_at)}
        if task.completed_at else None,
        "authoredOn": mapping.instant(task.created_at),
        "performerType": [mapping._concept(mapping.CS_CARE_TEAM_ROLE, task.owner_role)]
        if task.owner_role else [],
        "owner": _ref("Organization", task.owner_organisation,
                      task.owner_organisation.name if task.owner_organisation else None),
        "restriction": {"period": {"end": mapping.instant(task.due_at)}}
        if task.due_at else None,
        "note": notes,
    })


# --------------------------------------------------------------------------- types

class PlanDefinitionType(ResourceType):
    """The pathway template library (every version); no patient data."""

    name = "PlanDefinition"
    search_params = dict([
        _param("_id", "token", "<template key with '-' for '_'>-<version>, e.g. "
               "ltmv-invasive-1; comma-separated for OR."),
        _param("name", "token", "The template key, e.g. ltmv_invasive."),
        _param("version", "token", "The template version, e.g. 1."),
        _param("status", "token", "active (the newest version) or retired."),
    ])

    @staticmethod
    def _all() -> list[tuple[Template, bool]]:
        newest = {k: t.version for k, t in load_library().items()}
        return [(t, newest[t.key] == t.version)
                for _key, t in sorted(load_versions().items())]

    def read(self, request: HttpRequest, resource_id: str) -> Row:
        for template, newest in self._all():
            if plan_definition_id(template) == resource_id:
                return plan_definition(template, newest=newest)
        raise Http404

    def search(self, request: HttpRequest, search: Search) -> tuple[int, list[Row]]:
        rows = self._all()
        for _modifier, value in search.values("_id"):
            wanted = {code for _system, code in token(value)}
            rows = [r for r in rows if plan_definition_id(r[0]) in wanted]
        for _modifier, value in search.values("name"):
            wanted = {code for _system, code in token(value)}
            rows = [r for r in rows if r[0].key in wanted]
        for _modifier, value in search.values("version"):
            wanted = {code for _system, code in token(value)}
            rows = [r for r in rows if str(r[0].version) in wanted]
        for _modifier, value in search.values("status"):
            wanted = {code for _system, code in token(value)}
            if not wanted <= {"active", "retired"}:
                raise invalid("status", _("PlanDefinition status is 'active' or 'retired'."))
            rows = [r for r in rows if ("active" if r[1] else "retired") in wanted]
        page = rows[search.offset:search.offset + search.count]
        return len(rows), [plan_definition(t, newest=n) for t, n in page]


def _references(name: str, value: str, kind: str) -> list[str]:
    ids = []
    for part in value.split(","):
        part = part.strip()
        if "/" in part:
            prefix, _sep, ident = part.rstrip("/").rpartition("/")
            if not prefix.endswith(kind):
                raise invalid(name, _("'%(name)s' must refer to a %(kind)s.") % {
                    "name": name, "kind": kind})
            part = ident
        ids.extend(uuids(name, part))
    return ids


class CarePlanType(ResourceType):
    """A patient's care pathway."""

    name = "CarePlan"
    compartment = True
    search_params = dict([
        _id_param(),
        _param("patient", "reference", "The patient: Patient/<id>."),
        _param("subject", "reference", "The patient: Patient/<id>."),
        _param("status", "token", "active or completed (ended)."),
    ])

    @staticmethod
    def _qs() -> QuerySet[Pathway]:
        return (Pathway.objects.select_related("patient", "started_by_organisation")
                .prefetch_related(
                    Prefetch("tasks", queryset=Task.objects.only(
                        "id", "pathway_id", "title", "titles", "due_at", "created_at")
                        .order_by("due_at", "created_at", "id")),
                    Prefetch("overrides", queryset=_overrides())))

    def read(self, request: HttpRequest, resource_id: str) -> Row:
        pathway = self._qs().filter(pk=resource_id).first() if _is_uuid(resource_id) else None
        if pathway is None:
            raise _denied(request, "samhand.pathway.read", "CarePlan")
        policy.get_patient_for(request, pathway.patient_id, client=CLIENT,
                               code="samhand.pathway.read", object_type="CarePlan")
        return care_plan(pathway)

    def search(self, request: HttpRequest, search: Search) -> tuple[int, list[Row]]:
        qs = self._qs().filter(patient__in=policy.visible_patients(request.user))
        for _modifier, value in search.values("_id"):
            qs = qs.filter(pk__in=uuids("_id", value))
        for name in ("patient", "subject"):
            for _modifier, value in search.values(name):
                qs = qs.filter(patient_id__in=patient_reference(name, value))
        for _modifier, value in search.values("status"):
            qs = qs.filter(status__in=status_codes("status", value, FROM_FHIR_CAREPLAN_STATUS))
        total, rows = _page(qs.order_by("patient__family_name", "patient_id", "-started_at",
                                        "id"), search)
        patients = list({p.patient_id: p.patient for p in rows}.values())
        policy.audit_list(request, "samhand.pathway.list", patients,
                          query=search.audit_query(), client=CLIENT, object_type="CarePlan")
        return total, [care_plan(p) for p in rows]


def _overrides() -> QuerySet[Any]:
    from .models import GateOverride

    return GateOverride.objects.select_related("by").order_by("at")


class TaskType(ResourceType):
    """A task of a patient, owned by an organisation and a care-team role."""

    name = "Task"
    compartment = True
    search_params = dict([
        _id_param(),
        _param("patient", "reference", "The patient: Patient/<id>."),
        _param("subject", "reference", "The patient: Patient/<id>."),
        _param("status", "token", "ready, in-progress, on-hold, completed, cancelled."),
        _param("owner", "reference", "The owning unit: Organization/<id>."),
        _param("based-on", "reference", "The pathway: CarePlan/<id>."),
        _param("period", "date", "The due time (restriction.period.end): ge<date>, "
               "le<date>, gt, lt, eq (ISO 8601; a date is the Oslo day)."),
    ])

    @staticmethod
    def _qs() -> QuerySet[Task]:
        notes = TaskNote.objects.select_related("author").order_by("created_at")
        return (Task.objects.select_related("patient", "owner_organisation", "assignee",
                                            "completed_by")
                .prefetch_related(Prefetch("notes", queryset=notes)))

    def read(self, request: HttpRequest, resource_id: str) -> Row:
        task = self._qs().filter(pk=resource_id).first() if _is_uuid(resource_id) else None
        if task is None:
            raise _denied(request, "samhand.pathway.read", "Task")
        policy.get_patient_for(request, task.patient_id, client=CLIENT,
                               code="samhand.pathway.read", object_type="Task")
        return task_resource(task, timezone.now())

    def search(self, request: HttpRequest, search: Search) -> tuple[int, list[Row]]:
        qs = self._qs().filter(patient__in=policy.visible_patients(request.user))
        for _modifier, value in search.values("_id"):
            qs = qs.filter(pk__in=uuids("_id", value))
        for name in ("patient", "subject"):
            for _modifier, value in search.values(name):
                qs = qs.filter(patient_id__in=patient_reference(name, value))
        for _modifier, value in search.values("status"):
            qs = qs.filter(status__in=status_codes("status", value, FROM_FHIR_TASK_STATUS))
        for _modifier, value in search.values("owner"):
            qs = qs.filter(owner_organisation_id__in=_references("owner", value,
                                                                 "Organization"))
        for _modifier, value in search.values("based-on"):
            qs = qs.filter(pathway_id__in=_references("based-on", value, "CarePlan"))
        for _modifier, value in search.values("period"):
            qs = qs.filter(date_q("period", value, "due_at"))
        total, rows = _page(qs.order_by("due_at", "created_at", "id"), search)
        patients = list({t.patient_id: t.patient for t in rows}.values())
        policy.audit_list(request, "samhand.task.list", patients,
                          query=search.audit_query(), client=CLIENT, object_type="Task")
        now = timezone.now()
        return total, [task_resource(t, now) for t in rows]


RESOURCE_TYPES = [PlanDefinitionType(), CarePlanType(), TaskType()]
