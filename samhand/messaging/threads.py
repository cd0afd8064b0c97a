"""CareCommunication (MedCom §A.4): threads of correspondence about one patient.

Receiving: the Communication's identifier is the thread id; each payload segment
carries its own id, author, phone and time; the current Provenance's `entity` (role
source) names the segments this message adds. Sending: new, reply and forward follow
the thread rules — a reply repeats all earlier text segments and only the ids of
earlier attachments; a forward repeats them with their content.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from typing import Any

from django.db import transaction
from django.utils import timezone

from samhand.audit.services import Actor, record
from samhand.patients.models import Patient

from . import codes, effects
from .bundle import Message, build_message, identifiers, new_id
from .codes import Activity, Event
from .hospital import _when
from .models import CareMessage, CareThread, InboundMessage, OutboundMessage, Partner
from .receive import SYSTEM_ACTOR, store_later


def _ext(segment: dict[str, Any], url: str) -> Any:
    for ext in segment.get("extension") or []:
        if isinstance(ext, dict) and ext.get("url") == url:
            return ext
    return None


def _author(message: Message, ref: Any) -> str:
    found = message.resolve(ref)
    if not found:
        return ""
    role = found[1]
    practitioner = message.resolve(role.get("practitioner"))
    names = (practitioner[1].get("name") if practitioner else None) or []
    if names and isinstance(names[0], dict):
        name = names[0]
        return " ".join([*name.get("given", []), name.get("family", "")]).strip()
    return ""


def read_segments(message: Message, comm: dict[str, Any]) -> list[dict[str, Any]]:
    current = message.current_provenance() or {}
    new_ids = {str((e.get("what") or {}).get("identifier", {}).get("value") or "")
               for e in current.get("entity") or [] if isinstance(e, dict)
               and e.get("role") == "source"}
    out = []
    for segment in comm.get("payload") or []:
        if not isinstance(segment, dict):
            continue
        ident = (_ext(segment, codes.SEGMENT_IDENTIFIER_URL) or {}).get("valueIdentifier") or {}
        seg_id = str(ident.get("value") or "")
        assigner = message.resolve(ident.get("assigner"))
        author = (_ext(segment, codes.SEGMENT_AUTHOR_URL) or {}).get("valueReference")
        phone = ((_ext(segment, codes.SEGMENT_CONTACT_URL) or {}).get("valueContactPoint")
                 or {}).get("value", "")
        at = (_ext(segment, codes.SEGMENT_DATETIME_URL) or {}).get("valueDateTime", "")
        item: dict[str, Any] = {
            "id": seg_id, "at": at, "author": _author(message, author), "phone": phone,
            "by": str(assigner[1].get("name") or "") if assigner else "",
            "new": (seg_id in new_ids) if new_ids else True,
        }
        if "contentString" in segment:
            item.update(kind="text", text=str(segment.get("contentString") or ""))
        else:
            att = segment.get("contentAttachment") or {}
            item.update(kind="attachment", title=str(att.get("title") or ""),
                        content_type=str(att.get("contentType") or ""),
                        data=att.get("data") or "", url=att.get("url") or "")
        out.append(item)
    return out


def thread_key(comm: dict[str, Any]) -> str:
    for ident in comm.get("identifier") or []:
        if isinstance(ident, dict) and ident.get("value"):
            return str(ident["value"])[:100]
    return f"urn:uuid:{comm.get('id')}"[:100]


# The thread found or created in ONE statement (static check #21: fixed text, only values
# as parameters; a test ties the columns to the model). A new thread is inserted as given;
# a known one (same thread key) keeps its row and takes the new message's category and
# topic when it has them, its patient if it had none, the sender as counterpart when
# known, and the later of the two message times. The row stays locked to COMMIT.
THREAD_COLUMNS = ("id", "thread_key", "patient_id", "category", "topic", "priority",
                  "episode_of_care", "counterpart_id", "local_id", "created_at",
                  "last_message_at")
THREAD_UPSERT_POSTGRESQL = (
    'INSERT INTO "messaging_carethread" ("id", "thread_key", "patient_id", "category", '
    '"topic", "priority", "episode_of_care", "counterpart_id", "local_id", "created_at", '
    '"last_message_at") VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) '
    'ON CONFLICT ("thread_key") DO UPDATE SET '
    '"category" = CASE WHEN excluded."category" <> \'\' THEN excluded."category" '
    'ELSE "messaging_carethread"."category" END, '
    '"topic" = CASE WHEN excluded."topic" <> \'\' THEN excluded."topic" '
    'ELSE "messaging_carethread"."topic" END, '
    '"patient_id" = COALESCE("messaging_carethread"."patient_id", excluded."patient_id"), '
    '"counterpart_id" = COALESCE(excluded."counterpart_id", '
    '"messaging_carethread"."counterpart_id"), '
    '"last_message_at" = GREATEST("messaging_carethread"."last_message_at", '
    'excluded."last_message_at") RETURNING "id"')
# SQLite: the same with MAX() for GREATEST() (the times are stored as ISO text in UTC).
THREAD_UPSERT_SQLITE = (
    'INSERT INTO "messaging_carethread" ("id", "thread_key", "patient_id", "category", '
    '"topic", "priority", "episode_of_care", "counterpart_id", "local_id", "created_at", '
    '"last_message_at") VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) '
    'ON CONFLICT ("thread_key") DO UPDATE SET '
    '"category" = CASE WHEN excluded."category" <> \'\' THEN excluded."category" '
    'ELSE "messaging_carethread"."category" END, '
    '"topic" = CASE WHEN excluded."topic" <> \'\' THEN excluded."topic" '
    'ELSE "messaging_carethread"."topic" END, '
    '"patient_id" = COALESCE("messaging_carethread"."patient_id", excluded."patient_id"), '
    '"counterpart_id" = COALESCE(excluded."counterpart_id", '
    '"messaging_carethread"."counterpart_id"), '
    '"last_message_at" = MAX("messaging_carethread"."last_message_at", '
    'excluded."last_message_at") RETURNING "id"')


def _upsert_thread(thread: CareThread) -> bool:
    """Insert the thread, or update the one with its key (`thread.pk` becomes that
    row's id). True when inserted."""
    connection = transaction.get_connection()
    fields = CareThread._meta.concrete_fields
    values = [f.get_db_prep_save(f.pre_save(thread, True), connection=connection)
              for f in fields]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(THREAD_UPSERT_POSTGRESQL, values)
        else:
            cursor.execute(THREAD_UPSERT_SQLITE, values)
        row = cursor.fetchone()
    found = CareThread._meta.pk.to_python(row[0])
    inserted = found == thread.pk
    thread.pk = found
    thread._state.adding = False
    thread._state.db = connection.alias
    return inserted


def apply_care_communication(message: Message, inbound: InboundMessage,
                             patient: Patient | None, receiver: Partner, *,
                             new_thread: bool = False) -> CareMessage:
    """`new_thread`: the batch being received found no thread with this message's key and
    has no other message in it: the new thread is stored with the batch at its end (a
    thread made meanwhile by another receiver fails the batch, which is received again
    and finds it)."""
    comm = message.focus() or {}
    category = ""
    for cat in comm.get("category") or []:
        for coding in (cat or {}).get("coding") or []:
            category = str(coding.get("code") or "")
    topic = str((comm.get("topic") or {}).get("text") or "")[:200]
    key = thread_key(comm)
    sent_at = _when((message.current_provenance() or {}).get("occurredDateTime")) \
        or timezone.now()
    thread = CareThread(thread_key=key, patient=patient, category=category, topic=topic,
                        priority=str(comm.get("priority") or ""), counterpart=inbound.sender,
                        local=receiver, last_message_at=sent_at)
    kept = new_thread and store_later(thread)  # stored with the batch, at its end
    if not kept and not _upsert_thread(thread):
        # A reply in a known thread: the row as the upsert left it (locked by it).
        thread = CareThread.objects.get(pk=thread.pk)
    sender = message.sender()
    receiver_org = message.primary_receiver()
    care = CareMessage(
        thread=thread, header_id=inbound.header_id, direction=CareMessage.Direction.IN,
        activity=inbound.activity, from_name=str((sender or {}).get("name") or "")[:200],
        to_name=str((receiver_org or {}).get("name") or "")[:200],
        segments=read_segments(message, comm), sent_at=sent_at, inbound=inbound)
    if not store_later(care):  # in a batch: stored with its InboundMessage
        care.save(force_insert=True)
    inbound.event_at = sent_at
    if patient is not None:
        effects.message_received(patient, receiver.organisation, thread, SYSTEM_ACTOR)
    return care


# --------------------------------------------------------------------------- sending

def patient_resource(patient: Patient) -> dict[str, Any]:
    return {"resourceType": "Patient", "id": new_id(),
            "identifier": [{"system": patient.identifier_system, "value": patient.national_id}],
            "name": [{"use": "official", "family": patient.family_name,
                      "given": [patient.given_name]}]}


def _segment_ext(at: str, seg_id: str, assigner_ref: str, author_ref: str = "",
                 phone: str = "") -> list[dict[str, Any]]:
    ext: list[dict[str, Any]] = [
        {"url": codes.SEGMENT_DATETIME_URL, "valueDateTime": at},
        {"url": codes.SEGMENT_IDENTIFIER_URL,
         "valueIdentifier": {"value": seg_id, "assigner": {"reference": assigner_ref}}},
    ]
    if author_ref:
        ext.append({"url": codes.SEGMENT_AUTHOR_URL, "valueReference": {"reference": author_ref}})
    if phone:
        ext.append({"url": codes.SEGMENT_CONTACT_URL,
                    "valueContactPoint": {"system": "phone", "value": phone}})
    return ext


def human_name(name: str) -> dict[str, Any]:
    """"Lise Marie Lunde" → given [Lise, Marie], family Lunde (read back as written)."""
    parts = name.split()
    if len(parts) < 2:
        return {"family": name or "-"}
    return {"family": parts[-1], "given": parts[:-1]}


def _author_resources(resources: list[dict[str, Any]], name: str) -> str:
    """A PractitionerRole (with its named Practitioner) for an earlier segment's author."""
    practitioner_id, role_id = new_id(), new_id()
    resources.append({"resourceType": "Practitioner", "id": practitioner_id,
                      "name": [human_name(name)]})
    resources.append({"resourceType": "PractitionerRole", "id": role_id,
                      "practitioner": {"reference": f"Practitioner/{practitioner_id}"}})
    return f"PractitionerRole/{role_id}"


def build_care_communication(*, patient: Patient, sender: Partner, receiver: Partner,
                             author_name: str, author_phone: str, text: str, category: str,
                             topic: str = "", priority: str = "",
                             attachments: list[dict[str, str]] | None = None,
                             thread: CareThread | None = None,
                             activity: str = Activity.NEW, now: dt.datetime | None = None,
                             event: str = Event.CARE_COMMUNICATION,
                             category_system: str = codes.CATEGORY_SYSTEM,
                             extensions: list[dict[str, Any]] | None = None,
                             ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The Bundle and the segments (as stored on CareMessage) of a new, reply or forward."""
    now = now or timezone.now()
    at = now.isoformat(timespec="seconds")
    sender_id, receiver_id = new_id(), new_id()
    sender_ref = f"Organization/{sender_id}"
    patient_res = patient_resource(patient)
    practitioner_id, role_id = new_id(), new_id()
    practitioner = {"resourceType": "Practitioner", "id": practitioner_id,
                    "name": [human_name(author_name)]}
    role = {"resourceType": "PractitionerRole", "id": role_id,
            "practitioner": {"reference": f"Practitioner/{practitioner_id}"},
            "organization": {"reference": sender_ref}}
    payload: list[dict[str, Any]] = []
    stored: list[dict[str, Any]] = []
    # Earlier segments first (reply: text + attachment ids only; forward: with content),
    # each with the organisation that wrote it and, for text, its author and phone.
    earlier_resources: list[dict[str, Any]] = []
    if thread is not None and activity in (Activity.REPLY, Activity.FORWARD):
        # Who wrote the received segments: the receiver of a reply; on a forward the
        # thread's earlier counterpart, which is not the new receiver.
        them = f"Organization/{receiver_id}"
        if activity == Activity.FORWARD and thread.counterpart is not None and \
                thread.counterpart.pk != receiver.pk:
            counterpart_id = new_id()
            earlier_resources.append(thread.counterpart.party.resource(counterpart_id))
            them = f"Organization/{counterpart_id}"
        for earlier in thread.messages.order_by("sent_at"):
            wrote = them if earlier.direction == CareMessage.Direction.IN else sender_ref
            for seg in earlier.segments:
                if not seg.get("new", True):
                    continue
                if seg["kind"] == "text":
                    author_ref = _author_resources(earlier_resources, seg.get("author") or "-")
                    ext = _segment_ext(seg.get("at") or at, seg["id"], wrote, author_ref,
                                       seg.get("phone") or "-")
                    payload.append({"extension": ext, "contentString": seg.get("text", "")})
                else:
                    ext = _segment_ext(seg.get("at") or at, seg["id"], wrote)
                    attachment: dict[str, Any] = {"title": seg.get("title", "")}
                    if activity == Activity.FORWARD:
                        attachment.update(contentType=seg.get("content_type", ""),
                                          data=seg.get("data", ""))
                    payload.append({"extension": ext, "contentAttachment": attachment})
                stored.append({**seg, "new": False, "data": ""})
    new_segments = []
    seg_id = f"urn:uuid:{uuid.uuid4()}"
    payload.append({"extension": _segment_ext(at, seg_id, sender_ref,
                                              f"PractitionerRole/{role_id}",
                                              author_phone or "-"),
                    "contentString": text})
    new_segments.append({"id": seg_id, "kind": "text", "text": text, "at": at,
                         "author": author_name, "phone": author_phone, "by": sender.name,
                         "new": True})
    for att in attachments or []:
        att_id = f"urn:uuid:{uuid.uuid4()}"
        payload.append({"extension": _segment_ext(at, att_id, sender_ref),
                        "contentAttachment": {"contentType": att["content_type"],
                                              "data": att["data"], "title": att["title"]}})
        new_segments.append({"id": att_id, "kind": "attachment", "title": att["title"],
                             "content_type": att["content_type"], "data": att["data"],
                             "at": at, "by": sender.name, "new": True})
    comm: dict[str, Any] = {
        "resourceType": "Communication", "id": new_id(),
        "identifier": [{"value": thread.thread_key if thread is not None
                        and activity == Activity.REPLY else f"urn:uuid:{uuid.uuid4()}"}],
        "status": "unknown",
        "category": [{"coding": [{"system": category_system, "code": category}]}],
        "subject": {"reference": f"Patient/{patient_res['id']}"},
        "payload": payload,
    }
    if extensions:
        comm["extension"] = extensions
    if topic:
        comm["topic"] = {"text": topic}
    if priority and category == "regarding-referral":
        comm["priority"] = priority
    preceding = ""
    if thread is not None and activity in (Activity.REPLY, Activity.FORWARD):
        last = thread.messages.order_by("-sent_at").first()
        preceding = last.header_id if last else ""
    entities = [{"role": "source", "what": {"identifier": {"value": s["id"]}}}
                for s in new_segments]
    bundle = build_message(event=event, sender=sender.party, receiver=receiver.party,
                           focus=comm,
                           resources=[patient_res, practitioner, role, *earlier_resources],
                           activity=activity, now=now, preceding_header_id=preceding,
                           provenance_entities=entities, sender_id=sender_id,
                           receiver_id=receiver_id, summary=topic or category)
    return bundle, stored + new_segments


def send_care_communication(*, patient: Patient, sender: Partner, receiver: Partner,
                            actor: Actor, author_name: str, author_phone: str, text: str,
                            category: str, topic: str = "", priority: str = "",
                            attachments: list[dict[str, str]] | None = None,
                            thread: CareThread | None = None,
                            activity: str = Activity.NEW, event: str = Event.CARE_COMMUNICATION,
                            category_system: str = codes.CATEGORY_SYSTEM,
                            extensions: list[dict[str, Any]] | None = None,
                            also: Callable[[OutboundMessage], None] | None = None,
                            ) -> CareMessage:
    """Write the message into the thread and the outbox in one transaction."""
    from .outbox import enqueue

    with transaction.atomic():
        bundle, segments = build_care_communication(
            patient=patient, sender=sender, receiver=receiver, author_name=author_name,
            author_phone=author_phone, text=text, category=category, topic=topic,
            priority=priority, attachments=attachments, thread=thread, activity=activity,
            event=event, category_system=category_system, extensions=extensions)
        comm = next(e["resource"] for e in bundle["entry"]
                    if e["resource"]["resourceType"] == "Communication")
        key = str(comm["identifier"][0]["value"])
        if thread is None or activity == Activity.FORWARD:
            thread = CareThread.objects.create(
                thread_key=key, patient=patient, category=category, topic=topic,
                priority=priority if category == "regarding-referral" else "",
                counterpart=receiver, local=sender)
        out = enqueue(bundle, sender=sender, receiver=receiver, patient=patient,
                      sending_organisation=sender.organisation or actor.organisation)
        thread.last_message_at = timezone.now()
        thread.save(update_fields=["last_message_at"])
        care = CareMessage.objects.create(
            thread=thread, header_id=out.header_id, direction=CareMessage.Direction.OUT,
            activity=activity, from_name=sender.name, to_name=receiver.name,
            author_name=author_name, author_phone=author_phone, segments=segments,
            outbound=out)
        record(actor, "samhand.message.sent", "C", patient_id=patient.pk,
               object_type="Communication", object_ids=[out.header_id],
               recipient=receiver.organisation)
        if also is not None:
            also(out)  # the sender's own bookkeeping, in the same transaction
    return care


def thread_sender_receiver(thread: CareThread, unit_partner: Partner) -> Partner | None:
    return thread.counterpart


def organisation_party_ids(org: dict[str, Any] | None) -> dict[str, str]:
    return identifiers(org)
