"""The OpenAPI schema and the interactive docs: served from samhand itself (no CDN),
started without inline script (the CSP forbids it)."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

from django.test import Client

VENDOR = Path(__file__).resolve().parents[1] / "static" / "api" / "vendor" / "swagger-ui"


def test_openapi_schema_is_public_json_with_both_auth_schemes(db):
    response = Client().get("/api/v1/openapi.json")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json; charset=utf-8"
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert set(schema["components"]["securitySchemes"]) == {"BearerAuth", "SessionAuth"}
    assert {"/api/v1/patients", "/api/v1/patients/lookup", "/api/v1/patients/{patient_id}",
            "/api/v1/me", "/api/v1/organisations"} <= set(schema["paths"])


def test_every_operation_requires_auth_and_documents_its_errors(db):
    schema = Client().get("/api/v1/openapi.json").json()

    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            assert operation.get("security"), f"{method.upper()} {path} has no security"
            assert {"401", "404"} <= set(operation["responses"]), f"{method.upper()} {path}"


def test_no_operation_takes_a_national_id_outside_the_body(db):
    schema = Client().get("/api/v1/openapi.json").json()

    for path, operations in schema["paths"].items():
        for operation in operations.values():
            names = {p["name"] for p in operation.get("parameters", [])}
            assert not names & {"national_id", "fnr", "identifier", "cpr"}, path


def test_docs_page_uses_only_vendored_scripts_and_no_inline_script(db):
    response = Client().get("/api/v1/docs")

    assert response.status_code == 200
    html = response.content.decode()
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S)
    assert scripts
    for attributes, content in scripts:
        if 'type="application/json"' in attributes:
            continue  # data, not script
        assert 'src="/static/' in attributes and not content.strip()
    assert "cdn" not in html.lower() and "unpkg" not in html.lower()
    assert "'unsafe-inline'" not in response["Content-Security-Policy"]
    assert "script-src 'self'" in response["Content-Security-Policy"]


def test_vendored_swagger_ui_matches_its_recorded_hashes():
    readme = (VENDOR / "README").read_text()
    for name in ("swagger-ui-bundle.js", "swagger-ui.css"):
        digest = hashlib.sha256((VENDOR / name).read_bytes()).hexdigest()
        assert f"{digest}  {name}" in readme


def test_vendored_files_are_served(db):
    client = Client()
    for name in ("vendor/swagger-ui/swagger-ui-bundle.js", "vendor/swagger-ui/swagger-ui.css",
                 "docs.js"):
        response = client.get(f"/static/api/{name}")
        assert response.status_code == 200, name


def test_docs_page_renders_in_chromium_under_the_csp(page: Any, live_server: Any,
                                                    check_axe: Any) -> None:
    violations: list[str] = []
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.add_init_script("document.addEventListener('securitypolicyviolation',"
                         " e => console.error('CSP ' + e.violatedDirective + ' ' + e.blockedURI))")
    external: list[str] = []
    page.on("request", lambda r: external.append(r.url)
            if not r.url.startswith(live_server.url) and not r.url.startswith("data:")
            else None)

    response = page.goto("/api/v1/docs")

    assert response is not None and response.status == 200
    page.wait_for_selector(".swagger-ui .info .title")
    assert "samhand API" in page.inner_text(".swagger-ui .info .title")
    page.wait_for_selector(".opblock-summary-path")
    violations = [e for e in errors if e.startswith("CSP")]
    assert violations == []
    assert [e for e in errors if "sourcemap" not in e.lower()] == []
    assert external == []
    check_axe(page)
    page.click(".opblock-summary-control")
    page.wait_for_selector(".opblock-body")
    check_axe(page)

