"""Text that JSON allows but no database can store (NUL, half of a surrogate pair),
numbers that are not JSON (NaN) and nesting deeper than Python reads: the message is
refused and named, kept as received for the operator — and the other messages of its
batch are received as if it were not there.

Before, such a message failed the whole batch's COMMIT on PostgreSQL: every message of
the batch was answered transient-error, again on every resend, and a watched folder
never got past it."""

from __future__ import annotations

from typing import Any

import pytest

from samhand.messaging import bundle as fhirmsg
from samhand.messaging.models import CareMessage, InboundMessage, Transmission
from samhand.messaging.receive import receive_many
from samhand.messaging.tests.test_receive_batch import _parties, _patient
from samhand.messaging.tests.test_receive_batch_care import _care

pytestmark = pytest.mark.django_db


def _batch(world: Any, n: int = 4) -> list[bytes]:
    us, them = _parties(world)
    return [_care(us, them, _patient(world, f"{i + 1:02d}01471234"), f"Melding {i}")
            for i in range(n)]


def _with(raw: bytes, old: bytes, new: bytes) -> bytes:
    assert old in raw
    return raw.replace(old, new, 1)


def _answers(replies: list[Any]) -> list[str]:
    return [str(r.ack_code) if r.status == 200 else str(r.status) for r in replies]


@pytest.mark.parametrize(("escape", "name"), [(rb"\u0000", "NUL"),
                                              (rb"\udc00", "half of a surrogate pair"),
                                              (rb"\uD83D", "the first half alone")])
def test_a_text_no_database_stores_is_refused_by_name_and_the_batch_goes_on(world, escape, name):
    batch = _batch(world)
    batch[1] = _with(batch[1], b"Melding 1", b"Melding " + escape + b" 1")

    replies = receive_many(batch)

    assert _answers(replies) == ["ok", "fatal-error", "ok", "ok"], name
    path = "Bundle.entry[3].resource.payload[0].contentString"
    assert (path, "MSG_Datatype_Wrong") in [(p.path, p.code) for p in replies[1].problems]
    assert {p.path for p in replies[1].problems} == {path}
    assert CareMessage.objects.count() == 3
    refused = InboundMessage.objects.get(status=InboundMessage.Status.REJECTED)
    texts = [p["contentString"] for p in refused.content["entry"][3]["resource"]["payload"]]
    assert texts == ["Melding \ufffd 1"]  # what can be kept; the bytes are kept as received
    kept = Transmission.objects.get(outcome=Transmission.Outcome.REJECTED)
    assert bytes(kept.raw) == batch[1]
    # The same bytes again: the first answer, nothing applied twice.
    again = receive_many([batch[1]])[0]
    assert (again.outcome, fhirmsg.ack_summary(again.body)) == (
        "duplicate", fhirmsg.ack_summary(replies[1].body))


def test_a_nul_in_the_message_header_id_is_refused_and_its_resend_is_a_duplicate(world):
    batch = _batch(world, 2)
    header_id = fhirmsg.parse(batch[0]).header_id
    batch[0] = _with(batch[0], b'"id":"' + header_id.encode() + b'"',
                     b'"id":"' + header_id.encode() + rb'\u0000"')

    first = receive_many(batch)
    again = receive_many([batch[0]])

    assert _answers(first) == ["fatal-error", "ok"]
    assert "Bundle.entry[0].resource.id" in {p.path for p in first[0].problems}
    assert again[0].outcome == "duplicate"
    assert InboundMessage.objects.filter(header_id=header_id + "\ufffd").count() == 1


def test_an_escaped_backslash_before_u0000_is_ordinary_text(world):
    batch = _batch(world, 1)
    batch[0] = _with(batch[0], b"Melding 0", rb"Melding \\u0000 0")

    assert _answers(receive_many(batch)) == ["ok"]
    segments = CareMessage.objects.get().segments
    assert segments[0]["text"] == "Melding \\u0000 0"


@pytest.mark.parametrize("constant", [b"NaN", b"Infinity", b"-Infinity"])
def test_a_number_that_is_not_json_is_unreadable_and_kept(world, constant):
    batch = _batch(world, 2)
    batch[0] = _with(batch[0], b'"value":"1"', b'"value":"1","rank":' + constant)

    replies = receive_many(batch)

    assert _answers(replies) == ["400", "ok"]
    assert replies[0].problems[0].code == "MSG_CANT_PARSE_CONTENT"
    assert f"{constant.decode().lstrip('-')} is not a JSON number" in replies[0].problems[0].text
    kept = Transmission.objects.get(outcome=Transmission.Outcome.UNREADABLE)
    assert bytes(kept.raw) == batch[0]


def _nested(raw: bytes, depth: int) -> bytes:
    extensions = (b'"extension":[' + b'{"url":"http://x","extension":[' * depth
                  + b'{"url":"http://x","valueString":"y"}' + b"]}" * depth + b"],")
    return _with(raw, b'"status":"unknown"', extensions + b'"status":"unknown"')


@pytest.mark.parametrize("depth", [300, 700, 100_000])
def test_a_message_nested_too_deeply_is_refused_and_the_batch_goes_on(world, depth):
    """Python's JSON reader and the FHIR validation stop at some depth with a
    RecursionError: before, that escaped the receiver (HTTP 500, the folder worker's
    round failing on the same file for ever)."""
    batch = _batch(world, 3)
    batch[1] = _nested(batch[1], depth)

    replies = receive_many(batch)

    assert _answers(replies)[::2] == ["ok", "ok"]
    assert _answers(replies)[1] in ("fatal-error", "400")
    assert replies[1].problems and replies[1].problems[0].path == "Bundle"
    kept = Transmission.objects.exclude(outcome=Transmission.Outcome.PROCESSED).get()
    assert bytes(kept.raw) == batch[1]


def test_a_nested_extension_a_sender_may_use_is_received(world):
    batch = _batch(world, 1)
    batch[0] = _nested(batch[0], 20)
    assert _answers(receive_many(batch)) == ["ok"]
