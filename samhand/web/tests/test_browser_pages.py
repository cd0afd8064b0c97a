"""Every page in headless Chromium, as the persona who uses it: zero axe-core
WCAG 2.1 A/AA violations, htmx working under the Content-Security-Policy (no
inline script or style, so no CSP report in the console), and the full login typed
by hand with a real TOTP code.

Screenshots: set SAMHAND_SCREENSHOT_DIR to a folder to get PNGs of the main pages
at 1024x768 (tablet) and 390x844 (phone).
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import Page, expect

from samhand.conftest import PASSWORD
from samhand.patients.models import Consent, RelatedPerson

SHOTS = os.environ.get("SAMHAND_SCREENSHOT_DIR", "")


def shot(page: Page, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        # caret="initial": hiding the caret injects a style, which the CSP rightly blocks.
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True,
                        caret="initial")
        page.screenshot(path=str(Path(SHOTS) / f"{name}-top.png"), caret="initial")


def _is_expected(text: str) -> bool:
    # Chromium logs every 4xx/5xx response; a 422 is how a form says "check the fields".
    return "status of 422" in text


@pytest.fixture
def console_errors(page: Page) -> Iterator[list[str]]:
    """Console errors (a CSP violation shows up here) collected during the test."""
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text)
            if msg.type == "error" and not _is_expected(msg.text) else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield errors


def richer_patient(world: Any) -> Any:
    """patient_a with the details a real record has, for the screenshots."""
    patient = world.patient_a
    patient.phone = "917 23 456"
    patient.postal_code = "9010"
    patient.birth_date = dt.date(1961, 3, 14)
    patient.save()
    RelatedPerson.objects.create(patient=patient, name="Siri Aasen", relation="child",
                                 phone="922 33 444", may_be_told="everything")
    Consent.objects.create(patient=patient, scope=Consent.Scope.INDIVIDUAL_PLAN,
                           status=Consent.Status.GIVEN, recorded_by=world.coordinator_a,
                           recorded_by_organisation=world.ke_a,
                           recorded_at=timezone.now() - dt.timedelta(days=20))
    for colleague in (world.consultant, world.coordinator_a):  # someone has looked
        world.login(Client(), colleague).get(f"/patients/{patient.pk}/")
    return patient


def test_the_login_flow_typed_by_hand_with_a_totp_code(
        page: Page, live_server: Any, world: Any, check_axe: Any,
        console_errors: list[str]) -> None:
    device = TOTPDevice.objects.create(user=world.home_nurse_a, name="phone", confirmed=True)

    page.goto("/")
    expect(page).to_have_url(f"{live_server.url}/accounts/login/?next=%2F")
    expect(page.locator("html")).to_have_attribute("lang", "nb")
    check_axe(page)
    shot(page, "login")
    page.fill("input[name=username]", "home_nurse_a")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]:has-text('Fortsett')")

    expect(page.locator("h1")).to_have_text("Kode fra appen")
    check_axe(page)
    code = f"{totp(device.bin_key, device.step, device.t0, device.digits, device.drift):06d}"
    page.fill("input[name=code]", code)
    page.click("main button[type=submit]")

    expect(page.locator("h1")).to_have_text("Mine pasienter")
    expect(page.locator(".who__name")).to_have_text("Hanne Hjem")
    assert not console_errors, console_errors


def test_a_wrong_code_and_the_lockout_page_are_accessible(
        page: Page, live_server: Any, world: Any, check_axe: Any) -> None:
    TOTPDevice.objects.create(user=world.home_nurse_a, name="phone", confirmed=True)
    page.goto("/accounts/login/")
    page.fill("input[name=username]", "home_nurse_a")
    page.fill("input[name=password]", PASSWORD)
    page.click("main button[type=submit]")
    page.fill("input[name=code]", "000000")
    page.click("main button[type=submit]")
    expect(page.locator(".field__error")).to_be_visible()
    check_axe(page)

    for _ in range(6):
        page.goto("/accounts/login/")
        page.fill("input[name=username]", "home_nurse_a")
        page.fill("input[name=password]", "not the right password")
        page.click("main button[type=submit]")
    expect(page.locator("h1")).to_have_text("Innloggingen er sperret en stund")
    check_axe(page)


def test_setting_up_the_authenticator_is_accessible(
        page: Page, live_server: Any, world: Any, check_axe: Any,
        console_errors: list[str]) -> None:
    page.goto("/accounts/login/")
    page.fill("input[name=username]", "gp_a")
    page.fill("input[name=password]", PASSWORD)
    page.click("main button[type=submit]")

    expect(page.locator("img.qr")).to_be_visible()
    natural_width = page.eval_on_selector("img.qr", "img => img.naturalWidth")
    assert natural_width > 0, "the QR code (a data: URI) did not load under the CSP"
    check_axe(page)
    shot(page, "enrol")
    assert not console_errors, console_errors


def test_my_patients_page(page: Page, login_as: Any, world: Any, check_axe: Any,
                          console_errors: list[str]) -> None:
    richer_patient(world)
    login_as(world.home_nurse_a)
    page.goto("/")

    expect(page.locator("h1")).to_have_text("Mine pasienter")
    expect(page.locator("table a.patient-link")).to_have_text(["Aasen, Astrid"])
    check_axe(page)
    shot(page, "my-patients")

    page.fill("input[name=q]", page.evaluate("() => ''") + "14836")  # digits: refused
    page.click("form[role=search] button[type=submit]")
    expect(page.locator("#q_error")).to_be_visible()
    check_axe(page)
    assert not console_errors, console_errors


def test_the_patient_page_with_htmx_forms(page: Page, login_as: Any, world: Any,
                                          check_axe: Any, console_errors: list[str]) -> None:
    patient = richer_patient(world)
    login_as(world.home_nurse_a)
    page.goto(f"/patients/{patient.pk}/")

    expect(page.locator("h1")).to_have_text("Astrid Aasen")
    expect(page.locator("#care-team")).to_contain_text("77 00 10 00")
    check_axe(page)
    shot(page, "patient")

    # Show the whole national id: an audited htmx request swaps the number in.
    page.click("#national-id button")
    expect(page.locator("#national-id")).to_contain_text(patient.national_id)

    # Record a consent with an error first, then correctly.
    page.click("#consents .disclosure > summary")
    page.click("#consents button[type=submit]")
    expect(page.locator("#consents .field__error").first).to_be_visible()
    check_axe(page)
    page.check("#consents input[name=status][value=withdrawn]")
    page.select_option("#consents select[name=scope]", "relatives_access")
    page.click("#consents button[type=submit]")
    expect(page.locator("#consents .message--success")).to_have_text("Samtykket er registrert.")
    assert Consent.objects.filter(patient=patient, scope="relatives_access",
                                  status="withdrawn").exists()

    # Add a named person to the care team: the organisation brings its people.
    page.click("#care-team .disclosure > summary")
    page.select_option("#care-team select[name=organisation]", str(world.pulm.pk))
    expect(page.locator("#care-team select[name=user] option")).to_have_count(3)
    page.select_option("#care-team select[name=user]", str(world.ltmv_nurse.pk))
    page.select_option("#care-team select[name=role]", "hospital_coordinator")
    page.click("#care-team button[type=submit]")
    expect(page.locator("#care-team .message--success")).to_be_visible()
    expect(page.locator("#care-team")).to_contain_text("Koordinator i sykehuset")
    check_axe(page)

    # Add a relative with htmx.
    page.click("#relatives .disclosure > summary")
    page.fill("#relatives input[name=name]", "Per Naboen")
    page.select_option("#relatives select[name=relation]", "friend")
    page.click("#relatives button[type=submit]")
    expect(page.locator("#relatives")).to_contain_text("Per Naboen")
    check_axe(page)
    assert not console_errors, console_errors


def test_emergency_access_through_the_pages(page: Page, login_as: Any, world: Any,
                                            check_axe: Any, console_errors: list[str]) -> None:
    login_as(world.home_nurse_b)
    page.goto("/emergency/")
    check_axe(page)
    page.fill("input[name=national_id]", world.patient_a.national_id)
    page.click("main button[type=submit]")

    expect(page.locator("h2#start-title")).to_be_visible()
    check_axe(page)
    page.check("input[name=reason_code][value=acute]")
    page.fill("textarea[name=reason_text]", "Ringte legevakten med pustebesvær i natt.")
    page.fill("input[name=password]", PASSWORD)
    page.click("button.button--danger")

    expect(page.locator(".banner-emergency")).to_be_visible()
    expect(page.locator("h1")).to_have_text("Astrid Aasen")
    assert world.patient_a.national_id not in page.url
    check_axe(page)
    shot(page, "patient-emergency")

    page.click(".banner-emergency button")
    expect(page.locator(".message--success")).to_be_visible()
    assert not console_errors, console_errors


def test_no_emergency_access_without_hpr(page: Page, login_as: Any, world: Any,
                                         check_axe: Any) -> None:
    login_as(world.clerk_a)
    page.goto("/emergency/")
    expect(page.locator(".notice--danger")).to_be_visible()
    check_axe(page)


def test_organisation_directory(page: Page, login_as: Any, world: Any, check_axe: Any) -> None:
    login_as(world.home_nurse_a)
    page.goto("/organisations/")
    expect(page.locator("h1")).to_have_text("Organisasjoner")
    check_axe(page)
    shot(page, "organisations")
    page.fill("input[name=q]", "Nesvik")
    page.click("form[role=search] button[type=submit]")
    expect(page.locator("main")).to_contain_text("Hjemmesykepleien Nesvik")
    check_axe(page)


def test_the_relative_view(page: Page, login_as: Any, world: Any, check_axe: Any) -> None:
    as_consultant_first = world.patient_a  # someone has looked at the record
    login_as(world.relative_a)
    page.goto("/")
    expect(page.locator("h1")).to_have_text("Mine pårørende")
    check_axe(page)
    page.click(f"a[href='/relatives/{as_consultant_first.pk}/']")
    expect(page.locator("main")).to_contain_text("77 00 10 00")
    check_axe(page)
    shot(page, "relative-contacts")
    page.click(f"main a[href='/relatives/{as_consultant_first.pk}/access-log/']")
    expect(page.locator("h1")).to_contain_text("Hvem har sett journalen")
    check_axe(page)


def test_the_404_page(page: Page, login_as: Any, world: Any, check_axe: Any) -> None:
    login_as(world.home_nurse_b)
    response = page.goto(f"/patients/{world.patient_a.pk}/")
    assert response is not None and response.status == 404
    expect(page.locator("h1")).to_have_text("Fant ikke siden")
    check_axe(page)


def test_english_and_danish_pages_are_accessible_too(page: Page, login_as: Any, world: Any,
                                                     check_axe: Any) -> None:
    login_as(world.home_nurse_a)
    page.goto("/")
    page.click("button.lang__choice[value=en]")
    expect(page.locator("h1")).to_have_text("My patients")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    check_axe(page)
    page.click("button.lang__choice[value=da]")
    expect(page.locator("h1")).to_have_text("Mine patienter")
    page.goto(f"/patients/{world.patient_a.pk}/")
    check_axe(page)


class TestOnAPhone:
    @pytest.fixture
    def browser_context_args(self) -> dict[str, Any]:
        return {"locale": "nb-NO", "timezone_id": "Europe/Oslo",
                "viewport": {"width": 390, "height": 844}, "is_mobile": True,
                "has_touch": True}

    def test_my_patients_and_the_patient_page_fit_a_phone(
            self, page: Page, login_as: Any, world: Any, check_axe: Any) -> None:
        richer_patient(world)
        login_as(world.home_nurse_a)
        for name, url in (("phone-my-patients", "/"),
                          ("phone-patient", f"/patients/{world.patient_a.pk}/")):
            page.goto(url)
            check_axe(page)
            width = page.evaluate("() => document.documentElement.scrollWidth")
            assert width <= 390, f"{url} scrolls sideways on a phone ({width}px)"
            shot(page, name)


def test_older_access_log_entries_are_appended(page: Page, login_as: Any, world: Any,
                                               check_axe: Any,
                                               console_errors: list[str]) -> None:
    client = world.login(Client(), world.consultant)
    for _ in range(12):
        client.get(f"/patients/{world.patient_a.pk}/")
    login_as(world.home_nurse_a)
    page.goto(f"/patients/{world.patient_a.pk}/")
    expect(page.locator("#access-log-rows tr")).to_have_count(10)

    page.click("#access-log-more a")

    expect(page.locator("#access-log-rows tr")).to_have_count(13)  # 12 + her own read
    expect(page.locator("#access-log-more a")).to_have_count(0)
    check_axe(page)
    assert not console_errors, console_errors
