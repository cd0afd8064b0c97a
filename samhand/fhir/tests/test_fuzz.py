"""Hypothesis throws arbitrary search parameters at /fhir/: never a 5xx, always FHIR
JSON, and never another municipality's patient (the facade is not in the OpenAPI
schema, so schemathesis does not reach it)."""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import quote

from django.core.cache import cache
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from samhand.api.models import ApiToken

EXAMPLES = int(os.environ.get("SAMHAND_SCHEMATHESIS_EXAMPLES", "25")) * 4

TYPES = ["Patient", "CareTeam", "Consent", "AuditEvent", "Organization", "Practitioner"]
NAMES = ["_id", "identifier", "name", "family", "given", "patient", "subject", "status",
         "date", "type", "partof", "_count", "_offset", "_format", "_sort", "birthdate"]
MODIFIERS = ["", ":exact", ":contains", ":missing", ":"]
values = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["urn:oid:2.16.578.1.12.4.1.4.1|", "|", "Patient/", "ge2020-01-01",
                     "-1", "0", "201", "99999999999999999999", "a,b,,", "Patient/x/y"]),
    st.uuids().map(str),
)
params = st.lists(st.tuples(st.sampled_from(NAMES), st.sampled_from(MODIFIERS), values),
                  max_size=4)


@settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(resource=st.sampled_from(TYPES), query=params, post=st.booleans())
def test_search_never_fails_or_leaks(world: Any, resource: str,
                                     query: list[tuple[str, str, str]], post: bool) -> None:
    cache.clear()
    _token, secret = ApiToken.issue(world.home_nurse_b, days=1)
    client = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    encoded = "&".join(f"{quote(n + m, safe=':')}={quote(v, safe='')}" for n, m, v in query)
    if post:
        response = client.post(f"/fhir/{resource}/_search", encoded,
                               content_type="application/x-www-form-urlencoded")
    else:
        response = client.get(f"/fhir/{resource}?{encoded}")

    assert response.status_code in {200, 400, 404, 406}, (response.status_code,
                                                          response.content[:300])
    assert response["Content-Type"] == "application/fhir+json; charset=utf-8"
    body = response.json()
    assert body["resourceType"] in {"Bundle", "OperationOutcome"}
    text = response.content.decode()
    assert str(world.patient_a.pk) not in text
    assert world.patient_a.national_id not in text
