"""The CapabilityStatement at /fhir/metadata, built from the resource types served."""

from __future__ import annotations

from importlib import metadata
from typing import Any

from django.utils import timezone

from . import mapping
from .resources import ResourceType

SECURITY = (
    "Send an API token as 'Authorization: Bearer <token>' (issued by an operator with "
    "'samhand api-token create USERNAME'), or use a logged-in browser session with a "
    "confirmed second factor (POST needs the CSRF token). Patient, CareTeam, Consent and "
    "AuditEvent are limited to patients on the care team of an organisation you work in; "
    "anything else answers 404, like an unknown id. Every read and search is audited. "
    "Search by national identity number with POST /fhir/Patient/_search "
    "(form-encoded) so that the number stays out of URLs and logs. Unknown search "
    "parameters are refused with 400 (strict handling). Past the per-user rate limit the "
    "answer is 429."
)


def _version() -> str:
    try:
        return metadata.version("samhand")
    except metadata.PackageNotFoundError:  # running from a checkout without install
        return "0"


def _app_additions(statement: dict[str, Any], base: str) -> dict[str, Any]:
    """Apps add operations and sections (e.g. messaging) with a function
    `extend_capability(statement, base)` in their samhand/<app>/fhir_resources.py."""
    import sys

    from django.apps import apps

    for config in apps.get_app_configs():
        module = sys.modules.get(f"{config.name}.fhir_resources")
        extend = getattr(module, "extend_capability", None)
        if extend is not None:
            extend(statement, base)
    return statement


def capability_statement(base: str, types: dict[str, ResourceType]) -> dict[str, Any]:
    resources = []
    for name in sorted(types):
        handler = types[name]
        resources.append({
            "type": name,
            "interaction": [{"code": "read"}, {"code": "search-type"}],
            "searchParam": [
                {"name": p.name, "type": p.type, "documentation": p.documentation}
                for p in handler.search_params.values()
            ],
        })
    return _app_additions({
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": mapping.instant(timezone.now()),
        "publisher": "samhand",
        "kind": "instance",
        "software": {"name": "samhand", "version": _version()},
        "implementation": {"description": "samhand FHIR facade (read and search)",
                           "url": base},
        "fhirVersion": "4.0.1",
        "format": ["json", "application/fhir+json"],
        "rest": [{
            "mode": "server",
            "documentation": "Read and search only. Identifier systems: FNR "
                             f"{mapping.FNR}, D-number {mapping.DNR}, H-number "
                             f"{mapping.HNR}, CPR {mapping.CPR}, HPR {mapping.HPR}, "
                             f"organisation number {mapping.ORG_NUMBER}, HER-id "
                             f"{mapping.HER_ID}, municipality number "
                             f"{mapping.KOMMUNENUMMER}.",
            "security": {"description": SECURITY},
            "resource": resources,
            "interaction": [],
        }],
    }, base)
