"""Writes on a patient: care team, consents, relatives. The gate is the access layer
(404 for what you may not see); the service decides the rest; the server sets the
author and the organisation (security.md #4)."""

from __future__ import annotations

import json
import uuid

import pytest

from samhand.audit.models import AuditEvent
from samhand.patients.models import CareTeamMember, Consent, RelatedPerson


def post(client, url, payload):
    return client.post(url, json.dumps(payload), content_type="application/json")


# --------------------------------------------------------------------------- care team

def test_adding_an_organisation_to_the_care_team(world, token_client, audit):
    watch = audit()
    url = f"/api/v1/patients/{world.patient_b.pk}/care-team"

    response = post(token_client(world.consultant), url,
                    {"organisation_id": str(world.gp_office.pk), "role": "gp",
                     "user_id": str(world.gp_a.pk)})

    assert response.status_code == 201, response.content
    member = CareTeamMember.objects.get(pk=response.json()["id"])
    assert (member.patient, member.organisation, member.user) == (
        world.patient_b, world.gp_office, world.gp_a)
    assert response.json()["person"]["hpr_number"] == "1000006"
    added = watch.rows(code="samhand.careteam.member_added")
    assert [(r.client, r.patient_id, r.object_ids) for r in added] == [
        ("api", world.patient_b.pk, [str(member.pk)])]
    # The GP office now sees the patient.
    assert token_client(world.gp_a).get(f"/api/v1/patients/{world.patient_b.pk}"
                                        ).status_code == 200


def test_unknown_organisation_gets_400_and_nothing_is_stored(world, token_client):
    before = CareTeamMember.objects.count()

    response = post(token_client(world.consultant),
                    f"/api/v1/patients/{world.patient_b.pk}/care-team",
                    {"organisation_id": str(uuid.uuid4()), "role": "gp"})

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "unknown_organisation"
    assert response.json()["error"]["field"] == "organisation"
    assert CareTeamMember.objects.count() == before


def test_outsider_cannot_add_themselves_to_a_care_team(world, token_client):
    before = CareTeamMember.objects.count()
    client = token_client(world.home_nurse_b)

    foreign = post(client, f"/api/v1/patients/{world.patient_a.pk}/care-team",
                   {"organisation_id": str(world.hn_b.pk), "role": "home_nursing"})
    random = post(client, f"/api/v1/patients/{uuid.uuid4()}/care-team",
                  {"organisation_id": str(world.hn_b.pk), "role": "home_nursing"})

    assert foreign.status_code == random.status_code == 404
    assert foreign.content == random.content
    assert CareTeamMember.objects.count() == before


# --------------------------------------------------------------------------- consents

def test_recording_a_consent_sets_author_and_organisation_from_the_caller(world,
                                                                          token_client,
                                                                          audit):
    watch = audit()

    response = post(token_client(world.home_nurse_b),
                    f"/api/v1/patients/{world.patient_b.pk}/consents",
                    {"scope": "share_health_info", "status": "given",
                     "given_by": "patient"})

    assert response.status_code == 201, response.content
    consent = Consent.objects.get(pk=response.json()["id"])
    assert consent.recorded_by == world.home_nurse_b
    assert consent.recorded_by_organisation == world.hn_b
    assert response.json()["in_force"] is True
    assert [(r.code, r.client, r.object_ids) for r in watch.rows(code="samhand.consent.given")
            ] == [("samhand.consent.given", "api", [str(consent.pk)])]


@pytest.mark.parametrize("field", ["recorded_by", "recorded_by_organisation", "recorded_at",
                                   "patient"])
def test_client_cannot_set_who_recorded_a_consent(world, token_client, field):
    before = Consent.objects.count()

    response = post(token_client(world.home_nurse_b),
                    f"/api/v1/patients/{world.patient_b.pk}/consents",
                    {"scope": "share_health_info", "status": "given",
                     field: str(world.consultant.pk)})

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "unknown_field"
    assert Consent.objects.count() == before


def test_relative_with_delegation_cannot_record_consent(world, token_client):
    before = Consent.objects.count()

    response = post(token_client(world.relative_a),
                    f"/api/v1/patients/{world.patient_a.pk}/consents",
                    {"scope": "share_health_info", "status": "withdrawn"})

    assert response.status_code == 404
    assert Consent.objects.count() == before


# --------------------------------------------------------------------------- relatives

def test_adding_a_relative_as_primary_contact_replaces_the_old_one(world, token_client):
    response = post(token_client(world.coordinator_a),
                    f"/api/v1/patients/{world.patient_a.pk}/relatives",
                    {"name": "Siri Aasen", "relation": "child", "phone": "911 11 111",
                     "is_primary_contact": True})

    assert response.status_code == 201, response.content
    primary = RelatedPerson.objects.get(patient=world.patient_a, is_primary_contact=True)
    assert primary.name == "Siri Aasen"


def test_relative_without_a_name_gets_400(world, token_client):
    response = post(token_client(world.coordinator_a),
                    f"/api/v1/patients/{world.patient_a.pk}/relatives",
                    {"name": "  ", "relation": "child"})

    assert response.status_code == 400
    assert response.json()["error"]["field"] == "name"
    assert world.patient_a.relatives.count() == 1


def test_every_write_first_passes_the_audited_gate(world, token_client, audit):
    watch = audit()

    post(token_client(world.coordinator_a), f"/api/v1/patients/{world.patient_a.pk}/relatives",
         {"name": "Siri Aasen", "relation": "child"})

    assert [(r.code, r.action, r.client) for r in watch.rows()] == [
        ("samhand.relative.change", AuditEvent.Action.UPDATE, "api"),
        ("samhand.relative.added", AuditEvent.Action.CREATE, "api")]
