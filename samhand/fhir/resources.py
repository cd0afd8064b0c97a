"""Read and search, one class per FHIR resource type.

Patient-compartment types (Patient, CareTeam, Consent, AuditEvent) reach patients only
through `samhand.access.policy`: reads through `get_patient_for` (404 and an audit row
for what the caller may not see, exactly as for an id that does not exist), searches
through `visible_patients` and `audit_list` (one audit row per patient returned).
Organization and Practitioner are the directory: any authenticated caller.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

from django.db.models import Exists, F, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.http import Http404, HttpRequest
from django.utils.translation import gettext as _

from samhand.access import policy
from samhand.accounts.models import User
from samhand.audit.models import AuditEvent
from samhand.audit.services import record
from samhand.orgs.models import Membership, Organisation
from samhand.patients.identifiers import InvalidIdentifier, parse_national_id
from samhand.patients.models import CareTeamMember, Consent, Patient

from . import audit as fhir_audit
from . import mapping
from .search import FhirError, Search, SearchParam, invalid, patient_reference, token, uuids

CLIENT = "fhir"
Row = dict[str, Any]


class ResourceType:
    name: ClassVar[str]
    search_params: ClassVar[dict[str, SearchParam]]
    compartment: ClassVar[bool] = False

    def read(self, request: HttpRequest, resource_id: str) -> Row:
        raise NotImplementedError

    def search(self, request: HttpRequest, search: Search) -> tuple[int, list[Row]]:
        raise NotImplementedError


def _param(name: str, type_: str, doc: str, *modifiers: str) -> tuple[str, SearchParam]:
    return name, SearchParam(name, type_, doc, modifiers)


def _id_param() -> tuple[str, SearchParam]:
    return _param("_id", "token", "Logical id (UUID); comma-separated for OR.")


def _page(qs: QuerySet[Any], search: Search) -> tuple[int, list[Any]]:
    total = qs.count()
    if search.count == 0:
        return total, []
    return total, list(qs[search.offset:search.offset + search.count])


def _name_filter(fields: tuple[str, ...], modifier: str | None, value: str) -> Q:
    lookup = {"exact": "exact", "contains": "icontains"}.get(modifier or "", "istartswith")
    query = Q()
    for term in value.split():
        term_query = Q()
        for field_name in fields:
            term_query |= Q(**{f"{field_name}__{lookup}": term})
        query &= term_query
    return query


def _denied(request: HttpRequest, code: str, object_type: str) -> Http404:
    """Audit a read of something that does not exist, and answer like a foreign id."""
    record(policy.actor_for(request, CLIENT), code, AuditEvent.Action.READ,
           object_type=object_type, outcome=AuditEvent.Outcome.MINOR_FAILURE)
    return Http404()


def _is_uuid(value: str) -> bool:
    try:
        uuids("_id", value)
    except FhirError:
        return False
    return True


# --------------------------------------------------------------------------- Patient

class PatientType(ResourceType):
    name = "Patient"
    compartment = True
    search_params = dict([
        _id_param(),
        _param("identifier", "token",
               "National identity number: system|value, e.g. "
               f"{mapping.FNR}|<fødselsnummer> (also DNR {mapping.DNR}, H-number "
               f"{mapping.HNR}, CPR {mapping.CPR}). Send it with POST /fhir/Patient/_search "
               "so that the number stays out of URLs and logs."),
        _param("name", "string", "Given or family name, starts with (default), :exact or "
               ":contains.", "exact", "contains"),
        _param("family", "string", "Family name.", "exact", "contains"),
        _param("given", "string", "Given name.", "exact", "contains"),
    ])

    @staticmethod
    def _with_gps(qs: QuerySet[Patient]) -> QuerySet[Patient]:
        gps = (CareTeamMember.objects.active().filter(role=CareTeamMember.Role.GP,
                                                      organisation__isnull=False)
               .select_related("organisation"))
        return qs.prefetch_related(Prefetch("care_team", queryset=gps, to_attr="gp_members"))

    @staticmethod
    def _resource(patient: Patient) -> Row:
        gps = [m.organisation for m in getattr(patient, "gp_members", [])]
        resource = mapping.patient(patient, general_practitioners=gps)
        resource["meta"] = {"lastUpdated": mapping.instant(patient.updated_at)}
        return resource

    def read(self, request: HttpRequest, resource_id: str) -> Row:
        patient, _grant = policy.get_patient_for(request, resource_id, client=CLIENT)
        patient = self._with_gps(Patient.objects.filter(pk=patient.pk)).get()
        return self._resource(patient)

    def search(self, request: HttpRequest, search: Search) -> tuple[int, list[Row]]:
        qs = policy.visible_patients(request.user)
        for _modifier, value in search.values("_id"):
            qs = qs.filter(pk__in=uuids("_id", value))
        for _modifier, value in search.values("identifier"):
            qs = qs.filter(self._identifier_filter(value))
        for modifier, value in search.values("name"):
            qs = qs.filter(_name_filter(("given_name", "family_name"), modifier, value))
        for modifier, value in search.values("family"):
            qs = qs.filter(_name_filter(("family_name",), modifier, value))
        for modifier, value in search.values("given"):
            qs = qs.filter(_name_filter(("given_name",), modifier, value))
        qs = self._with_gps(qs.select_related("municipality")).order_by(
            "family_name", "given_name", "id")
        total, rows = _page(qs, search)
        policy.audit_list(request, "samhand.patient.search", rows,
                          query=search.audit_query(), client=CLIENT)
        return total, [self._resource(p) for p in rows]

    @staticmethod
    def _identifier_filter(value: str) -> Q:
        query = Q(pk__in=[])
        for system, code in token(value):
            if system not in (None, *mapping.PATIENT_SYSTEMS.values()):
                raise invalid("identifier", _(
                    "Unknown identifier system for Patient. Use one of: %(systems)s.") % {
                    "systems": ", ".join(sorted(set(mapping.PATIENT_SYSTEMS.values())))})
            if code is None:
                raise invalid("identifier", _("Give the identifier's value after the '|'."))
            try:
                ident = parse_national_id(code, allow_test=True, allow_help=True)
            except InvalidIdentifier as exc:
                raise invalid("identifier", str(exc.message)) from None
            match = Q(national_id=ident.value)
            if system:
                kinds = [k.value for k, s in mapping.PATIENT_SYSTEMS.items() if s == system]
                match &= Q(national_id_kind__in=kinds)
            query |= match
        return query


# --------------------------------------------------------------------------- CareTeam

class CareTeamType(ResourceType):
    """One CareTeam per patient (the cross-sector team); its id is the patient's id."""

    name = "CareTeam"
    compartment = True
    search_params = dict([
        _id_param(),
        _param("patient", "reference", "The patient: Patient/<id>."),
        _param("subject", "reference", "The patient: Patient/<id>."),
    ])

    @staticmethod
    def _resource(patient: Patient) -> Row:
        members = (patient.care_team.select_related("organisation", "user", "related_person")
                   .order_by("period_start", "id"))
        return mapping.care_team(patient, members)

    def read(self, request: HttpRequest, resource_id: str) -> Row:
        patient, _grant = policy.get_patient_for(request, resource_id, client=CLIENT,
                                                 code="samhand.careteam.read",
                                                 object_type="CareTeam")
        return self._resource(patient)

    def search(self, request: HttpRequest, search: Search) -> tuple[int, list[Row]]:
        qs = policy.visible_patients(request.user)
        for name in ("_id", "patient", "subject"):
            for _modifier, value in search.values(name):
                qs = qs.filter(pk__in=patient_reference(name, value))
        total, rows = _page(qs.order_by("family_name", "given_name", "id"), search)
        policy.audit_list(request, "samhand.careteam.search", rows,
                          query=search.audit_query(), client=CLIENT, object_type="CareTeam")
        return total, [self._resource(p) for p in rows]


