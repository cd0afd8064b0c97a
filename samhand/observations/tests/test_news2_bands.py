"""NEWS2 against the RCP 2017 chart: every band edge, on both SpO2 scales.

Each row is (value, expected sub-score), written out from the chart by hand
(shared/standards.md §D) rather than derived from the code under test.
"""

from decimal import Decimal

import pytest

from samhand.observations import news2

NORMAL = {"respiration_rate": 16, "spo2": 97, "on_oxygen": False, "systolic_bp": 120,
          "pulse": 70, "consciousness": "A", "temperature": 37.0}


def scored(**change):
    args = {**NORMAL, **change}
    return news2.score(**args)


@pytest.mark.parametrize(("rate", "expected"), [
    (4, 3), (8, 3), (9, 1), (11, 1), (12, 0), (20, 0), (21, 2), (24, 2), (25, 3), (60, 3)])
def test_respiration_rate_band_edges(rate, expected):
    assert scored(respiration_rate=rate).subscores["respiration_rate"] == expected


@pytest.mark.parametrize(("spo2", "expected"), [
    (60, 3), (91, 3), (92, 2), (93, 2), (94, 1), (95, 1), (96, 0), (100, 0)])
@pytest.mark.parametrize("on_oxygen", [False, True])
def test_spo2_scale_1_band_edges_are_the_same_on_air_and_oxygen(spo2, expected, on_oxygen):
    result = scored(spo2=spo2, on_oxygen=on_oxygen)
    assert result.subscores["spo2"] == expected
    assert result.subscores["air_or_oxygen"] == (2 if on_oxygen else 0)


@pytest.mark.parametrize(("spo2", "on_air", "on_oxygen"), [
    (60, 3, 3), (83, 3, 3), (84, 2, 2), (85, 2, 2), (86, 1, 1), (87, 1, 1),
    (88, 0, 0), (92, 0, 0),
    (93, 0, 1), (94, 0, 1), (95, 0, 2), (96, 0, 2), (97, 0, 3), (100, 0, 3)])
def test_spo2_scale_2_band_edges_on_air_and_on_oxygen(spo2, on_air, on_oxygen):
    assert scored(spo2=spo2, on_oxygen=False, spo2_scale=2).subscores["spo2"] == on_air
    assert scored(spo2=spo2, on_oxygen=True, spo2_scale=2).subscores["spo2"] == on_oxygen


def test_oxygen_scores_2_on_either_scale():
    for scale in (1, 2):
        assert scored(on_oxygen=True, spo2_scale=scale).subscores["air_or_oxygen"] == 2
        assert scored(on_oxygen=False, spo2_scale=scale).subscores["air_or_oxygen"] == 0


@pytest.mark.parametrize(("sbp", "expected"), [
    (50, 3), (90, 3), (91, 2), (100, 2), (101, 1), (110, 1), (111, 0), (219, 0),
    (220, 3), (280, 3)])
def test_systolic_pressure_band_edges(sbp, expected):
    assert scored(systolic_bp=sbp).subscores["systolic_bp"] == expected


@pytest.mark.parametrize(("pulse", "expected"), [
    (25, 3), (40, 3), (41, 1), (50, 1), (51, 0), (90, 0), (91, 1), (110, 1), (111, 2),
    (130, 2), (131, 3), (220, 3)])
def test_pulse_band_edges(pulse, expected):
    assert scored(pulse=pulse).subscores["pulse"] == expected


@pytest.mark.parametrize(("level", "expected"), [
    ("A", 0), ("C", 3), ("V", 3), ("P", 3), ("U", 3), ("alert", 0),
    ("new confusion", 3), ("u", 3)])
def test_consciousness_acvpu_new_confusion_scores_like_v_p_u(level, expected):
    assert scored(consciousness=level).subscores["consciousness"] == expected


