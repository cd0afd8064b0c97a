"""The access matrix (security.md #2, #3, #6, #7, #9) against an oracle written here.

Hypothesis draws one situation per example: a fresh user working (or not) in one
organisation, a fresh patient with (or without) a care relation to some
organisation, a block, an emergency grant and a delegation, each in one of its
states. The oracle below says what the user may do, from the rules in
security.md, without calling the access layer; every policy function must agree.

Each example runs in a savepoint that is rolled back, so examples cannot see each
other's rows.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from typing import Any

import pytest
from django.db import transaction
from django.http import Http404
from django.test import RequestFactory
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from samhand.access import policy
from samhand.access.models import EmergencyAccessGrant
from samhand.accounts.models import User
from samhand.audit.models import AuditEvent
from samhand.conftest import fnr
from samhand.orgs.models import Membership, Organisation
from samhand.patients.models import (
    AccessBlock,
    CareTeamMember,
    Delegation,
    Patient,
    RelatedPerson,
)

MATRIX = settings(
    max_examples=int(os.environ.get("SAMHAND_MATRIX_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

STAFF_ORGS = ("pulm", "hn_a", "hn_b", "gp_office")
# The world's own patients and the organisations on their care teams (conftest).
WORLD_TEAMS = {"patient_a": {"pulm", "hn_a", "ke_a", "gp_office"},
               "patient_b": {"pulm", "hn_b"}}
SCOPE = "contacts"  # the delegation scope the audited read below asks for


@dataclass(frozen=True)
class Situation:
    user_org: str
    role: str  # the membership role; the access rules do not depend on it (issue 2 §5)
    hpr: bool
    account_active: bool
    membership: str  # none, active, ended, future
    relation_org: str
    relation: str  # none, active, expired, future, ends_now
    block: str  # none, user, org, parent_org, other_org, lifted
    emergency: str  # none, active, expired, ended, other_org
    delegation: str  # none, active, expired, future, revoked, wrong_scope


situations = st.builds(
    Situation,
    user_org=st.sampled_from(STAFF_ORGS),
    role=st.sampled_from(Membership.Role.values),
    hpr=st.booleans(),
    account_active=st.sampled_from([True, True, True, False]),
    membership=st.sampled_from(["none", "active", "ended", "future"]),
    relation_org=st.sampled_from(STAFF_ORGS),
    relation=st.sampled_from(["none", "active", "expired", "future", "ends_now"]),
    block=st.sampled_from(["none", "user", "org", "parent_org", "other_org", "lifted"]),
    emergency=st.sampled_from(["none", "active", "expired", "ended", "other_org"]),
    delegation=st.sampled_from(["none", "active", "expired", "future", "revoked",
                                "wrong_scope"]),
)


# --------------------------------------------------------------------------- the oracle

@dataclass(frozen=True)
class Expected:
    basis: str | None  # AuditEvent.Basis value, or None: no access at all
    in_lists: bool  # in visible_patients and in the unit's worklist
    blocked_data: bool = False
    scoped_read_ok: bool = False  # get_patient_for(..., scope=SCOPE)


def oracle(s: Situation) -> Expected:
    """The rules, read from security.md #2, #6, #7, #9 and issue 2 §5."""
    works_there = s.account_active and s.membership == "active"
    care = works_there and s.relation == "active" and s.relation_org == s.user_org
    # A block names the user, or an organisation the user works in or one above it
    # (a block on a municipality covers its home nursing units).
    blocks_me = s.account_active and (
        s.block == "user" or (works_there and s.block in ("org", "parent_org")))
    any_block = s.block not in ("none", "lifted")
    if care and not blocks_me:
        return Expected("care_relation", in_lists=True, scoped_read_ok=True)
    # Emergency access: a running grant, by active health personnel still working in
    # the organisation the grant was made for. It overrides a block and says so.
    if (s.emergency == "active" and s.hpr and works_there):
        return Expected("emergency", in_lists=False, blocked_data=any_block,
                        scoped_read_ok=True)
    # A relative's delegation: running, not revoked; a personal block wins.
    if (s.account_active and s.delegation in ("active", "wrong_scope")
            and s.block != "user"):
        return Expected("delegation", in_lists=False,
                        scoped_read_ok=s.delegation == "active")
    return Expected(None, in_lists=False)


# --------------------------------------------------------------------------- building