# --------------------------------------------------------------------------- Consent

def _consents() -> QuerySet[Consent]:
    newest = (Consent.objects.filter(patient=OuterRef("patient"), scope=OuterRef("scope"))
              .order_by("-recorded_at", "-status").values("pk")[:1])
    return (Consent.objects.select_related("patient", "recorded_by_organisation")
            .annotate(newest_id=Subquery(newest)))


class ConsentType(ResourceType):
    name = "Consent"
    compartment = True
    search_params = dict([
        _id_param(),
        _param("patient", "reference", "The patient: Patient/<id>."),
        _param("status", "token", "active (the decision in force) or inactive (superseded)."),
    ])

    @staticmethod
    def _resource(consent: Any) -> Row:
        return mapping.consent(consent, in_force=consent.newest_id == consent.pk)

    def read(self, request: HttpRequest, resource_id: str) -> Row:
        consent = _consents().filter(pk=resource_id).first() if _is_uuid(resource_id) else None
        if consent is None:
            raise _denied(request, "samhand.consent.read", "Consent")
        policy.get_patient_for(request, consent.patient_id, client=CLIENT,
                               code="samhand.consent.read", object_type="Consent")
        return self._resource(consent)

    def search(self, request: HttpRequest, search: Search) -> tuple[int, list[Row]]:
        qs = _consents().filter(patient__in=policy.visible_patients(request.user))
        for _modifier, value in search.values("_id"):
            qs = qs.filter(pk__in=uuids("_id", value))
        for _modifier, value in search.values("patient"):
            qs = qs.filter(patient_id__in=patient_reference("patient", value))
        for _modifier, value in search.values("status"):
            wanted = {code for _system, code in token(value)}
            if not wanted <= {"active", "inactive"}:
                raise invalid("status", _("Consent status is 'active' or 'inactive'."))
            if wanted == {"active"}:
                qs = qs.filter(pk=F("newest_id"))
            elif wanted == {"inactive"}:
                qs = qs.exclude(pk=F("newest_id"))
        total, rows = _page(qs.order_by("patient__family_name", "patient_id", "-recorded_at",
                                        "id"), search)
        patients = list({c.patient_id: c.patient for c in rows}.values())
        policy.audit_list(request, "samhand.consent.search", patients,
                          query=search.audit_query(), client=CLIENT, object_type="Consent")
        return total, [self._resource(c) for c in rows]


