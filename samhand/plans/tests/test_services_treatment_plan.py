"""The treatment plan: written by the hospital, signed by the responsible doctor; a
change after signing needs a new signature."""

from __future__ import annotations

import copy

import pytest

from samhand.lib.errors import Conflict, DomainError, Forbidden
from samhand.plans import services
from samhand.plans.models import TreatmentPlanSignature, TreatmentPlanVersion

from .helpers import LTMV_TREATMENT, actor_and_grant


def _save(world, content=None, user=None):
    actor, grant = actor_and_grant(user or world.ltmv_nurse, world.patient_a)
    return services.save_treatment_plan(actor, world.patient_a, grant,
                                        content=copy.deepcopy(content or LTMV_TREATMENT))


def test_the_hospital_writes_a_versioned_treatment_plan(world, audit):
    watch = audit()
    version = _save(world)
    assert version.number == 1
    assert version.content["ventilation"]["settings"][0] == {
        "name": "IPAP", "value": "18", "unit": "cmH2O"}
    assert version.valid_signature() is None
    assert watch.rows(code="samhand.treatment_plan.revised")


def test_the_municipality_cannot_write_the_treatment_plan(world):
    with pytest.raises(Forbidden) as error:
        _save(world, user=world.home_nurse_a)
    assert error.value.code == "hospital_only"
    assert not TreatmentPlanVersion.objects.exists()


def test_oxygen_with_and_without_ventilation_needs_the_switch_written_down(world):
    content = copy.deepcopy(LTMV_TREATMENT)
    content["oxygen"]["how_to_switch"] = ""
    with pytest.raises(DomainError) as error:
        _save(world, content)
    assert error.value.field == "oxygen_how_to_switch"
    assert not TreatmentPlanVersion.objects.exists()


def test_ventilation_needs_hours_and_how_it_is_resumed(world):
    content = copy.deepcopy(LTMV_TREATMENT)
    content["ventilation"]["hours_per_day"] = "25"
    with pytest.raises(DomainError) as error:
        _save(world, content)
    assert error.value.field == "ventilation_hours_per_day"
    content["ventilation"]["hours_per_day"] = "10"
    content["ventilation"]["resume_how"] = " "
    with pytest.raises(DomainError) as error:
        _save(world, content)
    assert error.value.field == "ventilation_resume_how"


def test_only_the_responsible_doctor_signs(world, audit):
    version = _save(world)
    for user in (world.ltmv_nurse, world.gp_a):
        actor, grant = actor_and_grant(user, world.patient_a)
        with pytest.raises(Forbidden) as error:
            services.sign_treatment_plan(actor, world.patient_a, grant, number=1,
                                         seen_hash=version.content_hash)
        assert error.value.code == "not_responsible_doctor"
    actor, grant = actor_and_grant(world.consultant, world.patient_a)
    watch = audit()
    signature = services.sign_treatment_plan(actor, world.patient_a, grant, number=1,
                                             seen_hash=version.content_hash)
    assert signature.version == version
    assert version.valid_signature() == signature
    assert watch.rows(code="samhand.treatment_plan.signed")


def test_a_change_after_signing_needs_a_new_signature(world):
    version = _save(world)
    actor, grant = actor_and_grant(world.consultant, world.patient_a)
    services.sign_treatment_plan(actor, world.patient_a, grant, number=1,
                                 seen_hash=version.content_hash)
    content = copy.deepcopy(LTMV_TREATMENT)
    content["ventilation"]["settings"][0]["value"] = "20"
    second = _save(world, content)
    assert second.number == 2 and second.valid_signature() is None
    # Signing what one saw before the change is refused.
    with pytest.raises(Conflict) as error:
        services.sign_treatment_plan(actor, world.patient_a, grant, number=1,
                                     seen_hash=version.content_hash)
    assert error.value.code == "plan_changed"
    assert TreatmentPlanSignature.objects.count() == 1
    services.sign_treatment_plan(actor, world.patient_a, grant, number=2,
                                 seen_hash=second.content_hash)
    assert second.valid_signature() is not None


def test_saving_the_same_content_again_is_not_a_new_version(world):
    _save(world)
    with pytest.raises(DomainError) as error:
        _save(world)
    assert error.value.code == "no_change"
