"""The outbox and its worker (security.md #34, #36; MedCom reliable messaging §A.2).

`enqueue()` is called inside the transaction of the change that causes the message, so
a message exists exactly when the change does. `send_due()` (the worker, `samhand
messaging-send`) claims due rows with SKIP LOCKED, commits the attempt, POSTs the
Bundle to the receiver's endpoint outside any transaction, and settles the answer:

* `ok` acknowledgement → delivered (only a positive acknowledgement delivers, MR2);
* `fatal-error` → failed at once (never resent unchanged), alert + operator queue;
* `transient-error`, or an accepted POST with no acknowledgement (silence) → resent
  after SAMHAND_MESSAGE_RESEND_SECONDS (MedCom: 30 minutes), at most
  SAMHAND_MESSAGE_MAX_RESENDS times (2), each time with a new Bundle.id and the same
  MessageHeader.id (MR7); then failed;
* the receiver not reachable → tried again with a capped, jittered backoff until
  SAMHAND_MESSAGE_GIVE_UP_SECONDS have passed since the message was made.

A crash between the POST and the settle only causes a resend, which the receiver
answers as a duplicate with the first acknowledgement: delivered exactly once.
"""

from __future__ import annotations

import datetime as dt
import http.client
import json
import logging
import random
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from samhand.audit.services import Actor, record
from samhand.lib.errors import Conflict, DomainError
from samhand.lib.i18n import Text
from samhand.orgs.models import Organisation
from samhand.patients.models import Patient

from . import bundle as fhirmsg
from . import effects
from .bundle import Message, Problem
from .codes import AckCode
from .models import CareMessage, OutboundAttempt, OutboundMessage, Partner, Transmission

logger = logging.getLogger("samhand.messaging")
WORKER_ACTOR = Actor(client="system", role="messaging-worker")


def _setting(name: str) -> int:
    """A messaging setting; samhand/settings.py declares each one with its default."""
    return int(getattr(settings, name))


def resend_seconds() -> int:
    return _setting("SAMHAND_MESSAGE_RESEND_SECONDS")


def max_resends() -> int:
    return _setting("SAMHAND_MESSAGE_MAX_RESENDS")


def give_up_seconds() -> int:
    return _setting("SAMHAND_MESSAGE_GIVE_UP_SECONDS")


def http_timeout() -> int:
    return _setting("SAMHAND_MESSAGE_HTTP_TIMEOUT")


# --------------------------------------------------------------------------- writing

def enqueue(content: dict[str, Any], *, sender: Partner, receiver: Partner,
            patient: Patient | None = None, sending_organisation: Organisation | None = None,
            event_at: dt.datetime | None = None) -> OutboundMessage:
    """Put a built message Bundle in the outbox. Call inside the business transaction."""
    message = Message(content)
    return OutboundMessage.objects.create(
        header_id=message.header_id, bundle_id=message.bundle_id, event=message.event,
        activity=message.current_activity(), sender=sender, receiver=receiver,
        patient=patient, sending_organisation=sending_organisation or sender.organisation,
        content=content, event_at=event_at or timezone.now())


# --------------------------------------------------------------------------- acknowledgements

def settle_acknowledgement(message: Message, raw: bytes, *, via: str) -> Any:
    """An Acknowledgement arrived (asynchronously): settle the outbox row it answers."""
    from .receive import Reply

    problems = fhirmsg.check(message)
    acked, code, _issues = fhirmsg.ack_summary(message.bundle)
    Transmission.objects.create(raw=raw, via=via, outcome=Transmission.Outcome.ACKNOWLEDGEMENT,
                                bundle_id=message.bundle_id[:64],
                                header_id=message.header_id[:64],
                                problems=[p.as_dict() for p in problems])
    if problems or not acked:
        return Reply(400, fhirmsg.operation_outcome(problems), outcome="acknowledgement",
                     problems=problems)
    with transaction.atomic():
        out = OutboundMessage.objects.select_for_update().filter(header_id=acked).first()
        if out is not None:
            OutboundAttempt.objects.filter(message=out, bundle_id=out.bundle_id[:64]).update(
                ack_code=code[:16], answered_at=timezone.now())
            _settle(out, code, message.bundle, timezone.now())
    return Reply(200, fhirmsg.operation_outcome([]), outcome="acknowledgement")


