"""The individual plan: consent, coordinator, versions, stale contacts."""

from __future__ import annotations

import datetime as dt

import pytest

from samhand.lib.errors import Conflict, DomainError
from samhand.patients.models import CareTeamMember
from samhand.plans import services
from samhand.plans.models import IndividualPlan, IndividualPlanVersion

from .helpers import actor_and_grant, consent


def test_the_plan_cannot_start_without_the_patients_consent(world, audit):
    actor, grant = actor_and_grant(world.coordinator_a, world.patient_a)
    watch = audit()
    with pytest.raises(DomainError) as error:
        services.start_individual_plan(actor, world.patient_a, grant)
    assert error.value.code == "no_consent"
    assert not IndividualPlan.objects.exists()
    assert not watch.rows(code="samhand.individual_plan.started")


def test_a_withdrawn_consent_stops_the_plan_from_starting(world):
    consent(world)
    consent(world, status="withdrawn")
    actor, grant = actor_and_grant(world.coordinator_a, world.patient_a)
    with pytest.raises(DomainError) as error:
        services.start_individual_plan(actor, world.patient_a, grant)
    assert error.value.code == "no_consent"


def test_the_plan_needs_a_municipal_coordinator_on_the_care_team(world):
    consent(world)
    CareTeamMember.objects.filter(patient=world.patient_a,
                                  role="municipal_coordinator").delete()
    actor, grant = actor_and_grant(world.ltmv_nurse, world.patient_a)
    with pytest.raises(DomainError) as error:
        services.start_individual_plan(actor, world.patient_a, grant)
    assert error.value.code == "no_coordinator"
    assert not IndividualPlan.objects.exists()


def test_starting_makes_version_one_owned_by_the_coordinator_with_the_contacts(world, audit):
    consent(world)
    actor, grant = actor_and_grant(world.ltmv_nurse, world.patient_a)
    watch = audit()
    plan = services.start_individual_plan(actor, world.patient_a, grant)
    assert plan.coordinator_organisation == world.ke_a
    assert plan.coordinator == world.coordinator_a
    version = plan.latest()
    assert version.number == 1
    names = [c["name"] for c in version.content["contacts"]]
    assert any("Hjemmesykepleien Fjordby" in n for n in names)
    assert "Rolf Aasen" in names
    assert all(c["confirmed_on"] for c in version.content["contacts"])
    [row] = watch.rows(code="samhand.individual_plan.started")
    assert row.patient_id == world.patient_a.pk and str(plan.pk) in row.object_ids


def test_every_change_is_a_new_version_and_old_versions_stay(world):
    consent(world)
    actor, grant = actor_and_grant(world.coordinator_a, world.patient_a)
    plan = services.start_individual_plan(actor, world.patient_a, grant)
    first = plan.latest()
    content = dict(first.content)
    content["goals"] = [{"text": "Jeg vil være hjemme og se barnebarna mine."}]
    content["measures"] = [{"text": "Daglig stell", "party": "municipality",
                            "service": "Hjemmesykepleien"},
                           {"text": "Kontroll hver 3. måned", "party": "hospital",
                            "service": "LTMV-teamet"}]
    second = services.revise_individual_plan(actor, world.patient_a, grant, content=content,
                                             note="Mål", based_on=1)
    assert second.number == 2
    first.refresh_from_db()
    assert first.content["goals"] == []
    assert IndividualPlanVersion.objects.filter(plan=plan).count() == 2
    with pytest.raises(ValueError):
        second.note = "changed"
        second.save()


def test_a_change_from_an_old_version_is_refused(world):
    consent(world)
    actor, grant = actor_and_grant(world.coordinator_a, world.patient_a)
    plan = services.start_individual_plan(actor, world.patient_a, grant)
    content = dict(plan.latest().content, summary="Ny tekst")
    services.revise_individual_plan(actor, world.patient_a, grant, content=content, based_on=1)
    with pytest.raises(Conflict) as error:
        services.revise_individual_plan(actor, world.patient_a, grant,
                                        content=dict(content, summary="Annen"), based_on=1)
    assert error.value.code == "stale_version"
    assert plan.versions.count() == 2


def test_a_measure_must_say_who_carries_it(world):
    consent(world)
    actor, grant = actor_and_grant(world.coordinator_a, world.patient_a)
    plan = services.start_individual_plan(actor, world.patient_a, grant)
    content = dict(plan.latest().content, measures=[{"text": "Noe", "party": "nobody"}])
    with pytest.raises(DomainError) as error:
        services.revise_individual_plan(actor, world.patient_a, grant, content=content)
    assert error.value.field == "measures"
    assert plan.versions.count() == 1


def test_a_relative_with_a_delegation_cannot_change_the_plan(world):
    consent(world)
    actor, grant = actor_and_grant(world.coordinator_a, world.patient_a)
    services.start_individual_plan(actor, world.patient_a, grant)
    rel_actor, rel_grant = actor_and_grant(world.relative_a, world.patient_a)
    with pytest.raises(DomainError) as error:
        services.revise_individual_plan(rel_actor, world.patient_a, rel_grant,
                                        content={"revision": {"next_on": "2030-01-01"}})
    assert error.value.code == "read_only"


@pytest.mark.parametrize(("age_days", "stale"), [(89, False), (90, False), (91, True)])
def test_contacts_older_than_the_pathway_allows_are_flagged(world, age_days, stale):
    consent(world)
    actor, grant = actor_and_grant(world.coordinator_a, world.patient_a)
    plan = services.start_individual_plan(actor, world.patient_a, grant)
    today = dt.date(2026, 6, 1)
    content = dict(plan.latest().content)
    content["contacts"] = [{"name": "LTMV-teamet", "phone": "77 00 10 00",
                            "confirmed_on": today - dt.timedelta(days=age_days)}]
    version = services.revise_individual_plan(actor, world.patient_a, grant, content=content)
    assert bool(services.stale_contacts(version, today=today)) is stale


def test_confirming_the_contacts_makes_a_version_with_todays_date(world):
    consent(world)
    actor, grant = actor_and_grant(world.coordinator_a, world.patient_a)
    plan = services.start_individual_plan(actor, world.patient_a, grant)
    content = dict(plan.latest().content)
    content["contacts"] = [dict(c, confirmed_on="2020-01-01") for c in content["contacts"]]
    services.revise_individual_plan(actor, world.patient_a, grant, content=content)
    version = services.confirm_contacts(actor, world.patient_a, grant)
    assert version.number == 3
    assert not services.stale_contacts(version)


def test_the_pathway_sets_how_old_a_contact_may_be(world):
    from samhand.plans.pathway_link import contact_max_age_days

    from .helpers import start_ltmv_pathway

    assert contact_max_age_days(world.patient_a, 77) == 77
    start_ltmv_pathway(world)
    assert contact_max_age_days(world.patient_a, 77) == 90  # every 3 months
