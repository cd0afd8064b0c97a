"""The action plan: built from the scenario library of the patient's pathway, numbers
from the care team, refused without a number to call, approved by a doctor."""

from __future__ import annotations

import pytest

from samhand.lib.errors import Conflict, DomainError, Forbidden
from samhand.patients.models import CareTeamMember
from samhand.plans import content as library
from samhand.plans import services
from samhand.plans.contacts import Resolver
from samhand.plans.models import ActionPlanApproval, ActionPlanVersion

from .helpers import actor_and_grant, add_supplier


def test_the_ltmv_plan_has_every_library_scenario_and_the_role_descriptions(world, audit):
    add_supplier(world)
    actor, grant = actor_and_grant(world.ltmv_nurse, world.patient_a)
    watch = audit()
    version = services.build_action_plan(actor, world.patient_a, grant)
    keys = [s["key"] for s in version.content["scenarios"]]
    assert keys == [s.key for s in library.libraries()["ltmv"].scenarios]
    assert {"blocked_cannula", "decannulation", "power_failure", "breathlessness",
            "infection", "alarm_high_pressure"} <= set(keys)
    assert set(version.content["roles"]) == {"patient", "municipality", "hospital", "supplier"}
    assert version.content["language"] == "nb"
    assert watch.rows(code="samhand.action_plan.revised")


def test_the_plan_is_in_the_patients_language_where_the_library_has_it(world):
    world.patient_a.language = "en"
    world.patient_a.save()
    actor, grant = actor_and_grant(world.ltmv_nurse, world.patient_a)
    version = services.build_action_plan(actor, world.patient_a, grant, keys=["blocked_cannula"])
    assert version.content["language"] == "en"
    assert version.content["scenarios"][0]["title"] == "Blocked or dislodged tracheostomy tube"


def test_numbers_come_from_the_care_teams_organisations(world):
    resolver = Resolver(world.patient_a)
    assert resolver.number("emergency").number == "113"
    assert resolver.number("home_nursing").number == "400 00 001"
    assert resolver.number("hospital_team").number == "77 00 10 00"
    assert resolver.number("gp").number == "400 00 003"
    assert resolver.number("out_of_hours").number == "116 117"
    assert resolver.number("supplier") is None


def test_a_scenario_without_a_number_to_call_is_refused(world):
    # The technical-fault scenario calls the supplier; patient_a has none on the team.
    actor, grant = actor_and_grant(world.ltmv_nurse, world.patient_a)
    with pytest.raises(DomainError) as error:
        services.build_action_plan(actor, world.patient_a, grant, keys=["alarm_technical"])
    assert error.value.code == "no_number"
    assert "Utstyrsleverandør" in error.value.message or "supplier" in error.value.message
    assert not ActionPlanVersion.objects.exists()


def test_a_changed_scenario_must_still_have_someone_to_call(world):
    actor, grant = actor_and_grant(world.ltmv_nurse, world.patient_a)
    version = services.build_action_plan(actor, world.patient_a, grant, keys=["infection"])
    scenario = dict(version.content["scenarios"][0], call=[])
    with pytest.raises(DomainError) as error:
        services.update_scenario(actor, world.patient_a, grant, key="infection",
                                 scenario=scenario, based_on=1)
    assert error.value.code == "no_number"
    scenario["extra_numbers"] = [{"label": "Lungesykepleier", "number": "77 00 12 34"}]
    second = services.update_scenario(actor, world.patient_a, grant, key="infection",
                                      scenario=scenario, based_on=1)
    assert second.number == 2


def test_home_nursing_without_a_24_hour_number_is_refused(world):
    world.hn_a.phone_24h = ""
    world.hn_a.phone = "400 11 111"
    world.hn_a.save()
    actor, grant = actor_and_grant(world.ltmv_nurse, world.patient_a)
    with pytest.raises(DomainError) as error:
        services.build_action_plan(actor, world.patient_a, grant, keys=["power_failure"])
    assert error.value.code == "no_number"


def test_approval_by_the_responsible_doctor_or_the_gp(world, audit):
    add_supplier(world)
    actor, grant = actor_and_grant(world.ltmv_nurse, world.patient_a)
    version = services.build_action_plan(actor, world.patient_a, grant)
    with pytest.raises(Forbidden):
        services.approve_action_plan(actor, world.patient_a, grant, number=1,
                                     seen_hash=version.content_hash)
    gp_actor, gp_grant = actor_and_grant(world.gp_a, world.patient_a)
    watch = audit()
    approval = services.approve_action_plan(gp_actor, world.patient_a, gp_grant, number=1,
                                            seen_hash=version.content_hash)
    assert version.valid_approval() == approval
    assert watch.rows(code="samhand.action_plan.approved")


def test_an_approval_of_an_older_version_is_refused(world):
    add_supplier(world)
    actor, grant = actor_and_grant(world.ltmv_nurse, world.patient_a)
    first = services.build_action_plan(actor, world.patient_a, grant, keys=["infection"])
    services.build_action_plan(actor, world.patient_a, grant)
    doc, doc_grant = actor_and_grant(world.consultant, world.patient_a)
    with pytest.raises(Conflict):
        services.approve_action_plan(doc, world.patient_a, doc_grant, number=1,
                                     seen_hash=first.content_hash)
    assert not ActionPlanApproval.objects.exists()


def test_a_patient_group_without_a_library_is_told_so(world):
    world.patient_a.group = ""
    world.patient_a.save()
    actor, grant = actor_and_grant(world.ltmv_nurse, world.patient_a)
    with pytest.raises(DomainError) as error:
        services.build_action_plan(actor, world.patient_a, grant)
    assert error.value.code == "no_library"


def test_the_palliative_library_has_death_at_home_without_113(world):
    CareTeamMember.objects.filter(patient=world.patient_a).update()
    world.patient_a.group = "palliative"
    world.patient_a.save()
    actor, grant = actor_and_grant(world.home_nurse_a, world.patient_a)
    version = services.build_action_plan(actor, world.patient_a, grant)
    death = next(s for s in version.content["scenarios"] if s["key"] == "death_at_home")
    assert "emergency" not in death["call"]
    assert {s["key"] for s in version.content["scenarios"]} == {
        "pain", "breathlessness", "anxiety", "death_at_home"}
