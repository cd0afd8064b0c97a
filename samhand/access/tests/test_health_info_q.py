"""The sharing-consent rule written once (policy.health_info_q for rows,
policy.sees_health_info for one object): health information recorded by one sector
reaches the other only while the patient's newest share_health_info consent row is
"given". The second half checks that each app's search follows it."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.cache import cache
from django.db import transaction
from django.test import Client
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from samhand.access import policy
from samhand.api.models import ApiToken
from samhand.audit.models import AuditEvent
from samhand.audit.services import Actor
from samhand.patients.models import Consent, Diagnosis

SHARE = Consent.Scope.SHARE_HEALTH_INFO
MODES = ["grant", "grant_subquery", "user"]


@pytest.fixture(autouse=True)
def _fresh_rate_budget(db: Any) -> None:
    cache.clear()


def _consent(world: Any, patient: Any, status: str, at: dt.datetime | None = None,
             scope: str = SHARE) -> Consent:
    return Consent.objects.create(patient=patient, scope=scope, status=status,
                                  recorded_by=world.coordinator_a,
                                  recorded_by_organisation=world.ke_a,
                                  recorded_at=at or timezone.now())


def _diagnoses(world: Any, patient: Any) -> tuple[Diagnosis, Diagnosis]:
    Diagnosis.objects.filter(patient=patient).delete()
    hospital = Diagnosis.objects.create(patient=patient, code="J96.1", text="Resp.svikt",
                                        recorded_by_organisation=world.pulm)
    municipal = Diagnosis.objects.create(patient=patient, code="Z74.1", text="Pleie",
                                         recorded_by_organisation=world.hn_b)
    return hospital, municipal


def _seen(user: Any, patient: Any, mode: str) -> set[Any]:
    """The patient's diagnoses `user` gets through health_info_q, in one of its modes;
    checked against sees_health_info for each row."""
    grant = policy.grant_for(user, patient)
    if mode == "user":
        viewer: Any = user
        kwargs: dict[str, Any] = {}
    else:
        assert grant is not None
        viewer = grant
        kwargs = {"patient": patient} if mode == "grant" else {}
    q = policy.health_info_q(viewer, sector_field="recorded_by_organisation", **kwargs)
    rows = Diagnosis.objects.filter(patient=patient)
    seen = set(rows.filter(q).values_list("pk", flat=True))
    if grant is not None:
        for row in rows.select_related("recorded_by_organisation"):
            assert policy.sees_health_info(grant, patient, row.recorded_by_organisation) == (
                row.pk in seen), (mode, row.code)
    return seen


# --------------------------------------------------------------------------- the builder

@pytest.mark.parametrize("mode", MODES)
def test_the_same_sector_sees_its_own_records_without_consent(world, mode):
    hospital, municipal = _diagnoses(world, world.patient_b)  # patient_b: no consent
    assert not Consent.objects.filter(patient=world.patient_b).exists()
    assert _seen(world.home_nurse_b, world.patient_b, mode) == {municipal.pk}
    assert _seen(world.consultant, world.patient_b, mode) == {hospital.pk}


@pytest.mark.parametrize("mode", MODES)
def test_with_consent_the_other_sector_sees_them_too(world, mode):
    hospital, municipal = _diagnoses(world, world.patient_b)
    _consent(world, world.patient_b, Consent.Status.GIVEN)
    assert _seen(world.home_nurse_b, world.patient_b, mode) == {hospital.pk, municipal.pk}
    assert _seen(world.consultant, world.patient_b, mode) == {hospital.pk, municipal.pk}


@pytest.mark.parametrize("mode", MODES)
def test_a_later_withdrawal_hides_the_other_sector_again(world, mode):
    hospital, municipal = _diagnoses(world, world.patient_b)
    given = _consent(world, world.patient_b, Consent.Status.GIVEN,
                     timezone.now() - dt.timedelta(days=2))
    _consent(world, world.patient_b, Consent.Status.WITHDRAWN,
             timezone.now() - dt.timedelta(days=1))
    assert Consent.objects.filter(pk=given.pk).exists()  # append-only: the grant stays
    assert _seen(world.home_nurse_b, world.patient_b, mode) == {municipal.pk}
    assert _seen(world.consultant, world.patient_b, mode) == {hospital.pk}


@pytest.mark.parametrize("mode", MODES)
def test_consent_of_another_patient_or_scope_opens_nothing(world, mode):
    hospital, _municipal = _diagnoses(world, world.patient_b)
    _consent(world, world.patient_b, Consent.Status.GIVEN, scope=Consent.Scope.INDIVIDUAL_PLAN)
    assert Consent.objects.active_for(world.patient_a, SHARE)
    assert hospital.pk not in _seen(world.home_nurse_b, world.patient_b, mode)


def test_emergency_access_sees_everything_a_relative_nothing(world):
    hospital, municipal = _diagnoses(world, world.patient_b)
    request = type("R", (), {"user": world.home_nurse_a, "META": {}})()
    policy.start_emergency_access(request, world.patient_b, reason_code="acute",
                                  reason_text="Akutt forverring, teamet svarer ikke")
    grant = policy.grant_for(world.home_nurse_a, world.patient_b)
    assert grant is not None and grant.basis == AuditEvent.Basis.EMERGENCY
    assert _seen(world.home_nurse_a, world.patient_b, "grant") == {hospital.pk, municipal.pk}
    # patient_a has consented; a relative's delegation still opens no health information.
    Diagnosis.objects.create(patient=world.patient_a, code="Z74", text="Pleie",
                             recorded_by_organisation=world.hn_a)
    grant = policy.grant_for(world.relative_a, world.patient_a)
    assert grant is not None and grant.basis == AuditEvent.Basis.DELEGATION
    for mode in MODES:
        assert _seen(world.relative_a, world.patient_a, mode) == set()


def test_self_reports_go_to_the_care_team_and_suppliers_are_a_sector_of_their_own(world):
    """Sets recorded by no organisation (the patient's own) show to every staff viewer;
    a supplier sees only its own sector's sets without consent, like everyone else."""
    from samhand.accounts.models import User
    from samhand.observations.access import visible_sets_q
    from samhand.observations.models import ObservationSet
    from samhand.orgs.models import Membership, Organisation
    from samhand.patients.models import CareTeamMember

    supplier = Organisation.objects.create(kind=Organisation.Kind.SUPPLIER, name="Respira AS")
    technician = User.objects.create_user(username="tech", password="x", first_name="Tor",
                                          last_name="Tekniker")
    Membership.objects.create(user=technician, organisation=supplier,
                              role=Membership.Role.NURSE,
                              valid_from=timezone.now() - dt.timedelta(days=1))
    CareTeamMember.objects.create(patient=world.patient_b, organisation=supplier,
                                  role=CareTeamMember.Role.SUPPLIER,
                                  period_start=timezone.now() - dt.timedelta(days=1))
    sets = {name: ObservationSet.objects.create(patient=world.patient_b, form_key="vital_signs",
                                                form_version=1, organisation=org).pk
            for name, org in (("hospital", world.pulm), ("municipal", world.hn_b),
                              ("supplier", supplier), ("self", None))}

    def seen(user: Any) -> set[str]:
        grant = policy.grant_for(user, world.patient_b)
        assert grant is not None
        found = set(ObservationSet.objects.filter(patient=world.patient_b)
                    .filter(visible_sets_q(world.patient_b, grant)).values_list("pk", flat=True))
        by_user = set(ObservationSet.objects.filter(patient=world.patient_b).filter(
            policy.health_info_q(user, sector_field="organisation", self_reports=True))
            .values_list("pk", flat=True))
        assert found == by_user
        return {name for name, pk in sets.items() if pk in found}

    assert seen(world.consultant) == {"hospital", "self"}
    assert seen(world.home_nurse_b) == {"municipal", "self"}
    assert seen(technician) == {"supplier", "self"}
    _consent(world, world.patient_b, Consent.Status.GIVEN)
    assert seen(technician) == set(sets)


consent_rows = st.lists(
    st.tuples(st.sampled_from(["given", "withdrawn"]), st.integers(0, 3),
              st.sampled_from([SHARE, SHARE, Consent.Scope.INDIVIDUAL_PLAN])),
    max_size=5)


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=consent_rows, viewer=st.sampled_from(["home_nurse_b", "consultant"]))
def test_every_mode_agrees_with_the_newest_consent_row(world, rows, viewer):
    """Oracle: among the share rows with the greatest recorded_at a withdrawal wins."""
    base = timezone.now() - dt.timedelta(days=10)
    with transaction.atomic():
        hospital, municipal = _diagnoses(world, world.patient_b)
        for status, day, scope in rows:
            _consent(world, world.patient_b, status, base + dt.timedelta(days=day), scope)
        share = [(day, status) for status, day, scope in rows if scope == SHARE]
        newest = max((day for day, _status in share), default=None)
        shared = newest is not None and all(
            status == "given" for day, status in share if day == newest)
        own = municipal.pk if viewer == "home_nurse_b" else hospital.pk
        expected = {hospital.pk, municipal.pk} if shared else {own}
        for mode in MODES:
            assert _seen(world.users[viewer], world.patient_b, mode) == expected, mode
        transaction.set_rollback(True)


