"""The collaboration meeting: called by the hospital, consent before the meeting,
minutes, the agreement signed by a named person from each side."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.utils import timezone
from pypdf import PdfReader

from samhand.lib.errors import Conflict, DomainError, Forbidden
from samhand.patients.models import Consent
from samhand.plans import meetings
from samhand.plans.meetings import ParticipantIn
from samhand.plans.models import Document, Meeting, MeetingMinute

from .helpers import actor_and_grant, consent

P = ParticipantIn


def call(world, starts_at=None, **kwargs):
    actor, grant = actor_and_grant(world.ltmv_nurse, world.patient_a)
    participants = kwargs.pop("participants", [
        P(role="consultant", user_id=world.consultant.pk, organisation_id=world.pulm.pk),
        P(role="nurse", user_id=world.ltmv_nurse.pk, organisation_id=world.pulm.pk),
        P(role="coordinator", user_id=world.coordinator_a.pk, organisation_id=world.ke_a.pk),
        P(role="care", organisation_id=world.hn_a.pk),
        P(role="gp", user_id=world.gp_a.pk, organisation_id=world.gp_office.pk),
    ])
    return meetings.call_meeting(
        actor, world.patient_a, grant,
        starts_at=starts_at or timezone.now() + dt.timedelta(days=1),
        place=kwargs.pop("place", "Møterom 3, lungeavdelingen"),
        video_link=kwargs.pop("video_link", ""), participants=participants)


def test_the_hospital_calls_the_meeting_with_both_sides_and_a_generated_agenda(world, audit):
    watch = audit()
    meeting = call(world)
    sides = {p.side for p in meeting.participants.all()}
    assert sides == {"hospital", "municipality"}
    assert meeting.participants.get(role="coordinator").side == "municipality"
    assert meeting.participants.get(role="care").name == "Hjemmesykepleien Fjordby sentrum"
    topics = [a["key"] for a in meeting.agenda if a["source"] == "topic"]
    assert "individual_plan" in topics and "binder_and_action_plan" in topics
    assert watch.rows(code="samhand.meeting.called")


def test_the_municipality_cannot_call_the_meeting(world):
    actor, grant = actor_and_grant(world.home_nurse_a, world.patient_a)
    with pytest.raises(Forbidden):
        meetings.call_meeting(actor, world.patient_a, grant, starts_at=timezone.now(),
                              place="Rådhuset", participants=[])
    assert not Meeting.objects.exists()


def test_a_meeting_needs_both_sides_and_a_place_or_link(world):
    with pytest.raises(DomainError) as error:
        call(world, participants=[P(role="consultant", user_id=world.consultant.pk)])
    assert error.value.code == "sides_required"
    with pytest.raises(DomainError) as error:
        call(world, place="")
    assert error.value.code == "place_required"
    with pytest.raises(DomainError) as error:
        call(world, place="", video_link="javascript:alert(1)")
    assert error.value.code == "video_link"
    meeting = call(world, place="", video_link="https://video.example.no/rom/42")
    assert meeting.video_link
    assert Meeting.objects.count() == 1


def test_minutes_are_refused_without_consent_recorded_before_the_meeting(world):
    Consent.objects.filter(patient=world.patient_a).delete()
    meeting = call(world, starts_at=timezone.now() - dt.timedelta(hours=1))
    consent(world, scope=Consent.Scope.SHARE_HEALTH_INFO)  # after the meeting started
    actor, grant = actor_and_grant(world.ltmv_nurse, world.patient_a)
    with pytest.raises(DomainError) as error:
        meetings.add_minute(actor, meeting, grant, kind="note", text="Gjennomgang")
    assert error.value.code == "no_consent_before_meeting"
    assert not MeetingMinute.objects.exists()


def test_a_decision_needs_an_owner_from_the_care_team_and_a_deadline(world):
    meeting = call(world)
    actor, grant = actor_and_grant(world.ltmv_nurse, world.patient_a)
    with pytest.raises(DomainError) as error:
        meetings.add_minute(actor, meeting, grant, kind="decision", text="Søknad sendes",
                            owner_organisation_id=world.hn_b.pk,
                            deadline=dt.date(2026, 12, 1))
    assert error.value.code == "owner_required"
    with pytest.raises(DomainError) as error:
        meetings.add_minute(actor, meeting, grant, kind="decision", text="Søknad sendes",
                            owner_organisation_id=world.pulm.pk)
    assert error.value.code == "deadline_required"
    minute = meetings.add_minute(actor, meeting, grant, kind="decision", text="Søknad sendes",
                                 owner_organisation_id=world.pulm.pk,
                                 deadline=dt.date(2026, 12, 1))
    assert minute.owner_role in ("responsible_consultant", "ltmv_nurse")


def _ready(world):
    meeting = call(world)
    actor, grant = actor_and_grant(world.ltmv_nurse, world.patient_a)
    meetings.add_minute(actor, meeting, grant, kind="note",
                        text="Pasienten ønsker behandling hjemme.")
    meetings.add_minute(actor, meeting, grant, kind="decision",
                        text="Kommunen fatter vedtak om tjenester",
                        owner_organisation_id=world.ke_a.pk, deadline=dt.date(2026, 12, 15))
    meetings.set_agreement(actor, meeting, grant,
                           text="Sykehuset lærer opp teamet; kommunen stiller team innen 3 mnd.")
    return meeting


def _sign(world, user, meeting, seen=None):
    actor, grant = actor_and_grant(user, world.patient_a)
    meeting.refresh_from_db()
    return meetings.sign_agreement(actor, meeting, grant,
                                   seen_hash=seen or meeting.agreement_hash())


def test_someone_not_in_the_meeting_cannot_sign(world):
    meeting = _ready(world)
    with pytest.raises(Forbidden) as error:
        _sign(world, world.home_nurse_a, meeting)
    assert error.value.code == "not_in_meeting"
    assert not meeting.signatures.exists()


def test_a_signature_after_the_agreement_changed_is_refused(world):
    meeting = _ready(world)
    seen = meeting.agreement_hash()
    actor, grant = actor_and_grant(world.ltmv_nurse, world.patient_a)
    meetings.set_agreement(actor, meeting, grant, text="Endret avtale.")
    with pytest.raises(Conflict) as error:
        _sign(world, world.consultant, meeting, seen=seen)
    assert error.value.code == "agreement_changed"
    assert not meeting.signatures.exists()


def test_a_change_after_one_side_signed_voids_that_signature(world):
    meeting = _ready(world)
    _sign(world, world.consultant, meeting)
    actor, grant = actor_and_grant(world.ltmv_nurse, world.patient_a)
    meetings.add_minute(actor, meeting, grant, kind="note", text="Tillegg etter signering")
    assert meetings.valid_signatures(meeting) == []
    _sign(world, world.coordinator_a, meeting)
    meeting.refresh_from_db()
    assert meeting.status == "called"


def test_both_sides_signing_completes_the_meeting(world, audit):
    meeting = _ready(world)
    watch = audit()
    _sign(world, world.consultant, meeting)
    meeting.refresh_from_db()
    assert meeting.status == "called"
    _sign(world, world.coordinator_a, meeting)
    meeting.refresh_from_db()
    assert meeting.status == "signed" and meeting.signed_at is not None
    kinds = set(Document.objects.filter(meeting=meeting).values_list("kind", flat=True))
    assert kinds == {"minutes", "agreement"}
    agreement = Document.objects.get(meeting=meeting, kind="agreement")
    text = " ".join(" ".join(p.extract_text() for p in PdfReader(
        io.BytesIO(bytes(agreement.pdf))).pages).split())
    assert "Kari Krogh" in text and "Kåre Koordinator" in text
    assert "Kommunen fatter vedtak om tjenester" in text
    from samhand.alerts.models import Alert

    [alert] = Alert.objects.filter(patient=world.patient_a, kind="plans.agreement_signed")
    assert alert.organisation == world.ke_a and alert.role == "municipal_coordinator"
    assert agreement.code in alert.text
    codes = [r.code for r in watch.rows(patient_id=world.patient_a.pk)]
    assert codes.count("samhand.meeting.signed") == 2
    assert "samhand.meeting.completed" in codes
    assert codes.count("samhand.document.generated") == 2
    with pytest.raises(Conflict):
        actor, grant = actor_and_grant(world.ltmv_nurse, world.patient_a)
        meetings.add_minute(actor, meeting, grant, kind="note", text="For sent")


def _addresses(world, *, municipality_local: bool):
    from samhand.messaging.models import Partner

    Partner.objects.create(name="Lungeavdelingen", organisation=world.pulm, is_local=True,
                           her_id="8100001", service=Partner.Service.HOSPITAL)
    return Partner.objects.create(name="Koordinerende enhet Fjordby", organisation=world.ke_a,
                                  is_local=municipality_local, her_id="8100002",
                                  service=Partner.Service.COORDINATING_UNIT,
                                  endpoint_url="https://fjordby.example.no/fhir")


def test_a_municipality_on_another_system_gets_the_minutes_and_agreement_as_a_message(world):
    from samhand.messaging import bundle as fhirmsg
    from samhand.messaging.models import OutboundMessage

    receiver = _addresses(world, municipality_local=False)
    meeting = _ready(world)
    _sign(world, world.consultant, meeting)
    assert not OutboundMessage.objects.exists()  # only once both sides have signed
    _sign(world, world.coordinator_a, meeting)

    [out] = OutboundMessage.objects.all()
    assert out.receiver == receiver and out.patient == world.patient_a
    message = fhirmsg.Message(out.content)
    assert message.event == "plo-meeting-minutes"
    assert fhirmsg.check(message) == []
    comm = message.focus()
    titles = [p["contentAttachment"]["title"] for p in comm["payload"]
              if "contentAttachment" in p]
    codes = set(Document.objects.filter(meeting=meeting).values_list("code", flat=True))
    assert len(titles) == 2 and all(any(c in t for c in codes) for t in titles)
    pdfs = [p["contentAttachment"]["data"] for p in comm["payload"] if "contentAttachment" in p]
    import base64
    assert all(base64.b64decode(d).startswith(b"%PDF") for d in pdfs)


def test_a_municipality_on_this_installation_gets_no_message(world):
    from samhand.messaging.models import OutboundMessage

    _addresses(world, municipality_local=True)
    meeting = _ready(world)
    _sign(world, world.consultant, meeting)
    _sign(world, world.coordinator_a, meeting)

    meeting.refresh_from_db()
    assert meeting.status == "signed"
    assert not OutboundMessage.objects.exists()