def _settle(out: OutboundMessage, code: str, ack: dict[str, Any] | None,
            now: dt.datetime) -> None:
    """Apply an acknowledgement to a locked outbox row."""
    if out.status in (OutboundMessage.Status.DELIVERED, OutboundMessage.Status.CANCELLED,
                      OutboundMessage.Status.SUPERSEDED):
        return
    if out.status == OutboundMessage.Status.FAILED and code != AckCode.OK:
        return
    out.ack_code, out.ack = code, ack
    if code == AckCode.OK:
        out.status, out.acked_at, out.last_error = OutboundMessage.Status.DELIVERED, now, ""
        out.save()
        record(WORKER_ACTOR, "samhand.message.delivered", "E", patient_id=out.patient_id,
               object_type="MessageHeader", object_ids=[out.header_id],
               organisation=out.sending_organisation, recipient=out.receiver.organisation)
        return
    if code == AckCode.FATAL_ERROR:
        _, _, issues = fhirmsg.ack_summary(ack or {})
        _fail(out, now, f"rejected by the receiver ({', '.join(issues) or code})")
        return
    # transient-error: the receiver asks for a resend later.
    out.last_error = "transient-error"
    if out.resends >= max_resends():
        _fail(out, now, "the receiver answered transient-error to every resend")
        return
    out.status = OutboundMessage.Status.SENT
    out.next_attempt_at = now + dt.timedelta(seconds=resend_seconds())
    out.save()


def _fail(out: OutboundMessage, now: dt.datetime, reason: str) -> None:
    out.status, out.last_error = OutboundMessage.Status.FAILED, reason[:2000]
    out.acked_at = out.acked_at if out.ack_code == AckCode.OK else None
    out.save()
    record(WORKER_ACTOR, "samhand.message.not_delivered", "E", patient_id=out.patient_id,
           object_type="MessageHeader", object_ids=[out.header_id],
           organisation=out.sending_organisation, recipient=out.receiver.organisation,
           outcome="4")
    effects.delivery_failed(out, WORKER_ACTOR, reason)


# --------------------------------------------------------------------------- the worker

@dataclass
class Answer:
    status: int  # HTTP status, 0 when the receiver was not reached
    body: bytes = b""
    error: str = ""


Transport = Callable[[OutboundMessage, bytes], Answer]


def http_transport(out: OutboundMessage, body: bytes) -> Answer:
    url = out.receiver.endpoint_url
    if not url.startswith(("http://", "https://")):
        return Answer(0, error="the receiver has no http(s) endpoint")
    headers = {"Content-Type": "application/fhir+json", "Accept": "application/fhir+json"}
    if out.receiver.outbound_token:
        headers["Authorization"] = f"Bearer {out.receiver.outbound_token}"
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=http_timeout()) as response:  # noqa: S310  # nosec B310 (scheme checked above)
            return Answer(response.status, response.read())
    except urllib.error.HTTPError as exc:
        return Answer(exc.code, exc.read() or b"", error=f"HTTP {exc.code}")
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        return Answer(0, error=str(getattr(exc, "reason", exc))[:500])
    except http.client.HTTPException as exc:
        # The answer broke off (a receiver killed while answering: IncompleteRead, a bad
        # status line). The message may have been applied; it is sent again with the same
        # MessageHeader.id and the receiver answers the duplicate with its first receipt.
        return Answer(0, error=f"the answer broke off ({type(exc).__name__}: {exc})"[:500])


