"""The discharge-ready notice chain on a pathway (PW-6; issue 6 point 6): notice,
answer, withdrawal, discharge — in order, stored with their timestamps, counted on the
pathway page and in the report."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from samhand.lib.errors import DomainError
from samhand.pathways import services as svc
from samhand.pathways.models import PathwayEvent
from samhand.pathways.worklists import discharge_ready_report

from .conftest import actor_of, grant

pytestmark = pytest.mark.django_db


def _days_ago(days: int, hour: int = 10) -> dt.datetime:
    day = timezone.localdate() - dt.timedelta(days=days)
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour)))


def _record(world, pathway, kind, days, user=None, **kw):
    user = user or world.ltmv_nurse
    return svc.record_event(pathway, kind, actor=actor_of(user),
                            grant=grant(user, world.patient_a), at=_days_ago(days), **kw)


def _copd_in_hospital(world, admitted_days_ago=20):
    """A COPD pathway (no gate before discharge) for patient_a, admitted."""
    nurse = world.ltmv_nurse
    pathway = svc.start_pathway(actor_of(nurse), grant(nurse, world.patient_a),
                                world.patient_a, template_key="copd_hf_followup",
                                entry=next(iter(svc.get_template("copd_hf_followup").entries)),
                                at=_days_ago(admitted_days_ago + 1))
    _record(world, pathway, "admitted", admitted_days_ago)
    return pathway


def test_the_notice_is_refused_while_the_patient_is_not_admitted_and_nothing_is_stored(ltmv):
    nurse = ltmv.ltmv_nurse
    pathway = svc.start_pathway(actor_of(nurse), grant(nurse, ltmv.patient_a), ltmv.patient_a,
                                template_key="copd_hf_followup",
                                entry=next(iter(svc.get_template("copd_hf_followup").entries)),
                                at=_days_ago(5))
    with pytest.raises(DomainError) as err:
        _record(ltmv, pathway, "discharge_ready", 1)
    assert err.value.code == "out_of_order"
    assert "ikke innlagt" in err.value.message
    assert not PathwayEvent.objects.filter(pathway=pathway).exists()


def test_a_second_notice_while_one_is_open_is_refused(ltmv):
    pathway = _copd_in_hospital(ltmv)
    _record(ltmv, pathway, "discharge_ready", 6)
    with pytest.raises(DomainError) as err:
        _record(ltmv, pathway, "discharge_ready", 4)
    assert "allerede meldt utskrivningsklar" in err.value.message
    assert pathway.events.filter(kind="discharge_ready").count() == 1


def test_an_answer_without_an_open_notice_is_refused(ltmv):
    pathway = _copd_in_hospital(ltmv)
    with pytest.raises(DomainError):
        svc.set_discharge_date(pathway, timezone.localdate(), actor=actor_of(ltmv.coordinator_a))
    assert not pathway.events.filter(kind="discharge_ready_answered").exists()


def test_the_chain_counts_days_and_payable_days_with_a_withdrawal_between_two_notices(
        ltmv, audit):
    pathway = _copd_in_hospital(ltmv, admitted_days_ago=20)
    _record(ltmv, pathway, "discharge_ready", 15,
            data={"received_at": _days_ago(15, 11).isoformat()})
    # Answered the same day: it can receive the patient in three days' time.
    svc.set_discharge_date(pathway, timezone.localdate() - dt.timedelta(days=12),
                           actor=actor_of(ltmv.coordinator_a), at=_days_ago(15, 14))
    _record(ltmv, pathway, "discharge_ready_withdrawn", 13)  # fell ill again
    _record(ltmv, pathway, "discharge_ready", 5)             # never answered
    watch = audit()
    _record(ltmv, pathway, "discharged", 2)
    assert [r.object_ids for r in watch.rows(code="samhand.pathway.event")] == [
        [str(pathway.pk), str(pathway.events.get(kind="discharged").pk)]]

    pathway.refresh_from_db()
    first, second = pathway.ready_periods()
    assert first.received_at == _days_ago(15, 11)
    assert first.answered_in_time and first.receive_from == (
        timezone.localdate() - dt.timedelta(days=12))
    assert (first.ready_days(timezone.localdate()), first.payable_days(timezone.localdate())) \
        == (2, 2)  # withdrawn before the municipality could receive the patient
    assert (second.ready_days(timezone.localdate()),
            second.payable_days(timezone.localdate())) == (3, 3)
    assert pathway.days_discharge_ready() == 5 and pathway.payable_days() == 5
    answer = pathway.events.get(kind="discharge_ready_answered")
    assert answer.data["can_receive"] is True and answer.source == "message"

    rows = discharge_ready_report(ltmv.coordinator_a)
    assert sum(r.days for r in rows) == 5 and sum(r.payable for r in rows) == 5


def test_the_pathway_page_shows_the_notice_chain_and_the_days(ltmv):
    pathway = _copd_in_hospital(ltmv)
    _record(ltmv, pathway, "discharge_ready", 4)
    client = ltmv.login(Client(), ltmv.coordinator_a)
    url = f"/patients/{ltmv.patient_a.pk}/pathways/{pathway.pk}/"
    response = client.post(url + "events/", {
        "kind": "discharge_ready_answered", "at": _days_ago(3).strftime("%Y-%m-%dT%H:%M"),
        "receive_from": (timezone.localdate() + dt.timedelta(days=2)).isoformat()})
    assert response.status_code == 302, response.content.decode()
    html = client.get(url).content.decode()
    assert 'id="discharge-ready"' in html
    assert '<dd id="days-ready">4</dd>' in html
    # Answered a day late that it can receive in two days: every day so far is payable.
    assert '<dd id="days-payable">4</dd>' in html
    answer = pathway.events.get(kind="discharge_ready_answered")
    assert answer.recorded_by == ltmv.coordinator_a
    report = client.get("/reports/discharge-ready/").content.decode()
    assert "Fjordby kommune" in report and "Aasen" not in report


def test_the_planned_decision_of_an_ltmv_pathway_comes_from_set_discharge_date(ltmv):
    nurse = ltmv.ltmv_nurse
    pathway = svc.start_pathway(actor_of(nurse), grant(nurse, ltmv.patient_a), ltmv.patient_a,
                                template_key="ltmv_invasive", entry="elective",
                                at=_days_ago(60))
    for kind, days in (("referral", 50), ("meeting_held", 40), ("application_sent", 30)):
        _record(ltmv, pathway, kind, days)
    ready = timezone.localdate() - dt.timedelta(days=7)
    event = svc.set_discharge_date(pathway, ready, actor=actor_of(ltmv.coordinator_a),
                                   at=_days_ago(20))
    pathway.refresh_from_db()
    assert event.kind == "municipal_decision" and pathway.discharge_ready_from == ready
    assert pathway.days_discharge_ready() == pathway.payable_days() == 7


def test_an_answer_with_a_malformed_date_or_flag_is_refused_and_nothing_is_stored(ltmv):
    pathway = _copd_in_hospital(ltmv)
    _record(ltmv, pathway, "discharge_ready", 2)
    for data, field in (({"receive_from": "1. mars"}, "receive_from"),
                        ({"can_receive": "ja"}, "can_receive")):
        with pytest.raises(DomainError) as err:
            _record(ltmv, pathway, "discharge_ready_answered", 1, user=ltmv.coordinator_a,
                    data=data)
        assert err.value.field == field
    assert not pathway.events.filter(kind="discharge_ready_answered").exists()
