"""Parsing FHIR search parameters, strictly: a parameter samhand does not support, or
a value it cannot read, is a 400 OperationOutcome naming the parameter, never a
silently ignored filter that returns too much."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q
from django.http import QueryDict
from django.utils import timezone
from django.utils.translation import gettext as _

from .mapping import SYSTEM_ALIASES

MAX_COUNT = 200
MAX_OFFSET = 1_000_000  # far beyond any real list; keeps SQL integers in range
DEFAULT_COUNT = 50
FORMATS = {"json", "application/json", "application/fhir+json"}
CONTROL = {"_count", "_offset", "_format"}


class FhirError(Exception):
    """An error answered as an OperationOutcome."""

    def __init__(self, status: int, code: str, diagnostics: str,
                 expression: str | None = None) -> None:
        super().__init__(diagnostics)
        self.status = status
        self.code = code  # FHIR issue-type: invalid, not-found, not-supported, ...
        self.diagnostics = diagnostics
        self.expression = expression


def invalid(parameter: str, message: str) -> FhirError:
    return FhirError(400, "invalid", message, expression=parameter)


@dataclass(frozen=True)
class SearchParam:
    name: str
    type: str  # FHIR search parameter type: token, string, reference, date
    documentation: str
    modifiers: tuple[str, ...] = ()


@dataclass
class Search:
    """The parameters of one search, validated against what the type supports."""

    params: list[tuple[str, str | None, str]] = field(default_factory=list)  # name, modifier, value
    count: int = DEFAULT_COUNT
    offset: int = 0

    def values(self, name: str) -> list[tuple[str | None, str]]:
        return [(modifier, value) for n, modifier, value in self.params if n == name]

    def has(self, name: str) -> bool:
        return any(n == name for n, _m, _v in self.params)

    def link_params(self) -> list[tuple[str, str]]:
        """Parameters safe to echo in Bundle links: never identifiers (security.md #23)."""
        out = []
        for name, modifier, value in self.params:
            if name == "identifier":
                continue
            out.append((f"{name}:{modifier}" if modifier else name, value))
        return out

    def audit_query(self) -> str:
        """What the audit row says was searched: identifier values are masked."""
        parts = []
        for name, modifier, value in self.params:
            if name == "identifier":
                system = value.split("|", 1)[0] if "|" in value else ""
                value = f"{system}|***" if system else "***"
            parts.append(f"{name}{':' + modifier if modifier else ''}={value}")
        return "&".join(parts)[:200]


def parse(data: QueryDict, supported: dict[str, SearchParam]) -> Search:
    search = Search()
    for key, values in data.lists():
        name, _sep, modifier = key.partition(":")
        for value in values:
            if name in CONTROL:
                _control(search, name, value)
                continue
            spec = supported.get(name)
            if spec is None:
                raise FhirError(400, "not-supported",
                                _("The search parameter '%(name)s' is not supported here. "
                                  "Supported: %(supported)s.") % {
                                    "name": name,
                                    "supported": ", ".join(sorted(supported)) or "-"},
                                expression=name)
            if modifier and modifier not in spec.modifiers:
                raise FhirError(400, "not-supported",
                                _("The modifier ':%(modifier)s' is not supported on "
                                  "'%(name)s'.") % {"modifier": modifier, "name": name},
                                expression=key)
            if not value.strip():
                raise invalid(name, _("The search parameter '%(name)s' has no value.")
                              % {"name": name})
            search.params.append((name, modifier or None, value.strip()))
    return search


def _control(search: Search, name: str, value: str) -> None:
    if name == "_format":
        if value not in FORMATS:
            raise FhirError(406, "not-supported", _("Only JSON is supported (_format=json)."),
                            expression="_format")
        return
    try:
        number = int(value)
    except ValueError:
        raise invalid(name, _("'%(name)s' must be a whole number.") % {"name": name}) from None
    limit = MAX_COUNT if name == "_count" else MAX_OFFSET
    if not 0 <= number <= limit:
        raise invalid(name, _("'%(name)s' must be between 0 and %(max)s.") % {
            "name": name, "max": limit})
    if name == "_count":
        search.count = number
    else:
        search.offset = number


# --------------------------------------------------------------------------- values

def token(value: str) -> list[tuple[str | None, str | None]]:
    """A token search value, comma-separated for OR: `system|code`, `|code` (no system),
    `code` (any system), `system|` (any code). System None means any; "" means none."""
    out: list[tuple[str | None, str | None]] = []
    for part in value.split(","):
        if "|" in part:
            system, code = part.split("|", 1)
            system = SYSTEM_ALIASES.get(system, system)
            out.append((system, code or None))
        else:
            out.append((None, part))
    return out


def uuids(name: str, value: str) -> list[str]:
    out = []
    for part in value.split(","):
        try:
            out.append(str(uuid.UUID(part.strip())))
        except ValueError:
            raise invalid(name, _("'%(value)s' is not a valid id.") % {
                "value": part.strip()[:40]}) from None
    return out


def patient_reference(name: str, value: str) -> list[str]:
    """`Patient/<id>`, `<id>` or an absolute URL ending in Patient/<id>; comma for OR."""
    ids = []
    for part in value.split(","):
        part = part.strip()
        if "/" in part:
            kind, _sep, ident = part.rstrip("/").rpartition("/")
            if not kind.endswith("Patient"):
                raise invalid(name, _("'%(name)s' must refer to a Patient.") % {"name": name})
            part = ident
        ids.extend(uuids(name, part))
    return ids


def status_codes(name: str, value: str, table: Mapping[str, Any]) -> list[Any]:
    """The values `table` gives for a token search's codes (`status=a,b`); an unknown
    code is refused and the known ones named."""
    out = []
    for _system, code in token(value):
        if code is None or code not in table:
            raise invalid(name, _("Unknown status '%(code)s'. Use one of: %(codes)s.") % {
                "code": (code or "")[:40], "codes": ", ".join(table)})
        out.append(table[code])
    return out


_PREFIX = {"eq": "", "ge": "gte", "gt": "gt", "le": "lte", "lt": "lt"}


def date_q(name: str, value: str, field: str) -> Q:
    """A FHIR date search value (`ge2026-11-01`, `lt2026-11-25T12:00:00Z`) on `field`;
    a plain date is the whole day in the installation's time zone (Oslo)."""
    prefix, rest = (value[:2], value[2:]) if value[:2] in _PREFIX else ("eq", value)
    try:
        if len(rest) == 10:
            day = dt.date.fromisoformat(rest)
            start = timezone.make_aware(dt.datetime.combine(day, dt.time()))
            end = timezone.make_aware(dt.datetime.combine(day + dt.timedelta(days=1),
                                                          dt.time()))
            return {"eq": Q(**{f"{field}__gte": start, f"{field}__lt": end}),
                    "ge": Q(**{f"{field}__gte": start}), "gt": Q(**{f"{field}__gte": end}),
                    "le": Q(**{f"{field}__lt": end}),
                    "lt": Q(**{f"{field}__lt": start})}[prefix]
        moment = dt.datetime.fromisoformat(rest.replace("Z", "+00:00"))
    except ValueError:
        raise invalid(name, _("'%(name)s' must be an ISO 8601 date or instant, optionally "
                              "prefixed with ge, gt, le, lt or eq.") % {"name": name}) from None
    if moment.tzinfo is None:
        raise invalid(name, _("A date with a time needs a time zone (Z or +01:00)."))
    return Q(**{f"{field}__{_PREFIX[prefix] or 'exact'}": moment})