# --------------------------------------------------------------------------- AuditEvent

class AuditEventType(ResourceType):
    """The audit rows about patients the caller may see (who looked at the record)."""

    name = "AuditEvent"
    compartment = True
    search_params = dict([
        _id_param(),
        _param("patient", "reference", "The patient: Patient/<id>."),
        _param("date", "date", "When recorded: ge<date>, le<date>, gt, lt (ISO 8601)."),
    ])

    def read(self, request: HttpRequest, resource_id: str) -> Row:
        event = (AuditEvent.objects.filter(uuid=resource_id, patient_id__isnull=False).first()
                 if _is_uuid(resource_id) else None)
        if event is None:
            raise _denied(request, "samhand.audit.read", "AuditEvent")
        policy.get_patient_for(request, event.patient_id, client=CLIENT,
                               code="samhand.audit.read", object_type="AuditEvent")
        return fhir_audit.to_fhir(event)

    def search(self, request: HttpRequest, search: Search) -> tuple[int, list[Row]]:
        visible = policy.visible_patients(request.user)
        qs = AuditEvent.objects.filter(Exists(visible.filter(pk=OuterRef("patient_id"))))
        for _modifier, value in search.values("_id"):
            qs = qs.filter(uuid__in=uuids("_id", value))
        for _modifier, value in search.values("patient"):
            qs = qs.filter(patient_id__in=patient_reference("patient", value))
        for _modifier, value in search.values("date"):
            qs = qs.filter(**_date_filter(value))
        total, rows = _page(qs.order_by("-seq"), search)
        patient_ids = list(dict.fromkeys(e.patient_id for e in rows))
        patients = list(Patient.objects.filter(pk__in=patient_ids))
        policy.audit_list(request, "samhand.audit.search", patients,
                          query=search.audit_query(), client=CLIENT, object_type="AuditEvent")
        return total, [fhir_audit.to_fhir(e) for e in rows]


_DATE_PREFIX = {"eq": "date", "ge": "gte", "gt": "gt", "le": "lte", "lt": "lt"}


def _date_filter(value: str) -> dict[str, Any]:
    prefix, rest = (value[:2], value[2:]) if value[:2] in _DATE_PREFIX else ("eq", value)
    try:
        if len(rest) == 10:
            moment: Any = dt.date.fromisoformat(rest)
            if prefix == "eq":
                return {"recorded_at__date": moment}
            return {f"recorded_at__date__{_DATE_PREFIX[prefix]}": moment}
        moment = dt.datetime.fromisoformat(rest.replace("Z", "+00:00"))
    except ValueError:
        raise invalid("date", _("'date' must be an ISO 8601 date or instant, optionally "
                                "prefixed with ge, gt, le, lt or eq.")) from None
    if moment.tzinfo is None:
        raise invalid("date", _("A date with a time needs a time zone (Z or +01:00)."))
    lookup = "exact" if prefix == "eq" else _DATE_PREFIX[prefix]
    return {f"recorded_at__{lookup}": moment}


# --------------------------------------------------------------------------- directory

