"""In Chromium: a collaboration meeting from the invitation to the signed agreement,
and the resulting task on the pathway; the plans pages are axe-clean."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone
from playwright.sync_api import Page, expect

from samhand.lib.timeutil import OSLO
from samhand.pathways.models import Task
from samhand.plans.models import Document, Meeting

from .helpers import full_ltmv_patient, start_ltmv_pathway


def test_a_meeting_from_invitation_to_signed_agreement_makes_tasks(
        page: Page, login_as: Any, world: Any, check_axe: Any) -> None:
    pathway = start_ltmv_pathway(world)
    patient = world.patient_a
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text)
            if msg.type == "error" and "status of 422" not in msg.text else None)

    # The LTMV nurse calls the meeting (one hour ago: it is being held now).
    login_as(world.ltmv_nurse)
    page.goto(f"/patients/{patient.pk}/plans/meetings/")
    expect(page.locator("h1")).to_have_text("Samarbeidsmøter")
    check_axe(page)
    starts = (timezone.now() - dt.timedelta(hours=1)).astimezone(OSLO)
    page.fill("input[name=starts_at]", starts.strftime("%Y-%m-%dT%H:%M"))
    page.fill("input[name=place]", "Møterom 3, lungeavdelingen")
    page.click("#call button[type=submit]")
    expect(page.locator("h1")).to_have_text("Samarbeidsmøte")
    meeting = Meeting.objects.get(patient=patient)
    assert {p.side for p in meeting.participants.all()} == {"hospital", "municipality"}
    expect(page.locator("main")).to_contain_text("Registrert før møtet")
    check_axe(page)

    # A decision in the minutes (htmx swaps the record in).
    page.click("#meeting-record .disclosure > summary >> nth=0")
    page.check("input[name=kind][value=decision]")
    page.fill("textarea[name=text]", "Kommunen setter sammen pleieteamet")
    page.select_option("select[name=owner_organisation]", str(world.hn_a.pk))
    page.fill("input[name=deadline]", "2027-01-15")
    page.click("form[action$='/minutes/'] button[type=submit]")
    expect(page.locator("#minutes")).to_contain_text("Kommunen setter sammen pleieteamet")
    check_axe(page)

    page.click("#agreement .disclosure > summary")
    page.fill("textarea[name=agreement_text]",
              "Sykehuset lærer opp teamet. Kommunen stiller team innen tre måneder.")
    page.click("form[action$='/agreement/'] button[type=submit]")
    expect(page.locator("#agreement")).to_contain_text("Kommunen stiller team")

    page.click("form[action$='/sign/'] button[type=submit]")
    expect(page.locator("#signatures")).to_contain_text("Lise Lunde")
    check_axe(page)

    # Someone not in the meeting is refused; the coordinator signs for the municipality.
    login_as(world.home_nurse_a)
    page.goto(f"/patients/{patient.pk}/plans/meetings/{meeting.pk}/")
    page.click("form[action$='/sign/'] button[type=submit]")
    expect(page.locator("#meeting-record .notice--danger")).to_contain_text(
        "Bare en navngitt deltaker")
    login_as(world.coordinator_a)
    page.goto(f"/patients/{patient.pk}/plans/meetings/{meeting.pk}/")
    page.click("form[action$='/sign/'] button[type=submit]")
    expect(page.locator("#meeting-record")).to_contain_text("kommunen er varslet")
    check_axe(page)

    meeting.refresh_from_db()
    assert meeting.status == "signed"
    assert set(Document.objects.filter(meeting=meeting).values_list("kind", flat=True)) == {
        "minutes", "agreement"}
    task = Task.objects.get(pathway=pathway, kind="decision")
    assert task.owner_organisation == world.hn_a
    assert pathway.events.filter(kind="meeting_held").exists()

    # The task is on the pathway.
    page.goto(f"/patients/{patient.pk}/pathways/{pathway.pk}/")
    expect(page.locator("main")).to_contain_text("Kommunen setter sammen pleieteamet")
    assert not errors, errors


def test_the_plans_pages_are_accessible(page: Page, login_as: Any, world: Any,
                                        check_axe: Any) -> None:
    patient = full_ltmv_patient(world)
    login_as(world.consultant)
    for path in ("", "individual/", "individual/compare/", "individual/edit/", "treatment/",
                 "treatment/edit/", "action/", "action/scenarios/blocked_cannula/",
                 "meetings/"):
        page.goto(f"/patients/{patient.pk}/plans/{path}")
        expect(page.locator("h1")).to_be_visible()
        check_axe(page)
    # The plans were saved outside a test transaction: the binder was made on commit.
    page.goto(f"/patients/{patient.pk}/plans/binder/")
    expect(page.locator("#binder-status")).to_contain_text("Gjeldende")
    assert Document.objects.filter(patient=patient, kind="binder").exists()
    check_axe(page)
    with page.expect_download() as download:
        page.click("#binder-status a.button")
    assert download.value.suggested_filename.startswith("binder-")
