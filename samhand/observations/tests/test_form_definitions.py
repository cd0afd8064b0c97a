"""Observation forms as data: the shipped files load; mistakes name file, line, field."""

import pytest

from samhand.observations import definitions
from samhand.observations.definitions import FormFileError, parse

GOOD = """\
key: demo
version: 1
kind: vital_signs
title: {nb: Demo, en: Demo}
sections:
  - key: one
    title: {nb: En, en: One}
    questions:
      - key: pulse
        type: integer
        label: {nb: Puls, en: Pulse}
"""


def test_every_shipped_form_loads_with_nb_en_and_da_texts():
    forms = definitions.current_forms()
    assert {f.key for f in forms} >= {"vital_signs", "ventilation", "change_checklist",
                                      "esas_r", "self_report"}
    for form in forms:
        for question in form.questions:
            assert set(question.label.values) == {"nb", "en", "da"}, (form.key, question.key)


def test_the_checklist_covers_the_items_of_the_issue():
    form = definitions.get_form("change_checklist")
    keys = {q.key for q in form.questions}
    assert keys >= {"appetite", "mobility", "breathless_rest", "breathless_effort",
                    "cough_sputum", "sleep", "confusion", "swelling", "weight",
                    "mood_anxiety", "medication", "relatives_impression"}


def test_a_good_file_parses():
    form = parse(GOOD, "demo.v1.yaml")
    assert form.question("pulse").type == "integer"


@pytest.mark.parametrize(("change", "line", "field", "message"), [
    (("type: integer", "type: number"), 10, "sections[0].questions[0].type", "unknown type"),
    (("label: {nb: Puls, en: Pulse}", "label: {nb: Puls}"), 11,
     "sections[0].questions[0].label.en", "missing"),
    (("key: pulse", "key: Pulse"), 9, "sections[0].questions[0].key", "not a key"),
    (("kind: vital_signs", "kind: other"), 3, "kind", "unknown kind"),
    (("version: 1", "version: 2"), 2, "version", "file name"),
    (("        type: integer", "        type: integer\n        colour: red"), 11,
     "sections[0].questions[0].colour", "unknown field"),
])
def test_a_mistake_names_the_file_the_line_and_the_field(change, line, field, message):
    with pytest.raises(FormFileError) as info:
        parse(GOOD.replace(*change), "demo.v1.yaml")
    error = info.value
    assert (error.file, error.line, error.field) == ("demo.v1.yaml", line, field)
    assert message in error.message
    assert str(error).startswith(f"demo.v1.yaml:{line}: {field}:")


def test_a_news2_form_must_have_all_seven_parameters():
    with pytest.raises(FormFileError, match="needs questions for respiration_rate"):
        parse(GOOD.replace("kind: vital_signs", "kind: vital_signs\nnews2: true"),
              "demo.v1.yaml")


def test_duplicate_question_keys_are_refused():
    text = GOOD + "      - key: pulse\n        type: integer\n        label: {nb: P, en: P}\n"
    with pytest.raises(FormFileError, match="duplicate question key"):
        parse(text, "demo.v1.yaml")


def test_answers_that_do_not_fit_are_named_all_at_once():
    form = definitions.get_form("change_checklist")
    clean, errors = form.validate({"appetite": "terrible", "weight": "heavy", "colour": "red",
                                   "sleep": "worse"}, final=False)
    assert {(e.key, e.code) for e in errors} == {
        ("appetite", "choice"), ("weight", "not_a_number"), ("colour", "unknown")}
    assert clean == {"sleep": "worse"}


def test_required_answers_are_checked_only_when_the_form_is_finished():
    form = definitions.get_form("esas_r")
    assert form.validate({"pain": 3}, final=False)[1] == []
    missing = {e.key for e in form.validate({"pain": 3}, final=True)[1]}
    assert "tiredness" in missing and "pain" not in missing


def test_scale_answers_are_whole_numbers_from_0_to_10():
    form = definitions.get_form("esas_r")
    codes = {e.code for e in form.validate({"pain": 11, "nausea": 2.5, "anxiety": -1},
                                           final=False)[1]}
    assert codes == {"too_high", "not_whole", "too_low"}