def build(world: Any, s: Situation) -> tuple[User, Patient, dict[str, Any]]:
    now = timezone.now()
    day = dt.timedelta(days=1)
    org: Organisation = getattr(world, s.user_org)
    user = User.objects.create_user(username="matrix", password=None, first_name="Mia",
                                    last_name="Matrise", profession="nurse",
                                    hpr_number="1234567" if s.hpr else "",
                                    is_active=s.account_active)
    periods = {"active": (now - 400 * day, None), "ended": (now - 400 * day, now - day),
               "future": (now + day, None)}
    if s.membership in periods:
        start, end = periods[s.membership]
        Membership.objects.create(user=user, organisation=org, role=s.role,
                                  valid_from=start, valid_to=end)
    patient = Patient.objects.create(national_id=fnr(dt.date(1990, 1, 1)),
                                     national_id_kind="test", given_name="Mons",
                                     family_name="Matrisen", municipality=world.fjordby)
    rows: dict[str, Any] = {}
    relation_periods = {"active": (now - 30 * day, None), "expired": (now - 30 * day, now - day),
                        "future": (now + day, None),
                        "ends_now": (now - 30 * day, now - dt.timedelta(seconds=1))}
    if s.relation in relation_periods:
        start, end = relation_periods[s.relation]
        rows["relation"] = CareTeamMember.objects.create(
            patient=patient, organisation=getattr(world, s.relation_org), role="home_nursing",
            period_start=start, period_end=end)
    blocked = {"user": {"blocked_user": user}, "org": {"blocked_organisation": org},
               "parent_org": {"blocked_organisation": org.parent or org},
               "other_org": {"blocked_organisation": world.ke_a},
               "lifted": {"blocked_user": user, "lifted_at": now - day}}
    if s.block in blocked:
        AccessBlock.objects.create(patient=patient, created_by=world.coordinator_a,
                                   **blocked[s.block])
    grants = {"active": (now - dt.timedelta(hours=1), now + dt.timedelta(hours=3), None, org),
              "expired": (now - dt.timedelta(hours=6), now - dt.timedelta(hours=2), None, org),
              "ended": (now - dt.timedelta(hours=1), now + dt.timedelta(hours=3),
                        now - dt.timedelta(minutes=5), org),
              "other_org": (now - dt.timedelta(hours=1), now + dt.timedelta(hours=3), None,
                            world.hn_b if org != world.hn_b else world.hn_a)}
    if s.emergency in grants:
        start, end, ended, grant_org = grants[s.emergency]
        rows["emergency"] = EmergencyAccessGrant.objects.create(
            user=user, patient=patient, organisation=grant_org, reason_code="acute",
            reason_text="Pasienten trenger hjelp nå", started_at=start, expires_at=end,
            ended_at=ended)
    delegations = {"active": (now - day, now + 30 * day, None, [SCOPE, "access_log"]),
                   "expired": (now - 30 * day, now - day, None, [SCOPE]),
                   "future": (now + day, now + 30 * day, None, [SCOPE]),
                   "revoked": (now - day, now + 30 * day, now - dt.timedelta(hours=1), [SCOPE]),
                   "wrong_scope": (now - day, now + 30 * day, None, ["appointments"])}
    if s.delegation in delegations:
        start, end, revoked, scopes = delegations[s.delegation]
        person = RelatedPerson.objects.create(patient=patient, name="Mia Matrise",
                                              relation="child", user=user)
        rows["delegation"] = Delegation.objects.create(
            related_person=person, scopes=scopes, valid_from=start, valid_to=end,
            revoked_at=revoked, granted_by=world.coordinator_a)
    return user, patient, rows


def _request(user: User) -> Any:
    request = RequestFactory().get("/")
    request.user = user
    return request


# --------------------------------------------------------------------------- the matrix

@MATRIX
@given(s=situations)
def test_access_layer_agrees_with_the_oracle(world, s):
    with transaction.atomic():
        user, patient, rows = build(world, s)
        check(world, s, user, patient, rows)
        transaction.set_rollback(True)


