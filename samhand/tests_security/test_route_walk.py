"""The route walk (security.md #1, #2, #3, #19): every URL pattern × every persona.

Every pattern in `django.urls.get_resolver()` (web, accounts, api, fhir, admin) must
have a policy declared in ROUTES below; a pattern without one fails
`test_every_route_has_a_declared_policy` with a message saying how to declare it.

Then each route is called with dummy path arguments (for patient-scoped routes:
patient_a's id, patient_b's id and a random UUID):

* anonymously: 302 to the login page (pages) or 401 (API, FHIR), except PUBLIC routes;
* as each persona: a patient-scoped route answers 200 only where the persona has a
  care relation (or, for relatives' pages, a delegation with the scope), and 404
  otherwise; the 404 for a foreign patient is the same page, byte for byte apart from
  per-request tokens, as the 404 for a random UUID (no existence leak);
* no response to a persona ever contains the name, id, national id or address of a
  patient the persona may not see (lists, search results, error pages, JSON);
* GET never changes state: the content of every table (except audit rows, sessions,
  and login/OTP/token bookkeeping) is the same before and after each GET.

Problems are collected and reported together, one line per route × persona × target.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib
import json
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.apps import apps
from django.core.cache import cache
from django.db import connection, transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.urls.resolvers import RegexPattern, RoutePattern
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from samhand.access.models import EmergencyAccessGrant
from samhand.accounts.models import User
from samhand.api.models import ApiToken
from samhand.audit.services import Actor, record
from samhand.orgs.models import Membership
from samhand.patients.models import Consent

# --------------------------------------------------------------------------- policies
from samhand.tests_security.policies import (
    ADMIN,
    GRANT,
    NOT_FOUND,
    PATIENT,
    PUBLIC,
    RELATIVE,
    SHADOWED,
    STAFF,
    Policy,
)

NAMES = ({"q": "Aasen"}, {"q": "Bakke"}, {"q": "Astrid Aasen"}, {"q": "Bernt"}, {"q": "a"},
         {"page": "2"})
FIND_BY_ID = ({"national_id": "{nid:patient_a}"}, {"national_id": "{nid:patient_b}"})
CONSENT = {"scope": "share_health_info", "status": "given", "given_by": "patient"}
RELATIVE_IN = {"name": "Petra Prøve", "relation": "friend", "may_be_told": "practical"}

ROUTES: dict[str, Policy] = {
    # Web UI (samhand/web/urls.py)
    "web:my_patients": Policy(STAFF, lists_patients=True, queries=(*NAMES, {"unit": "{org:hn_a}"},
                                              {"unit": "{org:hn_b}"})),
    "web:find_patient": Policy(STAFF, post_only=True, posts=FIND_BY_ID),
    "web:patient": Policy(PATIENT),
    "web:patient_access_log": Policy(PATIENT, queries=({"page": "2"},)),
    "web:care_team_people": Policy(STAFF, why="people of an organisation, for the care team "
                                   "form; no patient data",
                                   queries=({"organisation": "{org:hn_a}"},
                                            {"organisation": "{org:hn_b}"})),
    "web:reveal_national_id": Policy(PATIENT, post_only=True),
    "web:record_consent": Policy(PATIENT, post_only=True, posts=(CONSENT,)),
    "web:add_care_team_member": Policy(PATIENT, post_only=True, posts=(
        {"organisation": "{org:gp_office}", "role": "gp"},)),
    "web:add_relative": Policy(PATIENT, post_only=True, posts=(RELATIVE_IN,)),
    "web:organisations": Policy(STAFF, why="the directory holds no patient data"),
    "web:emergency": Policy(STAFF, posts=FIND_BY_ID, why="lists only the user's own grants; "
                            "the lookup by full number says whether the patient exists, "
                            "never who it is"),
    "web:emergency_start": Policy(STAFF, post_only=True),
    "web:emergency_end": Policy(GRANT, post_only=True),
    "web:relatives": Policy(STAFF, why="lists only the relative's delegated patients"),
    "web:relative_contacts": Policy(RELATIVE, scope="contacts"),
    "web:relative_access_log": Policy(RELATIVE, scope="access_log"),
    "web:health": Policy(PUBLIC, why="liveness probe, says ok"),
    "web:set_language": Policy(PUBLIC, why="the language switch must work on the login page"),
    # Accounts: the login steps must be reachable before login.
    "accounts:login": Policy(PUBLIC),
    "accounts:otp": Policy(PUBLIC, why="second login step, needs the half-login session"),
    "accounts:enrol": Policy(PUBLIC, why="TOTP enrolment during the first login"),
    "accounts:logout": Policy(PUBLIC),
    # REST API (samhand/api)
    "api:v1:openapi-json": Policy(PUBLIC, why="describes the API, not its data; the source "
                                  "is open anyway"),
    "api:v1:openapi-view": Policy(PUBLIC, why="Swagger UI over the public schema"),
    "api:root": Policy(PUBLIC, why="redirects to the public docs"),
    "api:v1:api-root": Policy(SHADOWED, why="ninja's root; api:root answers /api/v1/"),
    "api:v1:me": Policy(STAFF),
    "api:v1:list_organisations": Policy(STAFF, queries=({"q": "Nesvik"},)),
    "api:v1:get_organisation": Policy(STAFF, why="organisations are not patient data"),
    "api:v1:list_patients": Policy(STAFF, lists_patients=True, queries=NAMES),
    "api:v1:create_patient": Policy(SHADOWED, why="POST /api/v1/patients; the same ninja "
                                    "view as list_patients answers, by method"),
    "api:v1:lookup_patient": Policy(STAFF, post_only=True, posts=FIND_BY_ID, json=True),
    "api:v1:get_patient": Policy(PATIENT),
    "api:v1:add_care_team_member": Policy(PATIENT, post_only=True, json=True, posts=(
        {"organisation_id": "{org:gp_office}", "role": "gp"},)),
    "api:v1:record_consent": Policy(PATIENT, post_only=True, json=True, posts=(CONSENT,)),
    "api:v1:add_relative": Policy(PATIENT, post_only=True, json=True, posts=(RELATIVE_IN,)),
    "api:unknown": Policy(NOT_FOUND, why="JSON 404 for unknown API addresses"),
    # FHIR facade (samhand/fhir): read and search, the API's authentication.
    "fhir:metadata": Policy(PUBLIC, why="the CapabilityStatement describes the server"),
    "fhir:instance": Policy(PATIENT, variants=(
        ("Patient", Policy(PATIENT), {"resource_type": "Patient", "resource_id": "{target}"}),
        ("CareTeam", Policy(PATIENT), {"resource_type": "CareTeam",
                                       "resource_id": "{target}"}),
        ("Consent", Policy(PATIENT), {"resource_type": "Consent",
                                      "resource_id": "{consent}"}),
        ("AuditEvent", Policy(PATIENT), {"resource_type": "AuditEvent",
                                         "resource_id": "{audit}"}),
        ("Organization", Policy(STAFF), {"resource_type": "Organization",
                                         "resource_id": "{org:hn_b}"}),
        ("Practitioner", Policy(STAFF), {"resource_type": "Practitioner",
                                         "resource_id": "{user:home_nurse_b}"}),
        ("Encounter", Policy(PATIENT), {"resource_type": "Encounter",
                                        "resource_id": "{obj:stay_id}"}),
        ("MessageHeader", Policy(PATIENT), {"resource_type": "MessageHeader",
                                            "resource_id": "{obj:outbound_id}"}),
        ("Communication", Policy(PATIENT), {"resource_type": "Communication",
                                            "resource_id": "{obj:care_message_id}"}),
        ("PlanDefinition", Policy(STAFF), {"resource_type": "PlanDefinition",
                                           "resource_id": "ltmv-invasive-1"}),
        ("CarePlan", Policy(PATIENT), {"resource_type": "CarePlan",
                                       "resource_id": "{obj:pathway_id}"}),
        ("Task", Policy(PATIENT), {"resource_type": "Task", "resource_id": "{obj:task_id}"}),
    )),
    "fhir:type": Policy(STAFF, variants=tuple(
        (name, Policy(STAFF, queries=queries, lists_patients=name == "Patient"),
         {"resource_type": name}) for name, queries in [
            ("Patient", ({"name": "Aasen"}, {"name": "Bakke"}, {"family": "Bakke"},
                         {"_id": "{pid:patient_b}"}, {"_id": "{pid:patient_a}"},
                         {"identifier": "{nid:patient_b}"}, {"identifier": "{nid:patient_a}"},
                         {"_count": "1", "_offset": "1"})),
            ("CareTeam", ({"patient": "Patient/{pid:patient_a}"},
                          {"patient": "Patient/{pid:patient_b}"}, {"_id": "{pid:patient_b}"})),
            ("Consent", ({"patient": "Patient/{pid:patient_a}"},
                         {"patient": "Patient/{pid:patient_b}"})),
            ("AuditEvent", ({"patient": "Patient/{pid:patient_a}"},
                            {"patient": "Patient/{pid:patient_b}"})),
            ("Organization", ({"name": "Nesvik"},)),
            ("Practitioner", ({"name": "Berg"},)),
            *((name, ({"patient": "Patient/{pid:patient_a}"},
                      {"patient": "Patient/{pid:patient_b}"}))
              for name in ("Observation", "QuestionnaireResponse", "Flag",
                           "DocumentReference", "Encounter", "MessageHeader",
                           "Communication")),
            ("PlanDefinition", ({"name": "ltmv_invasive"},)),
            ("CarePlan", ({"patient": "Patient/{pid:patient_a}"},
                          {"patient": "Patient/{pid:patient_b}"}, {"status": "active"})),
            ("Task", ({"patient": "Patient/{pid:patient_a}"},
                      {"patient": "Patient/{pid:patient_b}"},
                      {"owner": "Organization/{org:hn_a}"},
                      {"owner": "Organization/{org:hn_b}"}, {"status": "ready"},
                      {"period": "ge2020-01-01"})),
        ])),
    "fhir:search": Policy(STAFF, post_only=True, variants=tuple(
        (name, Policy(STAFF, post_only=True, posts=posts), {"resource_type": name})
        for name, posts in [
            ("Patient", ({"identifier": "{nid:patient_a}"}, {"identifier": "{nid:patient_b}"},
                         {"name": "Bakke"}, {"name": "Aasen"})),
            ("CareTeam", ({"patient": "Patient/{pid:patient_b}"},
                          {"patient": "Patient/{pid:patient_a}"})),
            ("Consent", ({"patient": "Patient/{pid:patient_b}"},
                         {"patient": "Patient/{pid:patient_a}"})),
            ("AuditEvent", ({"patient": "Patient/{pid:patient_b}"},
                            {"patient": "Patient/{pid:patient_a}"})),
            ("CarePlan", ({"patient": "Patient/{pid:patient_b}"},
                          {"patient": "Patient/{pid:patient_a}"})),
            ("Task", ({"patient": "Patient/{pid:patient_b}"},
                      {"patient": "Patient/{pid:patient_a}"},
                      {"owner": "Organization/{org:hn_a}"})),
            *((name, ({"patient": "Patient/{pid:patient_b}"},
                      {"patient": "Patient/{pid:patient_a}"}))
              for name in ("Encounter", "MessageHeader", "Communication")),
        ])),
    "fhir:unknown": Policy(NOT_FOUND, why="OperationOutcome 404 for unknown FHIR addresses"),
    # Django admin: one declaration for the namespace, because admin_view() guards
    # every admin page the same way (is_staff) and new models add pages by themselves.
    "admin:*": Policy(ADMIN),
    # The patient admin of an operator goes through the access layer: their own
    # patients open, others answer like an id that does not exist.
    **{f"admin:patients_patient_{view}": Policy(ADMIN, variants=(
        ("patient", Policy(ADMIN), {"object_id": "{target}"}),))
       for view in ("change", "history", "delete")},
}


def _app_route_policies() -> tuple[dict[str, Policy], list[Any]]:
    """ROUTES and objects() declared by each app in samhand/<app>/tests/route_policies.py."""
    routes: dict[str, Policy] = {}
    makers: list[Any] = []
    for config in apps.get_app_configs():
        if not config.name.startswith("samhand."):
            continue
        try:
            module = importlib.import_module(f"{config.name}.tests.route_policies")
        except ModuleNotFoundError as exc:
            if exc.name and exc.name.startswith(config.name):
                continue
            raise
        for key, policy in getattr(module, "ROUTES", {}).items():
            assert key not in routes, f"route {key} declared twice"
            routes[key] = policy
        if hasattr(module, "objects"):
            makers.append(module.objects)
    return routes, makers


_APP_ROUTES, OBJECT_MAKERS = _app_route_policies()
assert not set(_APP_ROUTES) & set(ROUTES), set(_APP_ROUTES) & set(ROUTES)
ROUTES.update(_APP_ROUTES)

# Which personas see which world patient (conftest.build_world), written out by hand.
CARE = {
    "home_nurse_a": {"patient_a"},
    "home_nurse_b": {"patient_b"},
    "ltmv_nurse": {"patient_a", "patient_b"},
    "gp_a": {"patient_a"},
    "clerk_a": {"patient_a"},
    "relative_a": set(),
    "nobody": set(),
    "operator_b": {"patient_b"},  # is_staff and superuser, works in Nesvik home nursing
}
STAFF_PERSONAS = {"operator_b"}
# Known and accepted (see the report): the audit admin shows an operator the audit rows
# of every patient, as patient ids (no names), for log review (security.md #29).
AUDIT_ADMIN = ("admin:audit_auditevent_", "admin:audit_reviewitem_")
DELEGATIONS = {"relative_a": {"patient_a": {"contacts", "access_log"}}}
PERSONAS = tuple(CARE)
ADMIN_PERSONAS = ("clerk_a", "nobody", "operator_b")
TARGETS = ("patient_a", "patient_b", "random")

# Tables whose rows a GET may legitimately add or touch.
VOLATILE_TABLES = ("audit_", "django_session", "axes_", "otp_", "accounts_usersession",
                   "samhand_api_apitoken",  # last_used_at
                   "samhand_cache",  # Django's database cache
                   "samhand_api_ratecount")  # the API rate budget (RateCount)


# --------------------------------------------------------------------------- walking

@dataclass
class Route:
    key: str  # the ROUTES key that applies
    name: str  # namespace:name, or namespace:<pattern> when unnamed
    template: str  # the path with <arg> placeholders
    args: tuple[str, ...]
    policy: Policy | None = None
    fixed: dict[str, str] = field(default_factory=dict)  # path args set by a variant


def _group_spans(regex: str) -> Iterator[tuple[int, int, str, str]]:
    """(start, end, name, body) of each named group, with balanced parentheses."""
    for match in re.finditer(r"\(\?P<(\w+)>", regex):
        depth, i = 1, match.end()
        while depth:
            depth += {"(": 1, ")": -1}.get(regex[i], 0)
            i += 1
        yield match.start(), i, match.group(1), regex[match.end():i - 1]


def _template(pattern: Any) -> tuple[str, tuple[str, ...]]:
    if isinstance(pattern, RoutePattern):
        route = str(pattern)
        args = tuple(m.group(2) for m in re.finditer(r"<(?:(\w+):)?(\w+)>", route))
        return re.sub(r"<(?:\w+:)?(\w+)>", r"<\1>", route), args
    assert isinstance(pattern, RegexPattern)
    regex = str(pattern).lstrip("^").rstrip("$")
    out, last, args = "", 0, []
    for start, end, name, body in _group_spans(regex):
        out += regex[last:start] + f"<{name}>"
        last = end
        args.append(name if "|" not in body else f"{name}={body.split('|')[0]}")
    return (out + regex[last:]).replace("\\", ""), tuple(args)


def all_routes() -> list[Route]:
    routes: list[Route] = []

    def walk(patterns: list[Any], prefix: str, namespace: str) -> None:
        for p in patterns:
            template, args = _template(p.pattern)
            if isinstance(p, URLResolver):
                ns = ":".join(x for x in (namespace, p.namespace) if x)
                walk(p.url_patterns, prefix + template, ns)
                continue
            assert isinstance(p, URLPattern)
            name = f"{namespace}:{p.name}" if p.name else f"{namespace}:{p.pattern}"
            name = name.lstrip(":")
            route = Route(name, name, prefix + template, tuple(
                a for a in _template_args(prefix, template, args)))
            if name in ROUTES:
                route.policy = ROUTES[name]
            elif f"{namespace.split(':')[0]}:*" in ROUTES:
                route.key = f"{namespace.split(':')[0]}:*"
                route.policy = ROUTES[route.key]
            if route.policy is not None and route.policy.variants:
                for label, policy, fixed in route.policy.variants:
                    routes.append(Route(route.key, f"{name}[{label}]", route.template,
                                        route.args, policy, fixed))
            else:
                routes.append(route)

    walk(get_resolver().url_patterns, "/", "")
    return routes


def _template_args(prefix: str, template: str, args: tuple[str, ...]) -> list[str]:
    found = re.findall(r"<(\w+)>", prefix + template)
    extra = {a.split("=")[0]: a for a in args}
    return [extra.get(a, a) for a in found]


# --------------------------------------------------------------------------- the test world

@dataclass
class Walk:
    world: Any
    clients: dict[str, Client]
    token_clients: dict[str, Client]
    grant: EmergencyAccessGrant
    consents: dict[str, Any] = field(default_factory=dict)  # patient -> one consent id
    audits: dict[str, Any] = field(default_factory=dict)  # patient -> one audit row uuid
    # Path args declared by apps' route_policies.objects(): arg -> {patient -> id}
    objects: dict[str, dict[str, str]] = field(default_factory=dict)
    random_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    problems: list[str] = field(default_factory=list)

    def target_id(self, target: str) -> str:
        if target == "none":
            return "\x00"  # no target: matches nothing
        return self.random_id if target == "random" else str(getattr(self.world, target).pk)

    def path(self, route: Route, target: str) -> str:
        path = route.template
        for arg in route.args:
            name, _, literal = arg.partition("=")
            if name in route.fixed:
                value = self.fill(route.fixed[name], target)
            else:
                value = literal or self.value(name, target)
            path = path.replace(f"<{name}>", value, 1)
        return path

    def value(self, name: str, target: str) -> str:
        if name == "patient_id":
            return self.target_id(target)
        if name == "grant_id":
            return self.random_id if target == "random" else str(self.grant.pk)
        if name in self.objects:
            if target == "random":
                return self.random_id
            return self.objects[name].get("patient_b" if target == "none" else target,
                                          self.random_id)
        if target == "none":
            target = "patient_b"
        if name == "organisation_id":
            return str(self.world.hn_b.pk)
        if name == "pk":  # admin/otp_totp/totpdevice/<int:pk>/…: a device that exists
            return str(TOTPDevice.objects.order_by("pk").values_list("pk", flat=True)[0])
        if name == "content_type_id":
            return "1"
        if name in ("rest", "url"):
            return "no/such/page/"
        return "00000000-0000-4000-8000-000000000001"  # admin object ids and the like

    def fill(self, text: Any, target: str = "none") -> Any:
        """Placeholders: {nid:patient_a}, {pid:patient_a}, {org:hn_b}, {user:gp_a}, and
        for the route's target {target}, {consent}, {audit}. JSON bodies (dicts, lists)
        are filled recursively; other values pass unchanged."""
        if isinstance(text, dict):
            return {k: self.fill(v, target) for k, v in text.items()}
        if isinstance(text, list | tuple):
            return [self.fill(v, target) for v in text]
        if not isinstance(text, str):
            return text
        def one(match: re.Match[str]) -> str:
            kind, name = match.group(1), match.group(2)
            if kind == "nid":
                return str(getattr(self.world, name).national_id)
            return str(getattr(self.world, name).pk)

        def targeted(match: re.Match[str]) -> str:
            if target == "random":
                return self.random_id
            if match.group(1) == "consent":
                return str(self.consents[target])
            if match.group(1) == "audit":
                return str(self.audits[target])
            return self.target_id(target)

        text = re.sub(r"\{obj:(\w+)\}", lambda m: self.random_id if target == "random"
                      else str(self.objects[m.group(1)]["patient_b" if target == "none"
                                                         else target]), text)
        text = re.sub(r"\{(target|consent|audit)\}", targeted, text)
        return re.sub(r"\{(nid|pid|org|user):(\w+)\}", one, text)

    def forbidden(self, persona: str) -> dict[str, str]:
        """Strings that identify a world patient the persona may not see."""
        allowed = CARE.get(persona, set()) | set(DELEGATIONS.get(persona, {}))
        out = {}
        for name in ("patient_a", "patient_b"):
            if name in allowed:
                continue
            p = getattr(self.world, name)
            out.update({p.full_name: name, f"{p.family_name}, {p.given_name}": name,
                        str(p.pk): name, p.pk.hex: name,
                        p.national_id: name, p.street: name})
        return out

    def problem(self, route: Route, who: str, target: str, text: str) -> None:
        self.problems.append(f"{route.name} [{route.template}] as {who} on {target}: {text}")


def _tables() -> list[str]:
    return sorted(t for t in connection.introspection.table_names()
                  if not t.startswith(VOLATILE_TABLES))


def snapshot() -> dict[str, str]:
    """A digest of every (non-volatile) table's rows."""
    out = {}
    with connection.cursor() as cursor:
        for table in _tables():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608
            rows = sorted(repr(row) for row in cursor.fetchall())
            out[table] = f"{len(rows)}:" + hashlib.sha256("\n".join(rows).encode()).hexdigest()
    return out


UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def normalise(response: Any, path: str) -> str:
    """The answer without what differs from request to request: the correlation id,
    nonces, CSRF tokens, and the ids in the requested path."""
    body = response.content.decode("utf-8", "replace")
    cid = response.get("X-Correlation-ID", "")
    if cid:
        body = body.replace(cid, "<CID>")
    for own in UUID_RE.findall(path):
        body = body.replace(own, "<ID>")
    body = re.sub(r'nonce="[^"]*"', 'nonce="<N>"', body)
    body = re.sub(r"\b[A-Za-z0-9]{64}\b", "<CSRF>", body)
    return f"{response.status_code} {response.get('Content-Type', '')}\n{body}"


def _leaks(response: Any, walk: Walk, persona: str, path: str,
           echo: tuple[str, ...] = ()) -> list[str]:
    body = response.content.decode("utf-8", "replace")
    location = response.get("Location", "")
    # The requested ids and the values the caller sent may be echoed (a form action,
    # the search box, a Bundle's self link); that is the caller's own input.
    sent = {*UUID_RE.findall(path), *echo, *(u for e in echo for u in UUID_RE.findall(e))}
    for own in sorted(sent, key=len, reverse=True):
        if own:
            body = body.replace(own, "")
            location = location.replace(own, "")
    return sorted({f"{who}: {text!r}" for text, who in walk.forbidden(persona).items()
                   if text and (text in body or text in location)})