def _claim(now: dt.datetime, limit: int) -> list[tuple[OutboundMessage, bytes]]:
    """Lock due rows, record the attempt (new Bundle.id after the first) and commit."""
    claimed = []
    with transaction.atomic():
        rows = list(OutboundMessage.objects.select_for_update(skip_locked=True)
                    .select_related("receiver", "sender")
                    .filter(status__in=OutboundMessage.OPEN, next_attempt_at__lte=now)
                    .order_by("next_attempt_at")[:limit])
        for out in rows:
            age = (now - out.created_at).total_seconds()
            if out.status == OutboundMessage.Status.SENT and out.ack_code == "" and \
                    out.resends >= max_resends():
                _fail(out, now, "no acknowledgement after the allowed resends")
                continue
            if age > give_up_seconds():
                _fail(out, now, out.last_error or "not delivered in time")
                continue
            if out.status == OutboundMessage.Status.SENT:
                out.resends += 1  # silence or transient-error: a MedCom resend
            if out.attempts > 0:
                out.content = fhirmsg.restamp(out.content, now)
                out.bundle_id = out.content["id"]
            resend = out.status == OutboundMessage.Status.SENT
            out.attempts += 1
            out.sent_at = now
            # If nothing settles it (crash, silence), it is due again after the resend time.
            out.next_attempt_at = now + dt.timedelta(seconds=resend_seconds())
            out.save()
            OutboundAttempt.objects.create(message=out, bundle_id=out.bundle_id[:64], at=now,
                                           resend=resend)
            claimed.append((out, fhirmsg.dumps(out.content)))
    return claimed


def _backoff(attempts: int) -> dt.timedelta:
    """Receiver not reached: 2, 4, 8 … seconds, at most SAMHAND_MESSAGE_RETRY_MAX_SECONDS
    (60), jittered so that a restarted receiver is not hit by every sender at once."""
    cap = min(resend_seconds(), _setting("SAMHAND_MESSAGE_RETRY_MAX_SECONDS"))
    base = min(cap, 2 ** min(attempts, 16))
    return dt.timedelta(seconds=base * (0.5 + random.random() / 2))  # noqa: S311


def _after_send(out_id: Any, answer: Answer, now: dt.datetime) -> str:
    with transaction.atomic():
        out = OutboundMessage.objects.select_for_update().select_related("receiver").get(
            pk=out_id)
        _note_attempt(out, answer, now)
        if out.status not in OutboundMessage.OPEN:
            return out.status
        ack = None
        if answer.body:
            try:
                parsed = json.loads(answer.body)
                if isinstance(parsed, dict) and Message(parsed).event == \
                        "acknowledgement-message":
                    ack = parsed
            except ValueError:
                ack = None
        if ack is not None:
            acked, code, _issues = fhirmsg.ack_summary(ack)
            if acked == out.header_id:
                _settle(out, code, ack, now)
                return out.status
        if answer.status in (200, 202, 204) and ack is None:
            out.status = OutboundMessage.Status.SENT  # silence: wait for an async ack
            out.save(update_fields=["status"])
            return out.status
        # Not reached, or refused without an acknowledgement (401/403/5xx): try again.
        out.status = OutboundMessage.Status.PENDING
        out.last_error = (answer.error or f"HTTP {answer.status}")[:2000]
        out.next_attempt_at = now + _backoff(out.attempts)
        out.save(update_fields=["status", "last_error", "next_attempt_at"])
        return out.status


def _note_attempt(out: OutboundMessage, answer: Answer, now: dt.datetime) -> None:
    """What the receiver answered to this transmission (the attempt row of its Bundle.id)."""
    ack_code = ""
    if answer.body:
        try:
            parsed = json.loads(answer.body)
            if isinstance(parsed, dict) and parsed.get("resourceType") == "Bundle":
                ack_code = fhirmsg.ack_summary(parsed)[1][:16]
        except ValueError:
            ack_code = ""
    OutboundAttempt.objects.filter(message=out, bundle_id=out.bundle_id[:64],
                                   answered_at__isnull=True).update(
        http_status=answer.status, error=answer.error[:500], ack_code=ack_code,
        answered_at=now)


