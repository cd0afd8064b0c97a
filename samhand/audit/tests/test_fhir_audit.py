"""Every kind of audit row exports as a valid FHIR R4 AuditEvent in BALP shape."""

import base64
import contextlib

import pytest
from django.http import Http404
from fhir.resources.R4B.auditevent import AuditEvent as FhirAuditEvent
from fhir.resources.R4B.bundle import Bundle as FhirBundle

from samhand.access import policy
from samhand.audit.models import AuditEvent
from samhand.audit.services import Actor, Entry, record, record_many
from samhand.fhir.audit import (
    DCM,
    ENH_SYSTEM,
    HPR_SYSTEM,
    bundle_for,
    to_fhir,
)

from .conftest import request_as

A = AuditEvent.Action
B = AuditEvent.Basis
REASON_TEXT = "Pasienten ringte legevakten og trenger hjelp nå"


def codes(concepts):
    return {(c["system"], c["code"]) for c in concepts}


def agent_of_type(resource, system, code):
    return [a for a in resource["agent"]
            if (system, code) in {(c["system"], c["code"]) for c in a["type"]["coding"]}]


def validate(resource):
    return FhirAuditEvent.model_validate(resource)


@pytest.fixture
def every_kind(world):
    """One row of each kind samhand writes, through the real code paths."""
    nurse = request_as(world.home_nurse_a)
    policy.get_patient_for(nurse, world.patient_a.pk)  # read, care relation
    with contextlib.suppress(Http404):  # denied, existing patient
        policy.get_patient_for(request_as(world.home_nurse_b), world.patient_a.pk)
    with contextlib.suppress(Http404):  # no such patient
        policy.get_patient_for(nurse, "00000000-0000-0000-0000-000000000000")
    policy.audit_list(nurse, "samhand.patient.search", [world.patient_a], query="Aasen")
    outsider = request_as(world.home_nurse_b)
    grant = policy.start_emergency_access(outsider, world.patient_a, reason_code="acute",
                                          reason_text=REASON_TEXT)
    policy.get_patient_for(outsider, world.patient_a.pk)  # read under emergency
    policy.end_emergency_access(outsider, grant)
    relative = request_as(world.relative_a)
    policy.get_patient_for(relative, world.patient_a.pk, scope="contacts")  # delegation
    api = Actor(user=world.ltmv_nurse, role="nurse", organisation=world.pulm, client="api",
                source_ip="192.0.2.10", client_id="samhand-mobile", token_jti="abc123",
                network="helsenett")
    record(api, "samhand.careteam.member_added", A.CREATE, patient_id=world.patient_a.pk,
           object_type="CareTeamMember", object_ids=["c1"], basis=B.CARE_RELATION)
    record(api, "samhand.patient.updated", A.UPDATE, patient_id=world.patient_a.pk,
           object_type="Patient", object_ids=[world.patient_a.pk], basis=B.CARE_RELATION)
    record(api, "samhand.relative.removed", A.DELETE, patient_id=world.patient_a.pk,
           object_type="RelatedPerson", object_ids=[world.patient_a.relatives.get().pk],
           basis=B.CARE_RELATION)
    record(api, "samhand.message.sent", A.READ, patient_id=world.patient_a.pk,
           object_type="Communication", object_ids=[world.patient_a.pk],
           basis=B.DISCLOSURE, recipient=world.hn_a)
    record(None, "samhand.emergency.expired", A.EXECUTE, patient_id=world.patient_a.pk,
           object_type="EmergencyAccessGrant", object_ids=[grant.pk], basis=B.EMERGENCY,
           basis_id=grant.pk, organisation=world.hn_b)
    record_many(Actor(client="cli"), [Entry("samhand.generate.patients", A.CREATE,
                                            basis=B.SYSTEM)])
    return list(AuditEvent.objects.order_by("seq"))


def test_every_kind_of_row_validates_as_r4_audit_event(every_kind):
    assert len(every_kind) >= 14
    for event in every_kind:
        resource = to_fhir(event, server_name="samhand.test")
        validate(resource)
        assert resource["id"] == str(event.uuid)
        assert resource["action"] == event.action
        assert resource["outcome"] == event.outcome
        assert resource["recorded"].endswith("Z")
        assert any(agent["requestor"] for agent in resource["agent"])
        assert resource["source"]["observer"]["display"] == "samhand"
        subtypes = {(c["system"], c["code"]) for c in resource["subtype"]}
        assert ("urn:samhand:codesystem:audit-code", event.code) in subtypes


def test_the_bundle_of_every_kind_validates(every_kind):
    bundle = bundle_for(every_kind, server_name="samhand.test")
    FhirBundle.model_validate(bundle)
    assert bundle["type"] == "collection"
    assert [e["fullUrl"] for e in bundle["entry"]] == [f"urn:uuid:{e.uuid}" for e in every_kind]