@pytest.mark.parametrize(("temperature", "expected"), [
    (30.0, 3), (35.0, 3), (35.1, 1), (36.0, 1), (36.1, 0), (38.0, 0), (38.1, 1),
    (39.0, 1), (39.1, 2), (43.0, 2),
    # Rounded to one decimal (half up) before scoring:
    ("35.04", 3), ("35.05", 1), ("36.04", 1), ("36.05", 0), ("38.04", 0), ("38.05", 1),
    ("39.04", 1), ("39.05", 2)])
def test_temperature_band_edges_to_one_decimal(temperature, expected):
    assert scored(temperature=temperature).subscores["temperature"] == expected


def test_temperature_accepts_a_decimal_comma():
    assert scored(temperature="38,1").subscores["temperature"] == 1
    assert scored(temperature="38,1").values["temperature"] == Decimal("38.1")


def test_a_normal_set_scores_0_low_with_12_hourly_monitoring():
    result = scored()
    assert result.total == 0
    assert result.risk == "low"
    assert result.response.key == "routine"
    assert result.response.monitoring_interval_minutes == 12 * 60
    assert result.missing == ()


def test_total_1_to_4_is_low_with_4_to_6_hourly_monitoring():
    for change, total in [({"pulse": 95}, 1), ({"pulse": 115, "respiration_rate": 22}, 4)]:
        result = scored(**change)
        assert (result.total, result.risk, result.response.key) == (total, "low", "low")


def test_a_single_red_parameter_is_low_medium_with_hourly_monitoring():
    result = scored(consciousness="C")
    assert (result.total, result.risk) == (3, "low-medium")
    assert result.response.key == "red"
    assert result.response.monitoring_interval_minutes == 60
    assert result.red_parameters == ("consciousness",)


def test_a_red_parameter_and_total_4_is_still_low_medium():
    result = scored(consciousness="V", pulse=95)
    assert (result.total, result.risk) == (4, "low-medium")


def test_5_and_6_are_medium_the_urgent_response_threshold():
    assert scored(respiration_rate=22, pulse=115, temperature=38.5).total == 5
    assert scored(respiration_rate=22, pulse=115, temperature=38.5).risk == "medium"
    result = scored(respiration_rate=22, pulse=115, temperature=39.5)
    assert (result.total, result.risk, result.response.key) == (6, "medium", "urgent")


def test_a_red_parameter_with_total_5_is_medium_not_low_medium():
    result = scored(consciousness="C", pulse=115)
    assert (result.total, result.risk) == (5, "medium")


def test_7_or_more_is_high_the_emergency_response_threshold_continuous_monitoring():
    result = scored(respiration_rate=26, spo2=91, on_oxygen=True)
    assert result.total == 8
    assert result.risk == "high"
    assert result.response.key == "emergency"
    assert result.response.monitoring_interval_minutes == 0
    assert scored(respiration_rate=25, spo2=93, on_oxygen=True).total == 7


def test_the_highest_possible_total_is_20():
    result = scored(respiration_rate=5, spo2=80, on_oxygen=True, systolic_bp=80, pulse=150,
                    consciousness="U", temperature=34.0)
    assert result.total == 20
    assert result.risk == "high"


def test_the_same_saturation_scores_differently_on_the_two_scales():
    # 89 % on air: scale 1 → 3 (≤91); scale 2 → 0 (target range 88-92).
    assert scored(spo2=89).subscores["spo2"] == 3
    assert scored(spo2=89, spo2_scale=2).subscores["spo2"] == 0
    # 98 % on oxygen: scale 1 → 0; scale 2 → 3 (over-oxygenation in type II failure).
    assert scored(spo2=98, on_oxygen=True).subscores["spo2"] == 0
    assert scored(spo2=98, on_oxygen=True, spo2_scale=2).subscores["spo2"] == 3


def test_an_unknown_scale_is_a_programming_error():
    with pytest.raises(ValueError, match="spo2_scale"):
        scored(spo2_scale=3)