# --------------------------------------------------------------------------- fixtures

@pytest.fixture
def walk(world: Any, settings: Any) -> Walk:
    settings.SAMHAND_API_RATE_PER_MINUTE = 100_000
    cache.clear()
    operator = User.objects.create_user(username="operator_b", password=None, first_name="Ola",
                                        last_name="Operatør", profession="nurse",
                                        hpr_number="1000010", is_staff=True,
                                        is_superuser=True)
    Membership.objects.create(user=operator, organisation=world.hn_b, role="nurse",
                              valid_from=timezone.now() - dt.timedelta(days=30))
    world.users["operator_b"] = operator
    clients = {"anonymous": Client(raise_request_exception=False)}
    token_clients = {}
    for persona in PERSONAS:
        user = getattr(world, persona)
        clients[persona] = world.login(Client(raise_request_exception=False), user)
        _token, secret = ApiToken.issue(user, days=1, name="route walk")
        token_clients[persona] = Client(raise_request_exception=False,
                                         HTTP_AUTHORIZATION=f"Bearer {secret}")
    # An emergency grant owned by someone who is not one of the walking personas.
    now = timezone.now()
    grant = EmergencyAccessGrant.objects.create(
        user=world.consultant, patient=world.patient_b, organisation=world.pulm,
        reason_code="acute", reason_text="Akutt forverring om natten", started_at=now,
        expires_at=now + dt.timedelta(hours=4))
    walk = Walk(world, clients, token_clients, grant)
    for make in OBJECT_MAKERS:
        for arg, ids in make(world).items():
            assert arg not in walk.objects, f"path argument {arg} declared twice"
            walk.objects[arg] = ids
    # One consent and one audit row per patient, for the FHIR reads of those types.
    walk.consents["patient_a"] = world.patient_a.consents.get().pk
    walk.consents["patient_b"] = Consent.objects.create(
        patient=world.patient_b, scope=Consent.Scope.SHARE_HEALTH_INFO,
        status=Consent.Status.WITHDRAWN, recorded_by=world.home_nurse_b,
        recorded_by_organisation=world.hn_b).pk
    for name in ("patient_a", "patient_b"):
        walk.audits[name] = record(Actor(user=world.consultant, organisation=world.pulm),
                                   "samhand.patient.read", "R",
                                   patient_id=getattr(world, name).pk).uuid
    return walk


