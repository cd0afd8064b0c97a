"""FHIR messages as MedCom defines them: parse, check, build (standards.md §A).

A message is a Bundle of type `message` whose first entry is the MessageHeader. This
module works on the JSON (plain dicts): `parse()` reads bytes into a `Message` (a view
with the header, the resources by reference and the Provenance chain), `check()`
validates the Bundle against FHIR R4 with fhir.resources (R4B models, as samhand.fhir
does) and then against the MedCom profile rules, reporting each failure with the
element path (`Bundle.entry[0].resource.destination`) and a MedCom issue code.
`build_message()`, `restamp()` and `build_ack()` make outgoing Bundles.

No Django models here: the receiver (services.py) decides what a message means.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from . import codes
from .codes import AckCode, Activity, Event

FHIR_ID_RE = re.compile(r"[A-Za-z0-9\-.]{1,64}")
TZ_DATETIME_RE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})")
ENCOUNTER_STATUSES = frozenset({"in-progress", "onleave", "finished", "entered-in-error"})
ENCOUNTER_CLASSES = frozenset({"IMP", "EMER"})


# --------------------------------------------------------------------------- problems

@dataclass(frozen=True)
class Problem:
    """One reason a message cannot be accepted, for the OperationOutcome."""

    path: str  # element path, e.g. Bundle.entry[0].resource.destination
    code: str  # issue detail code (MedCom or FHIR operation-outcome)
    text: str  # diagnostics (English: read by the sending system's operators)
    issue_type: str = "structure"  # OperationOutcome.issue.code
    severity: str = "error"

    def as_dict(self) -> dict[str, str]:
        return {"path": self.path, "code": self.code, "text": self.text}


class Unreadable(Exception):
    """The bytes are not a message whose header can be read: answer HTTP 400."""

    def __init__(self, problem: Problem, bundle_id: str = "", header_id: str = "") -> None:
        super().__init__(problem.text)
        self.problem = problem
        self.bundle_id = bundle_id
        self.header_id = header_id


# --------------------------------------------------------------------------- the view

@dataclass
class Message:
    """A parsed message Bundle. `resources` maps "Type/id" to (entry index, resource)."""

    bundle: dict[str, Any]
    resources: dict[str, tuple[int, dict[str, Any]]] = field(default_factory=dict)
    # Set by `parse` when the text escapes a character no database text can hold (NUL,
    # or half of a surrogate pair): `check` then looks for the element that holds one.
    may_hold_unstorable: bool = False
    # Read once from the Bundle, as `resources` is: a Message is a view of a Bundle that
    # is not changed after it is made (the checks ask for these dozens of times).
    _entries: list[Any] = field(init=False, repr=False, compare=False)
    _header: dict[str, Any] = field(init=False, repr=False, compare=False)
    _by_type: dict[Any, list[tuple[int, dict[str, Any]]]] = field(
        init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        entries = self.bundle.get("entry")
        self._entries = entries if isinstance(entries, list) else []
        self._by_type = {}
        for index, entry in enumerate(self._entries):
            resource = entry.get("resource") if isinstance(entry, dict) else None
            if not isinstance(resource, dict):
                continue
            self._by_type.setdefault(resource.get("resourceType"), []).append(
                (index, resource))
            key = f"{resource.get('resourceType')}/{resource.get('id')}"
            self.resources.setdefault(key, (index, resource))
            full_url = entry.get("fullUrl")
            if isinstance(full_url, str) and full_url and full_url != key:
                self.resources.setdefault(full_url, (index, resource))
        first = self._entries[0] if self._entries else None
        resource = first.get("resource") if isinstance(first, dict) else None
        self._header = resource if isinstance(resource, dict) and \
            resource.get("resourceType") == "MessageHeader" else {}

    # -- the envelope
    @property
    def entries(self) -> list[Any]:
        return self._entries

    @property
    def bundle_id(self) -> str:
        value = self.bundle.get("id")
        return value if isinstance(value, str) else ""

    @property
    def header(self) -> dict[str, Any]:
        return self._header

    @property
    def header_id(self) -> str:
        value = self.header.get("id")
        return value if isinstance(value, str) else ""

    @property
    def event(self) -> str:
        coding = self.header.get("eventCoding")
        if isinstance(coding, dict) and isinstance(coding.get("code"), str):
            return coding["code"]
        return ""

    # -- references
    def resolve(self, reference: Any) -> tuple[int, dict[str, Any]] | None:
        if isinstance(reference, dict):
            reference = reference.get("reference")
        if not isinstance(reference, str):
            return None
        found = self.resources.get(reference)
        if found is None and "/" in reference:
            found = self.resources.get("/".join(reference.rsplit("/", 2)[-2:]))
        return found

    def of_type(self, resource_type: str) -> list[tuple[int, dict[str, Any]]]:
        return list(self._by_type.get(resource_type, ()))

    def destinations(self) -> list[tuple[int, str, dict[str, Any]]]:
        """(index in MessageHeader.destination, use, destination) — use "primary"/"cc"/""."""
        out = []
        destinations = self.header.get("destination")
        for index, dest in enumerate(destinations if isinstance(destinations, list) else []):
            if not isinstance(dest, dict):
                continue
            use = ""
            for ext in dest.get("extension") or []:
                if isinstance(ext, dict) and ext.get("url") == codes.DESTINATION_USE_URL:
                    use = str((ext.get("valueCoding") or {}).get("code") or "")
            out.append((index, use, dest))
        return out

    def primary_receiver(self) -> dict[str, Any] | None:
        primaries = [d for _i, use, d in self.destinations() if use == "primary"]
        if len(primaries) != 1:
            return None
        found = self.resolve(primaries[0].get("receiver"))
        return found[1] if found else None

    def sender(self) -> dict[str, Any] | None:
        found = self.resolve(self.header.get("sender"))
        return found[1] if found else None

    def provenances(self) -> list[tuple[int, dict[str, Any]]]:
        return self.of_type("Provenance")

    def current_provenance(self) -> dict[str, Any] | None:
        """The Provenance whose target is this message's header (the others are history)."""
        want = {f"MessageHeader/{self.header_id}"}
        for _index, prov in self.provenances():
            for target in prov.get("target") or []:
                ref = target.get("reference") if isinstance(target, dict) else None
                if isinstance(ref, str) and ("/".join(ref.rsplit("/", 2)[-2:]) in want):
                    return prov
        return None

    def current_activity(self) -> str:
        return activity_of(self.current_provenance())

    def focus(self) -> dict[str, Any] | None:
        focus = self.header.get("focus")
        if isinstance(focus, list) and focus:
            found = self.resolve(focus[0])
            return found[1] if found else None
        return None

    def patients(self) -> list[tuple[int, dict[str, Any]]]:
        return self.of_type("Patient")

    def path(self, index: int, *rest: Any) -> str:
        return element_path(index, *rest)


