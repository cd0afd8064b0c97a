import pytest

from samhand.access import policy
from samhand.audit.models import AuditEvent
from samhand.audit.services import Actor
from samhand.lib.errors import Conflict, DomainError
from samhand.patients import services
from samhand.patients.models import Patient


def _actor(world, user, org):
    return Actor(user=user, role="nurse", organisation=org)


def test_invalid_national_id_stores_nothing(world):
    before = Patient.objects.count()
    with pytest.raises(DomainError) as exc:
        services.register_patient(_actor(world, world.home_nurse_a, world.hn_a),
                                  national_id="12345678901", given_name="Ola",
                                  family_name="Nordmann", registering_organisation=world.hn_a,
                                  care_team_role="home_nursing")
    assert exc.value.field == "national_id"
    assert Patient.objects.count() == before


def test_duplicate_patient_is_refused_and_audited(world):
    with pytest.raises(Conflict):
        services.register_patient(_actor(world, world.home_nurse_b, world.hn_b),
                                  national_id=world.patient_a.national_id, given_name="X",
                                  family_name="Y", registering_organisation=world.hn_b,
                                  care_team_role="home_nursing")
    assert AuditEvent.objects.filter(code="samhand.patient.create_duplicate",
                                     outcome="4").count() == 1
    assert world.patient_a not in policy.visible_patients(world.home_nurse_b)


def test_registering_unit_gets_care_relation(world):
    import datetime as dt

    from samhand.conftest import fnr

    patient = services.register_patient(
        _actor(world, world.home_nurse_b, world.hn_b),
        national_id=fnr(dt.date(1970, 1, 5)), given_name="Nils", family_name="Ny",
        registering_organisation=world.hn_b, care_team_role="home_nursing")
    assert patient in policy.visible_patients(world.home_nurse_b)
    assert patient not in policy.visible_patients(world.home_nurse_a)
    assert AuditEvent.objects.filter(code="samhand.patient.created",
                                     patient_id=patient.pk).exists()


def test_unknown_organisation_is_a_clear_error(world):
    grant = policy.grant_for(world.ltmv_nurse, world.patient_a)
    with pytest.raises(DomainError) as exc:
        services.add_care_team_member(_actor(world, world.ltmv_nurse, world.pulm),
                                      world.patient_a, grant,
                                      organisation_id="00000000-0000-0000-0000-000000000000",
                                      role="gp")
    assert exc.value.code == "unknown_organisation"
