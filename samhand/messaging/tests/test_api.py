"""GET /api/v1/patients/{id}/messages and /hospital-stays, through the access layer."""

from __future__ import annotations

from django.test import Client

from samhand.api.models import ApiToken
from samhand.messaging.models import CareMessage, CareThread, HospitalStay, Partner


def _thread(world):
    hosp = Partner.objects.create(name="Sykehus", organisation=world.pulm, her_id="1002")
    hn = Partner.objects.create(name="HN", organisation=world.hn_a, her_id="2001",
                                is_local=True)
    thread = CareThread.objects.create(thread_key="urn:uuid:t1", patient=world.patient_a,
                                       category="nursing", topic="Sårstell", counterpart=hosp,
                                       local=hn)
    CareMessage.objects.create(thread=thread, header_id="h1", direction="in",
                               activity="new-message", from_name="Sykehus", segments=[
                                   {"id": "s1", "kind": "text", "text": "Hei", "new": True,
                                    "data": "never shown"}])
    return thread


def _client(user):
    _token, secret = ApiToken.issue(user, days=1)
    return Client(HTTP_AUTHORIZATION=f"Bearer {secret}")


def test_the_care_team_reads_the_threads_and_the_read_is_audited(world, audit):
    thread = _thread(world)
    watch = audit()
    response = _client(world.home_nurse_a).get(f"/api/v1/patients/{world.patient_a.pk}/messages")
    assert response.status_code == 200
    body = response.json()
    assert body[0]["id"] == str(thread.pk)
    assert body[0]["messages"][0]["segments"][0]["text"] == "Hei"
    assert "never shown" not in response.content.decode()
    assert watch.rows(code="samhand.message.read")[0].patient_id == world.patient_a.pk


def test_an_outsider_gets_404(world):
    _thread(world)
    response = _client(world.home_nurse_b).get(f"/api/v1/patients/{world.patient_a.pk}/messages")
    assert response.status_code == 404


def test_stays_are_listed(world):
    from django.utils import timezone

    HospitalStay.objects.create(patient=world.patient_a, state="admitted",
                                state_at=timezone.now(), last_code="STIN",
                                hospital_name="Fjordby")
    response = _client(world.ltmv_nurse).get(
        f"/api/v1/patients/{world.patient_a.pk}/hospital-stays")
    assert response.status_code == 200 and response.json()[0]["last_code"] == "STIN"