def _report(walk: Walk) -> None:
    if walk.problems:
        pytest.fail(f"{len(walk.problems)} problem(s):\n" + "\n".join(walk.problems),
                    pytrace=False)


# --------------------------------------------------------------------------- tests

def test_every_route_has_a_declared_policy():
    unknown = [r for r in all_routes() if r.policy is None]
    assert not unknown, (
        "These URL patterns have no access policy in samhand/tests_security/"
        "test_route_walk.py ROUTES. Declare each one (PUBLIC, STAFF, PATIENT, RELATIVE, "
        "GRANT, NOT_FOUND, ADMIN or SHADOWED) so that the route walk can check it:\n"
        + "\n".join(f"  {r.name!r}: Policy(...),   # {r.template}" for r in unknown))


def test_no_declared_policy_is_stale():
    names = {r.key for r in all_routes()}
    assert not set(ROUTES) - names, f"declared but no such route: {set(ROUTES) - names}"


def test_every_path_built_by_the_walk_resolves_to_its_route(walk):
    for route in all_routes():
        for target in _targets(route):
            path = walk.path(route, target)
            match = resolve(path.split("?")[0])
            name = match.view_name if match.url_name else None
            shadowed = name is not None and name != route.name.split("[")[0]
            if route.policy is not None and route.policy.kind != ADMIN and shadowed != (
                    route.policy.kind == SHADOWED):
                walk.problem(route, "-", target, f"{path} resolves to {name}; declared "
                             f"{route.policy.kind}")
    _report(walk)


