"""Recording observations: one set at a time (the form, the API) or in batches (the API,
devices). Each call applies whole or not at all, audits in the same transaction and,
when a set is finished, scores NEWS2 and evaluates the patient's escalation rules.

Bad input raises `ObservationRejected` (a DomainError) naming every problem; nothing
is stored. SpO2 scale 2 is used only while a clinician's order is active.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from samhand.access.policy import Grant
from samhand.audit.models import AuditEvent
from samhand.audit.services import Actor, Entry, chained_at_end, record, record_many
from samhand.lib.errors import DomainError, Forbidden, NotFound
from samhand.patients.models import Patient

from . import news2
from .definitions import AnswerError, Form, get_form
from .models import EscalationSettings, ObservationSet, Spo2ScaleOrder, VitalSign

A = AuditEvent.Action
NEWS2_FIELDS = ("respiration_rate", "spo2", "on_oxygen", "systolic_bp", "pulse",
                "consciousness", "temperature")


class ObservationRejected(DomainError):
    """Answers that do not fit: `problems` maps question key → translated message."""

    def __init__(self, problems: dict[str, str], *, needs_confirmation: Sequence[str] = ()):
        first_key = next(iter(problems), None)
        super().__init__(problems[first_key] if first_key else _("The answers do not fit."),
                         code="invalid_observation", field=first_key)
        self.problems = problems
        self.needs_confirmation = list(needs_confirmation)


def require_write(grant: Grant) -> None:
    if grant.basis not in (AuditEvent.Basis.CARE_RELATION, AuditEvent.Basis.EMERGENCY):
        raise Forbidden(_("You may not change this patient's record."), code="read_only")


# --------------------------------------------------------------------------- messages

def answer_message(form: Form, error: AnswerError) -> str:
    question = form.question(error.key)
    label = str(question.label) if question else error.key
    q_min = question.minimum if question else None
    q_max = question.maximum if question else None
    if question is not None and question.type == "scale":
        q_min = Decimal(0) if q_min is None else q_min
        q_max = Decimal(10) if q_max is None else q_max
    messages = {
        "unknown": _("“%(key)s” is not a question on this form.") % {"key": error.key},
        "required": _("%(label)s: an answer is required to finish the form.") % {
            "label": label},
        "not_a_number": _("%(label)s must be a number.") % {"label": label},
        "not_whole": _("%(label)s must be a whole number.") % {"label": label},
        "too_low": _("%(label)s must be at least %(min)s.") % {"label": label, "min": q_min},
        "too_high": _("%(label)s must be at most %(max)s.") % {"label": label, "max": q_max},
        "choice": _("%(label)s: choose one of the answers given.") % {"label": label},
        "not_boolean": _("%(label)s: answer yes or no.") % {"label": label},
        "too_long": _("%(label)s is too long.") % {"label": label},
        "not_a_mapping": _("The answers must be a set of question keys and values."),
    }
    return messages.get(error.code, _("%(label)s does not fit.") % {"label": label})


def news2_message(form: Form, problem: news2.Problem) -> str:
    key = "on_oxygen" if problem.parameter == "air_or_oxygen" else problem.parameter
    question = form.question(key)
    label = str(question.label) if question else key
    unit = question.unit if question else ""
    value = problem.value
    if problem.code == "unit_slip":
        return _("%(label)s %(value)s %(unit)s is not possible. Did you mean %(suggestion)s "
                 "%(unit)s? Check and enter the value again.") % {
            "label": label, "value": value, "unit": unit, "suggestion": problem.suggestion}
    if problem.code == "implausible":
        return _("%(label)s %(value)s %(unit)s is very unusual. Measure again, and tick "
                 "“confirm” if the value is right.") % {"label": label, "value": value,
                                                          "unit": unit}
    if problem.code == "impossible":
        return _("%(label)s %(value)s %(unit)s is not possible.") % {
            "label": label, "value": value, "unit": unit}
    if problem.code == "not_whole":
        return _("%(label)s must be a whole number.") % {"label": label}
    return _("%(label)s must be a number.") % {"label": label}


# --------------------------------------------------------------------------- scale 2

def active_scale_order(patient: Patient) -> Spo2ScaleOrder | None:
    return (Spo2ScaleOrder.objects.filter(patient=patient, ended_at__isnull=True)
            .select_related("ordered_by").first())


def spo2_scale_for(patient: Patient) -> int:
    return 2 if active_scale_order(patient) is not None else 1


def order_spo2_scale(actor: Actor, patient: Patient, grant: Grant, *, scale: int,
                     reason: str = "") -> Spo2ScaleOrder | None:
    """Scale 2 is ordered by a doctor for confirmed hypercapnic respiratory failure;
    scale 1 ends the order. Returns the new order (scale 2) or None."""
    require_write(grant)
    user = actor.user
    if user is None or getattr(user, "profession", "") != "doctor" or \
            not user.is_health_personnel:
        raise Forbidden(_("Only a doctor can order SpO2 scale 2."), code="not_a_doctor")
    with transaction.atomic():
        current = (Spo2ScaleOrder.objects.select_for_update()
                   .filter(patient=patient, ended_at__isnull=True).first())
        if scale == 1:
            if current is None:
                return None
            current.ended_at = timezone.now()
            current.ended_by = user
            current.save(update_fields=["ended_at", "ended_by"])
            record(actor, "samhand.observation.scale_ended", A.UPDATE, patient_id=patient.pk,
                   object_type="Spo2ScaleOrder", object_ids=[current.pk], basis=grant.basis,
                   basis_id=grant.basis_id)
            return None
        if scale != 2:
            raise DomainError(_("The SpO2 scale is 1 or 2."), code="scale", field="scale")
        if len(reason.strip()) < 5:
            raise DomainError(_("Give the reason for scale 2 (confirmed hypercapnic "
                                "respiratory failure, target 88-92 %)."), code="reason",
                              field="reason")
        if current is not None:
            raise DomainError(_("Scale 2 is already ordered for this patient."),
                              code="already_ordered", field="scale")
        org = grant.organisation or actor.organisation
        order = Spo2ScaleOrder.objects.create(patient=patient, ordered_by=user,
                                              organisation=org, reason=reason.strip()[:500])
        record(actor, "samhand.observation.scale_ordered", A.CREATE, patient_id=patient.pk,
               object_type="Spo2ScaleOrder", object_ids=[order.pk], basis=grant.basis,
               basis_id=grant.basis_id)
    return order


# --------------------------------------------------------------------------- one set

@dataclass
class Prepared:
    """A set checked and scored, ready to be written."""

    form: Form
    answers: dict[str, Any]
    status: str
    result: news2.News2Result | None
    vitals: dict[str, float] = field(default_factory=dict)


def prepare(form: Form, raw: Any, *, final: bool, spo2_scale: int,
            confirmed: Iterable[str] = ()) -> Prepared:
    """Check the answers against the form and score NEWS2; ObservationRejected on any
    problem (all named)."""
    answers, errors = form.validate(raw, final=final)
    problems = {e.key or "answers": answer_message(form, e) for e in errors}
    result = None
    confirm_needed: list[str] = []
    if form.news2 and not errors:
        params = {name: answers.get(_question_for(form, name)) for name in NEWS2_FIELDS}
        try:
            result = news2.score(**params, spo2_scale=spo2_scale,
                                 confirmed={_news2_name(c) for c in confirmed})
        except news2.InvalidObservation as exc:
            for problem in exc.problems:
                key = "on_oxygen" if problem.parameter == "air_or_oxygen" else problem.parameter
                problems[_question_for(form, key)] = news2_message(form, problem)
                if problem.needs_confirmation:
                    confirm_needed.append(_question_for(form, key))
    if problems:
        raise ObservationRejected(problems, needs_confirmation=confirm_needed)
    vitals: dict[str, float] = {}
    if final:
        for question in form.questions:
            if question.vital and question.key in answers:
                value = answers[question.key]
                if question.vital == "consciousness":
                    value = "ACVPU".index(str(value).upper())
                vitals[question.vital] = float(value)
        if result is not None and result.total is not None:
            vitals["news2"] = float(result.total)
    return Prepared(form, answers, ObservationSet.Status.FINAL if final
                    else ObservationSet.Status.DRAFT, result, vitals)


def _question_for(form: Form, vital: str) -> str:
    for question in form.questions:
        if question.vital == vital:
            return question.key
    return vital


def _news2_name(key: str) -> str:
    return "air_or_oxygen" if key == "on_oxygen" else key


def _apply_result(obs: ObservationSet, prepared: Prepared, spo2_scale: int) -> None:
    result = prepared.result
    obs.spo2_scale = spo2_scale
    obs.news2_total = result.total if result else None
    obs.news2_risk = (result.risk or "") if result else ""
    obs.news2_subscores = dict(result.subscores) if result else {}
    obs.news2_missing = list(result.missing) if result else []


def _form_or_404(form_key: str) -> Form:
    form = get_form(form_key)
    if form is None or form.kind == "self_report":
        raise NotFound(_("Unknown form."), code="unknown_form", field="form")
    return form


def save_observation(actor: Actor, patient: Patient, grant: Grant, *, form_key: str,
                     answers: Any, final: bool, taken_at: dt.datetime | None = None,
                     confirmed: Iterable[str] = (), draft: ObservationSet | None = None,
                     source: str = ObservationSet.Source.WEB,
                     evaluate: bool = True) -> ObservationSet:
    """Save a draft or a finished set. A draft given in `draft` is updated (and may be
    finished). Finished sets are scored, their vitals stored, and escalation evaluated."""
    require_write(grant)
    if draft is not None:
        if draft.patient_id != patient.pk or not draft.is_draft:
            raise DomainError(_("Only a draft can be changed."), code="not_a_draft")
        form = get_form(draft.form_key, draft.form_version)
        if form is None:
            raise NotFound(_("Unknown form."), code="unknown_form", field="form")
    else:
        form = _form_or_404(form_key)
    taken_at = taken_at or (draft.taken_at if draft else timezone.now())
    if taken_at > timezone.now() + dt.timedelta(minutes=5):
        raise ObservationRejected({"taken_at": _("The time of the observation is in the "
                                                 "future.")})
    from .escalation import evaluate_set, patient_rules

    known = patient_rules(patient.pk) if form.news2 or (final and evaluate) else None
    scale = known.spo2_scale if known and form.news2 else 1
    confirmed = list(confirmed)
    prepared = prepare(form, answers, final=final, spo2_scale=scale, confirmed=confirmed)
    org = grant.organisation or actor.organisation
    # The audit rows join the chain at the end of the block: the chain's lock is held
    # only from there to COMMIT, not while the rules run (4 writers at once queue less).
    # No savepoint of its own inside a caller's transaction (two statements less a
    # POST), except for a draft, whose refusal the caller may answer and go on.
    with transaction.atomic(savepoint=draft is not None), chained_at_end():
        if draft is not None:
            obs = ObservationSet.objects.select_for_update().get(pk=draft.pk)
            if not obs.is_draft:
                raise DomainError(_("Only a draft can be changed."), code="not_a_draft")
        else:
            obs = ObservationSet(patient=patient, form_key=form.key, form_version=form.version,
                                 recorded_by=actor.user, organisation=org, source=source)
        obs.answers = _jsonable(prepared.answers)
        obs.status = prepared.status
        obs.taken_at = taken_at
        obs.confirmed = confirmed
        _apply_result(obs, prepared, scale)
        if final:
            obs.finished_at = timezone.now()
        obs.save()
        if final:
            VitalSign.objects.bulk_create([
                VitalSign(observation_set=obs, patient=patient, code=code, value=value,
                          taken_at=taken_at) for code, value in prepared.vitals.items()])
        code = ("samhand.observation.recorded" if final else "samhand.observation.draft_saved")
        record(actor, code, A.UPDATE if draft else A.CREATE, patient_id=patient.pk,
               object_type="Observation", object_ids=[obs.pk], basis=grant.basis,
               basis_id=grant.basis_id)
        if final and form.kind == "change_checklist":
            complete_checklist_task(actor, patient, obs)
        if final and evaluate:
            evaluate_set(actor, obs, known)
    return obs


# The pathway task a finished 14-day checklist fulfils (pathway templates, e.g.
# copd_hf_followup.v1.yaml: "structured_observation", every 14 days while vulnerable).
CHECKLIST_TASK_KEYS = ("structured_observation",)


def complete_checklist_task(actor: Actor, patient: Patient, obs: ObservationSet) -> None:
    """Complete the patient's oldest open 14-day observation task (the series plans the
    next one)."""
    from samhand.pathways.models import Task
    from samhand.pathways.services import complete_task

    task = (Task.objects.filter(patient=patient, task_key__in=CHECKLIST_TASK_KEYS,
                                status__in=Task.OPEN_STATUSES)
            .order_by("due_at", "created_at").first())
    if task is not None:
        complete_task(task, actor=actor, at=obs.taken_at,
                      note=_("The “what has changed” checklist is recorded."))


def _jsonable(answers: dict[str, Any]) -> dict[str, Any]:
    return {k: (float(v) if isinstance(v, Decimal) else v) for k, v in answers.items()}


def mark_entered_in_error(actor: Actor, patient: Patient, grant: Grant,
                          obs: ObservationSet) -> None:
    require_write(grant)
    with transaction.atomic():
        if ObservationSet.objects.filter(pk=obs.pk, patient=patient).exclude(
                status=ObservationSet.Status.ENTERED_IN_ERROR).update(
                status=ObservationSet.Status.ENTERED_IN_ERROR):
            VitalSign.objects.filter(observation_set=obs).delete()
            record(actor, "samhand.observation.entered_in_error", A.UPDATE,
                   patient_id=patient.pk, object_type="Observation", object_ids=[obs.pk],
                   basis=grant.basis, basis_id=grant.basis_id)


# --------------------------------------------------------------------------- batches

@dataclass
class BatchItem:
    patient: Patient
    grant: Grant
    form_key: str
    answers: Any
    taken_at: dt.datetime | None = None
    confirmed: Sequence[str] = ()


def ingest_batch(actor: Actor, items: Sequence[BatchItem], *,
                 source: str = ObservationSet.Source.API) -> list[ObservationSet]:
    """Finished sets for many patients at once: all checked first (any problem refuses
    the whole batch, naming the item), then written with a few multi-row inserts, one
    audit row per patient, and the escalation rules evaluated per patient."""
    if not items:
        return []
    now = timezone.now()
    scales = _scales([item.patient for item in items])
    problems: dict[str, str] = {}
    rows: list[tuple[BatchItem, Prepared, int]] = []
    for index, item in enumerate(items):
        require_write(item.grant)
        try:
            form = _form_or_404(item.form_key)
            scale = scales.get(item.patient.pk, 1) if form.news2 else 1
            if item.taken_at is not None and item.taken_at > now + dt.timedelta(minutes=5):
                raise ObservationRejected({"taken_at": _("The time of the observation is "
                                                         "in the future.")})
            prepared = prepare(form, item.answers, final=True, spo2_scale=scale,
                               confirmed=item.confirmed)
        except ObservationRejected as exc:
            for key, message in exc.problems.items():
                problems[f"[{index}].{key}"] = message
            continue
        except DomainError as exc:
            problems[f"[{index}].form"] = exc.message
            continue
        rows.append((item, prepared, scale))
    if problems:
        raise ObservationRejected(problems)
    sets: list[ObservationSet] = []
    vitals: list[tuple[Any, Any, str, float, dt.datetime]] = []
    for item, prepared, scale in rows:
        taken = item.taken_at or now
        obs = ObservationSet(patient=item.patient, form_key=prepared.form.key,
                             form_version=prepared.form.version,
                             answers=_jsonable(prepared.answers),
                             status=ObservationSet.Status.FINAL, source=source,
                             recorded_by=actor.user,
                             organisation=item.grant.organisation or actor.organisation,
                             taken_at=taken, finished_at=now, confirmed=list(item.confirmed),
                             created_at=now, updated_at=now)
        _apply_result(obs, prepared, scale)
        sets.append(obs)
        vitals.extend((obs.pk, item.patient.pk, code, value, taken)
                      for code, value in prepared.vitals.items())
    by_patient: dict[Any, list[ObservationSet]] = {}
    grants: dict[Any, Grant] = {}
    for obs, (item, _p, _s) in zip(sets, rows, strict=True):
        by_patient.setdefault(item.patient.pk, []).append(obs)
        grants[item.patient.pk] = item.grant
    # The batch's audit rows (one per patient, and those of the alerts and tasks the
    # rules raise) join the chain together at the end: one lock, one COPY.
    with transaction.atomic(), chained_at_end():
        _insert(sets, vitals)
        record_many(actor, [
            Entry("samhand.observation.recorded", A.CREATE, patient_id=pid,
                  object_type="Observation", object_ids=[o.pk for o in patient_sets],
                  basis=grants[pid].basis, basis_id=grants[pid].basis_id)
            for pid, patient_sets in by_patient.items()])
        from .escalation import evaluate_batch

        evaluate_batch(actor, by_patient)
    return sets


VITAL_COLUMNS = ("observation_set_id", "patient_id", "code", "value", "taken_at")


def _insert(sets: list[ObservationSet],
            vitals: list[tuple[Any, Any, str, float, dt.datetime]]) -> None:
    """The batch's rows: PostgreSQL's COPY (no model instances per vital, no per-value
    adaptation in Python), bulk_create elsewhere. Same rows either way: every column of
    the set is copied from the instance (its defaults included), JSON as text."""
    if connection.vendor != "postgresql":
        ObservationSet.objects.bulk_create(sets, batch_size=500)
        VitalSign.objects.bulk_create([
            VitalSign(observation_set_id=o, patient_id=p, code=c, value=v, taken_at=t)
            for o, p, c, v, t in vitals], batch_size=500)
        return
    from django.db.models import JSONField
    from psycopg import sql

    def copy(table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
        statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
            sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns)))
        with connection.cursor() as cursor, cursor.cursor.copy(statement) as out:
            for row in rows:
                out.write_row(row)

    fields = ObservationSet._meta.concrete_fields
    names = [f.attname for f in fields]
    as_json = [i for i, f in enumerate(fields) if isinstance(f, JSONField)]

    def set_row(obs: ObservationSet) -> list[Any]:
        row = [getattr(obs, name) for name in names]
        for i in as_json:
            row[i] = json.dumps(row[i])
        return row

    copy(ObservationSet._meta.db_table, [f.column for f in fields], map(set_row, sets))
    copy(VitalSign._meta.db_table, VITAL_COLUMNS, vitals)


def _scales(patients: Iterable[Patient]) -> dict[Any, int]:
    ids = {p.pk for p in patients}
    return dict.fromkeys(Spo2ScaleOrder.objects.filter(
        patient_id__in=ids, ended_at__isnull=True).values_list("patient_id", flat=True), 2)


# --------------------------------------------------------------------------- rules

RULE_LIMITS = {"news2_threshold": (1, 20), "trend_window": (2, 10), "trend_rise": (1, 20),
               "checklist_every_days": (1, 90), "vitals_every_hours": (1, 168)}


def update_rules(actor: Actor, patient: Patient, grant: Grant, data: dict[str, Any],
                 ) -> EscalationSettings:
    """The patient's escalation thresholds, set by a doctor (the responsible clinician).
    Empty intervals switch the missed-observation rule off."""
    require_write(grant)
    user = actor.user
    if user is None or getattr(user, "profession", "") != "doctor":
        raise Forbidden(_("Only a doctor can change the escalation rules."),
                        code="not_a_doctor")
    values: dict[str, Any] = {}
    for name, (low, high) in RULE_LIMITS.items():
        raw = data.get(name)
        if raw in (None, "") and name in ("checklist_every_days", "vitals_every_hours"):
            values[name] = None
            continue
        try:
            number = int(str(raw))
        except (TypeError, ValueError):
            raise DomainError(_("Give a whole number."), code="rule", field=name) from None
        if not low <= number <= high:
            raise DomainError(_("Give a number from %(low)s to %(high)s.") % {
                "low": low, "high": high}, code="rule", field=name)
        values[name] = number
    for flag in ("alert_on_red_parameter", "alert_on_checklist"):
        values[flag] = str(data.get(flag, "")).lower() in ("1", "true", "on", "yes")
    with transaction.atomic():
        rules, _created = EscalationSettings.objects.select_for_update().get_or_create(
            patient=patient)
        for name, value in values.items():
            setattr(rules, name, value)
        rules.updated_by = user
        rules.save()
        record(actor, "samhand.observation.rules_changed", A.UPDATE, patient_id=patient.pk,
               object_type="EscalationSettings", object_ids=[patient.pk], basis=grant.basis,
               basis_id=grant.basis_id)
    return rules