def element_path(index: int | None, *rest: Any) -> str:
    out = "Bundle" if index is None else f"Bundle.entry[{index}].resource"
    for part in rest:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def activity_of(provenance: dict[str, Any] | None) -> str:
    if not provenance:
        return ""
    for coding in (provenance.get("activity") or {}).get("coding") or []:
        if isinstance(coding, dict) and isinstance(coding.get("code"), str):
            return str(coding["code"])
    return ""


def identifiers(resource: dict[str, Any] | None) -> dict[str, str]:
    """{system: value} of a resource's identifiers (first value per system)."""
    out: dict[str, str] = {}
    for ident in (resource or {}).get("identifier") or []:
        if isinstance(ident, dict) and isinstance(ident.get("system"), str) \
                and isinstance(ident.get("value"), str):
            out.setdefault(ident["system"], ident["value"])
    return out


# --------------------------------------------------------------------------- parsing

def parse(raw: bytes | str) -> Message:
    """Read a message. Raises Unreadable when no MessageHeader id can be read."""
    try:
        data = json.loads(raw, parse_constant=_not_a_json_number)
    except (ValueError, UnicodeDecodeError) as exc:
        raise Unreadable(Problem("Bundle", "MSG_CANT_PARSE_CONTENT",
                                 f"The message is not valid JSON: {exc}",
                                 "structure")) from exc
    except RecursionError as exc:
        raise Unreadable(Problem("Bundle", "MSG_CANT_PARSE_CONTENT",
                                 "The message is nested too deeply to read.",
                                 "structure")) from exc
    if not isinstance(data, dict) or data.get("resourceType") != "Bundle":
        raise Unreadable(Problem("Bundle", "MSG_UNKNOWN_TYPE",
                                 "The message is not a FHIR Bundle.", "structure"))
    message = Message(data, may_hold_unstorable=_UNSTORABLE_ESCAPE.search(
        raw if isinstance(raw, bytes) else raw.encode("utf-8", "surrogatepass")) is not None)
    if not message.header:
        raise Unreadable(Problem(element_path(0), "MSG_RESOURCE_REQUIRED",
                                 "The first entry of a message must be its MessageHeader.",
                                 "required"), bundle_id=message.bundle_id)
    if not message.header_id:
        raise Unreadable(Problem(element_path(0, "id"), "MSG_RESOURCE_ID_MISSING",
                                 "The MessageHeader has no id.", "required"),
                         bundle_id=message.bundle_id)
    return message


def _not_a_json_number(name: str) -> Any:
    """Python's json reads NaN and Infinity, which JSON (and PostgreSQL) does not."""
    raise ValueError(f"{name} is not a JSON number")


# \u0000, or \uD800-\uDFFF: the escapes of characters that no database text holds
# (PostgreSQL refuses both; a valid surrogate pair is read as one character). An
# escaped backslash before "u0000" matches too: `check` then finds no such element.
_UNSTORABLE_ESCAPE = re.compile(rb"\\u(?:0000|[dD][89a-fA-F][0-9a-fA-F]{2})")


# --------------------------------------------------------------------------- checking

def check(message: Message, *, max_attachment_bytes: int = 10 * 1024 * 1024,
          validate_fhir: bool = True) -> list[Problem]:
    """Every reason to reject the message; empty when it may be processed."""
    problems = list(_check_envelope(message))
    if message.may_hold_unstorable:
        problems.extend(_check_storable_text(message.bundle, "Bundle"))
    if validate_fhir:
        problems.extend(_check_fhir(message.bundle))
    if not message.header:
        return problems
    event = message.event
    problems.extend(_check_header(message))
    problems.extend(_check_provenance(message, event))
    problems.extend(_check_bundled_references(message))
    if event == Event.HOSPITAL_NOTIFICATION:
        problems.extend(_check_hospital_notification(message))
    elif event == Event.CARE_COMMUNICATION:
        problems.extend(_check_care_communication(message, max_attachment_bytes))
    elif event == Event.ACKNOWLEDGEMENT:
        problems.extend(_check_acknowledgement(message))
    elif event in codes.PLO_EVENTS:
        problems.extend(_check_plo(message, max_attachment_bytes))
    problems.extend(_check_patient_identifiers(message))
    return _dedupe(problems)


