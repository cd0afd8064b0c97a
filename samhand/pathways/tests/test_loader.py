"""Template validation: every bad input names the file, the line and the field."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from samhand.pathways import loader
from samhand.pathways.definitions import ROLES, Offset
from samhand.pathways.loader import TemplateError, load_library, load_template, load_versions

GOOD = """\
key: demo
version: 1
title: {nb: Demo, en: Demo, da: Demo}
entries:
  elective: {nb: Planlagt, en: Elective, da: Planlagt}
  acute: {nb: ØH, en: Emergency, da: Akut}
events: [referral, meeting_held, admitted, discharged, readmitted, vulnerable_marked,
         vulnerable_cleared]
flags: [vulnerable]
phases:
  - key: one
    title: {nb: En, en: One, da: En}
measures:
  - key: m1
    title: {nb: Tiltak, en: Measure, da: Indsats}
tasks:
  - key: train
    title: {nb: Opplæring, en: Training, da: Oplæring}
    side: hospital
    role: ltmv_nurse
    phase: one
    measure: m1
    due:
      anchor: event:admitted
  - key: confirm
    title: {nb: Bekreft, en: Confirm, da: Bekræft}
    side: municipality
    role: municipal_coordinator
    phase: one
    due:
      anchor: task:train
      after: {days: 3}
  - key: visit
    title: {nb: Besøk, en: Visit, da: Besøg}
    side: hospital
    role: ltmv_nurse
    phase: one
    entries: [elective]
    due:
      anchor: event:discharged
      after: {months: 3}
      warn: {months: 2}
      at_latest: {months: 6}
  - key: checklist
    title: {nb: Sjekkliste, en: Checklist, da: Tjekliste}
    side: municipality
    role: home_nursing
    phase: one
    due:
      anchor: event:vulnerable_marked
      after: {days: 14}
      every: {days: 14}
      while_flag: vulnerable
      until: [vulnerable_cleared]
gates:
  - key: discharge
    title: {nb: Utskrivningskriterier, en: Discharge criteria, da: Udskrivningskriterier}
    before_event: discharged
    criteria:
      - key: stable
        title: {nb: Stabil, en: Stable, da: Stabil}
        kind: judgement
        owner_role: responsible_consultant
      - key: trained
        title: {nb: Opplært, en: Trained, da: Oplært}
        kind: task
        task: train
      - key: ip
        title: {nb: IP, en: IP, da: IP}
        kind: data
        evaluator: plans.individual_plan_started
        owner_role: municipal_coordinator
