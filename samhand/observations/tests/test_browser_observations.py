"""In headless Chromium (axe-clean, no CSP errors): a home nurse records a high NEWS2,
the alert is on the unit's page, ISBAR is written and the alert acknowledged; an
unacknowledged alert goes to the GP; a relative's self-report reaches the unit."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from samhand.alerts.models import Alert
from samhand.observations import services
from samhand.observations.escalation import sweep
from samhand.observations.models import IsbarReport

from .conftest import VITALS_NORMAL, actor_and_grant

pytestmark = pytest.mark.browser


@pytest.fixture
def console_errors(page: Page) -> Iterator[list[str]]:
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text)
            if msg.type == "error" and "status of 422" not in msg.text else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield errors


def test_high_news2_to_the_units_alert_isbar_and_acknowledgement(
        page: Page, login_as: Any, world: Any, check_axe: Any,
        console_errors: list[str]) -> None:
    patient = world.patient_a
    login_as(world.home_nurse_a)
    page.goto(f"/patients/{patient.pk}/observations/")
    check_axe(page)
    page.goto(f"/patients/{patient.pk}/observations/new/vital_signs/")
    check_axe(page)
    page.fill("#respiration_rate", "26")
    page.fill("#spo2", "91")
    page.check("#on_oxygen_yes")
    page.fill("#systolic_bp", "118")
    page.fill("#pulse", "112")
    page.check("#consciousness_a")
    page.fill("#temperature", "3.7")  # meant as 37: refused, nothing stored
    page.click("button[name=action][value=finish]")
    expect(page.locator(".field__error").first).to_contain_text("37.0")
    expect(page.locator(".htmx-request")).to_have_count(0)  # the swap has settled
    check_axe(page)
    page.fill("#temperature", "38,4")
    page.click("button[name=action][value=finish]")
    expect(page.locator(".news2__total")).to_have_text("11")
    check_axe(page)

    page.goto("/observations/alerts/")
    expect(page.locator(".alert-row")).to_contain_text(patient.family_name)
    expect(page.locator(".alert-row")).to_contain_text("NEWS2 11")
    check_axe(page)
    page.click("button[name=next][value=isbar]")
    expect(page.locator("label[for=isbar-identify]")).to_contain_text("Identifisering")
    expect(page.locator("#isbar-assessment")).to_contain_text("NEWS2 11")
    check_axe(page)
    page.fill("#isbar-recommendation", "Lege tilser pasienten innen 30 minutter.")
    page.click("main form button[type=submit]")
    expect(page.locator(".messages")).to_be_visible()
    check_axe(page)

    alert = Alert.objects.get(patient=patient)
    assert alert.acknowledged_by == world.home_nurse_a
    report = IsbarReport.objects.get(patient=patient)
    assert report.alert_id == alert.pk
    assert report.recommendation.startswith("Lege tilser")
    page.goto(f"/patients/{patient.pk}/observations/trends/")
    check_axe(page)
    assert console_errors == []


def test_an_unacknowledged_alert_reaches_the_gp(
        page: Page, login_as: Any, world: Any, check_axe: Any,
        console_errors: list[str]) -> None:
    actor, grant = actor_and_grant(world.home_nurse_a, world.patient_a)
    services.save_observation(actor, world.patient_a, grant, form_key="vital_signs",
                              answers={**VITALS_NORMAL, "consciousness": "c"}, final=True)
    Alert.objects.update(due_at=timezone.now() - dt.timedelta(minutes=1))
    assert sweep()["escalated"] == 1
    login_as(world.gp_a)
    page.goto("/observations/alerts/")
    expect(page.locator(".alert-row")).to_contain_text(world.patient_a.family_name)
    expect(page.locator(".alert-row")).to_contain_text(world.hn_a.name)
    check_axe(page)
    login_as(world.consultant)  # the responsible doctor tightens the rules
    page.goto(f"/patients/{world.patient_a.pk}/observations/rules/")
    check_axe(page)
    page.fill("#news2_threshold", "4")
    page.click("main form button[type=submit]")
    expect(page.locator("#news2_threshold")).to_have_value("4")
    check_axe(page)
    assert console_errors == []


def test_a_relatives_self_report_reaches_the_home_nursing_unit(
        page: Page, login_as: Any, world: Any, check_axe: Any,
        console_errors: list[str]) -> None:
    login_as(world.relative_a)
    page.goto(f"/patients/{world.patient_a.pk}/report-worse/")
    check_axe(page)
    page.check("#symptoms_breathless")
    page.fill("#text", "Han puster tyngre enn vanlig i kveld.")
    page.click("button.big-button")
    expect(page.locator("h1")).to_be_visible()
    expect(page.locator("main")).to_contain_text(world.hn_a.name)
    expect(page.locator("main")).to_contain_text("400 00 001")
    check_axe(page)

    login_as(world.home_nurse_a)
    page.goto("/observations/alerts/")
    expect(page.locator(".alert-row")).to_contain_text(world.patient_a.family_name)
    check_axe(page)
    assert console_errors == []


def _shot(page: Page, name: str) -> None:
    """A full-page screenshot when SAMHAND_SCREENSHOTS names a folder (to look at)."""
    import os

    folder = os.environ.get("SAMHAND_SCREENSHOTS")
    if folder:
        page.screenshot(path=f"{folder}/{name}.png", full_page=True)


def test_an_isbar_is_sent_to_the_gp_and_shows_on_the_message_trail(
        page: Page, login_as: Any, world: Any, check_axe: Any,
        console_errors: list[str]) -> None:
    from samhand.messaging.models import Partner

    Partner.objects.create(name="Fjordby sykepleietjeneste", organisation=world.hn_a,
                           her_id="2001", is_local=True, service="home_nursing")
    Partner.objects.create(name="Fjordby legesenter", organisation=world.gp_office,
                           her_id="2003", service="gp")
    actor, grant = actor_and_grant(world.home_nurse_a, world.patient_a)
    services.save_observation(actor, world.patient_a, grant, form_key="vital_signs",
                              answers={**VITALS_NORMAL, "respiration_rate": 26,
                                       "spo2": 91, "on_oxygen": True}, final=True)
    login_as(world.home_nurse_a)
    page.goto(f"/patients/{world.patient_a.pk}/observations/isbar/")
    page.fill("#isbar-recommendation", "Fastlegen vurderer pasienten i dag.")
    page.click("main form button[type=submit]")
    expect(page.locator("#isbar-receiver")).to_be_visible()
    expect(page.locator("#isbar-phone")).to_have_value("400 00 001")
    check_axe(page)
    _shot(page, "isbar-send-form")
    page.select_option("#isbar-receiver", label="Fjordby legesenter (Legekontor)")
    page.click("#isbar-send-title ~ form button[type=submit]")
    expect(page.locator("#isbar-sent")).to_contain_text("Fjordby legesenter")
    expect(page.locator("#isbar-identify")).to_have_attribute("readonly", "")
    check_axe(page)
    _shot(page, "isbar-sent")
    page.click("#isbar-sent a")
    expect(page.locator("main")).to_contain_text("Fastlegen vurderer pasienten i dag.")
    check_axe(page)
    page.goto(f"/patients/{world.patient_a.pk}/messages/")
    expect(page.locator("main")).to_contain_text("Helseopplysninger til lege")
    page.goto(f"/patients/{world.patient_a.pk}/timeline/?kind=isbar")
    expect(page.locator(".timeline")).to_contain_text("ISBAR sendt til Fjordby legesenter")
    check_axe(page)
    _shot(page, "timeline-isbar")
    assert console_errors == []


def test_a_nurse_marks_a_set_entered_in_error_and_it_leaves_the_trend(
        page: Page, login_as: Any, world: Any, check_axe: Any,
        console_errors: list[str]) -> None:
    actor, grant = actor_and_grant(world.home_nurse_a, world.patient_a)
    services.save_observation(actor, world.patient_a, grant, form_key="vital_signs",
                              answers=VITALS_NORMAL, final=True,
                              taken_at=timezone.now() - dt.timedelta(hours=3))
    wrong = services.save_observation(actor, world.patient_a, grant, form_key="vital_signs",
                                      answers={**VITALS_NORMAL, "pulse": 135}, final=True)
    login_as(world.home_nurse_a)
    page.goto(f"/patients/{world.patient_a.pk}/observations/{wrong.pk}/")
    page.click("text=Merk som feilregistrert")
    expect(page.locator("h1")).to_have_text("Merk som feilregistrert")
    check_axe(page)
    page.fill("#reason", "feil")  # too short: refused by the server with a message
    page.evaluate("document.querySelector('#reason').removeAttribute('minlength')")
    page.click("main form button[type=submit]")
    expect(page.locator("[role=alert]")).to_contain_text("minst 5 tegn")
    check_axe(page)
    _shot(page, "set-error-refused")
    page.fill("#reason", "Pulsen ble målt på feil pasient.")
    page.click("main form button[type=submit]")
    expect(page.locator("#entered-in-error")).to_contain_text("Pulsen ble målt på feil pasient.")
    check_axe(page)
    _shot(page, "set-entered-in-error")
    page.goto(f"/patients/{world.patient_a.pk}/observations/trends/")
    expect(page.locator("main")).not_to_contain_text("135")
    check_axe(page)
    assert console_errors == []


def test_closer_observation_and_the_pathways_rule_defaults_are_shown(
        page: Page, login_as: Any, world: Any, check_axe: Any,
        console_errors: list[str]) -> None:
    from samhand.observations.defaults import seed_rules

    seed_rules(world.patient_a, template_key="home_niv")
    actor, grant = actor_and_grant(world.home_nurse_a, world.patient_a)
    services.save_observation(actor, world.patient_a, grant, form_key="vital_signs",
                              answers={**VITALS_NORMAL, "respiration_rate": 26,
                                       "spo2": 91, "on_oxygen": True}, final=True)
    login_as(world.consultant)
    page.goto(f"/patients/{world.patient_a.pk}/observations/")
    expect(page.locator("#closer-observation")).to_contain_text("hver 24. time")
    expect(page.locator("#scale2-suggested")).to_be_visible()
    check_axe(page)
    _shot(page, "overview-closer-observation")
    page.goto(f"/patients/{world.patient_a.pk}/observations/rules/")
    expect(page.locator(".callout")).to_contain_text("forordnes av lege")
    expect(page.locator("#close_every_hours")).to_have_value("24")
    page.fill("#close_every_hours", "12")
    page.click("main form button[type=submit]")
    expect(page.locator("#close_every_hours")).to_have_value("12")
    check_axe(page)
    _shot(page, "rules-seeded")
    assert console_errors == []
