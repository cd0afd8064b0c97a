"""An alert is read in the reader's language, whoever raised it in whichever language:
the sweep at night, a nurse working in English. Escalations and the "normal again"
line too; the stored text stays as written (search, exports)."""

from __future__ import annotations

import datetime as dt

import time_machine
from django.test import Client
from django.utils import translation

from samhand.alerts.models import Alert
from samhand.observations import services
from samhand.observations.escalation import sweep

from .conftest import VITALS_HIGH, VITALS_NORMAL

OFFICE = dt.datetime(2026, 11, 24, 9, 0, tzinfo=dt.UTC)
HIGH_EN = "NEWS2 8 (high): emergency response — assess at once."
HIGH_NB = "NEWS2 8 (høy): akutt respons — vurder straks."


def _record(world, as_user, answers, at):
    actor, grant = as_user(world.home_nurse_a, world.patient_a)
    with time_machine.travel(at, tick=False):
        return services.save_observation(actor, world.patient_a, grant,
                                         form_key="vital_signs", answers=answers, final=True)


def _page(world, language: str) -> str:
    client = world.login(Client(), world.home_nurse_a)
    client.cookies["django_language"] = language
    return client.get("/observations/alerts/", HTTP_ACCEPT_LANGUAGE=language).content.decode()


def test_an_alert_raised_in_english_is_shown_in_norwegian_and_english(world, as_user):
    with translation.override("en"):
        _record(world, as_user, VITALS_HIGH, OFFICE)
    alert = Alert.objects.get()
    assert alert.text == HIGH_EN  # as written
    with translation.override("nb"):
        assert alert.display_text == HIGH_NB
    assert HIGH_NB in _page(world, "nb")
    assert HIGH_EN in _page(world, "en")


def test_an_escalation_and_the_normal_again_line_are_said_in_the_readers_language(
        world, as_user):
    with translation.override("en"):
        _record(world, as_user, VITALS_HIGH, OFFICE)
        with time_machine.travel(OFFICE + dt.timedelta(minutes=16), tick=False):
            assert sweep()["escalated"] == 1
        _record(world, as_user, VITALS_NORMAL, OFFICE + dt.timedelta(minutes=20))
    first, escalated = Alert.objects.order_by("escalation_level")
    assert escalated.text.startswith("Not acknowledged by")
    with translation.override("nb"):
        said = escalated.display_text
        assert said.startswith("Ikke kvittert av") and HIGH_NB in said
        first.refresh_from_db()
        shown = first.display_text
        assert shown.startswith(HIGH_NB) and "Verdiene er normale" in shown
    assert "Values normalised" in first.text  # stored as written


def test_the_alerts_task_on_the_worklist_reads_in_the_readers_language_too(world, as_user):
    from samhand.pathways.models import Task

    with translation.override("en"):
        _record(world, as_user, VITALS_HIGH, OFFICE)
    alert = Alert.objects.get()
    task = Task.objects.get(source=f"alert:{alert.pk}")
    assert task.title == HIGH_EN  # as written
    assert task.display_title("nb") == HIGH_NB
    assert task.display_title("en") == HIGH_EN
    assert task.display_title("da").startswith("NEWS2 8") and task.display_title("da") != HIGH_EN
