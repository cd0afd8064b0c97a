"""The patient's access log: who looked, when, from where, on what basis (#28)."""

import contextlib
from dataclasses import asdict

import pytest
from django.db import connection
from django.http import Http404
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from samhand.access import policy
from samhand.audit.access_log import access_log_for
from samhand.audit.models import AuditEvent
from samhand.audit.services import Actor, record

from .conftest import request_as

REASON_TEXT = "Naboen ringte, pasienten puster tungt og er alene"


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def test_a_nurses_read_appears_in_the_patients_log(world):
    policy.get_patient_for(request_as(world.home_nurse_a), world.patient_a.pk)
    [entry] = access_log_for(world.patient_a)
    assert entry.person == "Hanne Hjem"
    assert entry.role == "Nurse"
    assert entry.organisation == "Hjemmesykepleien Fjordby sentrum"
    assert entry.basis == "Part of your care team (Hjemmesykepleien Fjordby sentrum)"
    assert entry.what == "Opened the patient record"
    assert not entry.denied and not entry.emergency
    assert entry.at == AuditEvent.objects.get().recorded_at


def test_role_and_profession_are_both_shown_when_they_differ(world):
    policy.get_patient_for(request_as(world.coordinator_a), world.patient_a.pk)
    policy.get_patient_for(request_as(world.gp_a), world.patient_a.pk)
    gp, coordinator = access_log_for(world.patient_a)
    assert coordinator.role == "Coordinator (Nurse)"
    assert gp.role == "GP (Doctor)"


def test_emergency_access_is_flagged_with_its_reason_and_never_the_free_text(world):
    outsider = request_as(world.home_nurse_b)
    policy.start_emergency_access(outsider, world.patient_a, reason_code="unreachable",
                                  reason_text=REASON_TEXT)
    policy.get_patient_for(outsider, world.patient_a.pk)
    read, started = access_log_for(world.patient_a)
    assert started.what == "Started emergency access to the record"
    assert read.what == "Opened the patient record"
    for entry in (started, read):
        assert entry.emergency
        assert entry.basis == "Emergency access: The care team cannot be reached"
        assert entry.person == "Bjørn Berg"
        assert entry.organisation == "Hjemmesykepleien Nesvik"
        assert REASON_TEXT not in str(asdict(entry))


def test_the_reason_is_found_even_when_the_start_row_is_beyond_the_page(world):
    outsider = request_as(world.home_nurse_b)
    policy.start_emergency_access(outsider, world.patient_a, reason_code="acute",
                                  reason_text=REASON_TEXT)
    for _ in range(3):
        policy.get_patient_for(outsider, world.patient_a.pk)
    entries = access_log_for(world.patient_a, limit=2)
    assert [e.basis for e in entries] == ["Emergency access: Acute treatment: the patient "
                                          "needs help now"] * 2


def test_denied_attempts_are_shown_and_flagged(world):
    with pytest.raises(Http404):
        policy.get_patient_for(request_as(world.home_nurse_b), world.patient_a.pk)
    [entry] = access_log_for(world.patient_a)
    assert entry.denied
    assert entry.person == "Bjørn Berg"
    assert entry.basis == "No access: the attempt was refused"


def test_another_patients_log_shows_none_of_it(world):
    policy.get_patient_for(request_as(world.home_nurse_a), world.patient_a.pk)
    with contextlib.suppress(Http404):
        policy.get_patient_for(request_as(world.home_nurse_b), world.patient_a.pk)
    assert access_log_for(world.patient_b) == []


def test_a_relatives_access_shows_the_delegation(world):
    policy.get_patient_for(request_as(world.relative_a), world.patient_a.pk, scope="contacts")
    [entry] = access_log_for(world.patient_a)
    assert entry.person == "Rolf Aasen"
    assert entry.role == "Relative"
    assert entry.basis == "Authorised by you (delegation)"


def test_disclosure_by_message_names_the_recipient(world):
    record(Actor(user=world.ltmv_nurse, role="nurse", organisation=world.pulm),
           "samhand.message.sent", AuditEvent.Action.READ, patient_id=world.patient_a.pk,
           basis=AuditEvent.Basis.DISCLOSURE, recipient=world.hn_a)
    [entry] = access_log_for(world.patient_a)
    assert entry.basis == "Disclosure by message to Hjemmesykepleien Fjordby sentrum"
    assert entry.what == "Sent a message with information about the patient"


def test_system_work_and_list_appearances_are_shown_but_own_reads_are_not(world):
    policy.audit_list(request_as(world.consultant), "samhand.patient.list",
                      [world.patient_a, world.patient_b])
    record(None, "samhand.emergency.expired", AuditEvent.Action.EXECUTE,
           patient_id=world.patient_a.pk, basis=AuditEvent.Basis.SYSTEM)
    record(Actor(user=world.relative_a), "samhand.patient.read", AuditEvent.Action.READ,
           patient_id=world.patient_a.pk, basis=AuditEvent.Basis.OWN_RECORD)
    system, listed = access_log_for(world.patient_a)
    assert system.person == "samhand (automatic)"
    assert system.basis == "Automatic processing in samhand"
    assert listed.what == "Saw the patient in a patient list"
    assert listed.person == "Kari Krogh"


def test_unknown_codes_get_a_plain_sentence_from_the_action(world):
    record(Actor(user=world.gp_a), "samhand.thing.frobbed", AuditEvent.Action.UPDATE,
           patient_id=world.patient_a.pk)
    assert access_log_for(world.patient_a)[0].what == "Changed information"


def test_newest_first_with_a_cursor_for_older_entries(world):
    nurse = request_as(world.home_nurse_a)
    for _ in range(5):
        policy.get_patient_for(nurse, world.patient_a.pk)
    first_page = access_log_for(world.patient_a, limit=3)
    assert [e.seq for e in first_page] == [5, 4, 3]
    second_page = access_log_for(world.patient_a, limit=3, before_seq=first_page[-1].seq)
    assert [e.seq for e in second_page] == [2, 1]


def test_the_log_costs_a_constant_number_of_queries(world):
    nurse, outsider = request_as(world.home_nurse_a), request_as(world.home_nurse_b)
    policy.start_emergency_access(outsider, world.patient_a, reason_code="acute",
                                  reason_text=REASON_TEXT)
    for _ in range(10):
        policy.get_patient_for(nurse, world.patient_a.pk)
        policy.get_patient_for(outsider, world.patient_a.pk)
    with CaptureQueriesContext(connection) as queries:
        entries = access_log_for(world.patient_a, limit=50)
    assert len(entries) == 21
    assert len(queries) <= 2
    assert all("reason_text" not in q["sql"] for q in queries.captured_queries)


def test_entries_hold_plain_translated_strings_not_lazy_ones(world):
    policy.get_patient_for(request_as(world.home_nurse_a), world.patient_a.pk)
    with translation.override("nb"):
        entry = access_log_for(world.patient_a)[0]
    assert type(entry.what) is str and type(entry.role) is str and type(entry.basis) is str
