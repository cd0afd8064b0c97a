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