def _targets(route: Route) -> tuple[str, ...]:
    if any(a.split("=")[0] in ("patient_id", "grant_id") for a in route.args) or any(
            re.search(r"\{(target|consent|audit|obj:\w+)\}", v)
            for v in route.fixed.values()):
        return TARGETS
    return ("none",)


def test_anonymous_gets_login_or_401_except_public_routes(walk):
    client = walk.clients["anonymous"]
    for route in all_routes():
        if route.policy is None or route.policy.kind == SHADOWED:
            continue
        for target in _targets(route):
            path = walk.path(route, target)
            response = client.get(path)
            status = response.status_code
            if status >= 500:
                walk.problem(route, "anonymous", target, f"{status}")
                continue
            if _leaks(response, walk, "nobody", path):
                walk.problem(route, "anonymous", target, "shows patient data")
            if route.policy.kind == PUBLIC:
                continue
            api = route.name.startswith(("api:", "fhir:"))
            if route.policy.kind == NOT_FOUND and status in (401, 404):
                continue  # nothing behind it to protect
            if api and route.policy.post_only and status == 405:
                continue  # the method is refused before authentication; no data
            if api and status != 401:
                walk.problem(route, "anonymous", target, f"{status}, expected 401")
            if not api and not (status == 302 and response["Location"].startswith(
                    "/accounts/login/")):
                walk.problem(route, "anonymous", target,
                             f"{status} {response.get('Location', '')}, expected 302 to login")
    _report(walk)


