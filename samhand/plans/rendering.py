"""HTML templates to PDF with WeasyPrint (needs Pango on the machine).

The templates under templates/plans/pdf/ are rendered with Django's template engine
(autoescaped) and laid out by WeasyPrint. No network: WeasyPrint gets a URL fetcher
that refuses every URL, so a link in user content cannot make the server fetch it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from django.template.loader import render_to_string
from django.utils import translation

# WeasyPrint logs every layout step at INFO; only its warnings are worth keeping.
logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)


@dataclass(frozen=True)
class Pdf:
    data: bytes
    pages: int


def _no_fetch(url: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
    raise ValueError(f"samhand does not fetch resources while rendering a PDF: {url[:40]}")


def render_pdf(template: str, context: dict[str, Any], *, language: str = "nb") -> Pdf:
    from weasyprint import HTML

    with translation.override(language):
        html = render_to_string(template, {**context, "pdf_language": language})
    document = HTML(string=html, url_fetcher=_no_fetch, base_url=".").render()
    return Pdf(document.write_pdf(), len(document.pages))
