"""Sending an ISBAR summary as a message: the outbox row, the thread on the patient's
message trail and the report's "sent" mark are written together, and audited."""

from __future__ import annotations

import pytest

from samhand.lib.errors import DomainError
from samhand.messaging import bundle as fhirmsg
from samhand.messaging.models import CareThread, OutboundMessage, Partner
from samhand.observations import reports
from samhand.observations.models import IsbarReport, IsbarSending
from samhand.orgs.models import Organisation


@pytest.fixture
def addresses(world):
    """The home-nursing unit's own address and the address book of Fjordby's partners."""
    own = Partner.objects.create(name="Fjordby sykepleietjeneste", organisation=world.hn_a,
                                 her_id="2001", is_local=True, service="home_nursing")
    gp = Partner.objects.create(name="Fjordby legesenter", organisation=world.gp_office,
                                her_id="2003", service="gp")
    ward = Partner.objects.create(name="Lungemedisinsk avdeling PLO", organisation=world.pulm,
                                  her_id="1002", service="hospital")
    legevakt_org = Organisation.objects.create(kind=Organisation.Kind.OUT_OF_HOURS,
                                               parent=world.fjordby, name="Fjordby legevakt",
                                               her_id="2009", phone_24h="116 117")
    legevakt = Partner.objects.create(name="Fjordby legevakt", organisation=legevakt_org,
                                      her_id="2009", service="gp")
    Partner.objects.create(name="Nesvik sykepleietjeneste", organisation=world.hn_b,
                           her_id="3001", service="home_nursing")
    return {"own": own, "gp": gp, "ward": ward, "legevakt": legevakt}


@pytest.fixture
def report(world):
    return IsbarReport.objects.create(
        patient=world.patient_a, identify="Hanne Hjem, hjemmesykepleien, 400 00 001",
        situation="NEWS2 8 (høy)", background="ALS, LTMV", assessment="RF 26, SpO2 91",
        recommendation="Vurdering av lege nå", created_by=world.home_nurse_a,
        organisation=world.hn_a)


@pytest.fixture
def nurse(client, world):
    return world.login(client, world.home_nurse_a)


def send_url(world, report):
    return f"/patients/{world.patient_a.pk}/observations/isbar/{report.pk}/send/"


def test_the_receivers_are_the_care_teams_units_and_the_legevakt_not_other_municipalities(
        world, addresses):
    names = [p.name for p in reports.isbar_receivers(world.patient_a, addresses["own"])]
    assert names == ["Fjordby legesenter", "Fjordby legevakt", "Lungemedisinsk avdeling PLO"]


def test_to_the_gp_it_goes_as_health_information_to_the_doctor(world, addresses):
    assert reports.isbar_event(addresses["gp"]) == "plo-health-info-to-gp"
    assert reports.isbar_event(addresses["legevakt"]) == "plo-health-info-to-gp"
    assert reports.isbar_event(addresses["ward"]) == "plo-isbar"


def test_sending_queues_a_valid_message_and_marks_the_report_sent(world, addresses, report,
                                                                  nurse, audit):
    watch = audit()
    response = nurse.post(send_url(world, report), {"receiver": str(addresses["gp"].pk),
                                                    "phone": "400 00 001"})
    assert response.status_code == 302
    sending = IsbarSending.objects.get(report=report)
    assert sending.receiver_name == "Fjordby legesenter" and sending.sent_by == \
        world.home_nurse_a
    out = OutboundMessage.objects.get(header_id=sending.header_id)
    assert out.receiver == addresses["gp"] and out.sender == addresses["own"]
    assert out.patient == world.patient_a and out.event == "plo-health-info-to-gp"
    message = fhirmsg.Message(out.content)
    assert fhirmsg.check(message) == []
    text = message.focus()["payload"][-1]["contentString"]
    assert "Identifisering" in text and "Råd" in text and "Vurdering av lege nå" in text
    thread = CareThread.objects.get(pk=sending.thread_id)
    assert thread.patient == world.patient_a
    assert watch.rows(code="samhand.isbar.sent", patient_id=world.patient_a.pk)
    assert watch.rows(code="samhand.message.sent", patient_id=world.patient_a.pk)
    page = nurse.get(response["Location"]).content.decode()
    assert 'id="isbar-sent"' in page and "Fjordby legesenter" in page
    assert f"/messages/{thread.pk}/" in page or str(thread.pk) in page
    trail = nurse.get(f"/patients/{world.patient_a.pk}/messages/").content.decode()
    assert "Helseopplysninger til lege" in trail


def test_a_sent_report_can_no_longer_be_changed(world, addresses, report, nurse):
    nurse.post(send_url(world, report), {"receiver": str(addresses["ward"].pk),
                                         "phone": "400 00 001"})
    response = nurse.post(f"/patients/{world.patient_a.pk}/observations/isbar/{report.pk}/",
                          {"identify": "I", "situation": "endret", "background": "B",
                           "assessment": "A", "recommendation": "R"})
    assert response.status_code == 422
    report.refresh_from_db()
    assert report.situation == "NEWS2 8 (høy)"


def test_a_unit_not_on_the_care_team_is_refused_and_nothing_is_queued(world, addresses,
                                                                      report, nurse, audit):
    other = Partner.objects.get(name="Nesvik sykepleietjeneste")
    watch = audit()
    response = nurse.post(send_url(world, report), {"receiver": str(other.pk),
                                                    "phone": "400 00 001"})
    assert response.status_code == 422
    assert not OutboundMessage.objects.exists() and not IsbarSending.objects.exists()
    assert not watch.rows(code="samhand.isbar.sent")


def test_without_a_phone_number_nothing_is_sent(world, addresses, report, nurse):
    response = nurse.post(send_url(world, report), {"receiver": str(addresses["gp"].pk),
                                                    "phone": " "})
    assert response.status_code == 422
    assert not OutboundMessage.objects.exists() and not IsbarSending.objects.exists()


def test_a_unit_without_a_message_address_is_told_to_copy_instead(world, report, as_user):
    actor, grant = as_user(world.home_nurse_a, world.patient_a)
    with pytest.raises(DomainError) as exc:
        reports.send_isbar(actor, world.patient_a, grant, report, receiver_id="x",
                           phone="1")
    assert exc.value.code == "no_address"


def test_a_failing_outbox_leaves_no_sent_mark(world, addresses, report, as_user,
                                              monkeypatch):
    """The sent mark and the outbox row are one transaction: if queueing fails, the
    report is not marked sent."""
    from samhand.messaging import outbox

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(outbox, "enqueue", broken)
    actor, grant = as_user(world.home_nurse_a, world.patient_a)
    with pytest.raises(RuntimeError):
        reports.send_isbar(actor, world.patient_a, grant, report,
                           receiver_id=addresses["gp"].pk, phone="400 00 001")
    assert not IsbarSending.objects.exists() and not CareThread.objects.exists()


def test_someone_outside_the_care_team_cannot_send(world, addresses, report, client):
    world.login(client, world.home_nurse_b)
    response = client.post(send_url(world, report), {"receiver": str(addresses["gp"].pk),
                                                     "phone": "400 00 002"})
    assert response.status_code == 404
    assert not IsbarSending.objects.exists() and not OutboundMessage.objects.exists()
