"""A relative with a delegation (security.md #9, #28): their patients, the care
team's numbers and the access log, only within the delegation's scopes; a revoked or
expired delegation closes everything on the next request."""

from __future__ import annotations

import datetime as dt
from typing import Any

import time_machine
from django.utils import timezone

from samhand.audit.models import AuditEvent
from samhand.patients.models import Delegation

from .helpers import as_user, audit_rows, text


def contacts(patient: Any) -> str:
    return f"/relatives/{patient.pk}/"


def log(patient: Any) -> str:
    return f"/relatives/{patient.pk}/access-log/"


def test_a_relative_sees_the_patients_they_act_for(world: Any) -> None:
    response = as_user(world, world.relative_a).get("/relatives/")

    assert response.status_code == 200
    rows = response.context["rows"]
    assert [r["patient"] for r in rows] == [world.patient_a]
    assert rows[0]["contacts"] and rows[0]["access_log"]
    assert "My relatives" in text(response)
    assert "Emergency access" not in text(response)  # not in a relative's menu


def test_the_contacts_page_shows_the_team_and_24_hour_numbers_only(world: Any) -> None:
    response = as_user(world, world.relative_a).get(contacts(world.patient_a))
    html = text(response)

    assert response.status_code == 200
    assert "77 00 10 00" in html and "400 00 001" in html
    assert "Lungemedisinsk avdeling" in html
    assert world.patient_a.national_id[:6] not in html
    assert "Amyotrofisk" not in html  # no health information
    assert "900 00 000" not in html  # no other relatives' numbers
    row = audit_rows(code="samhand.careteam.read")[-1]
    assert row.basis == AuditEvent.Basis.DELEGATION
    assert row.user_id == world.relative_a.pk


def test_the_access_log_shows_who_looked_without_internal_free_text(world: Any) -> None:
    as_user(world, world.consultant).get(f"/patients/{world.patient_a.pk}/")
    response = as_user(world, world.relative_a).get(log(world.patient_a))

    assert response.status_code == 200
    assert "Kari Krogh" in text(response)
    assert "Opened the patient record" in text(response)


def test_emergency_access_shows_up_flagged_in_the_relatives_log(world: Any) -> None:
    from samhand.conftest import PASSWORD

    nurse = as_user(world, world.home_nurse_b)
    nurse.post("/emergency/", {"national_id": world.patient_a.national_id})
    secret = "Internal note: called the ward at night xyz."
    nurse.post("/emergency/start/", {"password": PASSWORD, "reason_code": "unreachable",
                                     "reason_text": secret})

    response = as_user(world, world.relative_a).get(log(world.patient_a))

    assert any(e.emergency for e in response.context["access_log"])
    assert "The care team cannot be reached" in text(response)
    assert secret not in text(response)


def test_the_relative_cannot_open_another_patient(world: Any) -> None:
    client = as_user(world, world.relative_a)
    assert client.get(contacts(world.patient_b)).status_code == 404
    assert client.get(log(world.patient_b)).status_code == 404
    assert client.get(f"/patients/{world.patient_a.pk}/").status_code == 404


def test_a_scope_not_granted_gives_404(world: Any) -> None:
    Delegation.objects.update(scopes=["contacts"])
    client = as_user(world, world.relative_a)
    assert client.get(contacts(world.patient_a)).status_code == 200
    assert client.get(log(world.patient_a)).status_code == 404
    assert not client.get("/relatives/").context["rows"][0]["access_log"]


def test_revocation_takes_effect_on_the_next_request(world: Any) -> None:
    client = as_user(world, world.relative_a)
    assert client.get(contacts(world.patient_a)).status_code == 200

    Delegation.objects.update(revoked_at=timezone.now())

    assert client.get(contacts(world.patient_a)).status_code == 404
    assert client.get(log(world.patient_a)).status_code == 404
    assert client.get("/relatives/").context["rows"] == []


def test_an_expired_delegation_gives_404(world: Any) -> None:
    end = Delegation.objects.get().valid_to
    with time_machine.travel(end + dt.timedelta(minutes=1), tick=False):
        client = as_user(world, world.relative_a)
        assert client.get(contacts(world.patient_a)).status_code == 404


def test_staff_on_the_care_team_may_open_the_contacts_page_too(world: Any) -> None:
    assert as_user(world, world.home_nurse_a).get(contacts(world.patient_a)).status_code == 200
    assert as_user(world, world.home_nurse_b).get(contacts(world.patient_a)).status_code == 404


def test_the_relatives_list_is_audited_as_delegated_access(world: Any) -> None:
    as_user(world, world.relative_a).get("/relatives/")
    row = audit_rows(code="samhand.patient.list")[-1]
    assert (row.patient_id, row.basis) == (world.patient_a.pk, AuditEvent.Basis.DELEGATION)
