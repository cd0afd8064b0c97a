"""The access log panel ("who has looked at the record"), a page of entries at a time.

The first page is part of the patient page (staff) or the relative's log page; older
entries come ten at a time, appended by htmx (or as a whole page without JavaScript).
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import reverse

from samhand.audit.access_log import AccessLogEntry, access_log_for
from samhand.patients.models import Patient

PAGE = 10


def log_page(request: HttpRequest, patient: Patient, url_name: str,
             size: int = PAGE) -> dict[str, Any]:
    """One page of the log, from `?before=<seq>` on, and the address of the next page."""
    before = request.GET.get("before", "")
    before_seq = int(before) if before.isdigit() else None
    entries: list[AccessLogEntry] = access_log_for(patient, limit=size + 1,
                                                   before_seq=before_seq)
    more_url = ""
    if len(entries) > size:
        entries = entries[:size]
        more_url = (reverse(url_name, args=[patient.pk]) + f"?before={entries[-1].seq}")
    return {"access_log": entries, "access_log_more": more_url,
            "access_log_older": before_seq is not None}
