"""Closer observation from a batch (schedule.after_sets through services.ingest_batch)
behaves exactly as one set at a time (schedule.after_set through save_observation and
samhand.pathways' create_task/complete_task): the same tasks (due times, owners,
status, completion), the same state and the same audit rows — in a fixed number of
queries whatever the number of patients on closer observation."""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from typing import Any

import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from samhand.alerts.models import Alert
from samhand.observations import services
from samhand.observations.escalation import DEFAULTS, settings_for
from samhand.observations.escalation import sweep as observations_sweep
from samhand.observations.models import EscalationSettings, ObservationSet, VitalSign
from samhand.observations.schedule import SOURCE, after_sets
from samhand.pathways.models import Task
from samhand.pathways.services import sweep as pathways_sweep
from samhand.patients.models import CareTeamMember, Patient

from .conftest import VITALS_HIGH, VITALS_NORMAL, actor_and_grant

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
MORNING = dt.datetime(2026, 11, 2, 7, 0, tzinfo=dt.UTC)  # a Monday in Oslo
MEDIUM = {**VITALS_NORMAL, "respiration_rate": 22, "pulse": 115, "temperature": 38.5}  # 5
LOW = {**VITALS_NORMAL, "respiration_rate": 22}  # 2: low, normal
H, M, N, L = VITALS_HIGH, MEDIUM, VITALS_NORMAL, LOW

# Day → answers, per patient (None: no set that day). The gap on day 3 lets patient A's
# task go overdue (the pathways sweep alerts; the next set closes that alert).
DAYS: dict[str, list[Any]] = {
    "a": [H, N, N, None, M, N, L, N, N, H],
    "b": [N, H, H, N, N, None, N, N, N, N],
}


def _run(world: Any, by_batch: bool) -> None:
    patients = {"a": world.patient_a, "b": world.patient_b}
    for day in range(len(DAYS["a"])):
        taken = MORNING + dt.timedelta(days=day)
        with time_machine.travel(taken + dt.timedelta(minutes=5), tick=False):
            pathways_sweep()
            observations_sweep()
        with time_machine.travel(taken + dt.timedelta(minutes=10), tick=False):
            items = []
            for key, patient in patients.items():
                answers = DAYS[key][day]
                if answers is None:
                    continue
                actor, grant = actor_and_grant(world.ltmv_nurse, patient)
                if by_batch:
                    items.append(services.BatchItem(patient, grant, "vital_signs", answers,
                                                    taken_at=taken))
                else:
                    services.save_observation(actor, patient, grant, form_key="vital_signs",
                                              answers=answers, final=True, taken_at=taken)
            if items:
                services.ingest_batch(actor, items)


def _outcome(since_seq: int) -> dict[str, Any]:
    from samhand.audit.models import AuditEvent

    tasks = sorted(
        (t.patient_id, t.kind, "alert" if t.source.startswith("alert:") else t.source,
         t.title, t.due_at, t.owner_organisation_id, t.owner_role, t.side, t.status,
         t.created_at, t.completed_at, t.completion_note, t.overdue_since is not None)
        for t in Task.objects.all())
    # Missed-observation episodes name the last set, whose id differs between the runs.
    # So do overdue-task episodes (the task's id).
    sets = {str(pk): str(taken) for pk, taken in ObservationSet.objects.values_list(
        "pk", "taken_at")}
    sets |= {str(pk): f"{source.split(':')[0]} {due}" for pk, source, due in
             Task.objects.values_list("pk", "source", "due_at")}
    alerts = sorted((a.patient_id, UUID.sub(lambda m: sets.get(m[0], m[0]), a.episode_key),
                     a.organisation_id, a.text, a.due_at, a.closed_at, a.close_note,
                     a.escalation_level) for a in Alert.objects.all())
    rules = sorted(EscalationSettings.objects.values_list(
        "patient_id", "close_since", "close_hours", "normal_in_row"))
    codes = Counter(AuditEvent.objects.filter(seq__gt=since_seq)
                    .values_list("code", "patient_id"))
    return {"tasks": tasks, "alerts": alerts, "rules": rules, "audit": codes}