def send_due(*, limit: int = 50, transport: Transport = http_transport,
             now: dt.datetime | None = None) -> dict[str, int]:
    """One round of the worker. Returns counts by resulting status."""
    counts: dict[str, int] = {}
    for out, body in _claim(now or timezone.now(), limit):
        try:
            answer = transport(out, body)
        except Exception as exc:  # one message must not stop the round
            # A fault in sending one message leaves it "not reached", to be tried again;
            # the claim is committed, so without this the row would wait for the resend
            # time and the worker process would die with the rest of the round.
            logger.exception("sending %s failed", out.header_id)
            answer = Answer(0, error=f"{type(exc).__name__}: {exc}"[:500])
        status = _after_send(out.pk, answer, timezone.now() if now is None else now)
        counts[status] = counts.get(status, 0) + 1
    return counts


# --------------------------------------------------------------------------- the operator

class CorrectionRefused(DomainError):
    """A corrected message that would not pass the receiver's checks: nothing is stored."""

    def __init__(self, problems: list[Problem]) -> None:
        first = problems[0]
        super().__init__(_("The corrected message was not sent. Fix the element %(path)s: "
                           "%(text)s") % {"path": first.path, "text": first.text},
                         code=first.code, field=first.path)
        self.problems = problems


def _renewed(content: dict[str, Any]) -> dict[str, Any]:
    """The message as a new message: a new MessageHeader.id (the Provenance pointing at
    the header follows it) and a new Bundle.id and timestamp."""
    bundle = json.loads(json.dumps(content))
    header = bundle["entry"][0]["resource"]
    old_header = header["id"]
    header["id"] = fhirmsg.new_id()
    for entry in bundle["entry"]:
        res = entry["resource"]
        if res.get("resourceType") == "Provenance":
            for target in res.get("target") or []:
                if target.get("reference") == f"MessageHeader/{old_header}":
                    target["reference"] = f"MessageHeader/{header['id']}"
        if res.get("resourceType") == "MessageHeader":
            entry["fullUrl"] = f"MessageHeader/{header['id']}"
    return fhirmsg.restamp(bundle)


def check_correction(out: OutboundMessage, text: str) -> dict[str, Any]:
    """The corrected content (JSON text) as a new message Bundle, checked exactly as the
    receiver checks it (bundle.check), for the same event and receiver. Raises
    CorrectionRefused naming the element."""
    try:
        content = json.loads(text)
    except ValueError as exc:
        line = getattr(exc, "lineno", 0)
        raise CorrectionRefused([Problem("Bundle", "MSG_UNKNOWN_CONTENT", _(
            "the text is not valid JSON (line %(line)s)") % {"line": line})]) from None
    if not isinstance(content, dict) or not isinstance(content.get("entry"), list) or \
            not Message(content).header:
        raise CorrectionRefused([Problem("Bundle.entry[0]", "MSG_RESOURCE_REQUIRED", _(
            "a message Bundle must start with its MessageHeader"))])
    bundle = _renewed(content)
    message = Message(bundle)
    from .receive import max_attachment_bytes

    problems = fhirmsg.check(message, max_attachment_bytes=max_attachment_bytes())
    if message.event != out.event:
        problems.insert(0, Problem(fhirmsg.element_path(0, "eventCoding"), "MSG_UNKNOWN_EVENT",
                                   _("a correction cannot change the kind of message "
                                     "(%(event)s)") % {"event": out.event}))
    receiver = fhirmsg.identifiers(message.primary_receiver())
    wanted = {v for v in (out.receiver.her_id, out.receiver.sor_id, out.receiver.gln) if v}
    if not wanted & set(receiver.values()):
        index = next((i for i, use, _d in message.destinations() if use == "primary"), 0)
        problems.insert(0, Problem(
            fhirmsg.element_path(0, "destination", index, "receiver"),
            "MSG_Receiver_Identifier_UNKNOWN",
            _("a correction goes to the same receiver (%(name)s)") % {
                "name": out.receiver.name}))
    if problems:
        raise CorrectionRefused(problems)
    return bundle