"""


def write(tmp_path: Path, text: str, name: str = "demo.v1.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def line_of(text: str, needle: str, nth: int = 1) -> int:
    """1-based line number of the nth line containing needle."""
    hits = [i + 1 for i, line in enumerate(text.splitlines()) if needle in line]
    return hits[nth - 1]


def fails(tmp_path: Path, text: str, name: str = "demo.v1.yaml") -> TemplateError:
    with pytest.raises(TemplateError) as info:
        load_template(write(tmp_path, text, name))
    return info.value


def test_a_good_template_loads_with_its_hash_and_source(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)
    t = load_template(path)
    assert (t.key, t.version, t.source_file) == ("demo", 1, "demo.v1.yaml")
    assert t.content_hash == hashlib.sha256(path.read_bytes()).hexdigest()
    assert [x.key for x in t.tasks] == ["train", "confirm", "visit", "checklist"]
    assert t.task("visit").entries == frozenset({"elective"})
    due = t.task("visit").due
    assert due is not None
    assert (due.offset, due.warn, due.at_latest) == (
        Offset(months=3), Offset(months=2), Offset(months=6))
    assert t.task("train").due is not None and t.task("train").due.offset is None
    gate = t.gate_before("discharged")
    assert gate is not None
    assert [c.owner_role for c in gate.criteria] == [
        "responsible_consultant", "ltmv_nurse", "municipal_coordinator"]
    assert t.evaluators() == frozenset({"plans.individual_plan_started"})
    assert t.title.get("en") == "Demo" and t.entries["acute"].get("da") == "Akut"


def test_text_falls_back_to_nb(tmp_path: Path) -> None:
    t = load_template(write(tmp_path, GOOD))
    assert t.entries["acute"].get("fr") == "ØH"
    assert t.entries["acute"].get("nb-no") == "ØH"
    assert t.entries["acute"].get(None) == "ØH"


def test_the_role_list_is_the_care_team_models_choices() -> None:
    from samhand.patients.models import CareTeamMember

    assert tuple(CareTeamMember.Role.values) == ROLES


def test_unknown_role_names_file_line_and_field(tmp_path: Path) -> None:
    text = GOOD.replace("role: municipal_coordinator", "role: janitor", 1)
    err = fails(tmp_path, text)
    assert (err.file, err.line, err.field) == ("demo.v1.yaml", line_of(text, "janitor"),
                                               "tasks[1].role")
    assert str(err).startswith(f"demo.v1.yaml:{err.line}: tasks[1].role: unknown role 'janitor'")


def test_unknown_phase_reference(tmp_path: Path) -> None:
    text = GOOD.replace("    phase: one\n    entries", "    phase: two\n    entries")
    err = fails(tmp_path, text)
    assert (err.line, err.field) == (line_of(text, "phase: two"), "tasks[2].phase")
    assert "unknown phase 'two'" in str(err)


def test_unknown_measure_reference(tmp_path: Path) -> None:
    text = GOOD.replace("measure: m1", "measure: m9")
    err = fails(tmp_path, text)
    assert (err.line, err.field) == (line_of(text, "measure: m9"), "tasks[0].measure")


def test_unknown_anchor_task(tmp_path: Path) -> None:
    text = GOOD.replace("anchor: task:train", "anchor: task:trening")
    err = fails(tmp_path, text)
    assert str(err) == (f"demo.v1.yaml:{line_of(text, 'task:trening')}: tasks[1].due.anchor: "
                        "unknown task 'trening'")


def test_unknown_anchor_event(tmp_path: Path) -> None:
    text = GOOD.replace("anchor: event:admitted", "anchor: event:arrived")
    err = fails(tmp_path, text)
    assert (err.line, err.field) == (line_of(text, "event:arrived"), "tasks[0].due.anchor")
    assert "unknown event 'arrived'" in err.message


def test_anchor_event_missing_from_the_templates_events(tmp_path: Path) -> None:
    text = GOOD.replace("events: [referral, meeting_held, admitted,",
                        "events: [referral, meeting_held,")
    err = fails(tmp_path, text)
    assert (err.line, err.field) == (line_of(text, "event:admitted"), "tasks[0].due.anchor")
    assert "not among the template's events" in err.message


def test_bad_anchor_syntax(tmp_path: Path) -> None:
    text = GOOD.replace("anchor: event:admitted", "anchor: admitted")
    err = fails(tmp_path, text)
    assert err.field == "tasks[0].due.anchor"


def test_cycle_in_task_anchors(tmp_path: Path) -> None:
    text = GOOD.replace("""    measure: m1
    due:
      anchor: event:admitted""", """    measure: m1
    due:
      anchor: task:confirm""")
    err = fails(tmp_path, text)
    assert err.field in ("tasks[0].due.anchor", "tasks[1].due.anchor")
    assert "cycle" in err.message and "train" in err.message and "confirm" in err.message
    assert err.line in (line_of(text, "anchor: task:confirm"),
                        line_of(text, "anchor: task:train"))


def test_task_anchored_to_itself(tmp_path: Path) -> None:
    text = GOOD.replace("anchor: task:train", "anchor: task:confirm")
    err = fails(tmp_path, text)
    assert err.field == "tasks[1].due.anchor" and "itself" in err.message


def test_anchor_task_missing_from_an_entry_of_the_dependent(tmp_path: Path) -> None:
    text = GOOD.replace("""    measure: m1
    due:""", """    measure: m1
    entries: [acute]
    due:""")
    err = fails(tmp_path, text)
    assert err.field == "tasks[1].due.anchor" and "elective" in err.message


@pytest.mark.parametrize("lang", ["nb", "en", "da"])
def test_missing_translation(tmp_path: Path, lang: str) -> None:
    full = "title: {nb: Besøk, en: Visit, da: Besøg}"
    parts = {"nb": "nb: Besøk", "en": "en: Visit", "da": "da: Besøg"}
    kept = ", ".join(v for k, v in parts.items() if k != lang)
    text = GOOD.replace(full, "title: {" + kept + "}")
    err = fails(tmp_path, text)
    assert (err.line, err.field) == (line_of(text, "title: {" + kept),
                                     f"tasks[2].title.{lang}")
    assert f"missing translation '{lang}'" in err.message


def test_empty_translation(tmp_path: Path) -> None:
    text = GOOD.replace("en: Visit,", "en: '',")
    err = fails(tmp_path, text)
    assert err.field == "tasks[2].title.en" and "empty" in err.message


def test_extra_language_is_an_unknown_field(tmp_path: Path) -> None:
    text = GOOD.replace("en: Visit,", "en: Visit, sv: Besök,")
    err = fails(tmp_path, text)
    assert err.field == "tasks[2].title.sv" and "unknown field" in err.message


def test_duplicate_task_key(tmp_path: Path) -> None:
    text = GOOD.replace("  - key: visit", "  - key: train")
    err = fails(tmp_path, text)
    assert (err.line, err.field) == (line_of(text, "- key: train", 2), "tasks[2].key")
    assert "duplicate task key 'train'" in err.message


def test_duplicate_mapping_key(tmp_path: Path) -> None:
    text = GOOD.replace("    side: hospital\n    role: ltmv_nurse\n    phase: one\n    measure",
                        "    side: hospital\n    side: gp\n    role: ltmv_nurse\n    phase: one\n"
                        "    measure")
    err = fails(tmp_path, text)
    assert (err.line, err.field) == (line_of(text, "side: gp"), "tasks[0].side")
    assert "duplicate key" in err.message


def test_duplicate_criterion_key(tmp_path: Path) -> None:
    text = GOOD.replace("      - key: ip\n", "      - key: stable\n")
    err = fails(tmp_path, text)
    assert err.field == "gates[0].criteria[2].key"


def test_wrong_type_for_a_number(tmp_path: Path) -> None:
    text = GOOD.replace("after: {days: 3}", "after: {days: three}")
    err = fails(tmp_path, text)
    assert (err.line, err.field) == (line_of(text, "days: three"), "tasks[1].due.after.days")
    assert "whole number" in err.message


def test_wrong_type_for_a_list(tmp_path: Path) -> None:
    text = GOOD.replace("entries: [elective]", "entries: elective")
    err = fails(tmp_path, text)
    assert (err.line, err.field) == (line_of(text, "entries: elective"), "tasks[2].entries")
    assert "expected a list" in err.message


def test_wrong_type_for_the_version(tmp_path: Path) -> None:
    text = GOOD.replace("version: 1", "version: one")
    err = fails(tmp_path, text)
    assert (err.line, err.field) == (2, "version")


def test_unknown_field(tmp_path: Path) -> None:
    text = GOOD.replace("      after: {days: 3}", "      after: {days: 3}\n      befor: {days: 1}")
    err = fails(tmp_path, text)
    assert (err.line, err.field) == (line_of(text, "befor:"), "tasks[1].due.befor")
    assert "unknown field 'befor'" in err.message


def test_unknown_unit_in_an_offset(tmp_path: Path) -> None:
    text = GOOD.replace("after: {days: 3}", "after: {weeks: 3}")
    err = fails(tmp_path, text)
    assert err.field == "tasks[1].due.after.weeks"


def test_missing_required_field(tmp_path: Path) -> None:
    text = GOOD.replace("    side: municipality\n    role: municipal_coordinator\n",
                        "    role: municipal_coordinator\n")
    err = fails(tmp_path, text)
    assert err.field == "tasks[1].side" and "missing" in err.message
    assert err.line == line_of(text, "- key: confirm")


def test_unknown_side(tmp_path: Path) -> None:
    text = GOOD.replace("side: municipality", "side: county", 1)
    err = fails(tmp_path, text)
    assert err.field == "tasks[1].side"


def test_unknown_entry_on_a_task(tmp_path: Path) -> None:
    text = GOOD.replace("entries: [elective]", "entries: [planned]")
    err = fails(tmp_path, text)
    assert (err.line, err.field) == (line_of(text, "[planned]"), "tasks[2].entries[0]")


def test_unknown_flag(tmp_path: Path) -> None:
    text = GOOD.replace("while_flag: vulnerable", "while_flag: frail")
    err = fails(tmp_path, text)
    assert err.field == "tasks[3].due.while_flag"


def test_recurrence_fields_need_every(tmp_path: Path) -> None:
    text = GOOD.replace("      at_latest: {months: 6}", "      at_latest: {months: 6}\n"
                        "      supervised_first: 2")
    err = fails(tmp_path, text)
    assert (err.line, err.field) == (line_of(text, "supervised_first"),
                                     "tasks[2].due.supervised_first")


def test_warning_after_the_due_time_is_refused(tmp_path: Path) -> None:
    text = GOOD.replace("warn: {months: 2}", "warn: {months: 4}")
    err = fails(tmp_path, text)
    assert err.field == "tasks[2].due.warn"


def test_at_latest_before_the_due_time_is_refused(tmp_path: Path) -> None:
    text = GOOD.replace("at_latest: {months: 6}", "at_latest: {days: 30}")
    err = fails(tmp_path, text)
    assert err.field == "tasks[2].due.at_latest"


def test_every_must_be_positive(tmp_path: Path) -> None:
    text = GOOD.replace("every: {days: 14}", "every: {days: 0}")
    err = fails(tmp_path, text)
    assert err.field == "tasks[3].due.every"


def test_gate_criterion_with_unknown_task(tmp_path: Path) -> None:
    text = GOOD.replace("task: train", "task: trening")
    err = fails(tmp_path, text)
    assert (err.line, err.field) == (line_of(text, "task: trening"),
                                     "gates[0].criteria[1].task")


def test_data_criterion_needs_an_evaluator(tmp_path: Path) -> None:
    text = GOOD.replace("        evaluator: plans.individual_plan_started\n", "")
    err = fails(tmp_path, text)
    assert err.field == "gates[0].criteria[2].evaluator"


def test_judgement_criterion_needs_an_owner(tmp_path: Path) -> None:
    text = GOOD.replace("        owner_role: responsible_consultant\n", "")
    err = fails(tmp_path, text)
    assert err.field == "gates[0].criteria[0].owner_role"


def test_gate_before_an_unknown_event(tmp_path: Path) -> None:
    text = GOOD.replace("before_event: discharged", "before_event: went_home")
    err = fails(tmp_path, text)
    assert err.field == "gates[0].before_event"


def test_file_name_must_match_key_and_version(tmp_path: Path) -> None:
    err = fails(tmp_path, GOOD, name="demo.v2.yaml")
    assert (err.file, err.line, err.field) == ("demo.v2.yaml", 2, "version")
    err = fails(tmp_path, GOOD, name="other.v1.yaml")
    assert (err.line, err.field) == (1, "key")
    err = fails(tmp_path, GOOD, name="demo.yaml")
    assert "file name" in err.message


def test_invalid_yaml_names_the_line(tmp_path: Path) -> None:
    text = GOOD.replace("    side: hospital\n    role: ltmv_nurse\n    phase: one\n    measure",
                        "    side: [hospital\n    role: ltmv_nurse\n    phase: one\n    measure")
    err = fails(tmp_path, text)
    assert "not valid YAML" in err.message and err.line > 1


def test_the_top_level_must_be_a_mapping(tmp_path: Path) -> None:
    err = fails(tmp_path, "- a\n- b\n")
    assert (err.line, err.field) == (1, "(top)")


def test_library_gives_the_latest_version_and_keeps_all(tmp_path: Path) -> None:
    write(tmp_path, GOOD)
    write(tmp_path, GOOD.replace("version: 1", "version: 2"), "demo.v2.yaml")
    versions = load_versions(tmp_path)
    assert sorted(versions) == [("demo", 1), ("demo", 2)]
    assert load_library(tmp_path)["demo"].version == 2
    assert versions[("demo", 1)].content_hash != versions[("demo", 2)].content_hash
    loader.clear_cache()


def test_gate_criterion_on_a_task_missing_from_an_entry(tmp_path: Path) -> None:
    text = GOOD.replace("task: train", "task: visit")
    err = fails(tmp_path, text)
    assert (err.line, err.field) == (line_of(text, "task: visit"), "gates[0].criteria[1].task")
    assert "'acute'" in err.message
