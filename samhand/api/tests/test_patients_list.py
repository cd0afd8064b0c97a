"""GET /api/v1/patients: my patients, by name, paginated, each one audited."""

from __future__ import annotations

import uuid

from samhand.audit.models import AuditEvent


def ids(response) -> set[str]:
    return {item["id"] for item in response.json()["items"]}


def test_list_contains_only_patients_on_my_organisations_care_teams(world, token_client):
    a = token_client(world.home_nurse_a).get("/api/v1/patients")
    b = token_client(world.home_nurse_b).get("/api/v1/patients")
    consultant = token_client(world.consultant).get("/api/v1/patients")

    assert ids(a) == {str(world.patient_a.pk)}
    assert ids(b) == {str(world.patient_b.pk)}
    assert ids(consultant) == {str(world.patient_a.pk), str(world.patient_b.pk)}
    assert a.json()["count"] == 1


def test_outsider_and_relative_get_an_empty_list(world, token_client):
    for user in (world.nobody, world.relative_a):
        response = token_client(user).get("/api/v1/patients")
        assert response.status_code == 200
        assert response.json()["items"] == []
        assert response.json()["count"] == 0


def test_each_listed_patient_gets_an_audit_row_from_the_api(world, token_client, audit):
    watch = audit()

    token_client(world.consultant).get("/api/v1/patients?q=Aas")

    rows = watch.rows()
    assert [(r.code, r.client, r.patient_id, r.object_ids, r.user_id) for r in rows] == [
        ("samhand.patient.search", "api", world.patient_a.pk, [str(world.patient_a.pk)],
         world.consultant.pk)]
    assert rows[0].action == AuditEvent.Action.EXECUTE
    assert rows[0].query == "name=Aas"


def test_search_by_start_of_given_or_family_name(world, token_client):
    client = token_client(world.consultant)

    assert ids(client.get("/api/v1/patients?q=bak")) == {str(world.patient_b.pk)}
    assert ids(client.get("/api/v1/patients?q=Astrid")) == {str(world.patient_a.pk)}
    assert ids(client.get("/api/v1/patients?q=zzz")) == set()


def test_search_by_name_never_finds_other_municipalities_patients(world, token_client):
    response = token_client(world.home_nurse_a).get("/api/v1/patients?q=Bernt")

    assert ids(response) == set()


def test_pagination_with_limit_and_offset(world, token_client):
    client = token_client(world.consultant)

    first = client.get("/api/v1/patients?limit=1").json()
    second = client.get("/api/v1/patients?limit=1&offset=1").json()

    assert first["count"] == second["count"] == 2
    assert len(first["items"]) == len(second["items"]) == 1
    assert first["items"][0]["id"] != second["items"][0]["id"]


def test_bad_paging_values_get_400_with_the_field(world, token_client):
    response = token_client(world.consultant).get("/api/v1/patients?limit=0")

    assert response.status_code == 400
    assert response.json()["error"]["field"] == "limit"


def test_a_national_id_in_the_query_string_is_refused_and_not_audited(world, token_client,
                                                                       audit):
    watch = audit()
    number = world.patient_a.national_id

    response = token_client(world.consultant).get(f"/api/v1/patients?q={number}")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "national_id_in_url"
    assert response.json()["error"]["field"] == "q"
    assert all(number not in (r.query + " ".join(r.object_ids)) for r in watch.rows())


def test_list_items_carry_no_national_id(world, token_client):
    body = token_client(world.consultant).get("/api/v1/patients").content.decode()

    assert world.patient_a.national_id not in body
    assert str(uuid.UUID(str(world.patient_a.pk))) in body