def _expect_allowed(policy: Policy, persona: str, target: str) -> bool:
    if target == "random":
        return False
    if policy.kind == PATIENT:
        return target in CARE[persona]
    if policy.kind == RELATIVE:
        return target in CARE[persona] or policy.scope in DELEGATIONS.get(
            persona, {}).get(target, set())
    return False  # GRANT: the grant belongs to none of the personas


@pytest.mark.parametrize("auth", ["session", "token"])
def test_personas_see_patients_only_through_a_relation(walk, auth):
    """`token`: the API and FHIR routes again, with a bearer token and no session."""
    before = snapshot()
    for route in all_routes():
        policy = route.policy
        if policy is None or policy.kind == SHADOWED:
            continue
        if auth == "token" and not route.name.startswith(("api:", "fhir:")):
            continue
        # Admin pages all sit behind the same admin_view() check: two personas suffice.
        personas = ADMIN_PERSONAS if policy.kind == ADMIN else PERSONAS
        for persona in personas:
            client = (walk.token_clients if auth == "token" else walk.clients)[persona]
            # Web pages again as htmx asks for them: some answer with a fragment.
            htmx = ({"HX-Request": "true"},) if route.name.startswith("web:") else ()
            random_bodies: dict[str, str] = {}
            for target, query, header in [
                    (t, q, h) for t in reversed(_targets(route))  # random first
                    for q, h in [({}, {}), *((q, {}) for q in policy.queries),
                                 *(({}, h) for h in htmx)]]:
                path = walk.path(route, target)
                params = {k: walk.fill(v) for k, v in query.items()}
                response = client.get(path, params, headers=header)
                _drop_messages(client, response)
                label = target + (f" ?{query}" if query else "") + (
                    " (htmx)" if header else "")
                after = snapshot()
                if after != before:
                    changed = sorted(t for t in after if after[t] != before.get(t))
                    walk.problem(route, persona, label, f"GET changed tables {changed}")
                    before = after
                _check_get(walk, route, persona, target, label, response,
                           random_bodies, path, tuple(params.values()))
            if policy.post_only or policy.posts:
                _probe_posts(walk, route, persona, client)
    _report(walk)