def _check_storable_text(value: Any, path: str) -> Iterator[Problem]:
    """Every element whose text holds NUL or half of a surrogate pair: JSON allows them
    escaped, but no database text can store them, so the message could never be kept."""
    if isinstance(value, str):
        if any(char == "\x00" or "\ud800" <= char <= "\udfff" for char in value):
            yield Problem(path, "MSG_Datatype_Wrong",
                          "The text holds a character that cannot be stored (NUL or half of "
                          "a surrogate pair).", "value")
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _check_storable_text(key, f"{path}.{storable(key)}")
            yield from _check_storable_text(item, f"{path}.{storable(key)}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _check_storable_text(item, f"{path}[{index}]")


_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def storable(value: Any) -> Any:
    """The value with NUL and halves of surrogate pairs replaced by U+FFFD, in every text
    and key: what a refused message keeps of them (its bytes are kept as received)."""
    if isinstance(value, str):
        return _UNSTORABLE.sub("\ufffd", value)
    if isinstance(value, dict):
        return {storable(key): storable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [storable(item) for item in value]
    return value


def _dedupe(problems: Iterable[Problem]) -> list[Problem]:
    seen, out = set(), []
    for p in problems:
        if (p.path, p.code) not in seen:
            seen.add((p.path, p.code))
            out.append(p)
    return out


def _check_envelope(m: Message) -> Iterator[Problem]:
    b = m.bundle
    if b.get("type") != "message":
        yield Problem("Bundle.type", "MSG_VALUESET_VALUE_UNKNOWN",
                      "Bundle.type must be 'message'.", "value")
    if not m.bundle_id:
        yield Problem("Bundle.id", "MSG_RESOURCE_ID_MISSING", "Bundle.id is required.",
                      "required")
    elif not FHIR_ID_RE.fullmatch(m.bundle_id):
        yield Problem("Bundle.id", "MSG_ID_INVALID", "Bundle.id is not a valid id.", "value")
    timestamp = b.get("timestamp")
    if not timestamp:
        yield Problem("Bundle.timestamp", "MSG_RESOURCE_REQUIRED",
                      "Bundle.timestamp is required.", "required")
    elif not isinstance(timestamp, str) or not TZ_DATETIME_RE.fullmatch(timestamp):
        yield Problem("Bundle.timestamp", "MSG_Datatype_Wrong",
                      "Bundle.timestamp must be a date and time with a time zone.", "value")
    if not m.header:
        yield Problem(element_path(0), "MSG_RESOURCE_REQUIRED",
                      "The first entry must be a MessageHeader (medcom-messaging-1).",
                      "required")


_FHIR_VALIDATOR: Any = None


def _fhir_bundle_model() -> Any:
    """fhir.resources' Bundle model, made ready on first use: with fhir_core's checks
    that run on every element replaced by equivalent ones that work out what they need
    once per class (`fhir_speedups`: validating takes a third less)."""
    global _FHIR_VALIDATOR
    if _FHIR_VALIDATOR is None:
        from fhir.resources.R4B.bundle import Bundle as FhirBundle

        from . import fhir_speedups

        fhir_speedups.install()
        _FHIR_VALIDATOR = FhirBundle
    return _FHIR_VALIDATOR


def _check_fhir(bundle: dict[str, Any]) -> Iterator[Problem]:
    """Base FHIR R4 structure, with fhir.resources (R4B models)."""
    model = _fhir_bundle_model()
    from pydantic import ValidationError

    try:
        model.model_validate(bundle)
    except ValidationError as exc:
        for error in exc.errors()[:20]:
            yield Problem(_loc_path(list(error.get("loc", ()))), "MSG_BAD_SYNTAX",
                          f"Not valid FHIR R4: {error.get('msg', '')}"[:500], "structure")
    except Exception as exc:  # fhir.resources raises plain errors on some bad types
        yield Problem("Bundle", "MSG_BAD_SYNTAX", f"Not valid FHIR R4: {exc}"[:500],
                      "structure")


def _loc_path(loc: list[Any]) -> str:
    out = "Bundle"
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def _check_header(m: Message) -> Iterator[Problem]:
    h, base = m.header, 0
    if not FHIR_ID_RE.fullmatch(m.header_id):
        yield Problem(m.path(base, "id"), "MSG_ID_INVALID", "MessageHeader.id is not a valid id.",
                      "value")
    coding = h.get("eventCoding")
    if not isinstance(coding, dict) or not coding.get("code"):
        yield Problem(m.path(base, "eventCoding"), "MSG_RESOURCE_REQUIRED",
                      "MessageHeader.eventCoding is required.", "required")
    else:
        event, system = coding.get("code"), coding.get("system")
        known = event in {e.value for e in Event}
        if not known:
            yield Problem(m.path(base, "eventCoding", "code"), "MSG_VALUESET_VALUE_UNKNOWN",
                          f"Unknown message event {event!r}.", "code-invalid")
        elif system != codes.event_system(str(event)):
            yield Problem(m.path(base, "eventCoding", "system"), "MSG_CodeSystem_VALUE_UNKNOWN",
                          f"The event {event!r} belongs to {codes.event_system(str(event))}.",
                          "code-invalid")
        elif event not in codes.RECEIVABLE_EVENTS:
            yield Problem(m.path(base, "eventCoding", "code"),
                          "MSG_RECEIVER_UNABLE_TO_RECEIVE_MSG_TYPE",
                          f"samhand does not receive {event!r} messages.", "not-supported")
    if not h.get("text"):
        # The IG says the narrative SHALL always be included; MedCom's own test files
        # sometimes leave it out, so this is a warning, not a rejection.
        pass
    destinations = m.destinations()
    primaries = [(i, d) for i, use, d in destinations if use == "primary"]
    if not destinations or not primaries:
        yield Problem(m.path(base, "destination"), "MSG_Receiver_Identifier_MISSING",
                      "The message needs exactly one primary receiver.", "required")
    elif len(primaries) > 1:
        yield Problem(m.path(base, "destination", primaries[1][0]),
                      "MSG_Receiver_Identifier_UNKNOWN",
                      "The message has more than one primary receiver.", "structure")
    for i, use, dest in destinations:
        if use not in ("primary", "cc"):
            yield Problem(m.path(base, "destination", i, "extension"),
                          "MSG_VALUESET_VALUE_UNKNOWN",
                          "Each destination must say whether it is primary or cc.", "value")
        found = m.resolve(dest.get("receiver"))
        if found is None or found[1].get("resourceType") != "Organization":
            yield Problem(m.path(base, "destination", i, "receiver"),
                          "MSG_Receiver_Identifier_MISSING",
                          "The receiver must be an Organization carried in the Bundle.",
                          "required")
        else:
            yield from _check_organisation(m, found, m.event)
    found = m.resolve(h.get("sender"))
    if found is None or found[1].get("resourceType") != "Organization":
        yield Problem(m.path(base, "sender"), "MSG_RESOURCE_REQUIRED",
                      "The sender must be an Organization carried in the Bundle.", "required")
    else:
        yield from _check_organisation(m, found, m.event)
    source = h.get("source")
    if not isinstance(source, dict) or not source.get("endpoint"):
        yield Problem(m.path(base, "source", "endpoint"), "MSG_RESOURCE_REQUIRED",
                      "MessageHeader.source.endpoint is required (acknowledgements go there).",
                      "required")


def _check_organisation(m: Message, found: tuple[int, dict[str, Any]],
                        event: str) -> Iterator[Problem]:
    index, org = found
    ids = identifiers(org)
    if event in codes.PLO_EVENTS or ids.get(codes.HER_ID):
        # Norwegian parties are addressed by HER-id (Adresseregisteret); samhand also
        # lets them exchange the MedCom message types with it.
        if not (ids.get(codes.HER_ID) or ids.get(codes.SOR)):
            yield Problem(m.path(index, "identifier"), "MSG_Receiver_Identifier_MISSING",
                          "The organisation needs a HER-id (or SOR) identifier.", "required")
        return
    if not ids.get(codes.SOR):
        yield Problem(m.path(index, "identifier"), "MSG_Receiver_Identifier_MISSING",
                      "The organisation needs a SOR identifier (urn:oid:1.2.208.176.1.1).",
                      "required")
    if not ids.get(codes.GLN):
        yield Problem(m.path(index, "identifier"), "MSG_Receiver_Identifier_MISSING",
                      "The organisation needs an EAN/GLN identifier (https://www.gs1.org/gln).",
                      "required")


def _check_provenance(m: Message, event: str) -> Iterator[Problem]:
    provenances = m.provenances()
    if not provenances:
        yield Problem("Bundle.entry", "MSG_RESOURCE_REQUIRED",
                      "A message carries at least one Provenance (medcom-messaging-2).",
                      "required")
        return
    if m.current_provenance() is None:
        yield Problem("Bundle.entry", "MSG_RESOURCE_REQUIRED",
                      "No Provenance targets this message's MessageHeader.", "required")
    current = m.current_provenance()
    for index, prov in provenances:
        if not prov.get("occurredDateTime"):
            yield Problem(m.path(index, "occurredDateTime"), "MSG_RESOURCE_REQUIRED",
                          "Provenance.occurredDateTime is required.", "required")
        activity = activity_of(prov)
        if not activity:
            yield Problem(m.path(index, "activity"), "MSG_RESOURCE_REQUIRED",
                          "Provenance.activity is required.", "required")
        elif event == Event.HOSPITAL_NOTIFICATION and \
                activity not in codes.HOSPITAL_NOTIFICATION_ACTIVITIES:
            yield Problem(m.path(index, "activity"), "MSG_VALUESET_VALUE_UNKNOWN",
                          f"{activity!r} is not a HospitalNotification activity.",
                          "code-invalid")
        elif event == Event.CARE_COMMUNICATION and \
                activity not in codes.CARE_COMMUNICATION_ACTIVITIES:
            yield Problem(m.path(index, "activity"), "MSG_VALUESET_VALUE_UNKNOWN",
                          f"{activity!r} is not allowed in a CareCommunication.",
                          "code-invalid")
        elif event not in codes.PLO_EVENTS and activity not in {a.value for a in Activity}:
            yield Problem(m.path(index, "activity"), "MSG_VALUESET_VALUE_UNKNOWN",
                          f"Unknown activity {activity!r}.", "code-invalid")
        agents = prov.get("agent") or []
        who = ((agents[0] or {}).get("who") or {}) if agents else {}
        if prov is current and not (isinstance(who, dict) and who.get("reference")):
            yield Problem(m.path(index, "agent", 0, "who"), "MSG_RESOURCE_REQUIRED",
                          "Provenance.agent.who (the organisation acting) is required.",
                          "required")


_REF_TYPES = re.compile(r"^[A-Z][A-Za-z]+/[A-Za-z0-9\-.]{1,64}$")


def _walk_references(value: Any, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "reference" and isinstance(item, str):
                yield path, item
            elif key != "text":
                yield from _walk_references(item, f"{path}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _walk_references(item, f"{path}[{i}]")


def _references(value: Any) -> Iterator[str]:
    """The references in a resource, without their paths (`_walk_references` gives
    those, for the rare reference that is missing)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            for key, inner in item.items():
                if key == "reference" and isinstance(inner, str):
                    yield inner
                elif key != "text" and isinstance(inner, dict | list):
                    stack.append(inner)
        elif isinstance(item, list):
            stack.extend(inner for inner in item if isinstance(inner, dict | list))


def _missing_reference(m: Message, ref: str) -> bool:
    if ref.startswith(("#", "urn:")) or "MessageHeader/" in ref:
        return False  # Provenance chains point at earlier messages' headers
    return bool(_REF_TYPES.match(ref) or "/" in ref) and m.resolve(ref) is None


def _check_bundled_references(m: Message) -> Iterator[Problem]:
    for index, entry in enumerate(m.entries):
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if isinstance(resource, dict) and resource.get("resourceType") == "Provenance":
            # The chain points at earlier messages and their organisations (MedCom's own
            # examples do not always carry the agent of the current one either).
            continue
        if not any(_missing_reference(m, ref) for ref in _references(resource)):
            continue
        for path, ref in _walk_references(resource, element_path(index)):
            if _missing_reference(m, ref):
                yield Problem(path, "MSG_RESOURCE_REQUIRED",
                              f"The reference {ref!r} is not carried in the Bundle.",
                              "required")


def _one_patient(m: Message) -> Iterator[Problem]:
    patients = m.patients()
    if len(patients) != 1:
        yield Problem("Bundle.entry", "MSG_RESOURCE_REQUIRED",
                      "The message must carry exactly one Patient.", "required")


def _no_cc(m: Message) -> Iterator[Problem]:
    for i, use, _dest in m.destinations():
        if use == "cc":
            yield Problem(element_path(0, "destination", i), "MSG_VALUESET_VALUE_UNKNOWN",
                          "This message type allows no cc receivers.", "business-rule")


def _check_hospital_notification(m: Message) -> Iterator[Problem]:
    yield from _one_patient(m)
    yield from _no_cc(m)
    for index, patient in m.patients():
        if codes.CPR not in identifiers(patient):
            yield Problem(m.path(index, "identifier"), "MSG_RESOURCE_REQUIRED",
                          "The patient needs a CPR identifier (urn:oid:1.2.208.176.1.2).",
                          "required")
    focus = m.focus()
    if focus is None or focus.get("resourceType") != "Encounter":
        yield Problem(element_path(0, "focus"), "MSG_RESOURCE_REQUIRED",
                      "MessageHeader.focus must be the Encounter.", "required")
        return
    index = m.resolve(m.header["focus"][0])[0]  # type: ignore[index]
    status = focus.get("status")
    if status not in ENCOUNTER_STATUSES:
        yield Problem(m.path(index, "status"), "MSG_VALUESET_VALUE_UNKNOWN",
                      f"Encounter.status {status!r} is not allowed here.", "code-invalid")
    klass = focus.get("class")
    if not isinstance(klass, dict) or klass.get("code") not in ENCOUNTER_CLASSES:
        yield Problem(m.path(index, "class"), "MSG_RESOURCE_REQUIRED",
                      "Encounter.class must be IMP or EMER.", "required")
    period = focus.get("period") or {}
    if not period.get("start"):
        yield Problem(m.path(index, "period", "start"), "MSG_RESOURCE_REQUIRED",
                      "Encounter.period.start is required.", "required")
    if status == "finished" and not period.get("end") and \
            not _deceased(m) and m.current_activity().startswith(("discharge", "revise-disch")):
        yield Problem(m.path(index, "period", "end"), "MSG_RESOURCE_REQUIRED",
                      "A finished Encounter needs period.end.", "required")
    episodes = focus.get("episodeOfCare") or []
    if not any((e or {}).get("identifier") for e in episodes if isinstance(e, dict)):
        yield Problem(m.path(index, "episodeOfCare"), "MSG_RESOURCE_REQUIRED",
                      "Encounter.episodeOfCare.identifier is required.", "required")
    if not focus.get("serviceProvider"):
        yield Problem(m.path(index, "serviceProvider"), "MSG_RESOURCE_REQUIRED",
                      "Encounter.serviceProvider is required.", "required")
    if status == "onleave" and m.current_activity() in (Activity.START_LEAVE,
                                                        Activity.REVISE_START_LEAVE):
        leave = next((e for e in focus.get("extension") or []
                      if isinstance(e, dict) and e.get("url") == codes.LEAVE_PERIOD_URL), None)
        if not leave or not (leave.get("valuePeriod") or {}).get("start"):
            yield Problem(m.path(index, "extension"), "MSG_RESOURCE_REQUIRED",
                          "A leave needs the leave-period extension with a start.", "required")


def _deceased(m: Message) -> bool:
    for _i, patient in m.patients():
        if patient.get("deceasedBoolean") is True or patient.get("deceasedDateTime"):
            return True
    return False


def _check_segments(m: Message, index: int, comm: dict[str, Any],
                    max_attachment_bytes: int, *, author_required: bool) -> Iterator[Problem]:
    payload = comm.get("payload") or []
    if not any(isinstance(p, dict) and "contentString" in p for p in payload):
        yield Problem(m.path(index, "payload"), "MSG_RESOURCE_REQUIRED",
                      "At least one text segment is required.", "required")
    for i, segment in enumerate(payload):
        if not isinstance(segment, dict):
            continue
        urls = {e.get("url") for e in segment.get("extension") or [] if isinstance(e, dict)}
        is_text = "contentString" in segment
        needed = [codes.SEGMENT_DATETIME_URL, codes.SEGMENT_IDENTIFIER_URL]
        if is_text and author_required:
            needed += [codes.SEGMENT_AUTHOR_URL, codes.SEGMENT_CONTACT_URL]
        for url in needed:
            if url not in urls:
                yield Problem(m.path(index, "payload", i, "extension"), "MSG_RESOURCE_REQUIRED",
                              f"The segment needs the extension {url.rsplit('/', 1)[-1]}.",
                              "required")
        attachment = segment.get("contentAttachment")
        if isinstance(attachment, dict):
            if not attachment.get("title"):
                yield Problem(m.path(index, "payload", i, "contentAttachment", "title"),
                              "MSG_RESOURCE_REQUIRED", "An attachment needs a title.", "required")
            data = attachment.get("data")
            if isinstance(data, str) and len(data) * 3 // 4 > max_attachment_bytes:
                yield Problem(m.path(index, "payload", i, "contentAttachment", "data"),
                              "MSG_Element_To_Long",
                              f"The attachment is larger than {max_attachment_bytes} bytes.",
                              "too-long")


def _check_care_communication(m: Message, max_attachment_bytes: int) -> Iterator[Problem]:
    yield from _one_patient(m)
    yield from _no_cc(m)
    focus = m.focus()
    if focus is None or focus.get("resourceType") != "Communication":
        yield Problem(element_path(0, "focus"), "MSG_RESOURCE_REQUIRED",
                      "MessageHeader.focus must be the Communication.", "required")
        return
    if not m.header.get("definition"):
        yield Problem(element_path(0, "definition"), "MSG_RESOURCE_REQUIRED",
                      "MessageHeader.definition is required for a CareCommunication.",
                      "required")
    index = m.resolve(m.header["focus"][0])[0]  # type: ignore[index]
    categories = focus.get("category") or []
    codings = [c for cat in categories if isinstance(cat, dict)
               for c in cat.get("coding") or [] if isinstance(c, dict)]
    if len(codings) != 1:
        yield Problem(m.path(index, "category"), "MSG_RESOURCE_REQUIRED",
                      "A CareCommunication needs exactly one category.", "required")
        category = ""
    else:
        category = str(codings[0].get("code") or "")
        if not category:
            yield Problem(m.path(index, "category", 0, "coding", 0, "code"),
                          "MSG_RESOURCE_REQUIRED", "The category code is missing.", "required")
        elif codings[0].get("system") != codes.CATEGORY_SYSTEM or category not in codes.CATEGORIES:
            yield Problem(m.path(index, "category", 0, "coding", 0), "MSG_VALUESET_VALUE_UNKNOWN",
                          f"Unknown CareCommunication category {category!r}.", "code-invalid")
    topic = (focus.get("topic") or {}).get("text") if isinstance(focus.get("topic"), dict) else ""
    if category == "other" and not topic:
        yield Problem(m.path(index, "topic", "text"), "MSG_RESOURCE_REQUIRED",
                      "A topic is required when the category is 'other'.", "required")
    if focus.get("priority") and category != "regarding-referral":
        yield Problem(m.path(index, "priority"), "MSG_VALUESET_VALUE_UNKNOWN",
                      "A priority is only allowed for the category 'regarding-referral'.",
                      "business-rule")
    if focus.get("priority") and focus.get("priority") not in codes.PRIORITIES:
        yield Problem(m.path(index, "priority"), "MSG_VALUESET_VALUE_UNKNOWN",
                      "The priority must be routine or asap.", "code-invalid")
    yield from _check_segments(m, index, focus, max_attachment_bytes, author_required=True)


def _check_acknowledgement(m: Message) -> Iterator[Problem]:
    response = m.header.get("response")
    if not isinstance(response, dict) or not response.get("identifier"):
        yield Problem(element_path(0, "response", "identifier"), "MSG_RESOURCE_REQUIRED",
                      "An acknowledgement needs MessageHeader.response.identifier.", "required")
        return
    code = response.get("code")
    if code not in {c.value for c in AckCode}:
        yield Problem(element_path(0, "response", "code"), "MSG_VALUESET_VALUE_UNKNOWN",
                      f"Unknown response code {code!r}.", "code-invalid")
    elif code != AckCode.OK and not m.resolve(response.get("details")):
        yield Problem(element_path(0, "response", "details"), "MSG_RESOURCE_REQUIRED",
                      "A negative acknowledgement needs an OperationOutcome "
                      "(acknowledgement-1).", "required")


def _check_plo(m: Message, max_attachment_bytes: int) -> Iterator[Problem]:
    yield from _one_patient(m)
    focus = m.focus()
    if focus is None:
        yield Problem(element_path(0, "focus"), "MSG_RESOURCE_REQUIRED",
                      "MessageHeader.focus must point at the message content.", "required")
        return
    if focus.get("resourceType") == "Communication":
        index = m.resolve(m.header["focus"][0])[0]  # type: ignore[index]
        yield from _check_segments(m, index, focus, max_attachment_bytes,
                                   author_required=False)


def _check_patient_identifiers(m: Message) -> Iterator[Problem]:
    from samhand.patients.identifiers import InvalidIdentifier, parse_cpr, parse_norwegian

    for index, patient in m.patients():
        for i, ident in enumerate(patient.get("identifier") or []):
            if not isinstance(ident, dict):
                continue
            system, value = ident.get("system"), ident.get("value")
            if not isinstance(value, str):
                continue
            try:
                if system == codes.CPR:
                    parse_cpr(value)
                elif system in (codes.FNR, codes.DNR, codes.HNR):
                    parse_norwegian(value, allow_test=True, allow_help=True)
            except InvalidIdentifier as exc:
                yield Problem(m.path(index, "identifier", i, "value"), "MSG_Datatype_Wrong",
                              f"The patient's national identifier is not valid ({exc.code}).",
                              "value")


# --------------------------------------------------------------------------- building

def new_id() -> str:
    return str(uuid.uuid4())


def fhir_now(now: dt.datetime | None = None) -> str:
    now = now or dt.datetime.now(dt.UTC)
    if now.tzinfo is None:
        now = now.replace(tzinfo=dt.UTC)
    return now.isoformat(timespec="seconds")


@dataclass(frozen=True)
class Party:
    """One organisation as it appears in a message (MedComMessagingOrganization)."""

    name: str
    sor: str = ""
    gln: str = ""
    her_id: str = ""
    endpoint: str = ""

    def resource(self, resource_id: str) -> dict[str, Any]:
        ids = []
        if self.gln:
            ids.append({"system": codes.GLN, "value": self.gln})
        if self.sor:
            ids.append({"system": codes.SOR, "value": self.sor})
        if self.her_id:
            ids.append({"system": codes.HER_ID, "value": self.her_id})
        return {"resourceType": "Organization", "id": resource_id,
                "meta": {"profile": ["http://medcomfhir.dk/ig/messaging/StructureDefinition/"
                                     "medcom-messaging-organization"]},
                "identifier": ids, "name": self.name}

    @property
    def address(self) -> str:
        if self.endpoint:
            return self.endpoint
        if self.sor:
            return codes.SOR_URL_PREFIX + self.sor
        return f"urn:samhand:her:{self.her_id}"

    @classmethod
    def from_resource(cls, org: dict[str, Any] | None, endpoint: str = "") -> Party:
        ids = identifiers(org)
        return cls(name=str((org or {}).get("name") or ""), sor=ids.get(codes.SOR, ""),
                   gln=ids.get(codes.GLN, ""), her_id=ids.get(codes.HER_ID, ""),
                   endpoint=endpoint)


def _narrative(text: str) -> dict[str, str]:
    from html import escape

    return {"status": "generated",
            "div": f'<div xmlns="http://www.w3.org/1999/xhtml"><p>{escape(text)}</p></div>'}


def provenance(*, header_id: str, activity: str, agent_ref: str, at: str,
               preceding_header_id: str = "", entities: Iterable[dict[str, Any]] = (),
               activity_system: str = codes.ACTIVITY_SYSTEM) -> dict[str, Any]:
    prov: dict[str, Any] = {
        "resourceType": "Provenance", "id": new_id(),
        "target": [{"reference": f"MessageHeader/{header_id}"}],
        "occurredDateTime": at, "recorded": at,
        "activity": {"coding": [{"system": activity_system, "code": activity}]},
        "agent": [{"who": {"reference": agent_ref}}],
    }
    entity = []
    if preceding_header_id:
        entity.append({"role": "revision",
                       "what": {"reference": f"MessageHeader/{preceding_header_id}"}})
    entity.extend(entities)
    if entity:
        prov["entity"] = entity
    return prov


def build_message(*, event: str, sender: Party, receiver: Party, focus: dict[str, Any],
                  resources: Iterable[dict[str, Any]] = (), activity: str = Activity.NEW,
                  header_id: str | None = None, bundle_id: str | None = None,
                  now: dt.datetime | None = None, history: Iterable[dict[str, Any]] = (),
                  preceding_header_id: str = "", provenance_entities: Iterable[dict[str, Any]] = (),
                  header_extensions: Iterable[dict[str, Any]] = (),
                  sender_id: str | None = None, receiver_id: str | None = None,
                  summary: str = "") -> dict[str, Any]:
    """A complete message Bundle: header first, organisations, focus and other resources,
    the earlier messages' Provenances (`history`) and this message's Provenance."""
    header_id = header_id or new_id()
    at = fhir_now(now)
    sender_id = sender_id or new_id()
    receiver_id = receiver_id or new_id()
    header: dict[str, Any] = {
        "resourceType": "MessageHeader", "id": header_id,
        "text": _narrative(summary or event),
        "eventCoding": {"system": codes.event_system(event), "code": event},
        "destination": [{
            "extension": [{"url": codes.DESTINATION_USE_URL,
                           "valueCoding": {"system": codes.DESTINATION_USE_SYSTEM,
                                           "code": "primary"}}],
            "endpoint": receiver.address,
            "receiver": {"reference": f"Organization/{receiver_id}"},
        }],
        "sender": {"reference": f"Organization/{sender_id}"},
        "source": {"endpoint": sender.address},
        "focus": [{"reference": f"{focus['resourceType']}/{focus['id']}"}],
    }
    extensions = list(header_extensions)
    if extensions:
        header["extension"] = extensions
    if event == Event.CARE_COMMUNICATION:
        header["definition"] = codes.CARE_COMMUNICATION_DEFINITION
    activity_system = (codes.SAMHAND_ACTIVITY_SYSTEM
                       if activity not in {a.value for a in Activity} else codes.ACTIVITY_SYSTEM)
    own = provenance(header_id=header_id, activity=activity,
                     agent_ref=f"Organization/{sender_id}", at=at,
                     preceding_header_id=preceding_header_id, entities=provenance_entities,
                     activity_system=activity_system)
    entries = [header, sender.resource(sender_id), receiver.resource(receiver_id), focus,
               *resources, *history, own]
    bundle_id = bundle_id or new_id()
    profile = codes.PROFILES.get(event, codes.MESSAGING_MESSAGE_PROFILE)
    return {"resourceType": "Bundle", "id": bundle_id, "meta": {"profile": [profile]},
            "identifier": {"value": bundle_id}, "type": "message", "timestamp": at,
            "entry": [{"fullUrl": f"{r['resourceType']}/{r['id']}", "resource": r}
                      for r in entries]}


def restamp(bundle: dict[str, Any], now: dt.datetime | None = None) -> dict[str, Any]:
    """The same message for a new transmission: new Bundle.id and timestamp, the same
    MessageHeader.id and content (MedCom MR7)."""
    out = dict(bundle)
    out["id"] = new_id()
    out["identifier"] = {"value": out["id"]}
    out["timestamp"] = fhir_now(now)
    return out


def history_of(message: Message) -> list[dict[str, Any]]:
    """The Provenance chain of a received message, for a message that follows it."""
    return [prov for _i, prov in message.provenances()]


def build_ack(*, code: str, acked_header_id: str, acked_activity: str,
              original_sender: Party, us: Party, problems: Iterable[Problem] = (),
              ack_header_id: str | None = None, now: dt.datetime | None = None,
              acked_at: str = "") -> dict[str, Any]:
    """A MedCom Acknowledgement: response.identifier = the acknowledged header's id,
    an OperationOutcome unless ok, and exactly two Provenances (the acknowledged
    message's activity, and `acknowledgement`)."""
    ack_header_id = ack_header_id or new_id()
    at = fhir_now(now)
    us_id, them_id = new_id(), new_id()
    problems = list(problems)
    header: dict[str, Any] = {
        "resourceType": "MessageHeader", "id": ack_header_id,
        "text": _narrative(f"Acknowledgement ({code}) of message {acked_header_id}"),
        "eventCoding": {"system": codes.EVENT_SYSTEM, "code": Event.ACKNOWLEDGEMENT},
        "destination": [{
            "extension": [{"url": codes.DESTINATION_USE_URL,
                           "valueCoding": {"system": codes.DESTINATION_USE_SYSTEM,
                                           "code": "primary"}}],
            "endpoint": original_sender.address,
            "receiver": {"reference": f"Organization/{them_id}"},
        }],
        "sender": {"reference": f"Organization/{us_id}"},
        "source": {"endpoint": us.address},
        "response": {"identifier": acked_header_id, "code": code},
    }
    resources: list[dict[str, Any]] = [header, us.resource(us_id),
                                       original_sender.resource(them_id)]
    if code != AckCode.OK or problems:
        outcome_id = new_id()
        header["response"]["details"] = {"reference": f"OperationOutcome/{outcome_id}"}
        resources.append(operation_outcome(problems, outcome_id))
    resources.append(provenance(header_id=acked_header_id, activity=acked_activity or
                                Activity.NEW, agent_ref=f"Organization/{them_id}",
                                at=acked_at or at))
    resources.append(provenance(header_id=ack_header_id, activity=Activity.ACKNOWLEDGEMENT,
                                agent_ref=f"Organization/{us_id}", at=at,
                                preceding_header_id=acked_header_id))
    bundle_id = new_id()
    return {"resourceType": "Bundle", "id": bundle_id,
            "meta": {"profile": [codes.PROFILES[Event.ACKNOWLEDGEMENT]]},
            "type": "message", "timestamp": at,
            "entry": [{"fullUrl": f"{r['resourceType']}/{r['id']}", "resource": r}
                      for r in resources]}


def operation_outcome(problems: Iterable[Problem], outcome_id: str | None = None,
                      ) -> dict[str, Any]:
    issues = []
    for p in problems:
        issues.append({
            "severity": p.severity, "code": p.issue_type,
            "details": {"coding": [{"system": codes.issue_system(p.code), "code": p.code}],
                        "text": p.text},
            "diagnostics": p.text, "expression": [p.path],
        })
    if not issues:
        issues.append({"severity": "information", "code": "informational",
                       "diagnostics": "ok"})
    out: dict[str, Any] = {"resourceType": "OperationOutcome", "issue": issues}
    if outcome_id:
        out["id"] = outcome_id
    return out


def ack_summary(ack: dict[str, Any]) -> tuple[str, str, list[str]]:
    """(acknowledged header id, response code, issue codes) of an Acknowledgement."""
    m = Message(ack)
    response = m.header.get("response") or {}
    issue_codes: list[str] = []
    details = m.resolve(response.get("details"))
    if details:
        for issue in details[1].get("issue") or []:
            for coding in (issue.get("details") or {}).get("coding") or []:
                issue_codes.append(str(coding.get("code") or ""))
    return str(response.get("identifier") or ""), str(response.get("code") or ""), issue_codes


def dumps(bundle: dict[str, Any]) -> bytes:
    return json.dumps(bundle, ensure_ascii=False, separators=(",", ":")).encode()
