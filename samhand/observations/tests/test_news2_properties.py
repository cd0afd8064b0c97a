"""Properties of the NEWS2 scorer over the whole plausible input space (hypothesis)."""

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from samhand.observations import news2

rates = st.integers(4, 60)
sats = st.integers(60, 100)
pressures = st.integers(50, 280)
pulses = st.integers(25, 220)
levels = st.sampled_from(news2.CONSCIOUSNESS_LEVELS)
temps = st.integers(300, 430).map(lambda t: Decimal(t) / 10)
scales = st.sampled_from([1, 2])

observation = st.fixed_dictionaries({
    "respiration_rate": rates, "spo2": sats, "on_oxygen": st.booleans(),
    "systolic_bp": pressures, "pulse": pulses, "consciousness": levels,
    "temperature": temps, "spo2_scale": scales})

# The normal value of each numeric parameter (the middle of its 0 band).
NORMAL = {"respiration_rate": 16, "systolic_bp": 160, "pulse": 70, "temperature": Decimal("37.0")}
BANDS = {"respiration_rate": news2.score_respiration_rate,
         "systolic_bp": news2.score_systolic_bp, "pulse": news2.score_pulse,
         "temperature": news2.score_temperature}


@given(observation)
def test_the_total_is_the_sum_of_the_subscores(obs):
    result = news2.score(**obs)
    assert result.total == sum(result.subscores.values())
    assert 0 <= result.total <= 20
    assert set(result.subscores) == set(news2.PARAMETERS)


@given(observation)
def test_every_subscore_is_0_to_3(obs):
    result = news2.score(**obs)
    assert all(value in (0, 1, 2, 3) for value in result.subscores.values())


@given(observation)
def test_low_medium_if_and_only_if_a_single_3_and_total_at_most_4(obs):
    result = news2.score(**obs)
    threes = sum(1 for v in result.subscores.values() if v == 3)
    assert (result.risk == "low-medium") == (threes >= 1 and result.total <= 4)
    if result.risk == "low-medium":
        assert threes == 1


@given(observation)
def test_risk_follows_the_total(obs):
    result = news2.score(**obs)
    if result.total >= 7:
        assert result.risk == "high"
    elif result.total >= 5:
        assert result.risk == "medium"
    else:
        assert result.risk in ("low", "low-medium")


@given(observation)
def test_the_response_matches_the_risk(obs):
    result = news2.score(**obs)
    expected = {"high": {"emergency"}, "medium": {"urgent"}, "low-medium": {"red"},
                "low": {"low", "routine"}}[result.risk]
    assert result.response.key in expected
    assert (result.response.key == "routine") == (result.total == 0)


@given(st.sampled_from(sorted(BANDS)), st.data())
def test_subscores_rise_with_the_distance_from_normal(parameter, data):
    """On each side of normal, a value further away never scores less."""
    normal = NORMAL[parameter]
    lo, hi = {"respiration_rate": (4, 60), "systolic_bp": (50, 280), "pulse": (25, 220),
              "temperature": (Decimal("30.0"), Decimal("43.0"))}[parameter]
    step = Decimal("0.1") if parameter == "temperature" else 1
    if parameter == "temperature":
        a = Decimal(data.draw(st.integers(int(lo * 10), int(hi * 10)))) / 10
        b = Decimal(data.draw(st.integers(int(lo * 10), int(hi * 10)))) / 10
    else:
        a = data.draw(st.integers(lo, hi))
        b = data.draw(st.integers(lo, hi))
    assert step
    if (a - normal) * (b - normal) < 0:
        return  # opposite sides of normal
    near, far = sorted((a, b), key=lambda v: abs(v - normal))
    assert BANDS[parameter](far) >= BANDS[parameter](near)


@given(st.integers(60, 100), st.integers(60, 100), st.booleans())
def test_scale_1_saturation_lower_never_scores_less(a, b, on_oxygen):
    low, high = sorted((a, b))
    assert news2.score_spo2_scale1(low) >= news2.score_spo2_scale1(high)


@given(st.integers(60, 100), st.integers(60, 100), st.booleans())
def test_scale_2_scores_rise_away_from_the_88_to_92_target(a, b, on_oxygen):
    for side in ((60, 88), (92, 100)):
        if all(side[0] <= v <= side[1] for v in (a, b)):
            near, far = sorted((a, b), key=lambda v: min(abs(v - 88), abs(v - 92)))
            assert news2.score_spo2_scale2(far, on_oxygen) >= \
                news2.score_spo2_scale2(near, on_oxygen)


@given(st.integers(60, 100))
def test_on_air_scale_2_never_scores_above_scale_1(spo2):
    assert news2.score_spo2_scale2(spo2, False) <= news2.score_spo2_scale1(spo2)


@given(observation, st.sampled_from(["respiration_rate", "spo2", "on_oxygen", "systolic_bp",
                                     "pulse", "consciousness", "temperature"]))
def test_dropping_any_parameter_gives_no_total(obs, parameter):
    result = news2.score(**{**obs, parameter: None})
    assert result.total is None and result.risk is None
    expected = "air_or_oxygen" if parameter == "on_oxygen" else parameter
    assert expected in result.missing


@settings(max_examples=200)
@given(observation)
def test_the_score_does_not_depend_on_how_numbers_are_written(obs):
    as_text = {k: (str(v) if k not in ("on_oxygen", "spo2_scale") else v)
               for k, v in obs.items()}
    assert news2.score(**as_text).total == news2.score(**obs).total


@given(st.one_of(st.integers(101, 10_000), st.integers(-10_000, -1)))
def test_saturations_outside_0_to_100_are_always_refused(spo2):
    try:
        news2.score(16, spo2, False, 120, 70, "A", 37.0, confirmed={"spo2"})
    except news2.InvalidObservation as exc:
        assert exc.problems[0].parameter == "spo2"
    else:
        raise AssertionError("scored an impossible saturation")