def _start() -> int:
    from samhand.audit.models import AuditEvent

    return AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first() or 0


def _forget() -> None:
    Task.objects.all().delete()
    Alert.objects.update(escalated_from=None)
    Alert.objects.all().delete()
    VitalSign.objects.all().delete()
    ObservationSet.objects.all().delete()
    EscalationSettings.objects.all().delete()


def test_a_sequence_of_batches_gives_the_tasks_alerts_and_audit_rows_of_single_sets(world):
    start = _start()
    _run(world, by_batch=False)
    one_by_one = _outcome(start)
    _forget()
    start = _start()
    _run(world, by_batch=True)
    batched = _outcome(start)
    schedule_tasks = [t for t in one_by_one["tasks"] if t[2] == SOURCE]
    # The sequence does what it is meant to: closer observation started, ended, started
    # again, a task went overdue and was done late.
    assert len(schedule_tasks) >= 8 and any(t[-1] for t in schedule_tasks)
    assert one_by_one["audit"][("samhand.observation.schedule_ended",
                                world.patient_a.pk)] == 1
    assert one_by_one["audit"][("samhand.alert.closed", world.patient_a.pk)] >= 1
    for key in one_by_one:
        assert batched[key] == one_by_one[key], key


def _schedule_outcome(since_seq: int) -> dict[str, Any]:
    from samhand.audit.models import AuditEvent

    tasks = list(Task.objects.filter(source=SOURCE).order_by("patient_id", "due_at",
                                                                "status"))
    ids = {str(t.pk) for t in tasks}
    rows = AuditEvent.objects.filter(seq__gt=since_seq).order_by("seq")
    codes = Counter((r.code, r.patient_id) for r in rows
                    if r.code.startswith(("samhand.observation.schedule_",
                                          "samhand.observation.rules_seeded"))
                    or (r.code.startswith("samhand.task.") and r.object_ids
                        and str(r.object_ids[0]) in ids))
    rules = sorted(EscalationSettings.objects.values_list(
        "patient_id", "close_since", "close_hours", "normal_in_row", "seeded_from",
        "normal_sets_to_end"))
    return {"tasks": [(t.patient_id, t.due_at, t.owner_organisation_id, t.owner_role,
                       t.status, t.created_at, t.completed_at, t.completion_note)
                      for t in tasks], "rules": rules, "audit": codes}


def test_several_sets_of_a_patient_in_one_batch_step_the_schedule_as_one_by_one(world):
    """In the order given (the last set is older than the one before it), for a patient
    with a home-nursing unit and one without (no tasks, but the state still moves)."""
    CareTeamMember.objects.filter(patient=world.patient_b, role="home_nursing").update(
        period_end=MORNING - dt.timedelta(days=1))
    hours = [0, 8, 16, 24, 32, 40, 30]
    answers = [H, N, M, N, N, N, H]
    now = MORNING + dt.timedelta(days=2)
    outcomes = []
    for by_batch in (False, True):
        _forget()
        start = _start()
        with time_machine.travel(now, tick=False):
            items = []
            for patient in (world.patient_a, world.patient_b):
                actor, grant = actor_and_grant(world.ltmv_nurse, patient)
                for hour, values in zip(hours, answers, strict=True):
                    taken = MORNING + dt.timedelta(hours=hour)
                    if by_batch:
                        items.append(services.BatchItem(patient, grant, "vital_signs",
                                                        values, taken_at=taken))
                    else:
                        services.save_observation(actor, patient, grant,
                                                  form_key="vital_signs", answers=values,
                                                  final=True, taken_at=taken)
            if items:
                services.ingest_batch(actor, items)
        outcomes.append(_schedule_outcome(start))
    one_by_one, batched = outcomes
    assert sorted(t[4] for t in one_by_one["tasks"]) == ["done"] * 5 + ["open"]
    assert {t[0] for t in one_by_one["tasks"]} == {world.patient_a.pk}
    assert any(r[0] == world.patient_b.pk and r[1] for r in one_by_one["rules"])
    assert batched == one_by_one