# --------------------------------------------------------------------------- the callers

def _fhir(user: Any) -> Client:
    _token, secret = ApiToken.issue(user, days=30)
    return Client(HTTP_AUTHORIZATION=f"Bearer {secret}")


def _entries(bundle: dict[str, Any]) -> set[str]:
    return {e["resource"]["id"] for e in bundle.get("entry", [])}


def test_the_patient_api_leaves_out_the_other_sectors_diagnoses(world):
    """policy.filter_health_info: patient_b's hospital diagnosis, read by Nesvik."""
    client = _fhir(world.home_nurse_b)
    body = client.get(f"/api/v1/patients/{world.patient_b.pk}").json()
    assert body["diagnoses"] == [] and body["diagnoses_hidden"] == 1
    _consent(world, world.patient_b, Consent.Status.GIVEN)
    body = client.get(f"/api/v1/patients/{world.patient_b.pk}").json()
    assert [d["code"] for d in body["diagnoses"]] == ["J44.1"]
    assert body["diagnoses_hidden"] == 0


def test_an_observation_search_leaves_out_the_other_sectors_sets(world):
    """observations.access.visible_sets_q: Nesvik's vital signs, searched by the hospital."""
    from samhand.observations import services
    from samhand.observations.tests.conftest import VITALS_NORMAL, actor_and_grant

    actor, grant = actor_and_grant(world.home_nurse_b, world.patient_b)
    recorded = services.save_observation(actor, world.patient_b, grant,
                                         form_key="vital_signs", answers=VITALS_NORMAL,
                                         final=True)
    search = f"/fhir/Observation?patient=Patient/{world.patient_b.pk}"
    assert _fhir(world.home_nurse_b).get(search).json()["total"] > 0
    client = _fhir(world.consultant)
    bundle = client.get(search).json()
    assert bundle["total"] == 0 and not bundle.get("entry")
    assert client.get(f"/fhir/QuestionnaireResponse/{recorded.pk}").status_code == 404
    _consent(world, world.patient_b, Consent.Status.GIVEN)
    assert client.get(search).json()["total"] > 0


