"""The plans' discharge-gate criteria for many pathways at once (samhand.plans.gate.MANY)
answer what the single evaluators answer, patient by patient, in every state a pathway
can be in; and the binder check reads no binder content."""

from __future__ import annotations

import copy
import datetime as dt
import itertools
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from samhand.pathways import gate as gates
from samhand.pathways import services as pathways
from samhand.patients.models import CareTeamMember, Consent, Patient, RelatedPerson
from samhand.plans import binder, services
from samhand.plans import gate as plans_gate
from samhand.plans.models import Document

from .helpers import LTMV_TREATMENT, actor_and_grant, add_supplier, consent

pytestmark = pytest.mark.django_db

R = CareTeamMember.Role
_numbers = itertools.count(1)


def _patient(world: Any, name: str) -> Patient:
    i = next(_numbers)
    patient = Patient.objects.create(
        national_id=f"0202{i:07d}", national_id_kind="test", given_name=name,
        family_name="Tilstand", group="ltmv", municipality=world.fjordby)
    since = timezone.now() - dt.timedelta(days=30)
    for org, role, user in ((world.pulm, R.LTMV_NURSE, world.ltmv_nurse),
                            (world.pulm, R.RESPONSIBLE_CONSULTANT, world.consultant),
                            (world.ke_a, R.MUNICIPAL_COORDINATOR, world.coordinator_a),
                            (world.hn_a, R.HOME_NURSING, None),
                            (world.gp_office, R.GP, world.gp_a)):
        CareTeamMember.objects.create(patient=patient, organisation=org, role=role, user=user,
                                      period_start=since)
    consent(world, Consent.Scope.SHARE_HEALTH_INFO, patient=patient)
    return patient


def _ip(world: Any, patient: Patient) -> None:
    consent(world, patient=patient)
    actor, grant = actor_and_grant(world.coordinator_a, patient)
    services.start_individual_plan(actor, patient, grant)


def _treatment_plan(world: Any, patient: Patient, *, sign: bool = True,
                    other: str = "") -> None:
    nurse, nurse_grant = actor_and_grant(world.ltmv_nurse, patient)
    content = copy.deepcopy(LTMV_TREATMENT)
    content["other"] = other
    tp = services.save_treatment_plan(nurse, patient, nurse_grant, content=content)
    if sign:
        doctor, doctor_grant = actor_and_grant(world.consultant, patient)
        services.sign_treatment_plan(doctor, patient, doctor_grant, number=tp.number,
                                     seen_hash=tp.content_hash)


def _action_plan(world: Any, patient: Patient, *, approve: bool = True) -> None:
    add_supplier(world, patient)
    nurse, nurse_grant = actor_and_grant(world.ltmv_nurse, patient)
    ap = services.build_action_plan(nurse, patient, nurse_grant)
    if approve:
        doctor, doctor_grant = actor_and_grant(world.consultant, patient)
        services.approve_action_plan(doctor, patient, doctor_grant, number=ap.number,
                                     seen_hash=ap.content_hash)


def _binder(world: Any, patient: Patient) -> Document:
    actor, grant = actor_and_grant(world.ltmv_nurse, patient)
    document, created = binder.generate_binder(actor, patient, grant=grant)
    assert created
    return document


def _pathway(world: Any, patient: Patient, template_key: str = "ltmv_invasive") -> Any:
    actor, grant = actor_and_grant(world.ltmv_nurse, patient)
    return pathways.start_pathway(actor, grant, patient, template_key=template_key,
                                  entry="elective",
                                  at=timezone.now() - dt.timedelta(days=10))


def _compare(patients: dict[str, Patient]) -> dict[str, dict[str, bool]]:
    """Both versions of every criterion; returns {state: {criterion: met}}."""
    listed = list(patients.values())
    met: dict[str, dict[str, bool]] = {state: {} for state in patients}
    for name, single in plans_gate.CRITERIA.items():
        many = plans_gate.MANY[name]([p.pk for p in listed])
        assert set(many) == {p.pk for p in listed}
        for state, patient in patients.items():
            assert many[patient.pk] == single(patient), f"{name} differs for {state}"
            met[state][name] = many[patient.pk].met
    return met