def _unseeded_pathway(world: Any, template_key: str, entry: str) -> Any:
    """Start a pathway for patient_a whose rules are not seeded yet: the seeding of
    start_pathway waits for a commit the test never reaches. Returns the actor."""
    from samhand.access.policy import grant_for
    from samhand.pathways import services as pathways

    actor, _grant = actor_and_grant(world.ltmv_nurse, world.patient_a)
    pathways.start_pathway(actor, grant_for(world.ltmv_nurse, world.patient_a),
                           world.patient_a, template_key=template_key, entry=entry)
    return actor


def test_a_batch_seeds_the_rules_of_the_patients_pathway_at_first_use_as_one_set_does(
        world):
    """A pathway whose start did not seed the rules (started before the rule files): the
    first set seeds them — here palliative care, which ends closer observation after
    two normal sets instead of three."""
    _unseeded_pathway(world, "palliative_home", "from_hospital")
    now = MORNING + dt.timedelta(days=4)
    outcomes = []
    for by_batch in (False, True):
        _forget()
        start = _start()
        with time_machine.travel(now, tick=False):
            actor, grant = actor_and_grant(world.ltmv_nurse, world.patient_a)
            sets = [(MORNING + dt.timedelta(days=day), values)
                    for day, values in enumerate([H, N, N, N])]
            if by_batch:
                services.ingest_batch(actor, [
                    services.BatchItem(world.patient_a, grant, "vital_signs", values,
                                       taken_at=taken) for taken, values in sets])
            else:
                for taken, values in sets:
                    services.save_observation(actor, world.patient_a, grant,
                                              form_key="vital_signs", answers=values,
                                              final=True, taken_at=taken)
        outcomes.append(_schedule_outcome(start))
    one_by_one, batched = outcomes
    assert [r[4:] for r in one_by_one["rules"]] == [("palliative_home", 2)]
    assert [t[4] for t in one_by_one["tasks"]] == ["done", "done"]
    assert batched == one_by_one


# --------------------------------------------------------------------------- queries

def _patients_on_closer_observation(world: Any, count: int, offset: int) -> list[Patient]:
    since = timezone.now() - dt.timedelta(days=30)
    patients = Patient.objects.bulk_create([
        Patient(national_id=f"6{offset + i:010d}", national_id_kind="test",
                given_name="Nær", family_name=f"Pasient {offset + i}") for i in range(count)])
    CareTeamMember.objects.bulk_create([
        CareTeamMember(patient=p, organisation=world.hn_a, role="home_nursing",
                       period_start=since) for p in patients])
    raised = timezone.now() - dt.timedelta(hours=20)
    EscalationSettings.objects.bulk_create([
        EscalationSettings(patient=p, close_since=raised, close_hours=24) for p in patients])
    Task.objects.bulk_create([
        Task(patient=p, title="Vital signs", owner_organisation=world.hn_a,
             owner_role="home_nursing", due_at=raised + dt.timedelta(hours=24),
             source=SOURCE) for p in patients])
    return patients


def _shape(queries: CaptureQueriesContext) -> list[str]:
    """The statements run, a multi-row INSERT that the database's parameter limit split
    in several (SQLite) counted once, and the audit chain's write as one (it takes a
    lock and appends the rows with INSERT or, from COPY_FROM_ROWS rows, COPY)."""
    out: list[str] = []
    for query in queries.captured_queries:
        words = query["sql"].split()
        kind = {"INSERT": " ".join(words[:3]), "SAVEPOINT": words[0], "RELEASE": words[0],
                "ROLLBACK": words[0]}.get(words[0], " ".join(words[:2]))
        if '"audit_' in query["sql"]:
            kind = "audit"
        if not (out and kind == out[-1] and kind.startswith(("INSERT", "audit"))):
            out.append(kind)
    return out


