"""Audit rows as FHIR R4 AuditEvent, following IHE BALP (Basic Audit Log Patterns).

One row → one AuditEvent (security.md #25, A6):

* RESTful work: type `rest`, subtype the FHIR interaction (read, create, update,
  delete, search-type) plus samhand's own code; BALP Patient{Read,Create,Update,
  Delete,Query} profiles are claimed only when the row satisfies them.
* Emergency access: type DCM 110113 "Security Alert", subtype DCM 110127 "Emergency
  Override Started" / 110138 "Emergency Override Stopped", purposeOfEvent ETREAT.
* Disclosure by message: BALP PrivacyDisclosure — DCM 110106 Export / 110107 Import
  with ISO 21089 "disclose".
* Agents: the user (HPR identifier when present, requestor), the organisation, the
  client (DCM 110153, with its IP address) and samhand itself (DCM 110152).
* Entities: the patient (role 1), every object id actually returned (role 4), the
  query (role 24, base64) and the request id.

The output is R4 (identical to R4B for AuditEvent and Bundle); tests validate it with
`fhir.resources.R4B`. The emergency free text is left out unless asked for: exports
may reach the patient.
"""

from __future__ import annotations

import base64
import datetime as dt
import socket
import uuid
from collections.abc import Iterable
from typing import Any

from django.utils import timezone

from samhand.access.models import EmergencyAccessGrant
from samhand.accounts.models import User
from samhand.audit.models import AuditEvent
from samhand.orgs.models import Membership

DCM = "http://dicom.nema.org/resources/ontology/DCM"
AUDIT_EVENT_TYPE = "http://terminology.hl7.org/CodeSystem/audit-event-type"
RESTFUL_INTERACTION = "http://hl7.org/fhir/restful-interaction"
ISO_21089 = "http://terminology.hl7.org/CodeSystem/iso-21089-lifecycle"
ACT_REASON = "http://terminology.hl7.org/CodeSystem/v3-ActReason"
PARTICIPATION_TYPE = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
ROLE_CLASS = "http://terminology.hl7.org/CodeSystem/v3-RoleClass"
SNOMED = "http://snomed.info/sct"
ENTITY_TYPE = "http://terminology.hl7.org/CodeSystem/audit-entity-type"
OBJECT_ROLE = "http://terminology.hl7.org/CodeSystem/object-role"
SOURCE_TYPE = "http://terminology.hl7.org/CodeSystem/security-source-type"
BALP_ENTITY_TYPE = "https://profiles.ihe.net/ITI/BALP/CodeSystem/BasicAuditEntityType"
BALP_AGENT_TYPE = "https://profiles.ihe.net/ITI/BALP/CodeSystem/UserAgentTypes"
BALP_PROFILE = "https://profiles.ihe.net/ITI/BALP/StructureDefinition/IHE.BasicAudit."
HPR_SYSTEM = "urn:oid:2.16.578.1.12.4.1.4.4"
ENH_SYSTEM = "urn:oid:2.16.578.1.12.4.1.4.101"
HER_SYSTEM = "urn:oid:2.16.578.1.12.4.1.2"
# samhand's own code systems (local, not registered).
SAMHAND_AUDIT_CODE = "urn:samhand:codesystem:audit-code"
SAMHAND_ROLE = "urn:samhand:codesystem:role"
SAMHAND_PROFESSION = "urn:samhand:codesystem:profession"
SAMHAND_EMERGENCY_REASON = "urn:samhand:codesystem:emergency-reason"
SAMHAND_USER = "urn:samhand:user"

OBSERVER = "samhand"

A = AuditEvent.Action
B = AuditEvent.Basis

_INTERACTION: dict[str, str] = {A.CREATE: "create", A.READ: "read", A.UPDATE: "update",
                                A.DELETE: "delete"}
_PATIENT_PROFILE: dict[str, str] = {A.CREATE: "PatientCreate", A.READ: "PatientRead",
                                    A.UPDATE: "PatientUpdate", A.DELETE: "PatientDelete"}
