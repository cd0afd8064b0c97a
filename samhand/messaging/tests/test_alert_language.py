"""Alerts that messages raise are read in the reader's language: the receiving worker
writes them in the installation's language, a nurse may read in English or Danish."""

from __future__ import annotations

from django.utils import timezone, translation

from samhand.alerts.models import Alert
from samhand.audit.services import Actor
from samhand.messaging import effects
from samhand.messaging.models import HospitalStay


def test_an_admission_alert_written_in_norwegian_reads_in_english(world):
    stay = HospitalStay.objects.create(
        patient=world.patient_a, episode_ids=["ep-1"], hospital_name="Fjordby sykehus",
        state="admitted", state_at=timezone.now(), last_code="STIN",
        started_at=timezone.now())
    with translation.override("nb"):
        effects.admitted(world.patient_a, stay, Actor(client="system"))
    alert = Alert.objects.get(kind="admission")
    assert alert.text.startswith("Innlagt på Fjordby sykehus")  # as the worker wrote it
    with translation.override("en"):
        assert alert.display_text == ("Admitted to Fjordby sykehus. Pause home visits and "
                                      "send the admission report.")
