"""/fhir/metadata advertises $process-message and the messaging section."""

from __future__ import annotations

from django.test import Client
from fhir.resources.R4B import get_fhir_model_class


def test_metadata_advertises_process_message_and_messaging(db):
    body = Client().get("/fhir/metadata").json()
    get_fhir_model_class("CapabilityStatement").model_validate(body)
    rest = body["rest"][0]
    operations = {o["name"]: o for o in rest["operation"]}
    assert operations["process-message"]["definition"] == (
        "http://hl7.org/fhir/OperationDefinition/MessageHeader-process-message")
    messaging = body["messaging"][0]
    endpoint = messaging["endpoint"][0]
    assert endpoint["address"] == "http://testserver/fhir/$process-message"
    assert endpoint["protocol"]["code"] == "http"
    definitions = {(m["mode"], m["definition"]) for m in messaging["supportedMessage"]}
    assert ("receiver", "http://medcomfhir.dk/ig/messagedefinitions/MessageDefinition/"
            "MedComCareCommunicationMessageDefinition|5.0") in definitions
    assert ("receiver", "urn:samhand:messagedefinition:hospital-notification-message") in \
        definitions
    assert ("sender", "urn:samhand:messagedefinition:plo-admission-notice") in definitions
    resources = {r["type"] for r in rest["resource"]}
    assert {"MessageHeader", "Communication", "Encounter"} <= resources