def test_a_message_search_leaves_out_messages_between_others(world, audit):
    """messaging visible_messages_q / sees_message: a message between two Nesvik units,
    searched by the hospital (not a party)."""
    from samhand.messaging.models import Partner
    from samhand.messaging.threads import send_care_communication

    Partner.objects.create(name="Fjordby sykehus", organisation=world.pulm, her_id="91001",
                           endpoint_url="https://sykehus.test/fhir")
    nesvik = Partner.objects.create(name="Nesvik hjemmesykepleie", organisation=world.hn_b,
                                    her_id="93001", is_local=True)
    office = Partner.objects.create(name="Nesvik legekontor", organisation=world.nesvik,
                                    her_id="93002", endpoint_url="https://nesvik.test/fhir")
    care = send_care_communication(
        patient=world.patient_b, sender=nesvik, receiver=office,
        actor=Actor(user=world.home_nurse_b), author_name="Bjørn Berg",
        author_phone="400 00 002", text="Internt", category="nursing")
    search = {"patient": f"Patient/{world.patient_b.pk}"}
    assert str(care.outbound.pk) in _entries(
        _fhir(world.home_nurse_b).get("/fhir/MessageHeader", search).json())
    client = _fhir(world.ltmv_nurse)
    bundle = client.get("/fhir/MessageHeader", search).json()
    assert bundle["total"] == 0 and not _entries(bundle)
    assert not _entries(client.get("/fhir/Communication", search).json())
    watch = audit()
    assert client.get(f"/fhir/MessageHeader/{care.outbound.pk}").status_code == 404
    assert watch.rows(code="samhand.message.read", outcome=AuditEvent.Outcome.MINOR_FAILURE)
    _consent(world, world.patient_b, Consent.Status.GIVEN)
    assert str(care.outbound.pk) in _entries(client.get("/fhir/MessageHeader", search).json())
    assert str(care.pk) in _entries(client.get("/fhir/Communication", search).json())


def test_a_careplan_search_leaves_out_the_other_sectors_treatment_plan(world):
    """plans: the hospital's treatment plan, searched by Nesvik; not even counted."""
    from samhand.plans import services
    from samhand.plans.tests.helpers import LTMV_TREATMENT, actor_and_grant

    actor, grant = actor_and_grant(world.ltmv_nurse, world.patient_b)
    services.save_treatment_plan(actor, world.patient_b, grant, content=dict(LTMV_TREATMENT))
    plan = world.patient_b.treatment_plan
    search = f"/fhir/CarePlan?patient=Patient/{world.patient_b.pk}"
    assert _entries(_fhir(world.consultant).get(search).json()) == {str(plan.pk)}
    client = _fhir(world.home_nurse_b)
    bundle = client.get(search).json()
    assert bundle["total"] == 0 and not _entries(bundle)
    assert client.get(f"/fhir/CarePlan/{plan.pk}").status_code == 404
    _consent(world, world.patient_b, Consent.Status.GIVEN)
    bundle = client.get(search).json()
    assert bundle["total"] == 1 and _entries(bundle) == {str(plan.pk)}
