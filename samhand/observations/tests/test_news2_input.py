"""NEWS2 input: missing parameters give no total; impossible values are refused."""

from decimal import Decimal

import pytest

from samhand.observations import news2

NORMAL = {"respiration_rate": 16, "spo2": 97, "on_oxygen": False, "systolic_bp": 120,
          "pulse": 70, "consciousness": "A", "temperature": 37.0}


def scored(**change):
    return news2.score(**{**NORMAL, **change})


def problems(**change):
    with pytest.raises(news2.InvalidObservation) as info:
        scored(**change)
    return info.value.problems


@pytest.mark.parametrize("parameter", ["respiration_rate", "spo2", "systolic_bp", "pulse",
                                       "consciousness", "temperature"])
def test_a_missing_parameter_gives_no_total_and_names_what_is_missing(parameter):
    result = scored(**{parameter: None})
    assert result.total is None
    assert result.risk is None
    assert result.response is None
    assert result.missing == (parameter,)
    assert result.subscores[parameter] is None
    assert not result.complete


def test_missing_air_or_oxygen_is_named_too():
    result = scored(on_oxygen=None)
    assert result.total is None
    assert result.missing == ("air_or_oxygen",)


def test_an_empty_string_counts_as_missing():
    assert scored(pulse="", temperature=" ").missing == ("pulse", "temperature")


def test_a_red_parameter_is_seen_even_when_the_set_is_incomplete():
    result = scored(respiration_rate=30, temperature=None)
    assert result.total is None
    assert result.red_parameters == ("respiration_rate",)


def test_scale_2_saturation_above_92_needs_to_know_air_or_oxygen():
    assert scored(spo2=95, on_oxygen=None, spo2_scale=2).subscores["spo2"] is None
    assert scored(spo2=85, on_oxygen=None, spo2_scale=2).subscores["spo2"] == 2


def test_spo2_over_100_is_impossible():
    [problem] = problems(spo2=140)
    assert (problem.parameter, problem.code) == ("spo2", "impossible")
    assert "140" in problem.message
    assert problems(spo2=101)[0].code == "impossible"
    assert scored(spo2=100).subscores["spo2"] == 0


def test_a_negative_respiration_rate_is_impossible():
    [problem] = problems(respiration_rate=-3)
    assert (problem.parameter, problem.code) == ("respiration_rate", "impossible")


def test_a_temperature_of_3_7_is_refused_with_the_suggestion_37():
    [problem] = problems(temperature=3.7)
    assert problem.code == "unit_slip"
    assert problem.suggestion == Decimal("37.0")
    assert "37.0" in problem.message
    assert not problem.needs_confirmation


def test_a_temperature_of_370_is_impossible():
    assert problems(temperature=370)[0].code == "impossible"


def test_every_problem_is_named_at_once():
    found = problems(spo2=140, respiration_rate=-3, temperature=3.7)
    assert [p.parameter for p in found] == ["respiration_rate", "spo2", "temperature"]


def test_an_unusual_value_needs_confirmation_and_is_scored_once_confirmed():
    [problem] = problems(pulse=230)
    assert problem.code == "implausible"
    assert problem.needs_confirmation
    result = news2.score(**{**NORMAL, "pulse": 230}, confirmed={"pulse"})
    assert result.subscores["pulse"] == 3


def test_an_impossible_value_cannot_be_confirmed():
    with pytest.raises(news2.InvalidObservation):
        news2.score(**{**NORMAL, "spo2": 140}, confirmed={"spo2"})


@pytest.mark.parametrize(("parameter", "value"), [
    ("pulse", 72.5), ("spo2", "95.5"), ("respiration_rate", 16.2)])
def test_counts_must_be_whole_numbers(parameter, value):
    assert problems(**{parameter: value})[0].code == "not_whole"


@pytest.mark.parametrize("value", ["abc", True, "nan", "inf"])
def test_text_and_booleans_are_not_numbers(value):
    assert problems(pulse=value)[0].code == "missing_type"


def test_an_unknown_consciousness_level_is_refused():
    assert problems(consciousness="X")[0].parameter == "consciousness"


def test_air_or_oxygen_accepts_words_and_refuses_others():
    assert scored(on_oxygen="oxygen").subscores["air_or_oxygen"] == 2
    assert scored(on_oxygen="air").subscores["air_or_oxygen"] == 0
    assert problems(on_oxygen="maybe")[0].parameter == "air_or_oxygen"


def test_whole_numbers_given_as_text_or_decimals_are_accepted():
    assert scored(pulse="95", spo2=Decimal("94")).total == 2
