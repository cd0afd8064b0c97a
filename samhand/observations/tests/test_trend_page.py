"""The trend page reads one row per set (the database pivots the narrow vital-sign
rows): these pin what that must keep — each parameter's own series, a gap where a set
has no value, the table newest first, and the other sector's sets left out without the
patient's consent."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from django.utils import timezone

from samhand.observations.models import ObservationSet, VitalSign
from samhand.observations.views import TREND_CODES, trend_data, trend_rows


def stored_set(world: Any, patient: Any, org: Any, days_ago: int,
               values: dict[str, float]) -> ObservationSet:
    taken = timezone.now() - dt.timedelta(days=days_ago)
    obs = ObservationSet.objects.create(
        patient=patient, form_key="vital_signs", form_version=1, answers={},
        status=ObservationSet.Status.FINAL, organisation=org, taken_at=taken,
        finished_at=taken, news2_total=int(values.get("news2", 0)))
    VitalSign.objects.bulk_create([
        VitalSign(observation_set=obs, patient=patient, code=code, value=value,
                  taken_at=taken) for code, value in values.items()])
    return obs


def test_each_parameter_keeps_its_own_series_and_a_missing_value_is_a_gap(world):
    stored_set(world, world.patient_a, world.hn_a, 3, {"news2": 1, "pulse": 91,
                                                       "temperature": 37.5})
    stored_set(world, world.patient_a, world.hn_a, 1, {"news2": 5, "pulse": 112})
    since = timezone.now() - dt.timedelta(days=30)
    rows = trend_rows(world.patient_a, TREND_CODES, since)
    assert len(rows) == 2
    assert rows[0][0] < rows[1][0]
    data = trend_data(world.patient_a, TREND_CODES, since)
    assert [v for _t, v in data["news2"]] == [1, 5]
    assert [v for _t, v in data["pulse"]] == [91, 112]
    assert [v for _t, v in data["temperature"]] == [37.5]
    assert data["spo2"] == []


def test_the_table_has_one_row_a_set_newest_first_with_a_dash_for_a_gap(client, world):
    stored_set(world, world.patient_a, world.hn_a, 3, {"news2": 1, "pulse": 91,
                                                       "temperature": 37.5})
    stored_set(world, world.patient_a, world.hn_a, 1, {"news2": 5, "pulse": 112})
    world.login(client, world.home_nurse_a)
    page = client.get(f"/patients/{world.patient_a.pk}/observations/trends/?days=7")
    assert page.status_code == 200
    body = page.content.decode()
    rows = re.findall(r'<tr><th scope="row">[^<]*</th>(.*?)</tr>', body)
    cells = [re.findall(r'<td class="num">([^<]*)</td>', row) for row in rows]
    pulse, temperature = TREND_CODES.index("pulse"), TREND_CODES.index("temperature")
    assert [c[pulse] for c in cells] == ["112", "91"]
    assert [c[temperature] for c in cells] == ["–", "37.5"]
    assert body.count('<svg class="chart"') == len(TREND_CODES)


def test_the_other_sectors_sets_are_left_out_without_consent(world):
    from samhand.access.policy import grant_for

    stored_set(world, world.patient_b, world.hn_b, 2, {"news2": 2, "pulse": 80})
    stored_set(world, world.patient_b, world.pulm, 1, {"news2": 9, "pulse": 130})
    grant = grant_for(world.home_nurse_b, world.patient_b)
    since = timezone.now() - dt.timedelta(days=30)
    data = trend_data(world.patient_b, TREND_CODES, since, grant)
    assert [v for _t, v in data["pulse"]] == [80]
    assert [v for _t, v in trend_data(world.patient_b, TREND_CODES, since)["pulse"]] == [
        80, 130]