_PURPOSE: dict[str, tuple[str, str]] = {
    B.CARE_RELATION: ("TREAT", "treatment"),
    B.EMERGENCY: ("ETREAT", "Emergency Treatment"),
    B.DELEGATION: ("PWATRNY", "power of attorney"),
    B.OWN_RECORD: ("PATRQT", "patient requested"),
    B.DISCLOSURE: ("TREAT", "treatment"),
    B.SYSTEM: ("HOPERAT", "healthcare operations"),
}
_OUTCOME_DESC = {"4": "Denied or failed", "8": "Serious failure"}
# samhand object types whose primary key is the id of a FHIR resource of this type.
_FHIR_TYPES = {
    "Patient": "Patient", "RelatedPerson": "RelatedPerson", "Consent": "Consent",
    "Organisation": "Organization", "Organization": "Organization",
    "Practitioner": "Practitioner", "User": "Practitioner", "CarePlan": "CarePlan",
    "Observation": "Observation", "DocumentReference": "DocumentReference",
    "Communication": "Communication", "AuditEvent": "AuditEvent", "CareTeam": "CareTeam",
    "Task": "Task", "Device": "Device",
}
EMERGENCY_CODES = {
    "samhand.emergency.started": ("110127", "Emergency Override Started"),
    "samhand.emergency.ended": ("110138", "Emergency Override Stopped"),
    "samhand.emergency.expired": ("110138", "Emergency Override Stopped"),
}
DISCLOSURE_CODES = {
    "samhand.message.sent": ("110106", "Export", A.READ),
    "samhand.message.received": ("110107", "Import", A.CREATE),
}


def _coding(system: str, code: str, display: str | None = None) -> dict[str, str]:
    coding = {"system": system, "code": code}
    if display:
        coding["display"] = display
    return coding


def _concept(system: str, code: str, display: str | None = None) -> dict[str, Any]:
    return {"coding": [_coding(system, code, display)]}


