"""The shipped templates load, keep their contract, and plan an elective LTMV patient."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from samhand.pathways.definitions import EVENT_KINDS, LANGUAGES, ROLES
from samhand.pathways.loader import LIBRARY, get_template, load_library, load_versions
from samhand.pathways.schedule import plan

OSLO = ZoneInfo("Europe/Oslo")


def oslo(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=OSLO)  # type: ignore[misc]


def test_every_file_in_the_library_loads() -> None:
    files = sorted(p.name for p in LIBRARY.glob("*.yaml"))
    assert files, "no shipped templates"
    assert len(load_versions()) == len(files)


def test_the_ltmv_template_is_shipped() -> None:
    assert "ltmv_invasive" in load_library()


@pytest.mark.parametrize("key", sorted(load_library()))
def test_every_text_is_in_every_language(key: str) -> None:
    t = load_library()[key]
    for text in t.iter_texts():
        for lang in LANGUAGES:
            assert getattr(text, lang).strip()


@pytest.mark.parametrize("key", sorted(load_library()))
def test_roles_and_events_are_known(key: str) -> None:
    t = load_library()[key]
    assert {task.role for task in t.tasks} <= set(ROLES)
    assert set(t.events) <= set(EVENT_KINDS)


def test_ltmv_has_two_entries_three_phases_and_four_measures() -> None:
    t = get_template("ltmv_invasive")
    assert set(t.entries) == {"elective", "acute"}
    assert [p.key for p in t.phases] == ["establishment", "novice", "experienced"]
    assert len(t.measures) == 4
    gate = t.gate_before("discharged")
    assert gate is not None
    assert {c.kind for c in gate.criteria} == {"task", "data", "judgement"}


def test_elective_ltmv_scenario() -> None:
    t = get_template("ltmv_invasive")
    events = [
        ("referral", oslo(2027, 1, 4, 9)),
        ("meeting_held", oslo(2027, 1, 20, 10)),
        ("application_sent", oslo(2027, 1, 22, 10)),
        ("municipal_decision", oslo(2027, 2, 15, 10)),
        ("training_date_set", oslo(2027, 3, 1, 8)),
        ("admitted", oslo(2027, 2, 22, 10)),
        ("discharged", oslo(2027, 3, 31, 12)),
    ]
    completed = {"treatment_and_equipment": [oslo(2027, 2, 25, 10)],
                 "municipal_team_trained": [oslo(2027, 3, 20, 10)]}
    occ = plan(t, "elective", events, completed, {}, oslo(2027, 6, 1))
    by_task: dict[str, list] = {}
    for o in occ:
        by_task.setdefault(o.task_key, []).append(o)
    # Acute-only tasks are not in the elective pathway.
    assert "municipality_contacted" not in by_task
    assert "meeting_called" in by_task
    # Team and resources within 2–3 (at most 6) months of the meeting.
    (team,) = by_task["team_in_place"]
    assert (team.warn_at, team.due_at, team.latest_at) == (
        oslo(2027, 3, 20, 10), oslo(2027, 4, 20, 10), oslo(2027, 7, 20, 10))
    # First home visit within a month of discharge (31 March → 30 April).
    (visit,) = by_task["first_home_visit"]
    assert visit.due_at == oslo(2027, 4, 30, 12)
    # Monthly cannula change, the first three supervised; due up to now plus the next.
    cannula = by_task["cannula_change"]
    assert [(o.seq, o.due_at, o.supervised) for o in cannula] == [
        (1, oslo(2027, 4, 30, 12), True), (2, oslo(2027, 5, 31, 12), True),
        (3, oslo(2027, 6, 30, 12), True)]
    # Task-anchored: equipment after the trial, competence after the training.
    assert [o.reference_at for o in by_task["equipment_delivered"]] == [oslo(2027, 2, 25, 10)]
    assert [o.reference_at for o in by_task["municipal_competence_confirmed"]] == [
        oslo(2027, 3, 20, 10)]


def test_acute_ltmv_contacts_the_municipality_within_three_days_of_admission() -> None:
    t = get_template("ltmv_invasive")
    events = [("referral", oslo(2027, 3, 26, 22)), ("admitted", oslo(2027, 3, 26, 23))]
    occ = plan(t, "acute", events, {}, {}, oslo(2027, 3, 27))
    keys = {o.task_key for o in occ}
    assert "meeting_called" not in keys and "horizon_mapped" not in keys
    (contact,) = [o for o in occ if o.task_key == "municipality_contacted"]
    # Across the spring change (28 March) the deadline keeps 23:00 wall time.
    assert contact.due_at == oslo(2027, 3, 29, 23)
    assert contact.warn_at == oslo(2027, 3, 28, 23)


def test_ltmv_readmission_restarts_home_follow_up_from_the_new_discharge() -> None:
    t = get_template("ltmv_invasive")
    events = [("referral", oslo(2027, 1, 4, 9)), ("admitted", oslo(2027, 2, 1, 10)),
              ("discharged", oslo(2027, 3, 1, 12)), ("readmitted", oslo(2027, 3, 20, 8)),
              ("discharged", oslo(2027, 4, 10, 12))]
    occ = plan(t, "elective", events, {}, {}, oslo(2027, 5, 1))
    visits = [(o.seq, o.due_at) for o in occ if o.task_key == "first_home_visit"]
    # The visit from the first discharge (due 1 April) fell in the readmission: dropped.
    assert visits == [(1, oslo(2027, 5, 10, 12))]
    cannula = [(o.seq, o.due_at, o.supervised, o.series) for o in occ
               if o.task_key == "cannula_change"]
    assert cannula == [(1, oslo(2027, 5, 10, 12), True, 2)]
    # Team days stay on the first discharge: the plan keeps one series.
    assert [o.due_at for o in occ if o.task_key == "team_day"] == [oslo(2027, 9, 1, 12)]


def test_copd_structured_observation_every_14_days_while_vulnerable() -> None:
    t = get_template("copd_hf_followup")
    events = [("referral", oslo(2027, 1, 4, 9)), ("admitted", oslo(2027, 1, 5, 9)),
              ("discharged", oslo(2027, 1, 10, 14)),
              ("vulnerable_marked", oslo(2027, 1, 11, 10)),
              ("vulnerable_cleared", oslo(2027, 2, 20, 10))]
    from samhand.pathways.schedule import flag_intervals

    occ = plan(t, "discharge", events,
               {"structured_observation": [oslo(2027, 1, 25, 11)]},
               flag_intervals(events), oslo(2027, 4, 1))
    due = {o.task_key: [x.due_at for x in occ if x.task_key == o.task_key] for o in occ}
    assert due["three_day_visit"] == [oslo(2027, 1, 13, 14)]
    assert due["four_week_visit"] == [oslo(2027, 2, 7, 14)]
    assert due["structured_observation"] == [oslo(2027, 1, 25, 10), oslo(2027, 2, 8, 10)]
    assert due["observation_reviewed"] == [oslo(2027, 1, 26, 11)]


def test_home_niv_gate_covers_the_lessons_of_seed_004() -> None:
    t = get_template("home_niv")
    gate = t.gate_before("discharged")
    assert gate is not None
    tasks = {c.task for c in gate.criteria if c.task}
    assert {"oxygen_with_niv_training", "mask_instructions_in_place",
            "allocation_office_informed", "symptoms_explained"} <= tasks
    assert t.task("mask_instructions_in_place").side == "municipality"
    assert t.task("support_allocated").role == "allocation_office"


def test_palliative_template_has_the_round_the_clock_tasks_of_seed_003() -> None:
    t = get_template("palliative_home")
    roles = {task.key: (task.side, task.role) for task in t.tasks}
    assert roles["phone_24h_given"] == ("municipality", "home_nursing_primary")
    assert roles["gp_absence_cover"] == ("gp", "gp")
    assert roles["out_of_hours_routine"] == ("gp", "gp")
    assert roles["palliative_team_consulted"] == ("hospital", "palliative_team")
    assert roles["coordinator_assigned"][0] == "municipality"
