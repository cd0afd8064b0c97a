"""The demo adds weeks of observations and leaves one unit with an alert."""

import pytest

from samhand.alerts.models import Alert
from samhand.demo.data import load_demo
from samhand.observations.models import ObservationSet, Spo2ScaleOrder


@pytest.mark.django_db
def test_the_demo_has_observations_an_alert_and_a_scale_2_order():
    load_demo()
    assert ObservationSet.objects.filter(form_key="vital_signs").count() == 6 * 22
    assert ObservationSet.objects.filter(news2_risk="high").exists()
    assert Alert.objects.filter(episode_key__startswith="observations:").exists()
    assert Spo2ScaleOrder.objects.filter(ended_at__isnull=True).count() == 1
    load_demo()  # idempotent
    assert ObservationSet.objects.filter(form_key="vital_signs").count() == 6 * 22