def _instant(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _label(choices: Any, value: str) -> str:
    try:
        return str(choices(value).label)
    except ValueError:
        return value


def _is_query(event: AuditEvent) -> bool:
    return event.action == A.EXECUTE and (bool(event.query) or event.code.endswith(
        (".list", ".search")))


def _type_and_subtype(event: AuditEvent) -> tuple[dict[str, str], list[dict[str, str]]]:
    own = _coding(SAMHAND_AUDIT_CODE, event.code)
    if event.code in EMERGENCY_CODES:
        code, display = EMERGENCY_CODES[event.code]
        return _coding(DCM, "110113", "Security Alert"), [_coding(DCM, code, display), own]
    if event.code in DISCLOSURE_CODES or event.basis == B.DISCLOSURE:
        code, display, _action = DISCLOSURE_CODES.get(event.code, ("110106", "Export", A.READ))
        return _coding(DCM, code, display), [
            _coding(ISO_21089, "disclose", "Disclose Record Lifecycle Event"), own]
    interaction = ("search-type" if _is_query(event)
                   else _INTERACTION.get(event.action, "operation"))
    return (_coding(AUDIT_EVENT_TYPE, "rest", "Restful Operation"),
            [_coding(RESTFUL_INTERACTION, interaction, interaction), own])


def _policies(event: AuditEvent) -> list[str]:
    policies = []
    if event.basis_id:
        policies.append(f"urn:uuid:{event.basis_id}" if _is_uuid(event.basis_id)
                        else f"urn:samhand:basis:{event.basis}:{event.basis_id}")
    if event.token_jti:
        policies.append(f"urn:ietf:params:oauth:jti:{event.token_jti}")
    return policies


def _user_agent(event: AuditEvent, include_internal: bool) -> dict[str, Any]:
    if event.user_id is None:  # the system, a command or the relay acted
        return {
            "type": _concept(DCM, "110150", "Application"),
            "who": {"display": f"{OBSERVER} ({event.client or 'system'})"},
            "name": OBSERVER,
            "requestor": True,
        }
    types = [_coding(PARTICIPATION_TYPE, "IRCP", "information recipient")]
    if event.token_jti:
        types.append(_coding(BALP_AGENT_TYPE, "UserOauthAgent", "User OAuth Agent participant"))
    if event.basis == B.DELEGATION:
        types.append(_coding(SNOMED, "429577009", "Patient advocate"))
    if event.user_hpr:
        who: dict[str, Any] = {"identifier": {"system": HPR_SYSTEM, "value": event.user_hpr}}
    else:
        who = {"identifier": {"system": SAMHAND_USER, "value": str(event.user_id)}}
    who["display"] = event.user_name or str(event.user_id)
    agent: dict[str, Any] = {"type": {"coding": types}, "who": who, "requestor": True}
    if event.user_name:
        agent["name"] = event.user_name
    if event.user_sub:
        agent["altId"] = event.user_sub
    roles = []
    if event.user_role:
        roles.append(_concept(SAMHAND_ROLE, event.user_role,
                              _label(Membership.Role, event.user_role)
                              if event.user_role in Membership.Role.values
                              else _label(User.Profession, event.user_role)))
    if event.user_profession and event.user_profession != event.user_role:
        roles.append(_concept(SAMHAND_PROFESSION, event.user_profession,
                              _label(User.Profession, event.user_profession)))
    if roles:
        agent["role"] = roles
    policies = _policies(event)
    if policies:
        agent["policy"] = policies
    if event.basis == B.EMERGENCY and event.reason_code:
        purpose = _concept(SAMHAND_EMERGENCY_REASON, event.reason_code,
                           _label(EmergencyAccessGrant.Reason, event.reason_code))
        if include_internal and event.reason_text:
            purpose["text"] = event.reason_text
        agent["purposeOfUse"] = [purpose]
    return agent


def _organisation_agent(event: AuditEvent) -> dict[str, Any] | None:
    if event.organisation_id is None and not event.organisation_name:
        return None
    who: dict[str, Any] = {"display": event.organisation_name or str(event.organisation_id)}
    if event.organisation_number:
        who["identifier"] = {"system": ENH_SYSTEM, "value": event.organisation_number}
    elif event.organisation_her_id:
        who["identifier"] = {"system": HER_SYSTEM, "value": event.organisation_her_id}
    elif event.organisation_id:
        who["identifier"] = {"system": "urn:ietf:rfc:3986",
                             "value": f"urn:uuid:{event.organisation_id}"}
    return {"type": _concept(ROLE_CLASS, "PROV", "healthcare provider"), "who": who,
            "requestor": False}


def _network_agents(event: AuditEvent, server_name: str) -> list[dict[str, Any]]:
    server = {"type": _concept(DCM, "110152", "Destination Role ID"),
              "who": {"display": OBSERVER}, "requestor": False,
              "network": {"address": server_name, "type": "1"}}
    if event.basis == B.DISCLOSURE or event.code in DISCLOSURE_CODES:
        # PrivacyDisclosure: samhand is the source, the receiving party the recipient.
        source = {"type": _concept(DCM, "110153", "Source Role ID"),
                  "who": {"display": OBSERVER}, "requestor": False,
                  "network": {"address": server_name, "type": "1"}}
        recipient: dict[str, Any] = {"type": _concept(DCM, "110152", "Destination Role ID"),
                                     "who": {"display": event.recipient_name or "unknown"},
                                     "requestor": False}
        if event.recipient_id:
            recipient["who"]["identifier"] = {"system": "urn:ietf:rfc:3986",
                                              "value": f"urn:uuid:{event.recipient_id}"}
        return [source, recipient]
    client: dict[str, Any] = {"type": _concept(DCM, "110153", "Source Role ID"),
                              "who": {"display": event.client_id or event.client or "unknown"},
                              "requestor": False}
    if event.client_id:
        client["who"]["identifier"] = {"value": event.client_id}
    if event.source_ip:
        client["network"] = {"address": event.source_ip, "type": "2"}
    return [client, server]


def _entities(event: AuditEvent) -> list[dict[str, Any]]:
    entities: list[dict[str, Any]] = []
    if event.patient_id:
        entities.append({
            "what": {"reference": f"Patient/{event.patient_id}"},
            "type": _coding(ENTITY_TYPE, "1", "Person"),
            "role": _coding(OBJECT_ROLE, "1", "Patient"),
        })
    fhir_type = _FHIR_TYPES.get(event.object_type)
    for object_id in event.object_ids or []:
        if fhir_type and _is_uuid(str(object_id)):
            what: dict[str, Any] = {"reference": f"{fhir_type}/{object_id}"}
        else:
            what = {"identifier": {"system": f"urn:samhand:{event.object_type or 'object'}",
                                   "value": str(object_id)}}
            if event.object_type:
                what["display"] = event.object_type
        entities.append({
            "what": what,
            "type": _coding(ENTITY_TYPE, "2", "System Object"),
            "role": _coding(OBJECT_ROLE, "4", "Domain Resource"),
        })
    if event.query:
        entities.append({
            "type": _coding(ENTITY_TYPE, "2", "System Object"),
            "role": _coding(OBJECT_ROLE, "24", "Query"),
            "query": base64.b64encode(event.query.encode()).decode(),
        })
    if event.correlation_id:
        entities.append({
            "type": _coding(BALP_ENTITY_TYPE, "XrequestId", "X-Request-Id"),
            "what": {"identifier": {"value": event.correlation_id}},
        })
    return entities


def _profile(event: AuditEvent) -> str | None:
    """The BALP profile this row satisfies, if any (only successful, patient-bound,
    with a known client address)."""
    if event.outcome != AuditEvent.Outcome.SUCCESS or not event.patient_id:
        return None
    if event.code in EMERGENCY_CODES or event.basis == B.DISCLOSURE:
        return None
    if event.code in DISCLOSURE_CODES or not event.source_ip:
        return None
    if _is_query(event):
        return BALP_PROFILE + "PatientQuery" if event.query else None
    name = _PATIENT_PROFILE.get(event.action)
    if name is None or not event.object_ids:
        return None
    return BALP_PROFILE + name


def to_fhir(event: AuditEvent, *, include_internal: bool = False,
            server_name: str | None = None) -> dict[str, Any]:
    """One audit row as a FHIR R4 AuditEvent (a plain dict, ready for JSON).

    `include_internal` adds the emergency free text; never for the patient.
    """
    server_name = server_name or socket.gethostname() or OBSERVER
    type_, subtype = _type_and_subtype(event)
    resource: dict[str, Any] = {"resourceType": "AuditEvent", "id": str(event.uuid)}
    profile = _profile(event)
    if profile:
        resource["meta"] = {"profile": [profile]}
    resource.update({
        "type": type_,
        "subtype": subtype,
        "action": event.action,
        "recorded": _instant(event.recorded_at),
        "outcome": event.outcome,
    })
    if event.outcome in _OUTCOME_DESC:
        resource["outcomeDesc"] = _OUTCOME_DESC[event.outcome]
    if event.basis in _PURPOSE:
        code, display = _PURPOSE[event.basis]
        resource["purposeOfEvent"] = [_concept(ACT_REASON, code, display)]
    agents = [_user_agent(event, include_internal)]
    organisation = _organisation_agent(event)
    if organisation:
        agents.append(organisation)
    agents.extend(_network_agents(event, server_name))
    resource["agent"] = agents
    resource["source"] = {
        "site": server_name,
        "observer": {"display": OBSERVER},
        "type": [_coding(SOURCE_TYPE, "4", "Application Server")],
    }
    entities = _entities(event)
    if entities:
        resource["entity"] = entities
    return resource


def bundle_for(events: Iterable[AuditEvent], *, include_internal: bool = False,
               server_name: str | None = None) -> dict[str, Any]:
    """A FHIR Bundle (type collection) of AuditEvents."""
    return {
        "resourceType": "Bundle",
        "id": str(uuid.uuid4()),
        "type": "collection",
        "timestamp": _instant(timezone.now()),
        "entry": [
            {"fullUrl": f"urn:uuid:{event.uuid}",
             "resource": to_fhir(event, include_internal=include_internal,
                                 server_name=server_name)}
            for event in events
        ],
    }
