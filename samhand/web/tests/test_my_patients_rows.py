"""What one row of my patients shows: the link to the patient page, birth date and
municipality, patient group, our role and the number to call, in the user's
language; and the page's rows in name order whatever the page."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from samhand.conftest import fnr
from samhand.patients.models import CareTeamMember, Patient

from .helpers import as_user, text


@pytest.mark.parametrize("language,born,group,role", [
    ("nb", "født 14.03.1961", "Langtids mekanisk ventilasjon (LTMV)", "Hjemmesykepleie"),
    ("en", "born 03/14/1961", "Long-term mechanical ventilation (LTMV)", "Home nursing"),
])
def test_a_row_in_the_users_language(world: Any, language: str, born: str, group: str,
                                     role: str) -> None:
    world.patient_a.birth_date = dt.date(1961, 3, 14)
    world.patient_a.save()
    response = as_user(world, world.home_nurse_a, language).get("/")

    row = response.context["rows"][0]
    page = text(response)
    assert row["url"] == f"/patients/{world.patient_a.pk}/"
    assert f'href="/patients/{world.patient_a.pk}/">Aasen, Astrid</a>' in page
    assert born in page
    assert "Fjordby kommune" in page
    assert row["group"] == group and group in page
    assert row["our_roles"] == [role]


def test_a_patient_without_birth_date_or_group_shows_dashes(world: Any) -> None:
    patient = Patient.objects.create(national_id=fnr(dt.date(1970, 5, 5)),
                                     national_id_kind="test", given_name="Åse",
                                     family_name="Aa")
    CareTeamMember.objects.create(patient=patient, organisation=world.hn_a,
                                  role=CareTeamMember.Role.HOME_NURSING,
                                  period_start=timezone.now() - dt.timedelta(days=1))

    response = as_user(world, world.home_nurse_a).get("/")

    first = response.context["rows"][0]
    assert first["patient"] == patient
    assert first["group"] == ""
    assert first["call"] is None
    assert "born" not in text(response).split("Aa, Åse", 1)[1].split("</td>", 1)[0]


def test_every_page_is_in_name_order_and_pages_do_not_overlap(world: Any) -> None:
    names = ["Berg", "Aune", "Dahl", "Aas", "Moen", "Lie", "Berg", "Aune"]
    for i, family in enumerate(names * 4):
        patient = Patient.objects.create(
            national_id=fnr(dt.date(1940, 1, 1) + dt.timedelta(days=i), 300),
            national_id_kind="test", given_name=f"P{i % 5}", family_name=family)
        CareTeamMember.objects.create(patient=patient, organisation=world.hn_a,
                                      role=CareTeamMember.Role.HOME_NURSING,
                                      period_start=timezone.now() - dt.timedelta(days=1))
    client = as_user(world, world.home_nurse_a)

    shown = [row["patient"] for page in (1, 2)
             for row in client.get(f"/?page={page}").context["rows"]]

    expected = sorted(Patient.objects.filter(care_team__organisation=world.hn_a).distinct(),
                      key=lambda p: (p.family_name, p.given_name, str(p.pk)))
    assert len(shown) == len(expected) == 33
    assert [(p.family_name, p.given_name) for p in shown] == [
        (p.family_name, p.given_name) for p in expected]
    assert len(set(shown)) == 33
