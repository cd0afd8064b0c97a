"""POST /fhir/$process-message: partner tokens, acknowledgements, refusals."""

from __future__ import annotations

import json

from django.test import Client

from samhand.api.models import ApiToken
from samhand.messaging import bundle as fhirmsg
from samhand.messaging.models import InboundMessage, Partner
from samhand.messaging.tests.helpers import danish_patient, load, raw, register_receivers

URL = "/fhir/$process-message"
NAME = "HospitalNotification_Ex_STIN_A.json"


def _partner_client(world):
    register_receivers(world, load(NAME))
    sender = Partner.objects.get(sor_id="265161000016000")
    _token, secret = ApiToken.issue(world.ltmv_nurse, days=1, name="hospital EPJ")
    sender.inbound_token = _token
    sender.save()
    return Client(HTTP_AUTHORIZATION=f"Bearer {secret}")


def test_a_partner_posts_a_message_and_gets_the_acknowledgement(world):
    danish_patient(world)
    client = _partner_client(world)
    response = client.post(URL, raw(NAME), content_type="application/fhir+json")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/fhir+json"
    assert fhirmsg.ack_summary(response.json())[1] == "ok"
    assert InboundMessage.objects.get().patient is not None


def test_without_a_token_the_answer_is_401_and_nothing_is_stored(world):
    response = Client().post(URL, raw(NAME), content_type="application/fhir+json")
    assert response.status_code == 401
    assert response.json()["resourceType"] == "OperationOutcome"
    assert not InboundMessage.objects.exists()


def test_a_browser_session_cannot_post_messages(world):
    client = world.login(Client(), world.home_nurse_a)
    assert client.post(URL, raw(NAME), content_type="application/json").status_code == 403


def test_a_token_of_another_partner_cannot_send_in_the_senders_name(world):
    client = _partner_client(world)
    other = Partner.objects.create(name="Other", sor_id="1", gln="2")
    token, secret = ApiToken.issue(world.consultant, days=1)
    other.inbound_token = token
    other.save()
    response = Client(HTTP_AUTHORIZATION=f"Bearer {secret}").post(
        URL, raw(NAME), content_type="application/fhir+json")
    assert response.status_code == 403
    assert client  # the right partner still may
    assert not InboundMessage.objects.exists()


def test_an_oversized_message_is_refused_with_413(world, settings):
    settings.SAMHAND_MESSAGE_MAX_BYTES = 1000
    client = _partner_client(world)
    assert client.post(URL, raw(NAME), content_type="application/fhir+json").status_code == 413


def test_get_is_not_allowed(world):
    assert Client().get(URL).status_code == 405


def test_malformed_json_is_400_with_an_operation_outcome(world):
    client = _partner_client(world)
    response = client.post(URL, b"{oops", content_type="application/fhir+json")
    assert response.status_code == 400
    assert json.loads(response.content)["issue"][0]["details"]["coding"][0]["code"] == \
        "MSG_CANT_PARSE_CONTENT"


def test_a_message_the_receiver_fails_on_is_kept_and_answered_500(world, monkeypatch):
    """A defect (not a database outage, which is transient-error): the bytes are kept as
    a failed transmission for the operator, and the sender gets an OperationOutcome."""
    from samhand.messaging import bundle
    from samhand.messaging.models import Transmission

    danish_patient(world)
    client = _partner_client(world)

    def defect(message, **kw):
        raise ZeroDivisionError("a defect in a check")

    monkeypatch.setattr(bundle, "check", defect)
    response = client.post(URL, raw(NAME), content_type="application/fhir+json")
    assert response.status_code == 500
    assert response.json()["resourceType"] == "OperationOutcome"
    assert bytes(Transmission.objects.get(outcome=Transmission.Outcome.FAILED).raw) == raw(NAME)
    assert not InboundMessage.objects.exists()
