"""The development server's access log never shows query strings (security.md #23)."""

from __future__ import annotations

import io
import logging

from django.core.servers.basehttp import WSGIRequestHandler

from samhand.api.logfilters import StripQueryStrings, redact

NUMBER = "01018012345"


def test_redact_removes_every_query_string():
    line = f'"GET /fhir/Patient?identifier=urn:oid:2.16.578.1.12.4.1.4.1|{NUMBER} HTTP/1.1"'

    assert redact(line) == '"GET /fhir/Patient?… HTTP/1.1"'
    assert redact("/api/v1/patients") == "/api/v1/patients"


def test_the_filter_is_installed_on_djangos_server_logger():
    assert any(isinstance(f, StripQueryStrings)
               for f in logging.getLogger("django.server").filters)


def test_a_request_line_logged_by_runserver_has_no_query_string():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logger = logging.getLogger("django.server")
    logger.addHandler(handler)
    try:
        request_handler = WSGIRequestHandler.__new__(WSGIRequestHandler)
        request_handler.request = None
        request_handler.requestline = (
            f"GET /fhir/Patient?identifier=urn:oid:2.16.578.1.12.4.1.4.1|{NUMBER} HTTP/1.1")
        request_handler.log_date_time_string = lambda: "now"  # type: ignore[method-assign]
        request_handler.log_message('"%s" %s %s', request_handler.requestline, "200", "12")
    finally:
        logger.removeHandler(handler)

    assert NUMBER not in stream.getvalue()
    assert "GET /fhir/Patient?…" in stream.getvalue()
