"""Every /api/ and /fhir/ route × anonymous, an outsider, the other municipality and a
relative (security.md #1, #3, #19): default deny, no existence leak, GET changes nothing.

Each route declares its policy in ROUTES; a route added without one fails
`test_every_route_has_a_declared_policy`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from samhand.api.models import ApiToken
from samhand.audit.models import AuditEvent
from samhand.audit.services import record
from samhand.patients.models import CareTeamMember, Consent, Patient, RelatedPerson

# public: anyone; directory: any authenticated caller; patient: patient data, only
# through a care relation.
POLICIES = {
    "api:v1:openapi-json": "public",
    "api:v1:openapi-view": "public",
    "api:v1:api-root": "public",  # shadowed by api:root
    "api:root": "public",
    "api:v1:me": "directory",
    "api:v1:list_organisations": "directory",
    "api:v1:get_organisation": "directory",
    "api:v1:list_patients": "patient",
    "api:v1:create_patient": "patient",
    "api:v1:lookup_patient": "patient",
    "api:v1:get_patient": "patient",
    "api:v1:add_care_team_member": "patient",
    "api:v1:record_consent": "patient",
    "api:v1:add_relative": "patient",
    "api:unknown": "patient",
    "fhir:metadata": "public",
    "fhir:type": "patient",
    "fhir:search": "patient",
    "fhir:instance": "patient",
    "fhir:unknown": "patient",
}

FORM = "application/x-www-form-urlencoded"


@dataclass(frozen=True)
class Call:
    name: str
    method: str
    path: str
    body: Any = None
    content_type: str = "application/json"
    kind: str = "patient"  # patient (detail/write), list, directory, public

    def send(self, client: Client) -> Any:
        if self.method == "GET":
            return client.get(self.path)
        data = self.body if isinstance(self.body, str) else json.dumps(self.body or {})
        return client.post(self.path, data, content_type=self.content_type)


def calls(world: Any) -> list[Call]:
    a = world.patient_a
    consent = a.consents.get()
    event = record(None, "samhand.patient.read", AuditEvent.Action.READ, patient_id=a.pk)
    out = [
        Call("api:v1:openapi-json", "GET", "/api/v1/openapi.json", kind="public"),
        Call("api:v1:openapi-view", "GET", "/api/v1/docs", kind="public"),
        Call("api:root", "GET", "/api/v1/", kind="public"),
        Call("api:v1:me", "GET", "/api/v1/me", kind="directory"),
        Call("api:v1:list_organisations", "GET", "/api/v1/organisations", kind="directory"),
        Call("api:v1:get_organisation", "GET", f"/api/v1/organisations/{world.hn_a.pk}",
             kind="directory"),
        Call("api:v1:list_patients", "GET", "/api/v1/patients?q=Astrid", kind="list"),
        Call("api:v1:lookup_patient", "POST", "/api/v1/patients/lookup",
             {"national_id": a.national_id}, kind="list"),
        Call("api:v1:create_patient", "POST", "/api/v1/patients",
             {"national_id": a.national_id, "given_name": "X", "family_name": "Y"},
             kind="write"),
        Call("api:v1:get_patient", "GET", f"/api/v1/patients/{a.pk}"),
        Call("api:v1:add_care_team_member", "POST", f"/api/v1/patients/{a.pk}/care-team",
             {"organisation_id": str(world.hn_b.pk), "role": "home_nursing"}),
        Call("api:v1:record_consent", "POST", f"/api/v1/patients/{a.pk}/consents",
             {"scope": "share_health_info", "status": "withdrawn"}),
        Call("api:v1:add_relative", "POST", f"/api/v1/patients/{a.pk}/relatives",
             {"name": "Inntrenger", "relation": "other"}),
        Call("api:unknown", "GET", f"/api/v2/patients/{a.pk}"),
        Call("fhir:metadata", "GET", "/fhir/metadata", kind="public"),
        Call("fhir:instance", "GET", f"/fhir/Patient/{a.pk}"),
        Call("fhir:instance", "GET", f"/fhir/CareTeam/{a.pk}"),
        Call("fhir:instance", "GET", f"/fhir/Consent/{consent.pk}"),
        Call("fhir:instance", "GET", f"/fhir/AuditEvent/{event.uuid}"),
        Call("fhir:instance", "GET", f"/fhir/Organization/{world.hn_a.pk}", kind="directory"),
        Call("fhir:instance", "GET", f"/fhir/Practitioner/{world.ltmv_nurse.pk}",
             kind="directory"),
        Call("fhir:search", "POST", "/fhir/Patient/_search",
             f"identifier={a.national_id}", FORM, kind="list"),
        Call("fhir:unknown", "GET", f"/fhir/Patient/{a.pk}/_history"),
    ]
    for resource in ("Patient", "CareTeam", "Consent", "AuditEvent"):
        out.append(Call("fhir:type", "GET", f"/fhir/{resource}", kind="list"))
        out.append(Call("fhir:search", "POST", f"/fhir/{resource}/_search", "", FORM,
                        kind="list"))
    for resource in ("Organization", "Practitioner"):
        out.append(Call("fhir:type", "GET", f"/fhir/{resource}", kind="directory"))
    return out


def _routes() -> Iterator[tuple[str, str]]:
    def walk(patterns: Any, prefix: str = "", namespaces: tuple[str, ...] = ()) -> Any:
        for entry in patterns:
            if isinstance(entry, URLResolver):
                ns = (*namespaces, entry.namespace) if entry.namespace else namespaces
                yield from walk(entry.url_patterns, prefix + str(entry.pattern), ns)
            else:
                assert isinstance(entry, URLPattern)
                yield prefix + str(entry.pattern), ":".join((*namespaces, entry.name or "?"))

    for route, name in walk(get_resolver().url_patterns):
        if route.startswith(("api/", "fhir/")):
            yield route, name


def test_every_route_has_a_declared_policy():
    """Foundation routes are declared here; the routes of later apps in their own
    samhand/<app>/tests/route_policies.py, which the central route walk merges (and
    walks for every persona)."""
    from samhand.tests_security.test_route_walk import ROUTES as CENTRAL

    undeclared = sorted(f"{route} ({name})" for route, name in _routes()
                        if name not in POLICIES and name not in CENTRAL)

    assert not undeclared, "routes without a policy in ROUTES: " + ", ".join(undeclared)


def test_every_declared_route_is_walked(world):
    walked = {call.name for call in calls(world)}

    assert walked == set(POLICIES) - {"api:v1:api-root"}


def test_anonymous_callers_get_401_except_on_public_routes(world):
    for call in calls(world):
        response = call.send(Client(enforce_csrf_checks=True))
        if call.kind == "public":
            assert response.status_code in (200, 302), call
        else:
            assert response.status_code == 401, call
            assert str(world.patient_a.pk) not in response.content.decode()


def _secrets(world: Any) -> list[str]:
    a = world.patient_a
    return [a.national_id, a.given_name, str(a.pk), "Fjordveien"]


def _counts() -> dict[str, int]:
    return {model.__name__: model.objects.count()
            for model in (Patient, CareTeamMember, Consent, RelatedPerson)}


@pytest.mark.parametrize("who", ["nobody", "home_nurse_b", "relative_a"])
def test_callers_without_a_care_relation_learn_nothing_and_change_nothing(world, who):
    _token, secret = ApiToken.issue(world.users[who], days=1)
    client = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    before = _counts()

    for call in calls(world):
        response = call.send(client)
        body = response.content.decode()
        if call.kind in ("public", "directory"):
            assert response.status_code in (200, 302), call
            continue
        if call.kind == "list":
            assert response.status_code == 200, call
        elif call.kind == "write":
            assert response.status_code in (403, 409), call
        else:
            assert response.status_code == 404, call
        leaked = [s for s in _secrets(world) if s in body]
        if call.kind == "write" and response.status_code == 409:
            leaked = [s for s in leaked if s != world.patient_a.national_id]
        assert not leaked, (call, leaked)

    assert _counts() == before


def test_get_requests_change_no_data_for_a_care_team_member(world):
    _token, secret = ApiToken.issue(world.home_nurse_a, days=1)
    client = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    before = _counts()

    for call in calls(world):
        if call.method == "GET" and not call.name.endswith(":unknown"):
            assert call.send(client).status_code in (200, 302), call

    assert _counts() == before
