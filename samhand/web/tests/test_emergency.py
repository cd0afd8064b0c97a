"""Emergency access through the web UI (security.md #6): lookup by full national id
(POST only), re-authentication, reason, a time-boxed grant with a red banner, end
and expiry; no emergency access without an HPR number."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from samhand.access.models import EmergencyAccessGrant
from samhand.audit.models import AuditEvent, ReviewItem
from samhand.conftest import PASSWORD

from .helpers import as_user, audit_rows, text

START = {"password": PASSWORD, "reason_code": EmergencyAccessGrant.Reason.ACUTE_TREATMENT,
         "reason_text": "Pasienten ringte legevakten med pustebesvær, teamet svarer ikke."}


def look_up(client: Client, number: str) -> Any:
    return client.post("/emergency/", {"national_id": number})


def open_with_emergency_access(world: Any, client: Client, patient: Any) -> Any:
    look_up(client, patient.national_id)
    return client.post("/emergency/start/", START)


@pytest.fixture
def nurse_b(world: Any) -> Client:
    return as_user(world, world.home_nurse_b)


def test_the_page_offers_the_lookup_to_health_personnel(world: Any, nurse_b: Client) -> None:
    response = nurse_b.get("/emergency/")
    assert response.status_code == 200
    assert response.context["may_use"] is True
    assert 'name="national_id"' in text(response)


def test_staff_without_hpr_are_refused_clearly(world: Any) -> None:
    client = as_user(world, world.clerk_a)

    page = client.get("/emergency/")
    lookup = look_up(client, world.patient_b.national_id)

    assert "Only authorised health personnel" in text(page)
    assert 'name="national_id"' not in text(page)
    assert lookup.status_code == 403
    assert client.post("/emergency/start/", START).status_code == 403
    assert not EmergencyAccessGrant.objects.exists()
    assert not audit_rows(patient_id=world.patient_b.pk, user_id=world.clerk_a.pk)


def test_the_full_flow_opens_the_record_with_a_red_banner(world: Any, nurse_b: Client) -> None:
    found = look_up(nurse_b, world.patient_a.national_id)
    assert found.status_code == 200
    assert found.context["candidate"] is True
    assert "Astrid" not in text(found)  # nothing about the patient before the reason

    started = nurse_b.post("/emergency/start/", START)

    assert started.status_code == 302
    assert started["Location"] == f"/patients/{world.patient_a.pk}/"
    assert world.patient_a.national_id not in started["Location"]
    grant = EmergencyAccessGrant.objects.get(user=world.home_nurse_b, patient=world.patient_a)
    assert grant.reason_code == EmergencyAccessGrant.Reason.ACUTE_TREATMENT
    start_row = audit_rows(code="samhand.emergency.started")[-1]
    assert start_row.reason_code == "acute" and start_row.patient_id == world.patient_a.pk
    assert ReviewItem.objects.filter(audit_event=start_row).exists()

    page = nurse_b.get(started["Location"])
    assert page.status_code == 200
    assert page.context["emergency"] == grant
    assert "banner-emergency" in text(page)
    assert "End emergency access" in text(page)
    assert audit_rows(code="samhand.patient.read")[-1].basis == AuditEvent.Basis.EMERGENCY


def test_the_lookup_is_audited_without_the_number(world: Any, nurse_b: Client) -> None:
    look_up(nurse_b, world.patient_a.national_id)
    row = audit_rows(code="samhand.patient.search")[-1]
    assert row.patient_id == world.patient_a.pk
    assert row.basis == AuditEvent.Basis.NONE  # no grant yet
    assert world.patient_a.national_id not in row.query


def test_the_wrong_password_opens_nothing(world: Any, nurse_b: Client) -> None:
    look_up(nurse_b, world.patient_a.national_id)
    response = nurse_b.post("/emergency/start/", {**START, "password": "not my password!"})

    assert response.status_code == 422
    assert response.context["start_form"].errors["password"] == ["Wrong password."]
    assert not EmergencyAccessGrant.objects.exists()
    assert START["reason_text"] in text(response)  # kept for the next try


def test_a_reason_is_required_and_explained_next_to_the_field(world: Any,
                                                              nurse_b: Client) -> None:
    look_up(nurse_b, world.patient_a.national_id)
    response = nurse_b.post("/emergency/start/", {**START, "reason_text": "fordi"})

    assert response.status_code == 422
    assert response.context["start_form"].errors["reason_text"]
    assert not EmergencyAccessGrant.objects.exists()


def test_an_unknown_number_is_said_plainly(world: Any, nurse_b: Client) -> None:
    from samhand.conftest import fnr

    response = look_up(nurse_b, fnr(dt.date(1999, 9, 9), 300))
    assert response.status_code == 422
    assert "No patient with this number" in text(response)


def test_an_invalid_number_is_explained(world: Any, nurse_b: Client) -> None:
    response = look_up(nurse_b, "123")
    assert response.status_code == 422
    assert response.context["lookup_form"].errors["national_id"]


def test_own_patients_go_straight_to_the_record(world: Any) -> None:
    client = as_user(world, world.home_nurse_a)
    response = look_up(client, world.patient_a.national_id)
    assert response.status_code == 302
    assert response["Location"] == f"/patients/{world.patient_a.pk}/"
    assert not EmergencyAccessGrant.objects.exists()


def test_start_without_a_lookup_goes_back_to_the_lookup(world: Any, nurse_b: Client) -> None:
    response = nurse_b.post("/emergency/start/", START)
    assert response.status_code == 302 and response["Location"] == "/emergency/"
    assert not EmergencyAccessGrant.objects.exists()


def test_access_ends_when_the_grant_runs_out(world: Any, nurse_b: Client, settings: Any) -> None:
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        open_with_emergency_access(world, nurse_b, world.patient_a)
        assert nurse_b.get(f"/patients/{world.patient_a.pk}/").status_code == 200
    minutes = settings.SAMHAND_EMERGENCY_ACCESS_MINUTES
    for now in [*range(20, minutes, 20), minutes - 1]:  # the nurse keeps working
        with time_machine.travel(start + dt.timedelta(minutes=now), tick=False):
            assert nurse_b.get(f"/patients/{world.patient_a.pk}/").status_code == 200
    with time_machine.travel(start + dt.timedelta(minutes=minutes + 1), tick=False):
        nurse_b.get("/emergency/")
        assert nurse_b.get(f"/patients/{world.patient_a.pk}/").status_code == 404


def test_ending_emergency_access_closes_the_record(world: Any, nurse_b: Client) -> None:
    open_with_emergency_access(world, nurse_b, world.patient_a)
    grant = EmergencyAccessGrant.objects.get()

    page = nurse_b.get("/emergency/")
    assert page.context["grants"] == [grant]
    response = nurse_b.post(f"/emergency/{grant.pk}/end/")

    assert response.status_code == 302
    grant.refresh_from_db()
    assert grant.ended_at is not None
    assert audit_rows(code="samhand.emergency.ended")
    assert nurse_b.get(f"/patients/{world.patient_a.pk}/").status_code == 404


def test_nobody_else_can_end_someones_grant(world: Any, nurse_b: Client) -> None:
    open_with_emergency_access(world, nurse_b, world.patient_a)
    grant = EmergencyAccessGrant.objects.get()

    response = as_user(world, world.ltmv_nurse).post(f"/emergency/{grant.pk}/end/")

    assert response.status_code == 404
    grant.refresh_from_db()
    assert grant.ended_at is None


def test_the_national_id_never_travels_in_a_url(world: Any, nurse_b: Client) -> None:
    responses = [nurse_b.get("/emergency/"), look_up(nurse_b, world.patient_a.national_id),
                 nurse_b.post("/emergency/start/", START)]
    for response in responses:
        assert world.patient_a.national_id not in response.get("Location", "")
