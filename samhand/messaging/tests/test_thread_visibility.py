"""The message view's threads follow the access layer's sharing rule: without the
patient's consent to share, a unit sees the threads its own municipality or hospital is
a party to; with it, all of the patient's threads; emergency access sees all, a
relative's delegation none."""

from __future__ import annotations

from django.utils import timezone

from samhand.access import policy
from samhand.audit.models import AuditEvent
from samhand.audit.services import Actor
from samhand.messaging.models import Partner
from samhand.messaging.threads import send_care_communication
from samhand.messaging.views import visible_threads
from samhand.patients.models import Consent


def _threads(world):
    """patient_b: Nesvik home nursing writes to the hospital, and to Nesvik's GP office
    (a thread the hospital is no party to)."""
    hospital = Partner.objects.create(name="Fjordby sykehus", organisation=world.pulm,
                                      her_id="91001")
    nesvik = Partner.objects.create(name="Nesvik hjemmesykepleie", organisation=world.hn_b,
                                    her_id="93001", is_local=True)
    gp = Partner.objects.create(name="Nesvik legekontor", organisation=world.nesvik,
                                her_id="93002")
    sent = {}
    for name, receiver in (("hospital", hospital), ("gp", gp)):
        sent[name] = send_care_communication(
            patient=world.patient_b, sender=nesvik, receiver=receiver,
            actor=Actor(user=world.home_nurse_b), author_name="Bjørn Berg",
            author_phone="400 00 002", text=f"Til {name}", category="nursing").thread
    return sent


def _visible(grant, patient):
    return set(visible_threads(patient, grant))


def test_without_consent_the_hospital_sees_only_the_threads_it_is_a_party_to(world):
    sent = _threads(world)
    hospital = policy.grant_for(world.ltmv_nurse, world.patient_b)
    municipality = policy.grant_for(world.home_nurse_b, world.patient_b)

    assert _visible(hospital, world.patient_b) == {sent["hospital"]}
    assert _visible(municipality, world.patient_b) == {sent["hospital"], sent["gp"]}

    Consent.objects.create(patient=world.patient_b, scope=Consent.Scope.SHARE_HEALTH_INFO,
                           status=Consent.Status.GIVEN, recorded_by=world.home_nurse_b,
                           recorded_by_organisation=world.hn_b, recorded_at=timezone.now())
    assert _visible(hospital, world.patient_b) == {sent["hospital"], sent["gp"]}


def test_emergency_access_sees_every_thread_and_a_delegation_none(world):
    sent = _threads(world)
    emergency = policy.Grant(AuditEvent.Basis.EMERGENCY, "x", world.hn_a)
    delegation = policy.Grant(AuditEvent.Basis.DELEGATION, "y", None, scopes=("messages",))

    assert _visible(emergency, world.patient_b) == set(sent.values())
    assert _visible(delegation, world.patient_b) == set()
