"""The hospital and coordinator worklists read their rows' gates, next tasks, notice
chains and plan status in a fixed number of queries: 20 rows cost what 3 rows cost."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from samhand.pathways import gate as gates
from samhand.pathways import services as svc
from samhand.pathways.gate import CriterionResult
from samhand.patients.models import CareTeamMember, Consent, Patient

from .conftest import actor_of, grant

pytestmark = pytest.mark.django_db

_numbers = itertools.count(1)


@pytest.fixture
def batched_plans_criteria(monkeypatch: pytest.MonkeyPatch) -> None:
    """The plans app's evaluators read each patient's plans and binder one patient at a
    time (samhand/plans/gate.py has no `many` version yet); they are replaced here by
    evaluators registered with `many`, so that the test measures what the worklists
    themselves cost."""
    monkeypatch.setattr(gates, "_REGISTRY", dict(gates._REGISTRY))
    monkeypatch.setattr(gates, "_MANY", dict(gates._MANY))
    for name in ("plans.binder_current", "plans.individual_plan_started",
                 "plans.treatment_plan_signed", "plans.action_plan_approved"):
        gates.register_criterion(name, lambda p: CriterionResult(False, "–"),
                                 many=lambda ps: {p.pk: CriterionResult(False, "–") for p in ps})


def _add_patients(world: Any, n: int, *, all_plans: bool = False) -> None:
    """n LTMV patients of Fjordby, admitted, on the care team of the lung ward and the
    coordinating unit, each with an individual plan and a discharge-ready notice; with
    `all_plans`, every other one also with a signed treatment plan, an approved action
    plan and a patient binder (so that every branch of the plans' checks is read)."""
    from samhand.plans import services as plans

    nurse, coordinator = world.ltmv_nurse, world.coordinator_a
    since = timezone.now() - dt.timedelta(days=60)
    for _ in range(n):
        i = next(_numbers)
        patient = Patient.objects.create(
            national_id=f"0101{i:07d}", national_id_kind="test", given_name=f"Pasient{i}",
            family_name=f"Rad{i:03d}", group="ltmv", municipality=world.fjordby)
        R = CareTeamMember.Role
        for org, role, user in ((world.pulm, R.LTMV_NURSE, nurse),
                                (world.pulm, R.RESPONSIBLE_CONSULTANT, world.consultant),
                                (world.ke_a, R.MUNICIPAL_COORDINATOR, coordinator),
                                (world.hn_a, R.HOME_NURSING, None)):
            CareTeamMember.objects.create(patient=patient, organisation=org, role=role,
                                          user=user, period_start=since)
        for scope in (Consent.Scope.SHARE_HEALTH_INFO, Consent.Scope.INDIVIDUAL_PLAN):
            Consent.objects.create(patient=patient, scope=scope, status=Consent.Status.GIVEN,
                                   recorded_by=coordinator, recorded_by_organisation=world.ke_a)
        pathway = svc.start_pathway(actor_of(nurse), grant(nurse, patient), patient,
                                    template_key="ltmv_invasive", entry="acute",
                                    at=since + dt.timedelta(days=1))
        for kind, days in (("referral", 40), ("admitted", 30), ("discharge_ready", 3)):
            svc.record_event(pathway, kind, actor=actor_of(nurse),
                             at=timezone.now() - dt.timedelta(days=days))
        plans.start_individual_plan(actor_of(coordinator), patient, grant(coordinator, patient))
        if all_plans and i % 2:
            _add_plans(world, patient)


def _add_plans(world: Any, patient: Patient) -> None:
    from samhand.orgs.models import Organisation
    from samhand.plans import services as plans
    from samhand.plans.models import Document
    from samhand.plans.tests.helpers import LTMV_TREATMENT

    supplier = Organisation.objects.filter(kind=Organisation.Kind.SUPPLIER).first() or \
        Organisation.objects.create(kind=Organisation.Kind.SUPPLIER, name="Respirasjon AS",
                                    phone_24h="22 00 00 99")
    since = timezone.now() - dt.timedelta(days=60)
    CareTeamMember.objects.create(patient=patient, organisation=supplier,
                                  role=CareTeamMember.Role.SUPPLIER, period_start=since)
    CareTeamMember.objects.create(patient=patient, organisation=world.gp_office, user=world.gp_a,
                                  role=CareTeamMember.Role.GP, period_start=since)
    nurse, doctor = world.ltmv_nurse, world.consultant
    tp = plans.save_treatment_plan(actor_of(nurse), patient, grant(nurse, patient),
                                   content=dict(LTMV_TREATMENT))
    plans.sign_treatment_plan(actor_of(doctor), patient, grant(doctor, patient),
                              number=tp.number, seen_hash=tp.content_hash)
    ap = plans.build_action_plan(actor_of(nurse), patient, grant(nurse, patient))
    plans.approve_action_plan(actor_of(doctor), patient, grant(doctor, patient),
                              number=ap.number, seen_hash=ap.content_hash)
    # The binder's row without its PDF: the gate reads the row, never the content.
    Document.objects.create(patient=patient, kind=Document.Kind.BINDER, number=1,
                            code="0000-0000", source_hash="0" * 64, pdf=b"",
                            current_at=timezone.now())


def _queries(client: Client, url: str) -> int:
    client.get(url)  # warm: session, translations, templates
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("who, page, unit", [
    ("ltmv_nurse", "hospital", "pulm"),
    ("coordinator_a", "coordinator", "ke_a"),
])
def test_a_worklist_costs_the_same_number_of_queries_for_3_and_20_rows(
        world, batched_plans_criteria, who, page, unit):
    client = world.login(Client(), getattr(world, who))
    url = f"/worklists/{page}/?unit={getattr(world, unit).pk}"
    _add_patients(world, 3)
    few = _queries(client, url)
    assert client.get(url).content.decode().count("Rad0") == 3
    _add_patients(world, 17)
    many = _queries(client, url)
    html = client.get(url).content.decode()
    assert html.count("Rad0") == 20
    print(f"{page}: {few} queries for 3 rows, {many} for 20")
    assert many == few, f"{few} queries for 3 rows, {many} for 20"


@pytest.mark.parametrize("who, page, unit", [
    ("ltmv_nurse", "hospital", "pulm"),
    ("coordinator_a", "coordinator", "ke_a"),
])
def test_with_the_real_plans_checks_a_worklist_costs_the_same_for_3_and_20_rows(
        world, who, page, unit):
    """As above, with the plans app's own evaluators (samhand/plans/gate.py, registered
    with `many`) reading plans, approvals, signatures, care teams and binders."""
    assert {"plans.binder_current", "plans.individual_plan_started",
            "plans.treatment_plan_signed", "plans.action_plan_approved"} <= set(gates._MANY)
    client = world.login(Client(), getattr(world, who))
    url = f"/worklists/{page}/?unit={getattr(world, unit).pk}"
    _add_patients(world, 3, all_plans=True)
    few = _queries(client, url)
    assert client.get(url).content.decode().count("Rad0") == 3
    _add_patients(world, 17, all_plans=True)
    many = _queries(client, url)
    assert client.get(url).content.decode().count("Rad0") == 20
    print(f"{page} (real plans checks): {few} queries for 3 rows, {many} for 20")
    assert many == few, f"{few} queries for 3 rows, {many} for 20"
