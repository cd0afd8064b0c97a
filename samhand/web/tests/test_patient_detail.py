"""The patient overview: who may open it (and the audit of every attempt), what it
shows, and the consent gate on diagnoses."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.utils import timezone

from samhand.audit.models import AuditEvent
from samhand.patients.models import AccessBlock, Consent, Diagnosis

from .helpers import as_user, audit_rows, htmx, text


def url(patient: Any) -> str:
    return f"/patients/{patient.pk}/"


@pytest.mark.parametrize("persona", ["home_nurse_a", "ltmv_nurse", "consultant",
                                     "coordinator_a", "gp_a", "clerk_a"])
def test_the_care_team_opens_the_patient(world: Any, persona: str) -> None:
    user = getattr(world, persona)
    response = as_user(world, user).get(url(world.patient_a))

    assert response.status_code == 200
    assert "Astrid Aasen" in text(response)
    row = audit_rows(code="samhand.patient.read")[-1]
    assert (row.patient_id, row.user_id, row.outcome, row.basis) == (
        world.patient_a.pk, user.pk, AuditEvent.Outcome.SUCCESS, AuditEvent.Basis.CARE_RELATION)


@pytest.mark.parametrize("persona", ["home_nurse_b", "nobody", "relative_a"])
def test_an_outsider_gets_404_and_the_attempt_is_audited(world: Any, persona: str) -> None:
    user = getattr(world, persona)
    response = as_user(world, user).get(url(world.patient_a))

    assert response.status_code == 404
    assert "Astrid" not in text(response)
    row = audit_rows(user_id=user.pk)[-1]
    assert row.code == "samhand.patient.read"
    assert row.outcome == AuditEvent.Outcome.MINOR_FAILURE
    assert row.patient_id == world.patient_a.pk


def test_a_foreign_patient_looks_exactly_like_one_that_does_not_exist(world: Any) -> None:
    client = as_user(world, world.home_nurse_b)
    foreign = client.get(url(world.patient_a))
    missing = client.get(f"/patients/{uuid.uuid4()}/")

    assert foreign.status_code == missing.status_code == 404
    strip = text(foreign).replace(foreign["X-Correlation-ID"], "")
    assert strip == text(missing).replace(missing["X-Correlation-ID"], "")


def test_a_blocked_unit_gets_404(world: Any) -> None:
    AccessBlock.objects.create(patient=world.patient_a, blocked_organisation=world.hn_a,
                               created_by=world.coordinator_a)
    assert as_user(world, world.home_nurse_a).get(url(world.patient_a)).status_code == 404


def test_the_overview_shows_identity_team_numbers_consents_and_relatives(world: Any) -> None:
    response = as_user(world, world.home_nurse_a).get(url(world.patient_a))
    html = text(response)

    assert "Fjordveien 1" in html
    assert "Long-term mechanical ventilation (LTMV)" in html
    groups = {g.key: [m.organisation for m in g.members if m.organisation]
              for g in response.context["team_groups"]}
    assert groups["hospital"] == [world.pulm, world.pulm]
    assert world.hn_a in groups["municipality"] and world.ke_a in groups["municipality"]
    assert groups["gp"] == [world.gp_office]
    assert "77 00 10 00" in html and "400 00 001" in html  # 24-hour numbers
    assert "Rolf Aasen" in html and "Primary contact" in html
    current = {row["scope"]: row["consent"] for row in response.context["consent_current"]}
    assert current[Consent.Scope.SHARE_HEALTH_INFO].status == Consent.Status.GIVEN
    assert current[Consent.Scope.INDIVIDUAL_PLAN] is None
    assert "Amyotrofisk lateralsklerose" in html


def test_the_national_id_is_masked_until_asked_for(world: Any) -> None:
    client = as_user(world, world.home_nurse_a)
    number = world.patient_a.national_id

    page = client.get(url(world.patient_a))
    assert number not in text(page)
    assert number[:6] in text(page)

    shown = client.post(f"{url(world.patient_a)}national-id/", **htmx(client))
    assert shown.status_code == 200
    assert number in text(shown)
    assert "<html" not in text(shown)  # a fragment for htmx
    row = audit_rows(object_type="Patient.identifier")[-1]
    assert (row.patient_id, row.user_id) == (world.patient_a.pk, world.home_nurse_a.pk)


def test_showing_the_national_id_without_htmx_renders_the_page(world: Any) -> None:
    response = as_user(world, world.home_nurse_a).post(f"{url(world.patient_a)}national-id/")
    assert response.status_code == 200
    assert world.patient_a.national_id in text(response)


def test_an_outsider_cannot_reveal_the_national_id(world: Any) -> None:
    response = as_user(world, world.home_nurse_b).post(f"{url(world.patient_a)}national-id/")
    assert response.status_code == 404
    assert world.patient_a.national_id not in text(response)


def test_the_national_id_is_not_revealed_by_a_get(world: Any) -> None:
    response = as_user(world, world.home_nurse_a).get(f"{url(world.patient_a)}national-id/")
    assert response.status_code == 405


def test_hospital_diagnoses_are_hidden_from_the_municipality_without_consent(
        world: Any) -> None:
    Consent.objects.create(patient=world.patient_a, scope=Consent.Scope.SHARE_HEALTH_INFO,
                           status=Consent.Status.WITHDRAWN, recorded_by=world.ltmv_nurse,
                           recorded_by_organisation=world.pulm, recorded_at=timezone.now())

    nurse = as_user(world, world.home_nurse_a).get(url(world.patient_a))
    doctor = as_user(world, world.consultant).get(url(world.patient_a))

    assert nurse.context["diagnoses"] == [] and nurse.context["hidden_diagnoses"] == 1
    assert "Amyotrofisk" not in text(nurse)
    assert "1 diagnosis hidden: no consent to share health information" in text(nurse)
    assert [d.code for d in doctor.context["diagnoses"]] == ["G12.2"]


def test_municipal_diagnoses_are_always_shown_to_the_municipality(world: Any) -> None:
    Consent.objects.create(patient=world.patient_a, scope=Consent.Scope.SHARE_HEALTH_INFO,
                           status=Consent.Status.WITHDRAWN, recorded_by=world.ltmv_nurse,
                           recorded_by_organisation=world.pulm, recorded_at=timezone.now())
    Diagnosis.objects.create(patient=world.patient_a, code="R06.0", text="Dyspné",
                             recorded_by_organisation=world.hn_a)

    response = as_user(world, world.home_nurse_a).get(url(world.patient_a))

    assert [d.code for d in response.context["diagnoses"]] == ["R06.0"]
    assert response.context["hidden_diagnoses"] == 1


def test_the_access_log_panel_shows_who_looked(world: Any) -> None:
    as_user(world, world.consultant).get(url(world.patient_a))
    response = as_user(world, world.home_nurse_a).get(url(world.patient_a))

    people = [entry.person for entry in response.context["access_log"]]
    assert "Kari Krogh" in people and "Hanne Hjem" in people
    assert "Opened the patient record" in text(response)


def test_the_page_is_never_cached(world: Any) -> None:
    response = as_user(world, world.home_nurse_a).get(url(world.patient_a))
    assert response["Cache-Control"] == "no-store"


def test_older_access_log_entries_come_ten_at_a_time(world: Any) -> None:
    client = as_user(world, world.home_nurse_a)
    for _ in range(12):
        client.get(url(world.patient_a))

    page = client.get(url(world.patient_a))
    assert len(page.context["access_log"]) == 10
    more = page.context["access_log_more"]
    assert more.startswith(f"/patients/{world.patient_a.pk}/access-log/?before=")

    older = client.get(more, HTTP_HX_REQUEST="true")
    assert older.status_code == 200
    assert "<html" not in text(older)
    assert 'hx-swap-oob="true"' in text(older)
    seqs = [e.seq for e in older.context["access_log"]]
    assert seqs and max(seqs) < min(e.seq for e in page.context["access_log"])
    assert audit_rows(code="samhand.access_log.read")[-1].user_id == world.home_nurse_a.pk


def test_the_older_log_page_works_without_javascript(world: Any) -> None:
    client = as_user(world, world.home_nurse_a)
    response = client.get(f"{url(world.patient_a)}access-log/")
    assert response.status_code == 200
    assert "Who has looked at the record of Astrid Aasen" in text(response)


def test_an_outsider_cannot_read_the_log(world: Any) -> None:
    response = as_user(world, world.home_nurse_b).get(f"{url(world.patient_a)}access-log/")
    assert response.status_code == 404