def test_patient_read_is_balp_patient_read(world):
    policy.get_patient_for(request_as(world.home_nurse_a), world.patient_a.pk)
    resource = to_fhir(AuditEvent.objects.get(), server_name="samhand.test")
    assert resource["meta"]["profile"] == [
        "https://profiles.ihe.net/ITI/BALP/StructureDefinition/IHE.BasicAudit.PatientRead"]
    assert resource["type"]["code"] == "rest"
    assert ("http://hl7.org/fhir/restful-interaction", "read") in codes(resource["subtype"])
    assert codes(resource["purposeOfEvent"][0]["coding"]) == {
        ("http://terminology.hl7.org/CodeSystem/v3-ActReason", "TREAT")}
    user = agent_of_type(resource, "http://terminology.hl7.org/CodeSystem/v3-ParticipationType",
                         "IRCP")[0]
    assert user["who"]["identifier"] == {"system": HPR_SYSTEM, "value": "1000004"}
    assert user["requestor"] is True
    assert user["name"] == "Hanne Hjem"
    assert {c["coding"][0]["code"] for c in user["role"]} == {"nurse"}
    org = agent_of_type(resource, "http://terminology.hl7.org/CodeSystem/v3-RoleClass",
                        "PROV")[0]
    assert org["who"]["display"] == "Hjemmesykepleien Fjordby sentrum"
    assert org["requestor"] is False
    client = agent_of_type(resource, DCM, "110153")[0]
    assert client["network"] == {"address": "10.1.2.3", "type": "2"}
    assert agent_of_type(resource, DCM, "110152")[0]["who"]["display"] == "samhand"
    patient, data = resource["entity"][:2]
    assert patient["what"]["reference"] == f"Patient/{world.patient_a.pk}"
    assert patient["role"]["code"] == "1"
    assert data["role"]["code"] == "4"


def test_emergency_start_is_a_security_alert_with_etreat_and_no_free_text(world):
    grant = policy.start_emergency_access(request_as(world.home_nurse_b), world.patient_a,
                                          reason_code="acute", reason_text=REASON_TEXT)
    event = AuditEvent.objects.get(code="samhand.emergency.started")
    resource = to_fhir(event, server_name="samhand.test")
    validate(resource)
    assert (resource["type"]["system"], resource["type"]["code"]) == (DCM, "110113")
    assert (DCM, "110127") in codes(resource["subtype"])
    assert codes(resource["purposeOfEvent"][0]["coding"]) == {
        ("http://terminology.hl7.org/CodeSystem/v3-ActReason", "ETREAT")}
    user = next(a for a in resource["agent"] if a["requestor"])
    assert user["purposeOfUse"][0]["coding"][0]["code"] == "acute"
    assert f"urn:uuid:{grant.pk}" in user["policy"]
    assert REASON_TEXT not in str(resource)
    internal = to_fhir(event, include_internal=True, server_name="samhand.test")
    validate(internal)
    assert REASON_TEXT in str(internal)


def test_emergency_end_is_emergency_override_stopped(world):
    request = request_as(world.home_nurse_b)
    grant = policy.start_emergency_access(request, world.patient_a, reason_code="acute",
                                          reason_text=REASON_TEXT)
    policy.end_emergency_access(request, grant)
    resource = to_fhir(AuditEvent.objects.get(code="samhand.emergency.ended"))
    assert (DCM, "110138") in codes(resource["subtype"])


def test_denied_read_has_failure_outcome_and_claims_no_profile(world):
    with pytest.raises(Http404):
        policy.get_patient_for(request_as(world.home_nurse_b), world.patient_a.pk)
    resource = to_fhir(AuditEvent.objects.get())
    validate(resource)
    assert resource["outcome"] == "4"
    assert "meta" not in resource


def test_search_is_patient_query_with_base64_query(world):
    policy.audit_list(request_as(world.home_nurse_a), "samhand.patient.search",
                      [world.patient_a], query="Aasen")
    resource = to_fhir(AuditEvent.objects.get())
    assert resource["meta"]["profile"][0].endswith("IHE.BasicAudit.PatientQuery")
    query = next(e for e in resource["entity"] if e["role"]["code"] == "24")
    assert base64.b64decode(query["query"]).decode() == "Aasen"


def test_token_use_adds_oauth_agent_type_and_jti_policy(world):
    actor = Actor(user=world.consultant, role="doctor", organisation=world.pulm,
                  client="api", source_ip="192.0.2.1", client_id="app-1", token_jti="j-42")
    event = record(actor, "samhand.patient.read", A.READ, patient_id=world.patient_a.pk,
                   object_type="Patient", object_ids=[world.patient_a.pk])
    resource = to_fhir(event)
    user = next(a for a in resource["agent"] if a["requestor"])
    assert "urn:ietf:params:oauth:jti:j-42" in user["policy"]
    assert ("https://profiles.ihe.net/ITI/BALP/CodeSystem/UserAgentTypes",
            "UserOauthAgent") in codes(user["type"]["coding"])
    client = agent_of_type(resource, DCM, "110153")[0]
    assert client["who"]["identifier"]["value"] == "app-1"
    org = next(a for a in resource["agent"] if a["who"].get("display") == world.pulm.name)
    assert org["who"]["identifier"]["system"] in (ENH_SYSTEM,
                                                  "urn:oid:2.16.578.1.12.4.1.2")


def test_disclosure_is_privacy_disclosure_export(world):
    actor = Actor(user=world.ltmv_nurse, role="nurse", organisation=world.pulm)
    event = record(actor, "samhand.message.sent", A.READ, patient_id=world.patient_a.pk,
                   object_type="Communication", object_ids=["m-1"], basis=B.DISCLOSURE,
                   recipient=world.hn_a)
    resource = to_fhir(event)
    validate(resource)
    assert (resource["type"]["system"], resource["type"]["code"]) == (DCM, "110106")
    assert ("http://terminology.hl7.org/CodeSystem/iso-21089-lifecycle",
            "disclose") in codes(resource["subtype"])
    recipient = agent_of_type(resource, DCM, "110152")[0]
    assert recipient["who"]["display"] == world.hn_a.name
