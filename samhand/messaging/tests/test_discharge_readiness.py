"""Days the municipality pays for a discharge-ready patient (PW-6; standards.md §B.1)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from samhand.audit.services import Actor
from samhand.messaging import effects
from samhand.messaging.models import DischargeReadiness
from samhand.messaging.plo import record_decision
from samhand.messaging.receive import SYSTEM_ACTOR

DAY = dt.date(2026, 3, 2)


def _at(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(23, 59)))


def test_the_declared_day_counts_and_the_day_the_municipality_receives_does_not():
    r = DischargeReadiness(declared_at=_at(DAY), receive_from=DAY + dt.timedelta(days=4))
    assert r.payable_days(until=DAY + dt.timedelta(days=30)) == 4


def test_nothing_is_payable_when_the_municipality_receives_on_the_declared_day():
    r = DischargeReadiness(declared_at=_at(DAY), can_receive=True, receive_from=DAY)
    assert r.payable_days(until=DAY + dt.timedelta(days=30)) == 0


def test_an_unanswered_notice_counts_until_discharge():
    r = DischargeReadiness(declared_at=_at(DAY), discharged_at=_at(DAY + dt.timedelta(days=2)))
    assert r.payable_days(until=DAY + dt.timedelta(days=30)) == 2


@given(st.integers(0, 60), st.integers(0, 60), st.integers(0, 60))
def test_payable_days_never_exceed_any_end_of_the_chain(receive, discharge, today):
    r = DischargeReadiness(declared_at=_at(DAY), receive_from=DAY + dt.timedelta(days=receive),
                           discharged_at=_at(DAY + dt.timedelta(days=discharge)))
    days = r.payable_days(until=DAY + dt.timedelta(days=today))
    assert 0 <= days <= min(receive, discharge, today)


# --------------------------------------------------------------------------- on the pathway

@pytest.fixture
def in_hospital(world):
    """patient_a on a COPD pathway, admitted 10 days ago."""
    from samhand.access.policy import grant_for
    from samhand.pathways import services as pathways

    nurse = Actor(user=world.ltmv_nurse, organisation=world.pulm)
    pathway = pathways.start_pathway(nurse, grant_for(world.ltmv_nurse, world.patient_a),
                                     world.patient_a, template_key="copd_hf_followup",
                                     entry="discharge",
                                     at=timezone.now() - dt.timedelta(days=11))
    pathways.record_event(pathway, "admitted", actor=nurse,
                          at=timezone.now() - dt.timedelta(days=10))
    return pathway


def test_a_notice_and_the_municipal_answer_reach_the_pathway_with_their_times(world,
                                                                              in_hospital):
    declared = _at(timezone.localdate() - dt.timedelta(days=3)) - dt.timedelta(hours=12)
    readiness = DischargeReadiness.objects.create(patient=world.patient_a,
                                                  declared_at=declared, notice_header_id="n1")
    effects.discharge_ready(world.patient_a, readiness, SYSTEM_ACTOR)
    notice = in_hospital.events.get(kind="discharge_ready")
    assert notice.occurred_at == declared and notice.source == "message"
    assert notice.data["readiness"] == str(readiness.pk) and notice.data["received_at"]

    receive_from = timezone.localdate() + dt.timedelta(days=1)
    record_decision(readiness, at=declared + dt.timedelta(hours=2), can_receive=False,
                    receive_from=receive_from, header_id="d1")
    answer = in_hospital.events.get(kind="discharge_ready_answered")
    assert answer.data == {"readiness": str(readiness.pk), "can_receive": False,
                           "receive_from": receive_from.isoformat()}
    # The pathway and the message chain count the same days.
    assert in_hospital.payable_days() == readiness.payable_days() == 3
    assert in_hospital.days_discharge_ready() == 3


def test_an_answer_without_a_notice_on_the_pathway_is_logged_and_the_message_still_applies(
        world, in_hospital, caplog):
    readiness = DischargeReadiness.objects.create(
        patient=world.patient_a, declared_at=timezone.now(), notice_header_id="n2")
    record_decision(readiness, at=timezone.now(), can_receive=True,
                    receive_from=timezone.localdate(), header_id="d2")
    assert not in_hospital.events.filter(kind="discharge_ready_answered").exists()
    assert "refused the municipal answer" in caplog.text
    readiness.refresh_from_db()
    assert readiness.answered_at is not None


# --------------------------------------------------------------------------- withdrawal

@pytest.fixture
def partners(world):
    """This installation's hospital and coordinating unit, and the coordinating unit of a
    municipality on another installation (its messages wait in the outbox)."""
    from samhand.messaging.models import Partner

    hospital = Partner.objects.create(name="Fjordby sykehus PLO", organisation=world.pulm,
                                      her_id="1002", is_local=True, service="hospital")
    here = Partner.objects.create(name="Fjordby koordinerende enhet", organisation=world.ke_a,
                                  her_id="2002", is_local=True, service="coordinating_unit")
    elsewhere = Partner.objects.create(name="Fjordby kommune (eget system)", her_id="2099",
                                       service="coordinating_unit",
                                       endpoint_url="https://kommune.example/fhir")
    return hospital, here, elsewhere


def _send(world, event, sender, receiver, **kw):
    from samhand.messaging.plo import send_plo

    return send_plo(event=event, patient=world.patient_a, sender=sender, receiver=receiver,
                    actor=Actor(user=world.ltmv_nurse, organisation=world.pulm),
                    author_name="Lise Lunde", author_phone="77 00 10 00", text="Tekst", **kw)


def _deliver_here() -> None:
    from samhand.messaging import bundle as fhirmsg
    from samhand.messaging.outbox import Answer, send_due
    from samhand.messaging.receive import receive

    def loopback(out, body):
        reply = receive(body)
        return Answer(reply.status, fhirmsg.dumps(reply.body))

    send_due(transport=loopback)


def _kinds(pathway) -> list[str]:
    return list(pathway.events.filter(kind__startswith="discharge_ready")
                .order_by("occurred_at", "recorded_at").values_list("kind", flat=True))


def test_a_received_withdrawal_closes_the_period_on_the_pathway_and_the_alert(
        world, in_hospital, partners, audit):
    from samhand.alerts.models import Alert
    from samhand.messaging.codes import Event

    hospital, here, _elsewhere = partners
    _send(world, Event.PLO_DISCHARGE_READY, hospital, here,
          ready_at=timezone.now() - dt.timedelta(days=2))
    _deliver_here()
    alert = Alert.objects.get(patient=world.patient_a, kind="discharge_ready")
    assert alert.closed_at is None
    watch = audit()
    _send(world, Event.PLO_DISCHARGE_READY_WITHDRAWN, hospital, here)
    _deliver_here()

    assert _kinds(in_hospital) == ["discharge_ready", "discharge_ready_withdrawn"]
    withdrawn = in_hospital.events.get(kind="discharge_ready_withdrawn")
    assert withdrawn.source == "message"
    # (Both sides share this database, each with its own row: both are withdrawn.)
    assert not DischargeReadiness.objects.filter(patient=world.patient_a,
                                                 withdrawn_at__isnull=True).exists()
    assert withdrawn.data["readiness"] in {str(pk) for pk in DischargeReadiness.objects
                                           .filter(patient=world.patient_a)
                                           .values_list("pk", flat=True)}
    alert.refresh_from_db()
    assert alert.closed_at is not None and alert.close_note
    # The days before the withdrawal still count; the period is closed.
    assert in_hospital.days_discharge_ready() == 2
    assert watch.rows(code="samhand.alert.closed", patient_id=world.patient_a.pk)
    assert watch.rows(code="samhand.pathway.event", patient_id=world.patient_a.pk)


def test_the_hospital_keeps_its_own_notice_and_withdrawal_on_its_pathway(
        world, in_hospital, partners, audit):
    """The municipality is on another installation: the receiving side's effects happen
    there, so the sender records the notice chain on its own pathway."""
    from samhand.messaging.codes import Event
    from samhand.messaging.models import OutboundMessage

    hospital, _here, elsewhere = partners
    ready = timezone.now() - dt.timedelta(days=1)
    watch = audit()
    care = _send(world, Event.PLO_DISCHARGE_READY, hospital, elsewhere, ready_at=ready)
    own = DischargeReadiness.objects.get(patient=world.patient_a)
    notice = in_hospital.events.get(kind="discharge_ready")
    assert notice.occurred_at == ready.replace(microsecond=0)
    assert notice.data["readiness"] == str(own.pk) and "received_at" not in notice.data
    assert OutboundMessage.objects.get(header_id=care.header_id).status != "delivered"

    _send(world, Event.PLO_DISCHARGE_READY_WITHDRAWN, hospital, elsewhere)
    own.refresh_from_db()
    assert own.withdrawn_at is not None
    assert _kinds(in_hospital) == ["discharge_ready", "discharge_ready_withdrawn"]
    assert in_hospital.events.get(kind="discharge_ready_withdrawn").data == {
        "readiness": str(own.pk)}
    assert len(watch.rows(code="samhand.pathway.event", patient_id=world.patient_a.pk)) == 2


def test_a_notice_to_this_installation_is_recorded_once_with_the_time_it_was_received(
        world, in_hospital, partners):
    from samhand.messaging.codes import Event

    hospital, here, _elsewhere = partners
    _send(world, Event.PLO_DISCHARGE_READY, hospital, here,
          ready_at=timezone.now() - dt.timedelta(days=1))
    _deliver_here()
    assert _kinds(in_hospital) == ["discharge_ready"]
    assert in_hospital.events.get(kind="discharge_ready").data["received_at"]


def test_a_withdrawal_the_pathway_refuses_is_logged_and_the_message_still_applies(
        world, in_hospital, caplog):
    """No notice on the pathway (it was recorded elsewhere): the readiness is withdrawn,
    the pathway keeps its state."""
    from samhand.messaging.plo import withdraw

    readiness = DischargeReadiness.objects.create(
        patient=world.patient_a, declared_at=timezone.now(), notice_header_id="n3")
    withdraw(readiness, at=timezone.now(), actor=SYSTEM_ACTOR)
    readiness.refresh_from_db()
    assert readiness.withdrawn_at is not None
    assert _kinds(in_hospital) == []
    assert "refused event discharge_ready_withdrawn" in caplog.text