def check(world: Any, s: Situation, user: User, patient: Patient,
          rows: dict[str, Any]) -> None:
    expected = oracle(s)
    org = getattr(world, s.user_org)

    # Lists: visible_patients and the unit's worklist; never the other patients.
    visible = set(policy.visible_patients(user))
    assert (patient in visible) == expected.in_lists, s
    works_there = s.account_active and s.membership == "active"
    others = {world.patient_a: s.user_org in WORLD_TEAMS["patient_a"],
              world.patient_b: s.user_org in WORLD_TEAMS["patient_b"]}
    for other, on_team in others.items():
        assert (other in visible) == (works_there and on_team), s
    worklist = set(policy.patients_for_organisation(org, user))
    assert (patient in worklist) == expected.in_lists, s
    for other in STAFF_ORGS:
        if other != s.user_org:
            assert patient not in policy.patients_for_organisation(getattr(world, other), user)

    # The grant.
    grant = policy.grant_for(user, patient)
    if expected.basis is None:
        assert grant is None, s
    else:
        assert grant is not None, s
        assert grant.basis == expected.basis, s
        assert grant.blocked == expected.blocked_data, s
        basis_row = {"care_relation": "relation", "emergency": "emergency",
                     "delegation": "delegation"}[expected.basis]
        assert grant.basis_id == str(rows[basis_row].pk), s
    # get_patient_for's one-statement path gives the same grant, or leaves it to grant_for.
    _found, fast = policy._by_care_relation(user, patient.pk)
    assert fast is None or fast == grant, s
    assert (fast is not None) == (expected.basis == "care_relation" and not grant.blocked), s
    for other, on_team in others.items():
        other_grant = policy.grant_for(user, other)
        assert (other_grant is not None) == (works_there and on_team), s

    # The audited gate, asked for a delegation scope as a relative's page would be.
    before = AuditEvent.objects.count()
    if expected.scoped_read_ok:
        found, grant = policy.get_patient_for(_request(user), patient.pk, scope=SCOPE)
        assert found == patient
        event = AuditEvent.objects.order_by("-seq").first()
        assert event is not None
        assert (event.outcome, event.basis, event.patient_id, event.user_id) == (
            "0", expected.basis, patient.pk, user.pk), s
        assert event.basis_id == grant.basis_id
        assert event.blocked_data == expected.blocked_data, s
        assert event.object_ids == [str(patient.pk)]
    else:
        with pytest.raises(Http404):
            policy.get_patient_for(_request(user), patient.pk, scope=SCOPE)
        event = AuditEvent.objects.order_by("-seq").first()
        assert event is not None
        assert (event.outcome, event.basis, event.patient_id) == (
            "4", "none", patient.pk), s
        assert event.user_id == user.pk
    assert AuditEvent.objects.count() == before + 1

    # Staff pages that do not name a delegation scope never open to a relative.
    if expected.basis == "delegation":
        with pytest.raises(Http404):
            policy.get_patient_for(_request(user), patient.pk)

    # The delegated list matches the delegation.
    delegated = set(policy.delegated_patients(user))
    assert (patient in delegated) == (expected.basis == "delegation"
                                      or (s.account_active and s.block != "user"
                                          and s.delegation in ("active", "wrong_scope"))), s


# --------------------------------------------------------------------------- fixed corners

def _nurse(org: str, *rest: Any) -> Situation:
    return Situation(org, "nurse", *rest)


@pytest.mark.parametrize("s", [
    # The personas' everyday cases, always run whatever Hypothesis draws.
    _nurse("hn_a", True, True, "active", "hn_a", "active", "none", "none", "none"),
    _nurse("hn_b", True, True, "active", "hn_a", "active", "none", "none", "none"),
    _nurse("hn_a", True, True, "active", "hn_a", "active", "user", "none", "none"),
    _nurse("hn_a", True, True, "active", "hn_a", "active", "parent_org", "none", "none"),
    _nurse("hn_a", True, True, "active", "hn_a", "active", "user", "active", "none"),
    _nurse("hn_a", True, True, "ended", "hn_a", "active", "none", "active", "none"),
    _nurse("hn_a", False, True, "active", "hn_b", "none", "none", "active", "none"),
    _nurse("hn_a", True, True, "active", "hn_b", "none", "none", "other_org", "none"),
    _nurse("hn_a", True, False, "active", "hn_a", "active", "none", "active", "active"),
    _nurse("hn_a", True, True, "none", "hn_a", "none", "none", "none", "active"),
    _nurse("hn_a", True, True, "none", "hn_a", "none", "user", "none", "active"),
    _nurse("hn_a", True, True, "none", "hn_a", "none", "none", "none", "wrong_scope"),
    _nurse("hn_a", True, True, "active", "hn_a", "ends_now", "none", "none", "revoked"),
])
def test_access_layer_corner_cases(world, s):
    with transaction.atomic():
        user, patient, rows = build(world, s)
        check(world, s, user, patient, rows)
        transaction.set_rollback(True)