class OrganizationType(ResourceType):
    name = "Organization"
    search_params = dict([
        _id_param(),
        _param("identifier", "token",
               f"Organisation number ({mapping.ORG_NUMBER}), HER-id ({mapping.HER_ID}), "
               f"SOR ({mapping.SOR}) or municipality number ({mapping.KOMMUNENUMMER})."),
        _param("name", "string", "Part of the name: starts with (default), :exact, "
               ":contains.", "exact", "contains"),
        _param("type", "token", "Kind of organisation (samhand code, e.g. home_nursing)."),
        _param("partof", "reference", "The parent: Organization/<id>."),
    ])
    FIELDS = {mapping.ORG_NUMBER: "org_number", mapping.HER_ID: "her_id",
              mapping.SOR: "sor_id", mapping.KOMMUNENUMMER: "municipality_number"}

    @staticmethod
    def _qs() -> QuerySet[Organisation]:
        return Organisation.objects.filter(is_active=True).select_related("parent__parent")

    def read(self, request: HttpRequest, resource_id: str) -> Row:
        org = self._qs().filter(pk=resource_id).first() if _is_uuid(resource_id) else None
        if org is None:
            raise Http404
        return mapping.organization(org)

    def search(self, request: HttpRequest, search: Search) -> tuple[int, list[Row]]:
        qs = self._qs()
        for _modifier, value in search.values("_id"):
            qs = qs.filter(pk__in=uuids("_id", value))
        for _modifier, value in search.values("identifier"):
            qs = qs.filter(self._identifier_filter(value))
        for modifier, value in search.values("name"):
            qs = qs.filter(_name_filter(("name",), modifier or "contains", value))
        for _modifier, value in search.values("type"):
            qs = qs.filter(kind__in=[code for _system, code in token(value)])
        for _modifier, value in search.values("partof"):
            parts = [p.rpartition("/")[2] for p in value.split(",")]
            qs = qs.filter(parent_id__in=uuids("partof", ",".join(parts)))
        total, rows = _page(qs.order_by("name", "id"), search)
        return total, [mapping.organization(o) for o in rows]

    def _identifier_filter(self, value: str) -> Q:
        query = Q(pk__in=[])
        for system, code in token(value):
            if code is None:
                raise invalid("identifier", _("Give the identifier's value after the '|'."))
            if system is None:
                for field_name in self.FIELDS.values():
                    query |= Q(**{field_name: code})
            elif system in self.FIELDS:
                query |= Q(**{self.FIELDS[system]: code})
            else:
                raise invalid("identifier", _(
                    "Unknown identifier system for Organization. Use one of: %(systems)s.")
                    % {"systems": ", ".join(sorted(self.FIELDS))})
        return query


class PractitionerType(ResourceType):
    """Health personnel and other staff: users with an active membership."""

    name = "Practitioner"
    search_params = dict([
        _id_param(),
        _param("identifier", "token", f"HPR number ({mapping.HPR}|<number>)."),
        _param("name", "string", "Given or family name.", "exact", "contains"),
        _param("family", "string", "Family name.", "exact", "contains"),
        _param("given", "string", "Given name.", "exact", "contains"),
    ])

    @staticmethod
    def _qs() -> QuerySet[User]:
        staff = Membership.objects.active().filter(user=OuterRef("pk"))
        return User.objects.filter(Exists(staff), is_active=True)

    def read(self, request: HttpRequest, resource_id: str) -> Row:
        user = self._qs().filter(pk=resource_id).first() if _is_uuid(resource_id) else None
        if user is None:
            raise Http404
        return mapping.practitioner(user)

    def search(self, request: HttpRequest, search: Search) -> tuple[int, list[Row]]:
        qs = self._qs()
        for _modifier, value in search.values("_id"):
            qs = qs.filter(pk__in=uuids("_id", value))
        for _modifier, value in search.values("identifier"):
            query = Q(pk__in=[])
            for system, code in token(value):
                if system not in (None, mapping.HPR) or code is None:
                    raise invalid("identifier", _("Search practitioners by HPR number: "
                                                  "%(system)s|<number>.") % {
                                                      "system": mapping.HPR})
                query |= Q(hpr_number=code)
            qs = qs.filter(query)
        for modifier, value in search.values("name"):
            qs = qs.filter(_name_filter(("first_name", "last_name"), modifier, value))
        for modifier, value in search.values("family"):
            qs = qs.filter(_name_filter(("last_name",), modifier, value))
        for modifier, value in search.values("given"):
            qs = qs.filter(_name_filter(("first_name",), modifier, value))
        total, rows = _page(qs.order_by("last_name", "first_name", "id"), search)
        return total, [mapping.practitioner(u) for u in rows]


TYPES: dict[str, ResourceType] = {t.name: t for t in (
    PatientType(), PractitionerType(), OrganizationType(), CareTeamType(), ConsentType(),
    AuditEventType())}


def register_app_types() -> None:
    """Add the resource types that later apps declare in samhand/<app>/fhir_resources.py
    (a module-level RESOURCE_TYPES list of ResourceType instances). Called once, from
    FhirConfig.ready()."""
    import importlib

    from django.apps import apps

    for config in apps.get_app_configs():
        if not config.name.startswith("samhand.") or config.name == "samhand.fhir":
            continue
        try:
            module = importlib.import_module(f"{config.name}.fhir_resources")
        except ModuleNotFoundError as exc:
            if exc.name == f"{config.name}.fhir_resources":
                continue
            raise
        for resource_type in module.RESOURCE_TYPES:
            assert resource_type.name not in TYPES, f"FHIR type {resource_type.name} twice"
            TYPES[resource_type.name] = resource_type
