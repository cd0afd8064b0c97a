"""POST /api/v1/patients: registration through the patient service; the server decides
the registering organisation (security.md #4) and bad input stores nothing (issue 2 §11)."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from samhand.audit.models import AuditEvent
from samhand.conftest import fnr
from samhand.patients.models import CareTeamMember, Patient

NEW = fnr(dt.date(1950, 5, 17), start=200)


def body(**overrides):
    return {"national_id": NEW, "given_name": "Gro", "family_name": "Grønli",
            "street": "Strandveien 9", "city": "Fjordby", **overrides}


def post(client, payload, **extra):
    data = payload if isinstance(payload, str) else json.dumps(payload)
    return client.post("/api/v1/patients", data, content_type="application/json", **extra)


def test_registering_puts_my_own_organisation_on_the_care_team(world, token_client, audit):
    watch = audit()

    response = post(token_client(world.home_nurse_a),
                    body(municipality_id=str(world.fjordby.pk), group="palliative"))

    assert response.status_code == 201, response.content
    patient = Patient.objects.get(national_id=NEW)
    assert response.json()["id"] == str(patient.pk)
    assert patient.municipality == world.fjordby
    assert patient.group == "palliative"
    team = list(patient.care_team.values_list("organisation_id", "role", "user_id"))
    assert team == [(world.hn_a.pk, CareTeamMember.Role.HOME_NURSING, world.home_nurse_a.pk)]
    created = watch.rows(code="samhand.patient.created")
    assert [(r.client, r.patient_id, r.organisation_id, r.action) for r in created] == [
        ("api", patient.pk, world.hn_a.pk, AuditEvent.Action.CREATE)]


def test_the_new_patient_is_visible_to_me_and_nobody_else(world, token_client):
    post(token_client(world.home_nurse_a), body())
    patient = Patient.objects.get(national_id=NEW)

    mine = token_client(world.home_nurse_a).get(f"/api/v1/patients/{patient.pk}")
    theirs = token_client(world.home_nurse_b).get(f"/api/v1/patients/{patient.pk}")

    assert mine.status_code == 200
    assert theirs.status_code == 404


@pytest.mark.parametrize("field", ["organisation", "organisation_id", "author", "created_by",
                                   "recorded_by", "id"])
def test_client_sent_ownership_fields_are_rejected_and_nothing_is_stored(world, token_client,
                                                                          field):
    response = post(token_client(world.home_nurse_a), body(**{field: str(world.hn_b.pk)}))

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "unknown_field"
    assert response.json()["error"]["field"] == field
    assert not Patient.objects.filter(national_id=NEW).exists()


def test_registering_for_an_organisation_i_do_not_work_in_is_refused(world, token_client):
    response = post(token_client(world.home_nurse_a),
                    body(registering_organisation_id=str(world.hn_b.pk)))

    assert response.status_code == 400
    assert response.json()["error"]["field"] == "registering_organisation_id"
    assert not Patient.objects.filter(national_id=NEW).exists()


def test_choosing_one_of_my_own_organisations_is_allowed(world, token_client):
    response = post(token_client(world.consultant),
                    body(registering_organisation_id=str(world.pulm.pk)))

    assert response.status_code == 201
    assert Patient.objects.get(national_id=NEW).care_team.get().role == \
        CareTeamMember.Role.HOSPITAL_COORDINATOR


def test_duplicate_patient_gets_409_and_no_twin(world, token_client):
    response = post(token_client(world.home_nurse_b),
                    body(national_id=world.patient_a.national_id))

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "duplicate_patient"
    assert response.json()["error"]["field"] == "national_id"
    assert Patient.objects.filter(national_id=world.patient_a.national_id).count() == 1
    # Nothing about the existing patient leaks into the answer.
    assert "Astrid" not in response.content.decode()


def test_invalid_national_id_gets_400_with_the_field(world, token_client):
    response = post(token_client(world.home_nurse_a), body(national_id="01010112345"))

    assert response.status_code == 400
    assert response.json()["error"]["field"] == "national_id"
    assert response.json()["error"]["code"].startswith("national_id_")
    assert Patient.objects.count() == 2


def test_unknown_municipality_gets_400(world, token_client):
    import uuid

    response = post(token_client(world.home_nurse_a), body(municipality_id=str(uuid.uuid4())))

    assert response.status_code == 400
    assert response.json()["error"] == {"code": "unknown_organisation",
                                        "message": response.json()["error"]["message"],
                                        "field": "municipality"}
    assert not Patient.objects.filter(national_id=NEW).exists()


@pytest.mark.parametrize("raw", ['{"national_id": ', "not json", "", "[1, 2"])
def test_malformed_json_gets_400_with_a_clear_message_and_stores_nothing(world, token_client,
                                                                         audit, raw):
    watch = audit()

    response = post(token_client(world.home_nurse_a), raw)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "malformed_body"
    assert "JSON" in response.json()["error"]["message"]
    assert Patient.objects.count() == 2
    assert watch.rows() == []


def test_a_body_that_is_not_an_object_gets_400(world, token_client):
    response = post(token_client(world.home_nurse_a), "[1, 2]")

    assert response.status_code == 400
    assert Patient.objects.count() == 2


def test_missing_names_get_400_naming_the_first_missing_field(world, token_client):
    response = post(token_client(world.home_nurse_a), {"national_id": NEW})

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "required"
    assert {d["field"] for d in error["details"]} == {"given_name", "family_name"}


def test_wrong_choice_gets_400_listing_the_choices(world, token_client):
    response = post(token_client(world.home_nurse_a), body(group="unknown"))

    assert response.status_code == 400
    assert response.json()["error"]["field"] == "group"
    assert "palliative" in response.json()["error"]["message"]


def test_user_without_an_organisation_cannot_register(world, token_client):
    response = post(token_client(world.nobody), body())

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "no_organisation"
    assert not Patient.objects.filter(national_id=NEW).exists()


def test_error_messages_follow_accept_language(world, token_client):
    client = token_client(world.home_nurse_a)

    english = post(client, body(national_id="123"), HTTP_ACCEPT_LANGUAGE="en")
    default = post(client, body(national_id="123"))

    assert english["Content-Language"] == "en"
    assert english.json()["error"]["message"] == \
        "A Norwegian national identity number has 11 digits."
    assert default["Content-Language"] == "nb"
