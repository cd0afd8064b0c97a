"""Find national identifiers in text: logs, URLs, error reports (security.md #23).

Shapes looked for, each standing alone (no letter or digit on either side, so hashes,
UUIDs and timestamps do not match):
- Norwegian fødselsnummer, D-number, H-number and synthetic test numbers: 11 digits
  (an optional space after the sixth) whose first six read as a date, with D-numbers'
  day + 40, H-numbers' month + 40 and synthetic numbers' month + 80. Control digits are
  not checked: a mistyped number is still somebody's number.
- Danish CPR: DDMMYY-XXXX with a real date.

`find_identifiers` also reports any of the caller's marker strings (e.g. clinical free
text planted in a test) found in the text.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass

NO_ID = re.compile(r"(?<![0-9A-Za-z])(\d{6}) ?(\d{5})(?![0-9A-Za-z])")
CPR = re.compile(r"(?<![0-9A-Za-z])(\d{6})-(\d{4})(?![0-9A-Za-z])")


@dataclass(frozen=True)
class Leak:
    kind: str
    masked: str

    def __str__(self) -> str:
        return f"{self.kind} {self.masked}"


def _is_date(day: int, month: int, year2: int) -> bool:
    for century in (1900, 2000):
        try:
            dt.date(century + year2, month, day)
        except ValueError:
            continue
        return True
    return False


def _norwegian_date(digits: str) -> bool:
    day, month, year = int(digits[0:2]), int(digits[2:4]), int(digits[4:6])
    if day > 40:
        day -= 40  # D-number
    if month > 80:
        month -= 80  # synthetic test number (Tenor)
    elif month > 40:
        month -= 40  # H-number
    return _is_date(day, month, year)


def _mask(text: str) -> str:
    return text[:2] + "*" * (len(text) - 2)


def find_identifiers(text: str, markers: Iterable[str] = ()) -> list[Leak]:
    leaks: list[Leak] = []
    for match in NO_ID.finditer(text):
        if _norwegian_date(match.group(1)):
            leaks.append(Leak("Norwegian national id", _mask(match.group(0))))
    for match in CPR.finditer(text):
        digits = match.group(1)
        if _is_date(int(digits[0:2]), int(digits[2:4]), int(digits[4:6])):
            leaks.append(Leak("Danish CPR number", _mask(match.group(0))))
    for marker in markers:
        if marker and marker in text:
            leaks.append(Leak("marker string", _mask(marker)))
    return leaks
