"""POST /fhir/$process-message: the receiving end for other systems (system to system).

Authentication: a bearer API token (samhand.api) that an address-book entry
(`Partner.inbound_token`) names as the partner's token; the partner must be the
message's sender. The answer is the Acknowledgement Bundle (synchronous), or an
OperationOutcome with 4xx where no MessageHeader could be read or the caller is not
allowed. The view is exempt from CSRF (no cookies are used) and from the login
redirect (samhand.web.middleware, SELF_AUTHENTICATING_URL_NAMES).
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from samhand.api.auth import user_for_token

from . import bundle as fhirmsg
from .bundle import Problem
from .models import Partner, Transmission
from .receive import keep_failed, receive

FHIR_JSON = "application/fhir+json"


def _answer(status: int, body: dict[str, Any]) -> HttpResponse:
    return HttpResponse(json.dumps(body, ensure_ascii=False), status=status,
                        content_type=FHIR_JSON)


def _refuse(status: int, code: str, text: str) -> HttpResponse:
    response = _answer(status, fhirmsg.operation_outcome([Problem("Bundle", code, text,
                                                                  "security")]))
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="samhand"'
    return response


def max_message_bytes() -> int:
    return int(getattr(settings, "SAMHAND_MESSAGE_MAX_BYTES", 25 * 1024 * 1024))


@csrf_exempt
@require_POST
def process_message(request: HttpRequest) -> HttpResponse:
    header = request.headers.get("Authorization", "")
    scheme, _sep, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        if request.user.is_authenticated:  # a browser session is never a message partner
            return _refuse(403, "MSG_AUTH_REQUIRED", "Messages are sent with a partner token.")
        return _refuse(401, "MSG_AUTH_REQUIRED", "Send the partner's API token as a bearer token.")
    found = user_for_token(secret)
    partners = []
    if found is not None:
        partners = list(Partner.objects.filter(inbound_token=found[1], is_active=True))
    if not partners:
        return _refuse(401, "MSG_AUTH_REQUIRED", "The token is unknown, expired, revoked, or "
                       "belongs to no message partner.")
    limit = max_message_bytes()
    raw = request.read(limit + 1)
    if len(raw) > limit:
        return _refuse(413, "MSG_Element_To_Long", f"The message is larger than {limit} bytes.")
    try:
        reply = receive(raw, caller=partners)
    except Exception:  # a defect in the receiver: told 500, the sender sends again later
        return _answer(500, keep_failed(raw, Transmission.Via.HTTP))
    return _answer(reply.status, reply.body)
