"""My patients: the worklist of the user's units, searchable by name, paginated,
audited per patient shown, with a constant number of queries per page."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from samhand.audit.models import AuditEvent
from samhand.conftest import fnr
from samhand.orgs.models import Membership
from samhand.patients.models import CareTeamMember, Patient

from .helpers import as_user, audit_rows, text


def add_patients(world: Any, count: int, org: Any, family: str = "Pasient") -> list[Patient]:
    patients = []
    first = Patient.objects.count() * 3
    for i in range(count):
        patient = Patient.objects.create(
            national_id=fnr(dt.date(1930, 1, 1) + dt.timedelta(days=first + i), 200),
            national_id_kind="test", given_name=f"Nr{i:03d}", family_name=family,
            municipality=world.fjordby)
        CareTeamMember.objects.create(patient=patient, organisation=org,
                                      role=CareTeamMember.Role.HOME_NURSING,
                                      period_start=timezone.now() - dt.timedelta(days=1))
        CareTeamMember.objects.create(patient=patient, organisation=world.pulm,
                                      role=CareTeamMember.Role.LTMV_NURSE,
                                      period_start=timezone.now() - dt.timedelta(days=1))
        patients.append(patient)
    return patients


def test_home_nurse_sees_her_units_patients_and_nobody_elses(world: Any) -> None:
    response = as_user(world, world.home_nurse_a).get("/")

    assert response.status_code == 200
    shown = [row["patient"] for row in response.context["rows"]]
    assert shown == [world.patient_a]
    assert "Bakke" not in text(response)


def test_the_other_municipality_sees_only_its_own(world: Any) -> None:
    response = as_user(world, world.home_nurse_b).get("/")
    assert [row["patient"] for row in response.context["rows"]] == [world.patient_b]


def test_each_patient_shown_is_audited_and_nobody_else(world: Any) -> None:
    as_user(world, world.home_nurse_a).get("/")

    rows = audit_rows(code="samhand.patient.list")
    assert [r.patient_id for r in rows] == [world.patient_a.pk]
    assert rows[0].user_id == world.home_nurse_a.pk
    assert rows[0].organisation_name == world.hn_a.name


def test_a_row_shows_our_role_and_the_number_to_call(world: Any) -> None:
    response = as_user(world, world.home_nurse_a).get("/")

    row = response.context["rows"][0]
    assert row["our_roles"] == ["Home nursing"]
    assert row["call"].number == "77 00 10 00"  # the hospital department, other sector
    assert row["call"].organisation == world.pulm
    assert "77 00 10 00" in text(response)


def test_search_by_name_finds_by_the_start_of_either_name(world: Any) -> None:
    client = as_user(world, world.consultant)  # sees both patients
    assert [r["patient"] for r in client.get("/?q=aas").context["rows"]] == [world.patient_a]
    assert [r["patient"] for r in client.get("/?q=Bernt").context["rows"]] == [world.patient_b]
    assert client.get("/?q=Astrid Aasen").context["rows"][0]["patient"] == world.patient_a
    assert client.get("/?q=Zed").context["rows"] == []


def test_search_never_finds_patients_outside_the_care_relation(world: Any) -> None:
    response = as_user(world, world.home_nurse_a).get("/?q=Bakke")
    assert response.context["rows"] == []
    assert response.context["total"] == 0


def test_a_national_id_in_the_search_box_is_refused_and_not_echoed(world: Any) -> None:
    number = world.patient_a.national_id
    response = as_user(world, world.home_nurse_a).get(f"/?q={number}")

    assert response.status_code == 200
    assert response.context["refused_query"] is True
    assert number not in text(response)
    assert "Search by name here" in text(response)
    assert all(r.query == "" for r in audit_rows(code="samhand.patient.list"))


def test_pagination_shows_25_a_page_and_the_total(world: Any) -> None:
    add_patients(world, 30, world.hn_a)
    client = as_user(world, world.home_nurse_a)

    first = client.get("/")
    second = client.get("/?page=2")

    assert first.context["total"] == 31
    assert len(first.context["rows"]) == 25
    assert len(second.context["rows"]) == 6
    assert "31 patients" in text(first)
    assert "Page 2 of 2" in text(second)
    # Only the patients actually shown are audited.
    assert AuditEvent.objects.filter(code="samhand.patient.list").count() == 31


@pytest.mark.parametrize("asked", ["3", "999", "99999999999999999999999", "0", "-4"])
def test_a_page_past_the_end_shows_the_last_page_with_the_true_total(
        world: Any, asked: str) -> None:
    add_patients(world, 30, world.hn_a)

    response = as_user(world, world.home_nurse_a).get(f"/?page={asked}")

    assert response.status_code == 200
    assert response.context["page"].number == 2
    assert response.context["total"] == 31
    assert len(response.context["rows"]) == 6
    assert "Page 2 of 2" in text(response)


@pytest.mark.parametrize("asked", ["two", "", "1.5"])
def test_a_page_number_that_is_not_a_page_shows_the_first(world: Any, asked: str) -> None:
    add_patients(world, 30, world.hn_a)

    response = as_user(world, world.home_nurse_a).get(f"/?page={asked}")

    assert response.context["page"].number == 1
    assert response.context["total"] == 31
    assert len(response.context["rows"]) == 25


def test_a_search_without_hits_shows_an_empty_list_and_audits_nothing(world: Any) -> None:
    response = as_user(world, world.home_nurse_a).get("/?q=Zzyzx&page=4")

    assert response.status_code == 200
    assert response.context["total"] == 0
    assert response.context["rows"] == []
    assert response.context["page"].number == 1
    assert all(r.patient_id is None for r in audit_rows(code="samhand.patient.list"))


def test_a_page_costs_the_same_number_of_queries_whatever_the_number_of_patients(
        world: Any) -> None:
    add_patients(world, 30, world.hn_a)
    client = as_user(world, world.home_nurse_a)
    client.get("/")  # warm up (session, content types)

    with CaptureQueriesContext(connection) as small:
        client.get("/")
    add_patients(world, 60, world.hn_a, family="Andre")
    with CaptureQueriesContext(connection) as large:
        response = client.get("/")

    assert len(response.context["rows"]) == 25
    assert len(large.captured_queries) == len(small.captured_queries)
    reads = [q for q in large.captured_queries
             if q["sql"].lstrip().upper().startswith("SELECT")
             and "audit" not in q["sql"].lower()]
    assert len(reads) <= 12, "\n".join(q["sql"][:150] for q in reads)


def test_a_user_in_two_units_can_show_one_units_list(world: Any) -> None:
    Membership.objects.create(user=world.home_nurse_a, organisation=world.hn_b,
                              role=Membership.Role.NURSE)
    client = as_user(world, world.home_nurse_a)

    both = client.get("/")
    only_b = client.get(f"/?unit={world.hn_b.pk}")

    assert {r["patient"] for r in both.context["rows"]} == {world.patient_a, world.patient_b}
    assert [r["patient"] for r in only_b.context["rows"]] == [world.patient_b]
    assert only_b.context["unit"] == world.hn_b


def test_a_unit_the_user_does_not_work_in_is_ignored(world: Any) -> None:
    response = as_user(world, world.home_nurse_a).get(f"/?unit={world.hn_b.pk}")
    assert response.context["unit"] is None
    assert [r["patient"] for r in response.context["rows"]] == [world.patient_a]


def test_find_by_national_id_opens_the_patient_without_putting_the_number_in_a_url(
        world: Any) -> None:
    client = as_user(world, world.home_nurse_a)
    response = client.post("/patients/find/", {"national_id": world.patient_a.national_id})

    assert response.status_code == 302
    assert response["Location"] == f"/patients/{world.patient_a.pk}/"
    row = audit_rows(code="samhand.patient.search")[-1]
    assert row.patient_id == world.patient_a.pk
    assert world.patient_a.national_id not in row.query


def test_find_by_national_id_does_not_find_other_units_patients(world: Any) -> None:
    response = as_user(world, world.home_nurse_a).post(
        "/patients/find/", {"national_id": world.patient_b.national_id})

    assert response.status_code == 422
    assert "None of your patients has this number" in text(response)
    assert audit_rows(code="samhand.patient.search")[-1].patient_id is None


def test_find_by_national_id_explains_an_invalid_number(world: Any) -> None:
    response = as_user(world, world.home_nurse_a).post("/patients/find/",
                                                       {"national_id": "12345678901"})
    assert response.status_code == 422
    assert response.context["find_form"].errors["national_id"]


@pytest.mark.parametrize("language,heading", [("nb", "Mine pasienter"),
                                              ("en", "My patients"),
                                              ("da", "Mine patienter")])
def test_the_page_speaks_the_chosen_language(world: Any, language: str, heading: str) -> None:
    response = as_user(world, world.home_nurse_a, language).get("/")
    assert f'<html lang="{language}">' in text(response)
    assert heading in text(response)


def test_a_relative_is_taken_to_their_own_page(world: Any) -> None:
    response = as_user(world, world.relative_a).get("/")
    assert response.status_code == 302 and response["Location"] == "/relatives/"


def test_a_user_without_a_unit_sees_an_explanation(world: Any) -> None:
    response = as_user(world, world.nobody).get("/")
    assert response.status_code == 200
    assert "You are not working in any organisation" in text(response)