def resend_as_new(out: OutboundMessage, actor: Actor,
                  content: str | None = None) -> OutboundMessage:
    """A failed message, possibly corrected (`content`: the edited JSON), sent as a new
    message (new Bundle.id and MessageHeader.id: changed content is a new message).
    The original is marked superseded and points at the new one. A correction is
    checked like the receiver checks it before anything is stored."""
    with transaction.atomic():
        out = OutboundMessage.objects.select_for_update().select_related("receiver").get(
            pk=out.pk)
        if out.status != OutboundMessage.Status.FAILED:
            raise Conflict(_("Only a message that was not delivered can be sent again."),
                           code="not_failed")
        bundle = check_correction(out, content) if content is not None else \
            _renewed(out.content)
        new = enqueue(bundle, sender=out.sender, receiver=out.receiver, patient=out.patient,
                      sending_organisation=out.sending_organisation, event_at=out.event_at)
        out.status, out.replaced_by = OutboundMessage.Status.SUPERSEDED, new
        out.save(update_fields=["status", "replaced_by"])
        # The thread shows the message that is on its way now: its header id, and the
        # text as corrected.
        for entry in CareMessage.objects.filter(outbound=out):
            entry.outbound, entry.header_id = new, new.header_id
            fields = ["outbound", "header_id"]
            if content is not None:
                from .threads import read_segments

                message = Message(bundle)
                entry.segments = read_segments(message, message.focus() or {})
                fields.append("segments")
            entry.save(update_fields=fields)
        record(actor, "samhand.message.corrected" if content is not None else
               "samhand.message.resent", "U", patient_id=out.patient_id,
               object_type="MessageHeader", object_ids=[out.header_id, new.header_id],
               recipient=out.receiver.organisation)
    return new


def timeliness(organisation_ids: list[Any] | None = None) -> list[dict[str, Any]]:
    """Per sending organisation and message type: count, median and slowest seconds from
    the event to the acknowledgement, weekdays and weekends apart (by the event's day)."""
    import statistics

    rows = OutboundMessage.objects.filter(status=OutboundMessage.Status.DELIVERED,
                                          acked_at__isnull=False)
    if organisation_ids is not None:
        rows = rows.filter(sending_organisation_id__in=organisation_ids)
    groups: dict[tuple[Any, str, bool], list[float]] = {}
    for org_id, event, event_at, acked_at in rows.values_list(
            "sending_organisation_id", "event", "event_at", "acked_at"):
        if acked_at is None:
            continue
        weekend = timezone.localtime(event_at).weekday() >= 5
        groups.setdefault((org_id, event, weekend), []).append(
            (acked_at - event_at).total_seconds())
    return [{"organisation_id": org_id, "event": event, "weekend": weekend,
             "count": len(values), "median_seconds": statistics.median(values),
             "slowest_seconds": max(values)}
            for (org_id, event, weekend), values in sorted(groups.items(), key=str)]


ADMISSION_ACTIVITIES = ("admit-inpatient", "admit-emergency")


def overdue_admission_notices(now: dt.datetime | None = None) -> int:
    """Alert the sending unit when an admission notice (the PLO notice, or a MedCom
    HospitalNotification admitting the patient) is not acknowledged in time
    (SAMHAND_MESSAGE_ADMISSION_ACK_ALERT_SECONDS, default 15 minutes), weekends too.
    Run by the messaging-send worker's sweep; idempotent (one alert per message, the
    same episode the not-delivered alert uses). Returns the number of overdue notices."""
    now = now or timezone.now()
    seconds = _setting("SAMHAND_MESSAGE_ADMISSION_ACK_ALERT_SECONDS")
    limit = now - dt.timedelta(seconds=seconds)
    count = 0
    for out in OutboundMessage.objects.filter(
            Q(event="plo-admission-notice")
            | Q(event="hospital-notification-message", activity__in=ADMISSION_ACTIVITIES),
            status__in=OutboundMessage.OPEN, event_at__lt=limit,
    ).select_related("receiver", "patient", "sending_organisation").defer("content", "ack"):
        effects.delivery_failed(out, WORKER_ACTOR, Text(gettext_noop(
            "no acknowledgement within %(minutes)s minutes"), minutes=seconds // 60))
        count += 1
    return count
