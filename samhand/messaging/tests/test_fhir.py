"""/fhir/MessageHeader, /fhir/Communication and /fhir/Encounter
(samhand/messaging/fhir_resources.py): through the access layer, audited, valid R4."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import timezone
from fhir.resources.R4B import get_fhir_model_class

from samhand.api.models import ApiToken
from samhand.audit.models import AuditEvent
from samhand.audit.services import Actor
from samhand.messaging.models import (
    CareMessage,
    HospitalStay,
    InboundMessage,
    OutboundMessage,
    Partner,
)
from samhand.messaging.threads import send_care_communication

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_rate_budget(db: Any) -> None:
    cache.clear()


def fhir(user: Any) -> Client:
    _token, secret = ApiToken.issue(user, days=30)
    return Client(HTTP_AUTHORIZATION=f"Bearer {secret}")


def validate(resource: dict[str, Any]) -> Any:
    return get_fhir_model_class(resource["resourceType"]).model_validate(resource)


def ids(bundle: dict[str, Any]) -> set[str]:
    return {e["resource"]["id"] for e in bundle.get("entry", [])}


@pytest.fixture
def trail(world: Any) -> dict[str, Any]:
    """A sent CareCommunication and a received message about each patient, and a stay."""
    hosp = Partner.objects.create(name="Fjordby sykehus", organisation=world.pulm,
                                  her_id="91001", endpoint_url="https://sykehus.test/fhir")
    fjordby = Partner.objects.create(name="Fjordby hjemmesykepleie", organisation=world.hn_a,
                                     her_id="92001", is_local=True)
    nesvik = Partner.objects.create(name="Nesvik hjemmesykepleie", organisation=world.hn_b,
                                    her_id="93001", is_local=True)
    out: dict[str, Any] = {}
    for name, patient, local, nurse in (("a", world.patient_a, fjordby, world.home_nurse_a),
                                        ("b", world.patient_b, nesvik, world.home_nurse_b)):
        care = send_care_communication(
            patient=patient, sender=local, receiver=hosp, actor=Actor(user=nurse),
            author_name="Hanne Hjem", author_phone="400 00 001", text=f"Sårstell {name}",
            category="nursing", topic="Sårstell")
        inbound = InboundMessage.objects.create(
            header_id=f"in-{name}", bundle_id=f"b-{name}", event="plo-admission-notice",
            activity="new-message", sender=hosp, receiver=local, patient=patient,
            status="accepted", content={}, ack_code="ok", ack={},
            received_at=timezone.now() - dt.timedelta(days=2))
        stay = HospitalStay.objects.create(
            patient=patient, episode_ids=[f"ep-{name}"], hospital_name="Fjordby sykehus",
            state="admitted", state_at=timezone.now() - dt.timedelta(days=2), last_code="STIN",
            started_at=timezone.now() - dt.timedelta(days=2))
        out[name] = {"care": care, "out": care.outbound, "in": inbound, "stay": stay}
    # Hidden: a notification about a patient the receiver does not serve.
    InboundMessage.objects.create(
        header_id="hidden", bundle_id="b-hidden", event="hospital-notification-message",
        sender=hosp, receiver=fjordby, patient=world.patient_a, hidden=True,
        status="accepted", content={}, ack_code="ok", ack={})
    return out


def test_the_care_team_reads_each_type_valid_r4_and_audited(world, trail, audit):
    client = fhir(world.home_nurse_a)
    a = trail["a"]
    watch = audit()
    header = client.get(f"/fhir/MessageHeader/{a['out'].pk}").json()
    validate(header)
    assert header["eventCoding"]["code"] == "care-communication-message"
    assert {"url": "urn:samhand:extension:message-id",
            "valueString": a["out"].header_id} in header["extension"]
    assert header["focus"][0]["reference"] == f"Patient/{world.patient_a.pk}"
    comm = client.get(f"/fhir/Communication/{a['care'].pk}").json()
    validate(comm)
    assert comm["identifier"][0]["value"] == a["care"].thread.thread_key
    assert comm["status"] == "in-progress"  # in the outbox
    assert comm["payload"][0]["contentString"] == "Sårstell a"
    assert comm["category"][0]["coding"][0]["code"] == "nursing"
    enc = client.get(f"/fhir/Encounter/{a['stay'].pk}").json()
    validate(enc)
    assert enc["status"] == "in-progress" and enc["class"]["code"] == "IMP"
    assert enc["identifier"][0]["value"] == "ep-a"
    rows = watch.rows(code="samhand.message.read")
    assert [r.object_type for r in rows] == ["MessageHeader", "Communication", "Encounter"]
    assert {r.patient_id for r in rows} == {world.patient_a.pk}


def test_a_nurse_of_another_municipality_finds_nothing_and_it_is_audited(world, trail, audit):
    client = fhir(world.home_nurse_b)
    a = trail["a"]
    watch = audit()
    for path in (f"/fhir/MessageHeader/{a['out'].pk}", f"/fhir/MessageHeader/{a['in'].pk}",
                 f"/fhir/Communication/{a['care'].pk}", f"/fhir/Encounter/{a['stay'].pk}"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert "Aasen" not in response.content.decode()
    failures = watch.rows(outcome=AuditEvent.Outcome.MINOR_FAILURE)
    assert len(failures) == 4 and {f.patient_id for f in failures} == {world.patient_a.pk}
    for kind in ("MessageHeader", "Communication", "Encounter"):
        watch = audit()
        bundle = client.get(f"/fhir/{kind}", {"patient": f"Patient/{world.patient_a.pk}"}).json()
        assert bundle["total"] == 0 and not bundle.get("entry")
        rows = watch.rows(code="samhand.message.search")
        assert len(rows) == 1 and rows[0].patient_id is None and rows[0].object_type == kind
        # Her own patient shows.
        own = client.get(f"/fhir/{kind}").json()
        assert own["total"] >= 1
        assert all(e["resource"].get("subject", e["resource"].get("focus", [{}]))
                   for e in own["entry"])
        assert "Aasen" not in str(own)


def test_messages_are_searched_by_patient_status_and_time(world, trail, audit):
    client = fhir(world.home_nurse_a)
    a = trail["a"]
    patient = f"Patient/{world.patient_a.pk}"
    watch = audit()
    bundle = client.get("/fhir/MessageHeader", {"patient": patient}).json()
    validate(bundle)
    assert ids(bundle) == {str(a["out"].pk), str(a["in"].pk)}  # the hidden one never shows
    assert watch.rows(code="samhand.message.search")[0].patient_id == world.patient_a.pk
    assert ids(client.get("/fhir/MessageHeader", {"status": "accepted"}).json()) == {
        str(a["in"].pk)}
    assert ids(client.get("/fhir/MessageHeader", {"status": "pending,sent"}).json()) == {
        str(a["out"].pk)}
    yesterday = (timezone.localdate() - dt.timedelta(days=1)).isoformat()
    assert ids(client.get("/fhir/MessageHeader", {"_lastUpdated": f"ge{yesterday}"}).json()
               ) == {str(a["out"].pk)}
    assert ids(client.get("/fhir/MessageHeader", {"_lastUpdated": f"lt{yesterday}"}).json()
               ) == {str(a["in"].pk)}
    assert ids(client.get("/fhir/MessageHeader", {"event": "plo-admission-notice"}).json()
               ) == {str(a["in"].pk)}
    paged = client.get("/fhir/MessageHeader", {"_count": "1", "_offset": "1"}).json()
    assert paged["total"] == 2 and ids(paged) == {str(a["in"].pk)}  # newest first
    bad = client.get("/fhir/MessageHeader", {"status": "lost"})
    assert bad.status_code == 400 and "status" in bad.content.decode()
    assert client.get("/fhir/MessageHeader", {"_lastUpdated": "2026-11-01T10:00"}
                      ).status_code == 400


def test_communications_are_searched_by_thread_status_and_sent(world, trail):
    client = fhir(world.home_nurse_a)
    a = trail["a"]
    key = a["care"].thread.thread_key
    bundle = client.get("/fhir/Communication", {"identifier": key}).json()
    validate(bundle)
    assert ids(bundle) == {str(a["care"].pk)}
    assert ids(client.get("/fhir/Communication", {"status": "completed"}).json()) == set()
    OutboundMessage.objects.filter(pk=a["out"].pk).update(status="delivered")
    assert ids(client.get("/fhir/Communication", {"status": "completed"}).json()) == {
        str(a["care"].pk)}
    today = timezone.localdate().isoformat()
    assert ids(client.get("/fhir/Communication", {"sent": today}).json()) == {str(a["care"].pk)}
    assert ids(client.get("/fhir/Communication", {"sent": f"gt{today}"}).json()) == set()
    assert ids(client.get("/fhir/Communication", {"category": "nursing"}).json()) == {
        str(a["care"].pk)}


def test_encounters_are_searched_by_status_and_date(world, trail):
    client = fhir(world.ltmv_nurse)  # the hospital sees both patients' stays
    a, b = trail["a"], trail["b"]
    both = {str(a["stay"].pk), str(b["stay"].pk)}
    bundle = client.get("/fhir/Encounter").json()
    validate(bundle)
    assert ids(bundle) == both
    HospitalStay.objects.filter(pk=b["stay"].pk).update(
        state="on_leave", leave_started_at=timezone.now())
    assert ids(client.get("/fhir/Encounter", {"status": "onleave"}).json()) == {
        str(b["stay"].pk)}
    leave = client.get(f"/fhir/Encounter/{b['stay'].pk}").json()
    validate(leave)
    assert leave["statusHistory"][0]["status"] == "onleave"
    assert ids(client.get("/fhir/Encounter", {"date": "ge2020-01-01"}).json()) == both
    assert ids(client.get("/fhir/Encounter", {"date": "lt2020-01-01"}).json()) == set()
    assert client.get("/fhir/Encounter", {"status": "admitted"}).status_code == 400


def test_without_consent_only_the_own_sides_messages_show(world, trail, audit):
    """patient_b has no consent to share: the hospital sees the message Nesvik sent it
    (a party), Fjordby's GP office is not on patient_b's team at all."""
    client = fhir(world.ltmv_nurse)
    b = trail["b"]
    assert str(b["care"].pk) in ids(client.get(
        "/fhir/Communication", {"patient": f"Patient/{world.patient_b.pk}"}).json())
    # A message between Nesvik and a third party the hospital is no party to.
    other = Partner.objects.create(name="Nesvik legekontor", organisation=world.nesvik,
                                   her_id="93002")
    care = send_care_communication(
        patient=world.patient_b, sender=Partner.objects.get(her_id="93001"), receiver=other,
        actor=Actor(user=world.home_nurse_b), author_name="Bjørn Berg",
        author_phone="400 00 002", text="Internt", category="nursing")
    found = ids(client.get("/fhir/Communication",
                           {"patient": f"Patient/{world.patient_b.pk}"}).json())
    assert str(care.pk) not in found
    watch = audit()
    assert client.get(f"/fhir/Communication/{care.pk}").status_code == 404
    assert CareMessage.objects.filter(pk=care.pk).exists()
    assert not watch.rows(code="samhand.message.read", outcome=AuditEvent.Outcome.SUCCESS)
    assert watch.rows(code="samhand.message.read", outcome=AuditEvent.Outcome.MINOR_FAILURE)
