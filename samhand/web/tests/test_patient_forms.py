"""The three forms on the patient page: consent, care team member, relative. Good
input is stored and audited; bad input is shown next to its field, in the user's
language, with what was typed kept, and nothing is stored."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.test import Client
from django.utils import timezone

from samhand.patients.models import CareTeamMember, Consent, RelatedPerson

from .helpers import as_user, audit_rows, htmx, text


def url(patient: Any, form: str) -> str:
    return f"/patients/{patient.pk}/{form}/"


CONSENT = {"scope": Consent.Scope.INDIVIDUAL_PLAN, "status": Consent.Status.GIVEN,
           "given_by": Consent.GivenBy.PATIENT, "given_by_name": "", "note": "Muntlig, hjemme"}


# --------------------------------------------------------------------------- consent

def test_recording_a_consent_stores_it_audits_it_and_goes_back_to_the_page(world: Any) -> None:
    response = as_user(world, world.home_nurse_a).post(url(world.patient_a, "consents"), CONSENT)

    assert response.status_code == 302
    assert response["Location"] == f"/patients/{world.patient_a.pk}/#consents"
    consent = Consent.objects.get(patient=world.patient_a, scope=Consent.Scope.INDIVIDUAL_PLAN)
    assert consent.status == Consent.Status.GIVEN
    assert consent.recorded_by == world.home_nurse_a
    assert consent.recorded_by_organisation == world.hn_a
    assert audit_rows(object_ids=[str(consent.pk)])[0].patient_id == world.patient_a.pk


def test_recording_a_consent_with_htmx_returns_the_updated_section(world: Any) -> None:
    client = as_user(world, world.home_nurse_a)
    response = client.post(url(world.patient_a, "consents"),
                           {**CONSENT, "status": Consent.Status.WITHDRAWN,
                            "scope": Consent.Scope.SHARE_HEALTH_INFO}, **htmx(client))

    assert response.status_code == 200
    html = text(response)
    assert html.lstrip().startswith('<section class="card" id="consents"')
    assert "The consent is recorded." in html
    assert not world.patient_a.consent_active(Consent.Scope.SHARE_HEALTH_INFO)


def test_an_invalid_consent_stores_nothing_and_keeps_what_was_typed(world: Any) -> None:
    before = Consent.objects.count()
    audit_before = len(audit_rows())
    response = as_user(world, world.home_nurse_a).post(
        url(world.patient_a, "consents"), {**CONSENT, "scope": "everything"})

    assert response.status_code == 422
    assert Consent.objects.count() == before
    assert response.context["consent_form"].errors["scope"]
    assert "Muntlig, hjemme" in text(response)  # the note is still there
    assert response.context["open_form"] == "consents"
    # Only the read of the page is audited, no write.
    assert {r.code for r in audit_rows()[audit_before:]} == {"samhand.patient.read"}


def test_a_consent_without_a_decision_is_explained_in_norwegian(world: Any) -> None:
    response = as_user(world, world.home_nurse_a, "nb").post(
        url(world.patient_a, "consents"), {**CONSENT, "status": ""})
    assert response.status_code == 422
    assert "Feltet er påkrevd." in text(response)


def test_htmx_gets_the_section_back_with_the_errors(world: Any) -> None:
    client = as_user(world, world.home_nurse_a)
    response = client.post(url(world.patient_a, "consents"), {**CONSENT, "status": "maybe"},
                           **htmx(client))
    assert response.status_code == 422
    assert 'aria-invalid="true"' in text(response)
    assert "field--error" in text(response)
    assert "<html" not in text(response)


def test_an_outsider_cannot_record_a_consent(world: Any) -> None:
    before = Consent.objects.count()
    response = as_user(world, world.home_nurse_b).post(url(world.patient_a, "consents"),
                                                      CONSENT)
    assert response.status_code == 404
    assert Consent.objects.count() == before


def test_a_relative_cannot_record_a_consent(world: Any) -> None:
    before = Consent.objects.count()
    response = as_user(world, world.relative_a).post(url(world.patient_a, "consents"), CONSENT)
    assert response.status_code == 404
    assert Consent.objects.count() == before


def test_forms_need_the_csrf_token(world: Any) -> None:
    client = world.login(Client(enforce_csrf_checks=True), world.home_nurse_a)
    before = Consent.objects.count()
    response = client.post(url(world.patient_a, "consents"), CONSENT)
    assert response.status_code == 403
    assert Consent.objects.count() == before


# --------------------------------------------------------------------------- care team

def test_adding_a_care_team_member_stores_and_audits_it(world: Any) -> None:
    client = as_user(world, world.home_nurse_a)
    response = client.post(url(world.patient_a, "care-team"),
                           {"organisation": str(world.hn_b.pk),
                            "role": CareTeamMember.Role.HOME_NURSING, "period_end": ""},
                           **htmx(client))

    assert response.status_code == 200
    member = CareTeamMember.objects.get(patient=world.patient_a, organisation=world.hn_b)
    assert member.period_end is None
    assert "Hjemmesykepleien Nesvik" in text(response)
    assert audit_rows(code="samhand.careteam.member_added")[-1].object_ids == [str(member.pk)]


def test_a_care_team_period_ending_in_the_past_is_refused_next_to_the_field(world: Any) -> None:
    before = CareTeamMember.objects.count()
    yesterday = (timezone.localdate() - dt.timedelta(days=2)).isoformat()
    response = as_user(world, world.home_nurse_a).post(
        url(world.patient_a, "care-team"),
        {"organisation": str(world.hn_b.pk), "role": CareTeamMember.Role.HOME_NURSING,
         "period_end": yesterday})

    assert response.status_code == 422
    assert CareTeamMember.objects.count() == before
    assert response.context["care_team_form"].errors["period_end"] == [
        "The period must end after it starts."]
    assert f'value="{yesterday}"' in text(response)


def test_an_unknown_organisation_is_refused(world: Any) -> None:
    before = CareTeamMember.objects.count()
    response = as_user(world, world.home_nurse_a).post(
        url(world.patient_a, "care-team"),
        {"organisation": "00000000-0000-0000-0000-000000000000", "role": "gp"})
    assert response.status_code == 422
    assert response.context["care_team_form"].errors["organisation"]
    assert CareTeamMember.objects.count() == before


# --------------------------------------------------------------------------- relatives

def test_adding_a_primary_contact_moves_the_flag(world: Any) -> None:
    response = as_user(world, world.home_nurse_a).post(url(world.patient_a, "relatives"), {
        "name": "Siri Aasen", "relation": RelatedPerson.Relation.CHILD, "phone": "911 11 111",
        "email": "", "may_be_told": RelatedPerson.MayBeTold.EVERYTHING,
        "is_primary_contact": "on"})

    assert response.status_code == 302
    siri = RelatedPerson.objects.get(name="Siri Aasen")
    assert siri.is_primary_contact
    assert not RelatedPerson.objects.get(name="Rolf Aasen").is_primary_contact
    assert audit_rows(code="samhand.relative.added")[-1].object_ids == [str(siri.pk)]


def test_a_relative_without_a_name_is_refused_and_nothing_stored(world: Any) -> None:
    before = RelatedPerson.objects.count()
    response = as_user(world, world.home_nurse_a).post(url(world.patient_a, "relatives"), {
        "name": "   ", "relation": "child", "phone": "911 11 111", "may_be_told": "practical"})

    assert response.status_code == 422
    assert RelatedPerson.objects.count() == before
    assert response.context["relative_form"].errors["name"]
    assert "911 11 111" in text(response)


def test_a_bad_email_is_explained_next_to_the_field(world: Any) -> None:
    response = as_user(world, world.home_nurse_a).post(url(world.patient_a, "relatives"), {
        "name": "Siri", "relation": "child", "email": "not-an-address",
        "may_be_told": "practical"})
    assert response.status_code == 422
    assert response.context["relative_form"].errors["email"]


def test_picking_an_organisation_offers_the_people_who_work_there(world: Any) -> None:
    client = as_user(world, world.home_nurse_a)
    response = client.get(f"/organisations/people/?organisation={world.pulm.pk}",
                          HTTP_HX_REQUEST="true")

    assert response.status_code == 200
    html = text(response)
    assert html.lstrip().startswith('<div id="person-field">')
    assert "Lise Lunde" in html and "Kari Krogh" in html
    assert "Hanne Hjem" not in html


def test_a_named_person_can_be_put_on_the_care_team(world: Any) -> None:
    response = as_user(world, world.home_nurse_a).post(url(world.patient_a, "care-team"), {
        "organisation": str(world.pulm.pk), "user": str(world.consultant.pk),
        "role": CareTeamMember.Role.HOSPITAL_COORDINATOR})
    assert response.status_code == 302
    member = CareTeamMember.objects.get(patient=world.patient_a,
                                        role=CareTeamMember.Role.HOSPITAL_COORDINATOR)
    assert member.user == world.consultant


def test_a_person_from_another_organisation_is_refused(world: Any) -> None:
    before = CareTeamMember.objects.count()
    response = as_user(world, world.home_nurse_a).post(url(world.patient_a, "care-team"), {
        "organisation": str(world.hn_a.pk), "user": str(world.consultant.pk),
        "role": CareTeamMember.Role.HOME_NURSING})
    assert response.status_code == 422
    assert response.context["care_team_form"].errors["user"]
    assert CareTeamMember.objects.count() == before


def test_an_unknown_organisation_gives_an_empty_person_choice(world: Any) -> None:
    response = as_user(world, world.home_nurse_a).get("/organisations/people/?organisation=x")
    assert response.status_code == 200
    assert text(response).count("<option") == 1
