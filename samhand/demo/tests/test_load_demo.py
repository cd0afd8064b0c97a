"""The demo data set (`load_demo`): believable, synthetic, complete and idempotent."""

from __future__ import annotations

from collections import Counter

import pytest
from django.contrib.auth.password_validation import validate_password
from django_otp.plugins.otp_totp.models import TOTPDevice

from samhand.access.policy import delegated_patients, visible_patients
from samhand.audit.models import AuditEvent
from samhand.audit.services import verify_chain
from samhand.demo.data import DEMO_PASSWORD, demo_totp_code, load_demo
from samhand.orgs.models import Organisation, validate_org_number
from samhand.patients.identifiers import IdKind, parse_national_id
from samhand.patients.models import CareTeamMember, Consent, Patient, RelatedPerson

pytestmark = pytest.mark.django_db


def test_demo_loads_forty_patients_in_four_groups_and_three_municipalities() -> None:
    summary = load_demo()

    assert summary.created
    assert Patient.objects.count() == 40
    assert len(summary.patients) == 40
    groups = Counter(Patient.objects.values_list("group", flat=True))
    assert set(groups) == set(Patient.Group.values)
    assert all(n >= 8 for n in groups.values())
    municipalities = Organisation.objects.filter(kind=Organisation.Kind.MUNICIPALITY)
    assert municipalities.count() == 3
    assert set(Patient.objects.values_list("municipality", flat=True)) == {
        m.pk for m in municipalities}


def test_loading_twice_adds_nothing() -> None:
    load_demo()
    counts = (Patient.objects.count(), Organisation.objects.count(),
              CareTeamMember.objects.count(), Consent.objects.count(),
              AuditEvent.objects.count())

    again = load_demo()

    assert not again.created
    assert (Patient.objects.count(), Organisation.objects.count(),
            CareTeamMember.objects.count(), Consent.objects.count(),
            AuditEvent.objects.count()) == counts
    assert len(again.patients) == 40 and len(again.logins) == len(load_demo().logins)


def test_every_national_id_is_a_valid_synthetic_test_number() -> None:
    load_demo()

    for number, kind in Patient.objects.values_list("national_id", "national_id_kind"):
        parsed = parse_national_id(number, allow_test=True)
        assert parsed.kind == IdKind.TEST
        assert kind == "test"
        assert int(number[2:4]) > 80  # month + 80: never a real person's number


def test_every_patient_has_home_nursing_and_a_gp_on_an_active_care_team() -> None:
    load_demo()

    for patient in Patient.objects.all():
        kinds = set(CareTeamMember.objects.active().filter(patient=patient)
                    .values_list("organisation__kind", flat=True))
        assert Organisation.Kind.HOME_NURSING in kinds, patient
        assert Organisation.Kind.GP_OFFICE in kinds, patient
        assert patient.relatives.filter(is_primary_contact=True).count() == 1


def test_organisations_carry_valid_numbers_and_units_their_24_hour_numbers() -> None:
    summary = load_demo()

    for org in Organisation.objects.all():
        validate_org_number(org.org_number)
        org.full_clean()
        assert org.her_id
    kinds = Counter(Organisation.objects.values_list("kind", flat=True))
    assert kinds[Organisation.Kind.HOME_NURSING] == 4
    assert kinds[Organisation.Kind.HOSPITAL] == 1
    for key in ("pulm", "neuro", "paed", "ltmv", "hn_fjordby_sentrum", "hn_nesvik",
                "lv_strandli", "supplier"):
        assert summary.organisations[key].display_24h()


def test_consents_are_given_withdrawn_and_missing() -> None:
    load_demo()

    in_force = Counter()
    for patient in Patient.objects.all():
        latest = patient.consents.filter(scope=Consent.Scope.SHARE_HEALTH_INFO).first()
        in_force[latest.status if latest else "missing"] += 1

    assert in_force[Consent.Status.GIVEN] >= 20
    assert in_force[Consent.Status.WITHDRAWN] >= 2
    assert in_force["missing"] >= 2


def test_home_nurse_sees_only_her_units_patients() -> None:
    summary = load_demo()
    hanne = summary.users["home_nurse_a"]
    bjorn = summary.users["home_nurse_b"]

    hers = set(visible_patients(hanne))
    his = set(visible_patients(bjorn))

    assert hers and his and not hers & his
    assert all(p.municipality == summary.organisations["fjordby"] for p in hers)


def test_the_blocked_neighbour_does_not_see_the_patient() -> None:
    summary = load_demo()
    jonas = summary.users["home_nurse_a2"]
    solveig = summary.patients["solveig.karlsen"]

    assert solveig.blocks.filter(blocked_user=jonas, lifted_at__isnull=True).exists()
    assert solveig not in visible_patients(jonas)
    assert summary.patients["emma.solberg"] in visible_patients(jonas)


def test_the_relative_acts_through_a_delegation() -> None:
    summary = load_demo()
    reidun = summary.users["relative_a"]

    assert list(delegated_patients(reidun)) == [summary.patients["torbjorn.haugland"]]
    assert not visible_patients(reidun).exists()
    assert RelatedPerson.objects.get(user=reidun).is_primary_contact


def test_staff_have_hpr_numbers_except_the_clerk_and_the_security_officer() -> None:
    summary = load_demo()

    without = {key for key, user in summary.users.items() if not user.hpr_number}
    assert without == {"clerk_a", "security_officer", "allocation_officer_a", "relative_a"}


def test_demo_password_passes_the_validators_and_logs_in() -> None:
    summary = load_demo()

    for user in summary.users.values():
        validate_password(DEMO_PASSWORD, user)
        assert user.check_password(DEMO_PASSWORD)


def test_each_demo_user_has_a_confirmed_totp_device_that_accepts_the_printed_code() -> None:
    summary = load_demo()
    hanne = summary.users["home_nurse_a"]

    device = TOTPDevice.objects.get(user=hanne, confirmed=True)
    assert device.verify_token(demo_totp_code(hanne.username))
    assert TOTPDevice.objects.filter(confirmed=True).count() == len(summary.users)
    assert {x.username for x in summary.logins} == {u.username for u in summary.users.values()}


def test_loading_is_audited_and_the_chain_verifies() -> None:
    load_demo()

    assert AuditEvent.objects.filter(code="samhand.demo.loaded").count() == 1
    assert AuditEvent.objects.filter(code="samhand.patient.created").count() == 40
    assert verify_chain().ok