def test_many_answers_what_one_answers_in_every_state(
        world, django_capture_on_commit_callbacks):
    p: dict[str, Patient] = {}
    p["bare"] = _patient(world, "Bar")
    p["ip_asked_not_started"] = _patient(world, "Spurt")
    consent(world, patient=p["ip_asked_not_started"])
    p["ip_declined"] = _patient(world, "Nei")
    consent(world, status=Consent.Status.WITHDRAWN, patient=p["ip_declined"])
    p["plans_unsigned"] = _patient(world, "Usignert")
    _ip(world, p["plans_unsigned"])
    _treatment_plan(world, p["plans_unsigned"], sign=False)
    _action_plan(world, p["plans_unsigned"], approve=False)
    p["signed_then_revised"] = _patient(world, "Revidert")
    _treatment_plan(world, p["signed_then_revised"])
    _treatment_plan(world, p["signed_then_revised"], sign=False, other="Ny fukter.")
    for state in ("current", "stale", "unprinted_change", "contacts_confirmed",
                  "supplier_left", "team_joins_later"):
        p[state] = _patient(world, state.replace("_", " ").title().replace(" ", ""))
        _ip(world, p[state])
        _treatment_plan(world, p[state])
        _action_plan(world, p[state])
        _binder(world, p[state])
    # A change to what the binder prints whose refresh never ran (it failed): stale.
    with django_capture_on_commit_callbacks(execute=False):
        RelatedPerson.objects.create(patient=p["stale"], name="Ola Nordmann",
                                     relation="spouse", phone="900 00 001",
                                     is_primary_contact=True)
    # A change that prints nothing new: the refresh finds the binder current.
    with django_capture_on_commit_callbacks(execute=True):
        p["unprinted_change"].save()
    # The coordinator confirms the contact list: a new IP version; the refresh runs.
    patient = p["contacts_confirmed"]
    actor, grant = actor_and_grant(world.coordinator_a, patient)
    version = patient.individual_plans.get().latest()
    content = copy.deepcopy(version.content)
    content["contacts"] = [{"name": "Hjemmesykepleien", "role": "Hjemmesykepleie",
                            "number": "55 00 00 00", "around_the_clock": True,
                            "confirmed_on": timezone.localdate().isoformat()}]
    with django_capture_on_commit_callbacks(execute=True):
        services.revise_individual_plan(actor, patient, grant, content=content,
                                        note="Kontakter bekreftet")
    # The supplier leaves the care team: the action plan has no number for a fault.
    with django_capture_on_commit_callbacks(execute=True):
        member = CareTeamMember.objects.get(patient=p["supplier_left"], role=R.SUPPLIER)
        member.period_end = timezone.now() - dt.timedelta(seconds=1)
        member.save()
    # A primary home nurse joins the care team from tomorrow: the binder is current today and out of
    # date tomorrow, without any write in between.
    with django_capture_on_commit_callbacks(execute=True):
        CareTeamMember.objects.create(patient=p["team_joins_later"],
                                      organisation=world.hn_a,
                                      role=R.HOME_NURSING_PRIMARY,
                                      period_start=timezone.now() + dt.timedelta(days=1))
    today = _compare(p)
    ip, tp = "plans.individual_plan_started", "plans.treatment_plan_signed"
    ap, bc = "plans.action_plan_approved", "plans.binder_current"
    assert not any(today["bare"].values())
    assert (today["ip_asked_not_started"][ip], today["ip_declined"][ip]) == (False, True)
    assert (today["plans_unsigned"][tp], today["plans_unsigned"][ap]) == (False, False)
    assert (today["signed_then_revised"][tp], today["signed_then_revised"][bc]) == \
        (False, False)
    assert all(today["current"].values())
    assert today["stale"][bc] is False
    assert today["unprinted_change"][bc] is True
    assert today["contacts_confirmed"][bc] is True
    # (the refresh after the commit made a new binder without the supplier)
    assert (today["supplier_left"][ap], today["supplier_left"][bc]) == (False, True)
    assert today["team_joins_later"][bc] is True
    with time_machine.travel(timezone.now() + dt.timedelta(days=2)):
        later = _compare(p)
    assert later["team_joins_later"][bc] is False
    assert later["current"][bc] is True


def test_the_gate_reads_the_plans_for_many_pathways_in_a_fixed_number_of_queries(world):
    def cost(n: int) -> tuple[int, dict[Any, gates.GateStatus]]:
        made = []
        for i in range(n):
            patient = _patient(world, "Mange")
            _ip(world, patient)
            _treatment_plan(world, patient, sign=bool(i % 3))
            _action_plan(world, patient, approve=bool(i % 2))
            Document.objects.create(patient=patient, kind=Document.Kind.BINDER, number=1,
                                    code="0000-0000", source_hash="0" * 64, pdf=b"",
                                    current_at=timezone.now())
            # LTMV's gate asks for the binder and the IP, home NIV's for the plans.
            made.append(_pathway(world, patient, ("ltmv_invasive", "home_niv")[i % 2]))
        with CaptureQueriesContext(connection) as ctx:
            status = gates.evaluate_many(made, lambda pw: pw.template.gates[0])
        return len(ctx.captured_queries), status

    few, _status = cost(4)
    many, status = cost(12)
    assert few == many
    asked = {c.definition.evaluator for s in status.values() for c in s.criteria}
    assert set(plans_gate.CRITERIA) <= asked


def test_no_binder_is_unmet_without_building_its_content(world):
    patient = _patient(world, "Uten")
    _ip(world, patient)
    with CaptureQueriesContext(connection) as ctx:
        answer = plans_gate.binders_current([patient.pk])[patient.pk]
    assert not answer.met
    assert answer == plans_gate.binder_current(patient)
    assert len(ctx.captured_queries) == 1


def test_a_care_team_period_counts_from_the_moment_after_the_binder_was_known_current(
        world, django_capture_on_commit_callbacks):
    """Boundaries: a member leaving exactly when the binder was made was never printed
    (current); a member joining exactly now is printed from now (out of date)."""
    start = timezone.now().replace(microsecond=0)
    with time_machine.travel(start, tick=False):
        patient = _patient(world, "Grense")
        _ip(world, patient)
        leaving = CareTeamMember.objects.create(
            patient=patient, organisation=world.hn_a, role=R.HOME_NURSING_PRIMARY,
            period_start=start - dt.timedelta(days=3), period_end=start)
        document = _binder(world, patient)
        assert document.current_at == start
        assert plans_gate.binders_current([patient.pk])[patient.pk] == \
            plans_gate.binder_current(patient)
        assert plans_gate.binder_current(patient).met
        with django_capture_on_commit_callbacks(execute=True):
            CareTeamMember.objects.create(patient=patient, organisation=world.pulm,
                                          role=R.HOSPITAL_COORDINATOR,
                                          period_start=start + dt.timedelta(hours=1))
        assert plans_gate.binders_current([patient.pk])[patient.pk].met
    assert leaving.period_end == start
    with time_machine.travel(start + dt.timedelta(hours=1), tick=False):
        answer = plans_gate.binders_current([patient.pk])[patient.pk]
        assert answer == plans_gate.binder_current(patient)
        assert not answer.met
