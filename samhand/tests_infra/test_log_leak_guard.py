"""The suite-wide guard against identifiers in logs (security.md #23) sees what it must."""

from __future__ import annotations

import logging

import pytest

from samhand.lib.testing.leaks import find_identifiers
from samhand.lib.testing.pytest_plugin import LogLeakGuard

logger = logging.getLogger("samhand.tests_infra")


@pytest.mark.parametrize("text", [
    "opened 14036112345",          # fødselsnummer shape
    "opened 140361 12345",         # with a space
    "opened 54036112345",          # D-number: day + 40
    "opened 14436112345",          # H-number: month + 40
    "opened 14836112345",          # synthetic test number: month + 80
    "CPR 140361-1234 looked up",   # Danish CPR
    "id=14036112345&x=1",          # in a query string
])
def test_identifier_shapes_are_found(text: str) -> None:
    assert find_identifiers(text)


@pytest.mark.parametrize("text", [
    "patient 7d1c4a2e-9b0f-4c3e-8a11-446655440000 opened",  # UUID
    "hash 3f5a14036112345bd9",      # inside a hex string
    "at 1764057600123 ms",          # 13-digit timestamp
    "org 983974899, phone 40000001, HPR 1000004",
    "date 2026-11-25 12:00:00",
    "99999999999",                  # no date
    "2026-1125",
])
def test_harmless_numbers_are_not_reported(text: str) -> None:
    assert find_identifiers(text) == []


def test_found_identifiers_are_masked_in_the_report() -> None:
    (leak,) = find_identifiers("x 14036112345")

    assert "14036112345" not in str(leak)
    assert leak.masked.startswith("14")


def test_marker_strings_are_found() -> None:
    assert find_identifiers("note: KLINISK-MARKOR-17 ...", ["KLINISK-MARKOR-17"])


@pytest.mark.allow_identifiers_in_logs  # the suite-wide guard would catch it too
def test_guard_collects_log_records_with_their_exceptions() -> None:
    guard = LogLeakGuard()
    logger.addHandler(guard)
    try:
        try:
            raise ValueError("bad id 14036112345")
        except ValueError:
            logger.exception("lookup failed")
    finally:
        logger.removeHandler(guard)

    with pytest.raises(AssertionError, match="Norwegian national id"):
        guard.assert_clean()


def test_guard_is_active_in_every_test(log_leak_guard: LogLeakGuard) -> None:
    logger.warning("nothing to see")

    assert any("nothing to see" in text for _, text in log_leak_guard.texts)
    assert log_leak_guard.leaks() == []


@pytest.mark.allow_identifiers_in_logs
def test_a_test_may_log_an_identifier_when_it_says_so() -> None:
    logger.warning("deliberately logged 14036112345")
