"""HospitalNotification: codes, stays, out-of-order, filtering and effects."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from samhand.alerts.models import Alert
from samhand.messaging import bundle as fhirmsg
from samhand.messaging.hospital import ALL_CODES, CODE_BY_ACTIVITY, derive_code, read
from samhand.messaging.models import HospitalStay, InboundMessage
from samhand.messaging.receive import receive
from samhand.messaging.tests.helpers import danish_patient, load, raw, register_receivers

EXPECTED_CODES = {
    "HospitalNotification_Ex_STIN_A.json": "STIN",
    "HospitalNotification_Ex_STAA_D.json": "STAA",
    "HospitalNotification_Ex_STOR_G.json": "STOR",
    "HospitalNotification_Ex_SLOR_G.json": "SLOR",
    "HospitalNotification_Ex_SLHJ_H.json": "SLHJ",
    "HospitalNotification_Ex_SLHJ_I.json": "SLHJ",
    "HospitalNotification_Ex_MORS_J.json": "MORS",
    "HospitalNotification_Ex_MORS_K.json": "MORS",
    "HospitalNotification_Ex_MORS_L.json": "MORS",
    "HospitalNotification_Ex_RE_STIN_O.json": "RE_STIN",
    "HospitalNotification_Ex_AN_STIN_N.json": "AN_STIN",
}


@pytest.mark.parametrize(("name", "code"), sorted(EXPECTED_CODES.items()))
def test_the_notification_code_is_derived_from_activity_class_status_and_death(name, code):
    assert read(fhirmsg.parse(raw(name))).code == code


@given(st.sampled_from(sorted(CODE_BY_ACTIVITY)), st.sampled_from(["IMP", "EMER"]),
       st.sampled_from(["in-progress", "onleave", "finished", "entered-in-error"]),
       st.booleans())
def test_every_derived_code_is_a_medcom_code_and_death_always_wins(activity, klass, status,
                                                                  dead):
    code = derive_code(activity, klass, status, dead)
    assert code in ALL_CODES
    assert (code == "MORS") == dead


def _flow(world, *names):
    patient = danish_patient(world)
    replies = []
    for name in names:
        register_receivers(world, load(name))
        replies.append(receive(raw(name)))
    assert all(fhirmsg.ack_summary(r.body)[1] == "ok" for r in replies)
    return patient


def _stay(patient):
    return HospitalStay.objects.get(patient=patient)


def test_admission_alerts_the_home_nursing_unit_at_once(world, audit):
    watch = audit()
    patient = _flow(world, "HospitalNotification_Ex_STIN_A.json")
    assert _stay(patient).state == "admitted"
    alert = Alert.objects.get(patient=patient, kind="admission")
    assert alert.organisation == world.hn_a and alert.severity == "urgent"
    assert watch.rows(code="samhand.message.received")[0].patient_id == patient.pk


def test_leave_and_return_are_shown_on_the_stay(world):
    patient = _flow(world, "HospitalNotification_Ex_STIN_G.json",
                    "HospitalNotification_Ex_STOR_G.json")
    stay = _stay(patient)
    assert stay.state == "on_leave" and stay.leave_started_at is not None
    register_receivers(world, load("HospitalNotification_Ex_SLOR_G.json"))
    receive(raw("HospitalNotification_Ex_SLOR_G.json"))
    stay.refresh_from_db()
    assert stay.state == "admitted" and stay.leave_ended_at is not None
    assert [h["code"] for h in stay.history] == ["STIN", "STOR", "SLOR"]


def test_discharge_closes_the_admission_alert_and_tells_home_nursing(world):
    patient = _flow(world, "HospitalNotification_Ex_STIN_H.json",
                    "HospitalNotification_Ex_SLHJ_H.json")
    stay = _stay(patient)
    assert stay.state == "discharged" and stay.ended_at is not None
    assert Alert.objects.get(patient=patient, kind="admission").closed_at is not None
    assert Alert.objects.filter(patient=patient, kind="discharge", closed_at=None).exists()


def test_a_late_admission_never_overrides_an_earlier_discharge(world):
    patient = _flow(world, "HospitalNotification_Ex_TEK_STAA_A.json",
                    "HospitalNotification_Ex_TEK_SLHJ_A.json",
                    "HospitalNotification_Ex_TEK_STIN_B.json")
    stay = _stay(patient)
    assert stay.state == "discharged"
    assert stay.history[-1] == {**stay.history[-1], "code": "STIN", "applied": False}
    assert not Alert.objects.filter(patient=patient, kind="admission", closed_at=None).exists()


def test_acute_ambulant_becomes_admitted_without_a_discharge(world):
    patient = _flow(world, "HospitalNotification_Ex_STAA_E.json",
                    "HospitalNotification_Ex_STIN_E.json")
    assert _stay(patient).state == "admitted"
    assert Alert.objects.filter(patient=patient, kind="admission").count() == 1


def test_a_cancelled_admission_closes_its_alert(world):
    patient = _flow(world, "HospitalNotification_Ex_STIN_N.json",
                    "HospitalNotification_Ex_AN_STIN_N.json")
    assert _stay(patient).state == "cancelled"
    assert not Alert.objects.filter(patient=patient, closed_at=None).exists()


def test_death_notifies_the_whole_care_team(world):
    patient = _flow(world, "HospitalNotification_Ex_STIN_K.json",
                    "HospitalNotification_Ex_MORS_K.json")
    assert _stay(patient).state == "deceased"
    assert Alert.objects.filter(patient=patient, kind="death").count() >= 1


def test_a_patient_the_municipality_does_not_serve_is_acknowledged_and_kept_out_of_sight(
        world):
    danish_patient(world)
    name = "HospitalNotification_Ex_TEK_LOV.json"
    register_receivers(world, load(name))
    reply = receive(raw(name))
    assert fhirmsg.ack_summary(reply.body)[1] == "ok"
    inbound = InboundMessage.objects.get()
    assert inbound.hidden and inbound.patient is None
    assert not HospitalStay.objects.exists() and not Alert.objects.exists()