def params_of(label: str) -> bool:
    return "?" in label or "(htmx)" in label


def _drop_messages(client: Client, response: Any) -> None:
    """Flash messages ("Patient with id … does not exist") would carry this request's
    ids into the next page; drop them so that each answer is judged on its own."""
    client.cookies.pop("messages", None)
    if 300 <= response.status_code < 400:
        session = client.session
        if session.pop("_messages", None) is not None:
            session.save()


def _check_get(walk: Walk, route: Route, persona: str, target: str, label: str,
               response: Any, random_bodies: dict[str, str], path: str,
               echo: tuple[str, ...]) -> None:
    policy = route.policy
    assert policy is not None
    status = response.status_code
    if status >= 500:
        walk.problem(route, persona, label, f"{status}")
        return
    leaks = _leaks(response, walk, persona, path, echo)
    if persona in STAFF_PERSONAS and route.name.startswith(AUDIT_ADMIN):
        leaks = [leak for leak in leaks if not UUID_RE.search(leak)]
    if leaks:
        walk.problem(route, persona, label, f"LEAK {status}: {', '.join(leaks)}")
    if policy.kind == ADMIN:
        if persona not in STAFF_PERSONAS:
            if status == 200 and route.name not in ("admin:login",):
                walk.problem(route, persona, label, "200 for a user who is not staff")
            return
        if target == "none":
            return
        if target in CARE[persona]:
            if status != 200:
                walk.problem(route, persona, label, f"{status}, expected 200 (own patient)")
            return
        if status == 200:
            walk.problem(route, persona, label, "200 for another unit's patient")
        body = normalise(response, path)
        if target == "random":
            random_bodies[label.replace("random", "")] = body
        elif random_bodies.get(label.replace(target, "")) != body:
            walk.problem(route, persona, label,
                         "answer differs from the one for a random id (existence leak)")
        return
    if policy.kind == NOT_FOUND:
        if status != 404:
            walk.problem(route, persona, label, f"{status}, expected 404")
        return
    if policy.post_only:
        if status != 405:
            walk.problem(route, persona, label, f"GET gave {status}, expected 405")
        return
    if policy.lists_patients and not params_of(label):
        # The leak check is only worth something if own patients do show up.
        body = response.content.decode("utf-8", "replace")
        missing = [n for n in sorted(CARE[persona]) if str(getattr(walk.world, n).pk) not in body]
        if missing and (persona != "relative_a" or status != 302):
            walk.problem(route, persona, label, f"own patients missing from the list: {missing}")
    if policy.kind in (PUBLIC, STAFF):
        if status not in (200, 204, 301, 302, 404, 405) and not (status == 403 and
                                                                   persona == "nobody"):
            walk.problem(route, persona, label, f"unexpected {status}")
        return
    # PATIENT, RELATIVE, GRANT: 200 exactly where allowed, else the random-id 404.
    allowed = _expect_allowed(policy, persona, target)
    if allowed and status != 200:
        walk.problem(route, persona, label, f"{status}, expected 200 (has a relation)")
    if not allowed:
        if status != 404:
            walk.problem(route, persona, label, f"{status}, expected 404")
        body = normalise(response, path)
        if target == "random":
            random_bodies[label.replace("random", "")] = body
        elif random_bodies.get(label.replace(target, "")) != body:
            walk.problem(route, persona, label,
                         "404 differs from the 404 for a random id (existence leak)")


