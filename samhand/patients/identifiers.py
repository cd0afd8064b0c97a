"""National person identifiers: Norwegian fødselsnummer, D-number, H-number and
felles hjelpenummer, synthetic test identities, and Danish CPR.

Pure functions, no Django models. Rules from ../shared/standards.md §C:

* FNR/D-number: 11 digits, two mod-11 control digits. From 2032 the remainder of the
  first control sum (k1) may be 0, 1, 2 or 3; the second (k2) must still leave 0
  (Skatteetaten, "Nytt fødselsnummer fra 2032"). Both schemes are accepted. Sex and
  birth date are never derived: the register is asked for those.
* D-number: 4 added to the first digit (day + 40).
* H-number (month + 40) and synthetic test persons (Tenor: month + 80) are accepted
  only when the caller allows them.
* CPR: 10 digits DDMMYY-SSSS (the dash optional), validated for format and date only
  (no mod-11 since 2007).
* Only ASCII digits count: other Unicode digits ("²", "٣") are refused as a format error.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from enum import StrEnum

from django.utils.translation import gettext_lazy as _

K1_WEIGHTS = (3, 7, 6, 1, 8, 9, 4, 5, 2, 1)
K2_WEIGHTS = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2, 1)
# Remainders the first control sum (k1) may leave: today only 0; from 2032 also 1, 2, 3.
# The second control sum (k2) must leave 0 in both schemes.
ALLOWED_REMAINDERS = frozenset({0, 1, 2, 3})

_NORWEGIAN_RE = re.compile(r"[0-9]{11}")
_CPR_RE = re.compile(r"([0-9]{6})-?([0-9]{4})")


class IdKind(StrEnum):
    FNR = "fnr"
    DNR = "dnr"
    HNR = "hnr"
    TEST = "test"
    CPR = "cpr"


SYSTEMS: dict[IdKind, str] = {
    IdKind.FNR: "urn:oid:2.16.578.1.12.4.1.4.1",
    IdKind.DNR: "urn:oid:2.16.578.1.12.4.1.4.2",
    IdKind.HNR: "urn:oid:2.16.578.1.12.4.1.4.3",
    IdKind.TEST: "urn:oid:2.16.578.1.12.4.1.4.1",
    IdKind.CPR: "urn:oid:1.2.208.176.1.2",
}
KIND_BY_SYSTEM = {
    "urn:oid:2.16.578.1.12.4.1.4.1": IdKind.FNR,
    "http://hl7.no/fhir/NamingSystem/FNR": IdKind.FNR,
    "urn:oid:2.16.578.1.12.4.1.4.2": IdKind.DNR,
    "http://hl7.no/fhir/NamingSystem/DNR": IdKind.DNR,
    "urn:oid:2.16.578.1.12.4.1.4.3": IdKind.HNR,
    "urn:oid:1.2.208.176.1.2": IdKind.CPR,
}


class InvalidIdentifier(ValueError):
    """The value is not a valid national identifier; `message` is translatable."""

    def __init__(self, message: object, code: str) -> None:
        super().__init__(str(message))
        self.message = message
        self.code = code


@dataclass(frozen=True)
class NationalId:
    kind: IdKind
    value: str  # digits only, normalised

    @property
    def system(self) -> str:
        return SYSTEMS[self.kind]

    @property
    def country(self) -> str:
        return "DK" if self.kind == IdKind.CPR else "NO"

    def masked(self) -> str:
        """For screens that must show that a number exists: first 6 digits, the rest hidden."""
        return self.value[:6] + "*" * (len(self.value) - 6)


def _remainders(digits: str) -> tuple[int, int]:
    nums = [int(c) for c in digits]
    r1 = sum(w * n for w, n in zip(K1_WEIGHTS, nums[:10], strict=True)) % 11
    r2 = sum(w * n for w, n in zip(K2_WEIGHTS, nums[:11], strict=True)) % 11
    return r1, r2


def control_digits_ok(digits: str) -> bool:
    """The control digits satisfy the classic or the 2032 scheme: the k1 sum leaves
    0, 1, 2 or 3, the k2 sum leaves 0."""
    r1, r2 = _remainders(digits)
    return r1 in ALLOWED_REMAINDERS and r2 == 0


def control_digits_classic(digits: str) -> bool:
    """The scheme in force before 2032: both remainders must be exactly 0."""
    return _remainders(digits) == (0, 0)


def _date_exists(day: int, month: int, yy: int) -> bool:
    # The century is not known without the register; a date valid in a leap year
    # (29 February) exists in some century, so try 2000 and 1900.
    for century in (2000, 1900):
        try:
            dt.date(century + yy, month, day)
            return True
        except ValueError:
            continue
    return False


def parse_norwegian(value: str, *, allow_test: bool = False,
                    allow_help: bool = False) -> NationalId:
    digits = value.replace(" ", "")
    if not _NORWEGIAN_RE.fullmatch(digits):
        raise InvalidIdentifier(_("A Norwegian national identity number has 11 digits."),
                                "format")
    day, month, yy = int(digits[0:2]), int(digits[2:4]), int(digits[4:6])
    kind = IdKind.FNR
    if day > 40:
        kind = IdKind.DNR
        day -= 40
    if month > 80:
        if not allow_test:
            raise InvalidIdentifier(_("Synthetic test numbers are not accepted here."),
                                    "test_not_allowed")
        kind = IdKind.TEST
        month -= 80
    elif month > 40:
        if not allow_help:
            raise InvalidIdentifier(_("H-numbers are not accepted here."), "help_not_allowed")
        kind = IdKind.HNR
        month -= 40
    if not _date_exists(day, month, yy):
        raise InvalidIdentifier(_("The number does not start with a valid date."), "date")
    if not control_digits_ok(digits):
        raise InvalidIdentifier(_("The control digits of the number are wrong."), "check")
    return NationalId(kind, digits)


def parse_cpr(value: str) -> NationalId:
    match = _CPR_RE.fullmatch(value.replace(" ", ""))
    if match is None:
        raise InvalidIdentifier(_("A Danish CPR number has 10 digits (DDMMYY-SSSS)."), "format")
    digits = match.group(1) + match.group(2)
    if not _date_exists(int(digits[0:2]), int(digits[2:4]), int(digits[4:6])):
        raise InvalidIdentifier(_("The number does not start with a valid date."), "date")
    return NationalId(IdKind.CPR, digits)


def parse_national_id(value: str, *, country: str | None = None, allow_test: bool = False,
                      allow_help: bool = False) -> NationalId:
    """Parse a Norwegian or Danish identifier. With no country, the length decides."""
    cleaned = value.strip().replace(" ", "")
    if country == "DK" or (country is None and len(cleaned.replace("-", "")) == 10):
        return parse_cpr(cleaned)
    return parse_norwegian(cleaned, allow_test=allow_test, allow_help=allow_help)


def with_control_digits(first9: str) -> str | None:
    """Append the two classic control digits to 9 digits; None if the number is unusable."""
    nums = [int(c) for c in first9]
    k1 = 11 - sum(w * n for w, n in zip(K1_WEIGHTS[:9], nums, strict=True)) % 11
    k1 = 0 if k1 == 11 else k1
    if k1 == 10:
        return None
    nums.append(k1)
    k2 = 11 - sum(w * n for w, n in zip(K2_WEIGHTS[:10], nums, strict=True)) % 11
    k2 = 0 if k2 == 11 else k2
    if k2 == 10:
        return None
    return first9 + str(k1) + str(k2)


def synthetic_fnr(birth: dt.date, serial: int, *, test: bool = True) -> str | None:
    """A synthetic Norwegian number (month + 80 when `test`) for demo and generated data.

    `serial` picks the individual number (000-999); None when that serial has no valid
    control digits, so callers try the next one.
    """
    month = birth.month + (80 if test else 0)
    first9 = f"{birth.day:02d}{month:02d}{birth.year % 100:02d}{serial % 1000:03d}"
    return with_control_digits(first9)
