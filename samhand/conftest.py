"""Personas and a small world shared by every test (style.md §12).

Two municipalities (Fjordby, Nesvik), one hospital with a pulmonary department, a GP
office; people in each; two patients, one per municipality. `world.login(client,
user)` logs in with the second factor already confirmed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from samhand.accounts.models import User
from samhand.orgs.models import Membership, Organisation
from samhand.patients.identifiers import synthetic_fnr
from samhand.patients.models import (
    CareTeamMember,
    Consent,
    Delegation,
    Diagnosis,
    Patient,
    RelatedPerson,
)

PASSWORD = "korrekt hest batteri stift 42"  # noqa: S105  (test-only)


def fnr(birth: dt.date, start: int = 100) -> str:
    for serial in range(start, start + 50):
        number = synthetic_fnr(birth, serial, test=True)
        if number:
            return number
    raise AssertionError("no valid number")


@dataclass
class World:
    orgs: dict[str, Organisation] = field(default_factory=dict)
    users: dict[str, User] = field(default_factory=dict)
    patients: dict[str, Patient] = field(default_factory=dict)

    def __getattr__(self, name: str) -> Any:
        for table in ("users", "patients", "orgs"):
            values = self.__dict__.get(table, {})
            if name in values:
                return values[name]
        raise AttributeError(name)

    @staticmethod
    def login(client: Client, user: User) -> Client:
        """Log in as `user` with a confirmed second factor (TOTP)."""
        from django_otp.plugins.otp_totp.models import TOTPDevice

        client.force_login(user)
        device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
        if device is None:
            device = TOTPDevice.objects.create(user=user, name="test", confirmed=True)
        session = client.session
        session["otp_device_id"] = device.persistent_id
        session["samhand_login_at"] = timezone.now().timestamp()
        session.save()
        return client


def _user(username: str, first: str, last: str, profession: str, hpr: str = "") -> User:
    user = User.objects.create_user(username=username, password=PASSWORD, first_name=first,
                                    last_name=last, profession=profession, hpr_number=hpr)
    return user


def build_world() -> World:
    w = World()
    K = Organisation.Kind
    hospital = Organisation.objects.create(kind=K.HOSPITAL, name="Fjordby universitetssykehus",
                                           org_number="983974899", her_id="1001",
                                           phone="77 00 00 00", phone_24h="77 00 00 01")
    pulm = Organisation.objects.create(kind=K.DEPARTMENT, parent=hospital,
                                       name="Lungemedisinsk avdeling", her_id="1002",
                                       phone_24h="77 00 10 00")
    fjordby = Organisation.objects.create(kind=K.MUNICIPALITY, name="Fjordby kommune",
                                          org_number="940101808", municipality_number="5501")
    hn_a = Organisation.objects.create(kind=K.HOME_NURSING, parent=fjordby,
                                       name="Hjemmesykepleien Fjordby sentrum", her_id="2001",
                                       phone_24h="400 00 001")
    ke_a = Organisation.objects.create(kind=K.COORDINATING_UNIT, parent=fjordby,
                                       name="Koordinerende enhet Fjordby", her_id="2002")
    gp_office = Organisation.objects.create(kind=K.GP_OFFICE, parent=fjordby,
                                            name="Fjordby legesenter", her_id="2003",
                                            phone="400 00 003")
    nesvik = Organisation.objects.create(kind=K.MUNICIPALITY, name="Nesvik kommune",
                                         org_number="964965781", municipality_number="5502")
    hn_b = Organisation.objects.create(kind=K.HOME_NURSING, parent=nesvik,
                                       name="Hjemmesykepleien Nesvik", her_id="3001",
                                       phone_24h="400 00 002")
    w.orgs.update(hospital=hospital, pulm=pulm, fjordby=fjordby, hn_a=hn_a, ke_a=ke_a,
                  gp_office=gp_office, nesvik=nesvik, hn_b=hn_b)

    P = User.Profession
    R = Membership.Role
    people = [
        ("ltmv_nurse", "Lise", "Lunde", P.NURSE, "1000001", pulm, R.NURSE),
        ("consultant", "Kari", "Krogh", P.DOCTOR, "1000002", pulm, R.DOCTOR),
        ("coordinator_a", "Kåre", "Koordinator", P.NURSE, "1000003", ke_a, R.COORDINATOR),
        ("home_nurse_a", "Hanne", "Hjem", P.NURSE, "1000004", hn_a, R.NURSE),
        ("home_nurse_b", "Bjørn", "Berg", P.NURSE, "1000005", hn_b, R.NURSE),
        ("gp_a", "Gunnar", "Lege", P.DOCTOR, "1000006", gp_office, R.GP),
        ("clerk_a", "Kim", "Kontor", P.ADMINISTRATIVE, "", hn_a, R.ADMINISTRATIVE),
    ]
    for username, first, last, prof, hpr, org, role in people:
        user = _user(username, first, last, prof, hpr)
        Membership.objects.create(user=user, organisation=org, role=role,
                                  valid_from=timezone.now() - dt.timedelta(days=365))
        w.users[username] = user
    w.users["nobody"] = _user("nobody", "Nina", "Ingen", P.NURSE, "1000009")

    since = timezone.now() - dt.timedelta(days=30)
    pa = Patient.objects.create(national_id=fnr(dt.date(1961, 3, 14)), national_id_kind="test",
                                given_name="Astrid", family_name="Aasen", group="ltmv",
                                municipality=fjordby, street="Fjordveien 1", city="Fjordby")
    pb = Patient.objects.create(national_id=fnr(dt.date(1958, 7, 2)), national_id_kind="test",
                                given_name="Bernt", family_name="Bakke", group="home_niv",
                                municipality=nesvik, street="Nesveien 2", city="Nesvik")
    w.patients.update(patient_a=pa, patient_b=pb)
    C = CareTeamMember.Role
    for patient, org, team_role, member in [
        (pa, pulm, C.RESPONSIBLE_CONSULTANT, w.users["consultant"]),
        (pa, pulm, C.LTMV_NURSE, w.users["ltmv_nurse"]),
        (pa, hn_a, C.HOME_NURSING, None),
        (pa, ke_a, C.MUNICIPAL_COORDINATOR, w.users["coordinator_a"]),
        (pa, gp_office, C.GP, w.users["gp_a"]),
        (pb, pulm, C.RESPONSIBLE_CONSULTANT, w.users["consultant"]),
        (pb, hn_b, C.HOME_NURSING, None),
    ]:
        CareTeamMember.objects.create(patient=patient, organisation=org, role=team_role,
                                      user=member, period_start=since)
    relative_user = _user("relative_a", "Rolf", "Aasen", P.RELATIVE)
    w.users["relative_a"] = relative_user
    rel = RelatedPerson.objects.create(patient=pa, name="Rolf Aasen", relation="spouse",
                                       phone="900 00 000", is_primary_contact=True,
                                       user=relative_user)
    CareTeamMember.objects.create(patient=pa, related_person=rel, role=C.RELATIVE,
                                  period_start=since)
    Delegation.objects.create(related_person=rel, scopes=["contacts", "access_log"],
                              valid_from=since, valid_to=timezone.now() + dt.timedelta(days=90),
                              granted_by=w.users["coordinator_a"], legal_basis="Fullmakt")
    Consent.objects.create(patient=pa, scope=Consent.Scope.SHARE_HEALTH_INFO,
                           status=Consent.Status.GIVEN, recorded_by=w.users["ltmv_nurse"],
                           recorded_by_organisation=pulm, recorded_at=since)
    Diagnosis.objects.create(patient=pa, code="G12.2", text="Amyotrofisk lateralsklerose",
                             recorded_by_organisation=pulm)
    Diagnosis.objects.create(patient=pb, code="J44.1", text="KOLS med akutt forverring",
                             recorded_by_organisation=pulm)
    return w


@pytest.fixture
def world(db: Any) -> World:
    return build_world()


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: Any) -> None:
    """argon2 on every fixture user costs seconds; accounts/tests checks argon2 itself."""
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.MD5PasswordHasher",
        "django.contrib.auth.hashers.Argon2PasswordHasher",
    ]


class AuditWatch:
    """Audit rows written after the watch started."""

    def __init__(self) -> None:
        from samhand.audit.models import AuditEvent

        self.start = AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first() or 0

    def rows(self, **filters: Any) -> list[Any]:
        from samhand.audit.models import AuditEvent

        return list(AuditEvent.objects.filter(seq__gt=self.start, **filters).order_by("seq"))


@pytest.fixture
def audit(db: Any) -> type[AuditWatch]:
    """`watch = audit()` before a request; `watch.rows(code=...)` after it."""
    return AuditWatch


@pytest.fixture(autouse=True)
def default_language() -> Any:
    """Every test starts in the default UI language (nb). A request through the test
    client activates the request's language in this thread and leaves it active, which
    would otherwise leak into the next test."""
    from django.conf import settings as django_settings
    from django.utils import translation

    translation.activate(django_settings.LANGUAGE_CODE)
    yield
    translation.deactivate()
