"""Consent gating (issue 2 §5): health information recorded in one sector reaches the
other sector only while the patient's latest sharing consent is "given"."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from samhand.access import policy
from samhand.audit.models import AuditEvent
from samhand.patients.models import Consent, Diagnosis

SHARE = Consent.Scope.SHARE_HEALTH_INFO


def _items(world, patient):
    hospital = Diagnosis.objects.create(patient=patient, code="J96.1", text="Kronisk "
                                        "respirasjonssvikt", recorded_by_organisation=world.pulm)
    municipal = Diagnosis.objects.create(patient=patient, code="Z74.1", text="Trenger hjelp "
                                         "til personlig pleie", recorded_by_organisation=world.hn_a)
    return hospital, municipal


def _consent(world, patient, status, at, scope=SHARE):
    return Consent.objects.create(patient=patient, scope=scope, status=status,
                                  recorded_by=world.coordinator_a,
                                  recorded_by_organisation=world.ke_a, recorded_at=at)


def _shown(world, user, patient, items):
    grant = policy.grant_for(user, patient)
    assert grant is not None
    shown, hidden = policy.filter_health_info(user, patient, grant, items)
    for item in items:  # the single-item check agrees with the filter
        assert policy.may_see_health_info(user, patient, item.recorded_by_organisation,
                                          grant) == (item in shown)
    assert hidden == len(items) - len(shown)
    return shown


def test_same_sector_is_always_visible_other_sector_needs_consent(world):
    patient = world.patient_a
    Consent.objects.filter(patient=patient).delete()
    hospital, municipal = _items(world, patient)
    assert _shown(world, world.home_nurse_a, patient, [hospital, municipal]) == [municipal]
    assert _shown(world, world.ltmv_nurse, patient, [hospital, municipal]) == [hospital]
    assert _shown(world, world.gp_a, patient, [hospital, municipal]) == [municipal]


def test_active_consent_shares_both_ways(world):
    hospital, municipal = _items(world, world.patient_a)  # patient_a has consented
    items = [hospital, municipal]
    assert _shown(world, world.home_nurse_a, world.patient_a, items) == items
    assert _shown(world, world.ltmv_nurse, world.patient_a, items) == items
    assert _shown(world, world.gp_a, world.patient_a, items) == items


def test_withdrawn_consent_hides_the_other_sector_again(world):
    hospital, municipal = _items(world, world.patient_a)
    _consent(world, world.patient_a, Consent.Status.WITHDRAWN, timezone.now())
    assert _shown(world, world.home_nurse_a, world.patient_a, [hospital, municipal]) == [
        municipal]
    _consent(world, world.patient_a, Consent.Status.GIVEN,
             timezone.now() + dt.timedelta(seconds=1))
    assert len(_shown(world, world.home_nurse_a, world.patient_a, [hospital, municipal])) == 2


def test_the_latest_row_decides_not_the_latest_inserted(world):
    hospital, _ = _items(world, world.patient_a)
    # Recorded later (back-dated entry of an older decision): the withdrawal stays in force.
    _consent(world, world.patient_a, Consent.Status.WITHDRAWN, timezone.now())
    _consent(world, world.patient_a, Consent.Status.GIVEN,
             timezone.now() - dt.timedelta(days=1))
    assert _shown(world, world.home_nurse_a, world.patient_a, [hospital]) == []


def test_withdrawal_recorded_at_the_same_instant_wins(world):
    hospital, _ = _items(world, world.patient_a)
    at = timezone.now()
    _consent(world, world.patient_a, Consent.Status.GIVEN, at)
    _consent(world, world.patient_a, Consent.Status.WITHDRAWN, at)
    _consent(world, world.patient_a, Consent.Status.GIVEN, at)
    assert _shown(world, world.home_nurse_a, world.patient_a, [hospital]) == []


def test_consent_of_another_scope_or_patient_does_not_count(world):
    hospital, _ = _items(world, world.patient_b)
    _consent(world, world.patient_b, Consent.Status.GIVEN, timezone.now(),
             scope=Consent.Scope.INDIVIDUAL_PLAN)
    assert Consent.objects.filter(patient=world.patient_a, scope=SHARE,
                                  status="given").exists()
    assert _shown(world, world.home_nurse_b, world.patient_b, [hospital]) == []


def test_emergency_access_sees_everything_without_consent(world):
    hospital, municipal = _items(world, world.patient_b)
    assert not Consent.objects.filter(patient=world.patient_b).exists()
    request = type("R", (), {"user": world.home_nurse_a, "META": {}})()
    policy.start_emergency_access(request, world.patient_b, reason_code="acute",
                                  reason_text="Akutt forverring, teamet svarer ikke")
    items = [hospital, municipal]
    assert _shown(world, world.home_nurse_a, world.patient_b, items) == items


def test_a_delegation_sees_no_health_information(world):
    hospital, municipal = _items(world, world.patient_a)
    grant = policy.grant_for(world.relative_a, world.patient_a)
    assert grant is not None and grant.basis == AuditEvent.Basis.DELEGATION
    assert _shown(world, world.relative_a, world.patient_a, [hospital, municipal]) == []


# --------------------------------------------------------------------------- property

consent_rows = st.lists(
    st.tuples(st.sampled_from(["given", "withdrawn"]), st.integers(0, 5),
              st.sampled_from([SHARE, SHARE, Consent.Scope.INDIVIDUAL_PLAN])),
    max_size=5)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=consent_rows, viewer=st.sampled_from(["home_nurse_b", "consultant"]))
def test_other_sector_visible_exactly_when_the_latest_share_row_is_given(world, rows, viewer):
    """Oracle: the share rows with the greatest recorded_at; any withdrawal among them wins."""
    base = timezone.now() - dt.timedelta(days=10)
    with transaction.atomic():
        patient = world.patient_b
        hospital = Diagnosis.objects.create(patient=patient, code="J44", text="KOLS",
                                            recorded_by_organisation=world.pulm)
        municipal = Diagnosis.objects.create(patient=patient, code="Z74", text="Pleie",
                                             recorded_by_organisation=world.hn_b)
        for status, day, scope in rows:
            _consent(world, patient, status, base + dt.timedelta(days=day), scope)
        share = [(day, status) for status, day, scope in rows if scope == SHARE]
        latest = max((day for day, _ in share), default=None)
        consent = latest is not None and all(
            status == "given" for day, status in share if day == latest)
        user = getattr(world, viewer)
        own, foreign = (municipal, hospital) if viewer == "home_nurse_b" else (
            hospital, municipal)
        shown = _shown(world, user, patient, [hospital, municipal])
        assert own in shown
        assert (foreign in shown) == consent
        transaction.set_rollback(True)


@pytest.mark.parametrize("viewer", ["home_nurse_a", "ltmv_nurse", "gp_a", "coordinator_a"])
def test_nothing_is_hidden_within_one_sector(world, viewer):
    Consent.objects.filter(patient=world.patient_a).delete()
    user = getattr(world, viewer)
    grant = policy.grant_for(user, world.patient_a)
    own = world.pulm if grant.organisation.sector == "specialist" else world.hn_a
    item = Diagnosis.objects.create(patient=world.patient_a, code="R06", text="Dyspné",
                                    recorded_by_organisation=own)
    assert _shown(world, user, world.patient_a, [item]) == [item]
