"""Keep query strings out of server access logs (security.md #23).

Django's development server (`runserver`, used by `samhand demo`) logs every request
line through the `django.server` logger, query string included. FHIR allows
`GET /fhir/Patient?identifier=<system>|<national id>`, and a search box may carry a
name, so this filter replaces every query string in those records with `?…`.
`ApiConfig.ready()` attaches it; a production WSGI server's access log must be
configured the same way (log the path, not the query string).
"""

from __future__ import annotations

import logging
import re

QUERY = re.compile(r"\?[^\s\"']*")
REDACTED = "?…"


def redact(text: str) -> str:
    return QUERY.sub(REDACTED, text)


class StripQueryStrings(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        return True


def install() -> None:
    logger = logging.getLogger("django.server")
    if not any(isinstance(f, StripQueryStrings) for f in logger.filters):
        logger.addFilter(StripQueryStrings())