def _probe_posts(walk: Walk, route: Route, persona: str, client: Client) -> None:
    """POST to write endpoints, with each declared (valid) body and with an empty one.
    A foreign id must answer exactly like a random one; with a valid body that answer
    is 404, and a persona with a relation does not get 404. Every POST runs in a
    savepoint that is rolled back."""
    policy = route.policy
    assert policy is not None
    bodies = [({k: walk.fill(v) for k, v in b.items()}, True) for b in policy.posts]
    bodies.append(({}, False))
    random_bodies: dict[int, str] = {}
    for target in reversed(_targets(route)):
        for index, (data, valid) in enumerate(bodies):
            label = f"{target} POST {data or '{}'}"
            path = walk.path(route, target)
            with transaction.atomic():
                if policy.json:
                    response = client.post(path, json.dumps(data),
                                           content_type="application/json")
                else:
                    response = client.post(path, data)
                transaction.set_rollback(True)
            status = response.status_code
            if status >= 500:
                walk.problem(route, persona, label, f"{status}")
                continue
            leaks = _leaks(response, walk, persona, path, tuple(map(str, data.values())))
            if leaks:
                walk.problem(route, persona, label, f"LEAK {status}: {', '.join(leaks)}")
            if policy.kind not in (PATIENT, RELATIVE, GRANT):
                continue
            allowed = _expect_allowed(policy, persona, target)
            if valid and allowed and status == 404:
                walk.problem(route, persona, label, "404, but the persona has a relation")
            if not allowed:
                if valid and status != 404:
                    walk.problem(route, persona, label, f"{status}, expected 404")
                body = normalise(response, path)
                if target == "random":
                    random_bodies[index] = body
                elif random_bodies.get(index) != body:
                    walk.problem(route, persona, label,
                                 "answer differs from the one for a random id (existence "
                                 "leak)")


def test_guessed_policies_are_listed():
    """Not a check: keeps the list of policies this test had to guess visible."""
    guessed = sorted(name for name, policy in ROUTES.items() if policy.guessed)
    assert guessed == []


def test_unsafe_methods_without_a_csrf_token_change_nothing(walk):
    """security.md #19: with a verified session and no CSRF token, every POST, PUT, PATCH
    and DELETE is refused (403, or 405 where the method is not offered at all) and no
    table changes. home_nurse_a, on her own patient, so that access is not the reason."""
    client = walk.world.login(Client(enforce_csrf_checks=True, raise_request_exception=False),
                              walk.world.home_nurse_a)
    before = snapshot()
    for route in all_routes():
        if route.policy is None or route.policy.kind == SHADOWED or (
                route.policy.kind == ADMIN and route.name not in (
                "admin:index", "admin:patients_patient_add")):
            continue
        target = "patient_a" if _targets(route) == TARGETS else "none"
        path = walk.path(route, target)
        for method in ("post", "put", "patch", "delete"):
            data = {k: walk.fill(v) for k, v in (route.policy.posts or ({},))[0].items()}
            response = getattr(client, method)(path, data)
            if response.status_code not in (403, 405):
                walk.problem(route, "home_nurse_a", f"{target} {method.upper()} without CSRF",
                             f"{response.status_code}, expected 403 or 405")
            after = snapshot()
            if after != before:
                changed = sorted(t for t in after if after[t] != before.get(t))
                walk.problem(route, "home_nurse_a", f"{method.upper()} without CSRF",
                             f"changed tables {changed}")
                before = after
    _report(walk)


def test_the_admin_shows_no_totp_secrets_and_a_missing_device_is_404(walk):
    """django-otp's own device admin (secret as QR code, 500 for a missing id) is replaced
    by a read-only list (samhand/accounts/admin.py)."""
    client = walk.world.login(Client(raise_request_exception=False), walk.world.operator_b)
    device = TOTPDevice.objects.filter(user=walk.world.home_nurse_a).first() or \
        TOTPDevice.objects.create(user=walk.world.home_nurse_a, name="x", confirmed=True)
    for pk in (999999, device.pk):
        for view in ("config", "qrcode"):
            response = client.get(f"/admin/otp_totp/totpdevice/{pk}/{view}/")
            assert response.status_code in (302, 404), (pk, view, response.status_code)
            assert device.key not in response.content.decode(errors="replace")
