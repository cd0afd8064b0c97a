"""An elective LTMV patient walked through the pathway in Chromium, as hospital and
municipal users in turn: referral, collaboration meeting, application, municipal
decision, training, a blocked discharge (the gate says what is missing), discharge,
the first home visit and phase 3. Every page is checked with axe-core."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from samhand.pathways.models import GateOverride, Pathway, Task
from samhand.patients.models import Consent
from samhand.web.tests.test_browser_pages import shot

pytestmark = pytest.mark.django_db(transaction=True)


def _record(page: Page, kind: str, *, when: str = "", **fields: str) -> None:
    form = page.locator("form[action$='/events/']")
    form.locator("select[name=kind]").select_option(kind)
    if when:
        form.locator("input[name=at]").fill(when)
    for name, value in fields.items():
        field = form.locator(f"[name={name}]")
        if field.evaluate("e => e.tagName") == "SELECT":
            field.select_option(value)
        else:
            field.fill(value)
    form.locator("button[type=submit]").click()


def _local(days_ago: float) -> str:
    at = timezone.localtime(timezone.now() - dt.timedelta(days=days_ago))
    return at.strftime("%Y-%m-%dT%H:%M")


def _complete(page: Page, task: Task, note: str) -> None:
    item = page.locator(f"#task-{task.pk}")
    item.locator("summary").click()
    item.locator("textarea[name=note]").fill(note)
    item.locator("button:has-text('done'), button:has-text('utført'), "
                 "button:has-text('ferdig')").first.click()
    expect(page.locator(f"#task-{task.pk} .pill--given")).to_be_visible()


def test_an_elective_ltmv_patient_from_referral_to_phase_3(
        page: Page, login_as: Any, ltmv: Any, check_axe: Any) -> None:
    world = ltmv
    patient = world.patient_a
    base = f"/patients/{patient.pk}/pathways/"

    # Hospital: the LTMV nurse starts the pathway and records the referral.
    login_as(world.ltmv_nurse)
    page.goto(base)
    check_axe(page)
    page.locator("select[name=template]").select_option("ltmv_invasive")
    page.locator("select[name=entry]").select_option("elective")
    page.locator("input[name=at]").fill(
        (timezone.localdate() - dt.timedelta(days=120)).isoformat())
    page.locator("form[action$='/start/'] button[type=submit]").click()
    pathway = Pathway.objects.get(patient=patient)
    expect(page).to_have_url(re.compile(f"{base}{pathway.pk}/$"))
    _record(page, "referral", when=_local(110))
    expect(page.locator("#events .list__title")).to_have_count(1)
    assert pathway.events.filter(kind="referral").exists()
    consent = Task.objects.get(pathway=pathway, task_key="consent_obtained")
    expect(page.locator(f"#task-{consent.pk}")).to_be_visible()
    check_axe(page)

    # The collaboration meeting and the application.
    _record(page, "meeting_held", when=_local(100))
    _record(page, "application_sent", when=_local(95))
    assert Task.objects.filter(pathway=pathway, task_key="application_written",
                               status="done").exists()

    # Municipality: the coordinator records the decision with the discharge-ready date.
    login_as(world.coordinator_a)
    page.goto(f"{base}{pathway.pk}/")
    ready = timezone.localdate() - dt.timedelta(days=10)
    _record(page, "municipal_decision", when=_local(30),
            discharge_ready_from=ready.isoformat())
    expect(page.locator("#days-ready")).to_have_text("10")
    # No notice and no other answer: the municipality set the date, so every day since
    # is its to pay (seed 000: "kodes ferdigbehandlet etter denne dato").
    expect(page.locator("#days-payable")).to_have_text("10")
    expect(page.locator("#discharge-ready")).to_be_visible()
    check_axe(page)

    # Hospital: training date, admission for training, training done.
    login_as(world.ltmv_nurse)
    page.goto(f"{base}{pathway.pk}/")
    _record(page, "admitted", when=_local(25))
    _record(page, "training_date_set", when=_local(20))
    trained = Task.objects.get(pathway=pathway, task_key="municipal_team_trained")
    page.goto(f"{base}{pathway.pk}/")
    _complete(page, trained, "Hjemmesykepleien Fjordby opplært 3 dager")

    # A blocked discharge: the gate says what is missing and who owns it.
    _record(page, "discharged", when=_local(2))
    expect(page.locator("form[action$='/events/'] .notice--danger")).to_contain_text(
        "Medisinsk og respiratorisk stabil")
    stable = page.locator("#criterion-medically_stable")
    expect(stable).to_have_class(re.compile("gate__item--unmet"))
    expect(page.locator("#criterion-team_trained")).to_have_class(re.compile("gate__item--met"))
    expect(page.locator("#criterion-individual_plan")).to_have_class(
        re.compile("gate__item--unmet"))
    check_axe(page)
    shot(page, "pathway-gate-blocked")
    assert not pathway.events.filter(kind="discharged").exists()

    # Municipality: the coordinator starts the individual plan on the plans pages (the
    # patient has consented); the gate's criterion turns green.
    Consent.objects.create(patient=patient, scope=Consent.Scope.INDIVIDUAL_PLAN,
                           status=Consent.Status.GIVEN, recorded_by=world.coordinator_a,
                           recorded_by_organisation=world.ke_a)
    login_as(world.coordinator_a)
    page.goto(f"/patients/{patient.pk}/plans/individual/")
    page.locator("form[action$='/individual/start/'] button[type=submit]").click()
    expect(page.locator("#version-title")).to_be_visible()
    check_axe(page)
    page.goto(f"{base}{pathway.pk}/")
    expect(page.locator("#criterion-individual_plan")).to_have_class(
        re.compile("gate__item--met"))

    # The responsible consultant judges the patient stable and discharges, overriding the
    # plan criteria that are still open (binder, treatment and action plans) with a
    # written reason.
    login_as(world.consultant)
    page.goto(f"{base}{pathway.pk}/")
    stable = page.locator("#criterion-medically_stable")
    stable.locator("summary").click()
    stable.locator("input[value=yes]").check()
    stable.locator("textarea").fill("Stabil på respirator i 3 uker")
    stable.locator("button[type=submit]").click()
    expect(page.locator("#criterion-medically_stable")).to_have_class(
        re.compile("gate__item--met"))
    _record(page, "discharged", when=_local(2),
            override_reason="Pasienten ønsker hjem før jul; planene ferdigstilles første uke")
    expect(page.locator(".notice--danger")).to_contain_text("planene ferdigstilles")
    override = GateOverride.objects.get(pathway=pathway)
    assert override.by == world.consultant
    assert "individual_plan" not in {c["key"] for c in override.unmet}
    pathway.refresh_from_db()
    assert pathway.phase == "novice"
    check_axe(page)

    # Hospital: the first home visit, due within a month of discharge.
    visit = Task.objects.get(pathway=pathway, task_key="first_home_visit")
    assert visit.due_at is not None and visit.due_at > pathway.discharged_at
    login_as(world.ltmv_nurse)
    page.goto(f"{base}{pathway.pk}/")
    _complete(page, visit, "Hjemmebesøk: utstyr og rutiner gjennomgått")

    # Municipality: the home nurse sees the supervised cannula changes on the pathway.
    login_as(world.home_nurse_a)
    page.goto(f"{base}{pathway.pk}/")
    change = Task.objects.filter(pathway=pathway, task_key="cannula_change").order_by("seq")[0]
    expect(page.locator(f"#task-{change.pk} .pill--brand")).to_be_visible()

    # Into phase 3.
    login_as(world.ltmv_nurse)
    page.goto(f"{base}{pathway.pk}/")
    _record(page, "phase_changed", phase="experienced")
    pathway.refresh_from_db()
    assert pathway.phase == "experienced"
    expect(page.locator(".page-head .tags")).to_contain_text("Fase 3")

    # The timeline tells the story, newest first.
    page.goto(f"/patients/{patient.pk}/timeline/")
    expect(page.locator(".timeline__item--override")).to_be_visible()
    check_axe(page)
    shot(page, "timeline")
    login_as(world.home_nurse_a)
    page.goto("/worklists/home-nursing/?window=week")
    check_axe(page)
    shot(page, "worklist-home-nursing")