def _batch_queries(world: Any, patients: list[Patient], answers: dict[str, Any],
                   ) -> list[str]:
    items = []
    for patient in patients:
        actor, grant = actor_and_grant(world.home_nurse_a, patient)
        items.append(services.BatchItem(patient, grant, "vital_signs", answers))
    with CaptureQueriesContext(connection) as queries:
        services.ingest_batch(actor, items)
    return _shape(queries)


def test_a_batch_takes_as_many_queries_for_50_patients_on_closer_observation_as_for_5(world):
    _batch_queries(world, [world.patient_a], VITALS_NORMAL)  # the audit chain's head
    few = _batch_queries(world, _patients_on_closer_observation(world, 5, 0), VITALS_NORMAL)
    many = _batch_queries(world, _patients_on_closer_observation(world, 50, 100),
                          VITALS_NORMAL)
    assert many == few
    assert len(many) < 25
    assert Task.objects.filter(source=SOURCE, status="open").count() == 55
    assert Task.objects.filter(source=SOURCE, status="done").count() == 55


def _schedule_queries(world: Any, count: int, offset: int) -> list[str]:
    """after_sets alone for high sets (the alerts they raise are dispatched per patient,
    outside the schedule)."""
    patients = _patients_on_closer_observation(world, count, offset)
    patients += Patient.objects.bulk_create([
        Patient(national_id=f"5{offset + i:010d}", national_id_kind="test",
                given_name="Ny", family_name=f"Pasient {offset + i}") for i in range(count)])
    actor, _grant = actor_and_grant(world.home_nurse_a, world.patient_a)
    now = timezone.now()
    by_patient = {p.pk: [ObservationSet(patient=p, form_key="vital_signs", taken_at=now,
                                        status=ObservationSet.Status.FINAL, news2_total=8,
                                        news2_risk="high")] for p in patients}
    found = settings_for(by_patient)
    rules = {pid: found.get(pid, DEFAULTS) for pid in by_patient}
    with CaptureQueriesContext(connection) as queries:
        assert after_sets(actor, by_patient, rules) == 2 * count
    return _shape(queries)


def test_the_schedule_of_a_batch_takes_as_many_queries_for_50_high_scores_as_for_5(world):
    _schedule_queries(world, 1, 100)  # the audit chain's head
    few = _schedule_queries(world, 5, 200)
    many = _schedule_queries(world, 50, 300)
    assert many == few
    assert len(many) <= 12  # 5 of its own, the rest the audit rows
    # Those already on closer observation: task done and a new one; the new patients:
    # closer observation started (state stored) — no home nursing on their team, no task.
    assert Task.objects.filter(source=SOURCE, status="open").count() == 56
    assert EscalationSettings.objects.filter(close_since__isnull=False).count() == 112


def test_rules_seeded_by_another_request_meanwhile_are_kept_and_not_audited_again(world,
                                                                                   audit):
    """A batch seeds rules for patients without a row. If another request seeded one of
    them between the batch's look-up and its insert, that row stands (the batch's is
    dropped) and only the other request's audit row says it was seeded."""
    from samhand.observations.escalation import _seed_rules_many

    actor = _unseeded_pathway(world, "home_niv", "elective")
    assert not EscalationSettings.objects.exists()
    theirs = EscalationSettings.objects.create(patient=world.patient_a, news2_threshold=3,
                                               seeded_from="home_niv")
    watch = audit()

    got = _seed_rules_many(actor, [world.patient_a.pk])

    assert got[world.patient_a.pk].news2_threshold == theirs.news2_threshold == 3
    assert EscalationSettings.objects.get(patient=world.patient_a).news2_threshold == 3
    assert not watch.rows(code="samhand.observation.rules_seeded")


def test_rules_seeded_by_the_batch_are_audited_once_each(world, audit):
    from samhand.observations.escalation import _seed_rules_many

    actor = _unseeded_pathway(world, "home_niv", "elective")
    watch = audit()

    got = _seed_rules_many(actor, [world.patient_a.pk])

    assert got[world.patient_a.pk].seeded_from == "home_niv"
    [row] = watch.rows(code="samhand.observation.rules_seeded")
    assert row.patient_id == world.patient_a.pk
