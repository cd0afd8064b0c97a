"""National identifiers (standards.md §C): boundary cases and properties.

The tests compute control digits with their own implementation of the published
algorithm (fnrinfo.no, Skatteetaten) instead of calling the code under test, so a
shared mistake cannot make both agree.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import inspect

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from samhand.patients import identifiers
from samhand.patients.identifiers import (
    IdKind,
    InvalidIdentifier,
    NationalId,
    control_digits_classic,
    control_digits_ok,
    parse_cpr,
    parse_national_id,
    parse_norwegian,
    synthetic_fnr,
    with_control_digits,
)

BOUNDED = settings(max_examples=200, deadline=None,
                   suppress_health_check=[HealthCheck.too_slow])

W1 = (3, 7, 6, 1, 8, 9, 4, 5, 2)
W2 = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)


def _k(weights: tuple[int, ...], digits: str, rest: int = 0) -> int | None:
    """One control digit by hand: k = 11 - (sum mod 11) (+ rest for the 2032 scheme)."""
    total = sum(w * int(d) for w, d in zip(weights, digits, strict=True))
    k = (11 - total % 11 + rest) % 11
    return None if k == 10 else k


def complete(first9: str, rest: int = 0) -> str | None:
    """Append k1 (for remainder `rest`) and k2, or None when a digit would be 10."""
    k1 = _k(W1, first9, rest)
    if k1 is None:
        return None
    k2 = _k(W2, first9 + str(k1))
    return None if k2 is None else first9 + str(k1) + str(k2)


def first_valid(prefix6: str, rest: int = 0) -> str:
    for serial in range(1000):
        number = complete(f"{prefix6}{serial:03d}", rest)
        if number is not None:
            return number
    raise AssertionError(prefix6)


def parse_all(value: str) -> NationalId:
    return parse_national_id(value, allow_test=True, allow_help=True)


# --------------------------------------------------------------------------- examples

def test_published_example_from_fnrinfo_is_valid():
    # fnrinfo.no works the example 311299567xx by hand: k1 = 1, k2 = 5.
    assert complete("311299567") == "31129956715"
    ident = parse_norwegian("31129956715")
    assert ident == NationalId(IdKind.FNR, "31129956715")
    assert ident.system == "urn:oid:2.16.578.1.12.4.1.4.1"
    assert ident.country == "NO"


def test_published_h_number_and_test_number_examples_are_valid_when_allowed():
    # The examples in NAV's fnrvalidator README (H-number month 52, Tenor month 91).
    assert parse_norwegian("13527248013", allow_help=True).kind == IdKind.HNR
    assert parse_norwegian("10915596784", allow_test=True).kind == IdKind.TEST


def test_h_number_refused_unless_allowed():
    with pytest.raises(InvalidIdentifier) as exc:
        parse_norwegian("13527248013")
    assert exc.value.code == "help_not_allowed"


def test_test_number_refused_unless_allowed():
    with pytest.raises(InvalidIdentifier) as exc:
        parse_norwegian("10915596784")
    assert exc.value.code == "test_not_allowed"


def test_h_number_system_is_felles_hjelpenummer():
    assert parse_norwegian("13527248013", allow_help=True).system == \
        "urn:oid:2.16.578.1.12.4.1.4.3"


def test_d_number_adds_forty_to_the_day():
    number = first_valid("711299")  # 31 + 40
    ident = parse_norwegian(number)
    assert ident.kind == IdKind.DNR
    assert ident.system == "urn:oid:2.16.578.1.12.4.1.4.2"


def test_d_number_test_person_is_accepted_as_test_number():
    number = first_valid("418170")  # D-number (day 1 + 40) of a Tenor person (month 1 + 80)
    assert parse_norwegian(number, allow_test=True).kind == IdKind.TEST
    with pytest.raises(InvalidIdentifier):
        parse_norwegian(number)


@pytest.mark.parametrize("rest", [1, 2, 3])
def test_numbers_of_the_2032_scheme_are_accepted_now(rest):
    number = first_valid("010150", rest)
    assert not control_digits_classic(number)
    assert control_digits_ok(number)
    assert parse_norwegian(number).value == number


def test_k1_remainder_four_is_refused():
    number = first_valid("010150", 4)
    with pytest.raises(InvalidIdentifier) as exc:
        parse_norwegian(number)
    assert exc.value.code == "check"


@pytest.mark.parametrize("rest", [1, 2, 3])
def test_the_2032_scheme_does_not_relax_k2(rest):
    """Skatteetaten relaxes only the k1 remainder; the k2 sum must still leave 0."""
    number = next(n for s in range(1000) if (n := complete(f"010150{s:03d}"))
                  and int(n[10]) + rest <= 9)
    wrong = number[:10] + str(int(number[10]) + rest)  # the k2 sum now leaves `rest`
    assert sum(w * int(d) for w, d in zip((*W2, 1), wrong, strict=True)) % 11 == rest
    with pytest.raises(InvalidIdentifier) as exc:
        parse_norwegian(wrong)
    assert exc.value.code == "check"


def test_every_k2_but_the_right_one_is_refused():
    number = first_valid("150575")
    for digit in "0123456789":
        candidate = number[:10] + digit
        if candidate == number:
            assert parse_norwegian(candidate).value == number
        else:
            with pytest.raises(InvalidIdentifier):
                parse_norwegian(candidate)


def test_synthetic_fnr_builds_valid_test_numbers():
    number = next(n for s in range(100) if (n := synthetic_fnr(dt.date(1961, 3, 14), s)))
    assert number[2:4] == "83"
    assert parse_norwegian(number, allow_test=True).kind == IdKind.TEST


# --------------------------------------------------------------------------- boundaries

@pytest.mark.parametrize(("prefix", "ok"), [
    ("310199", True), ("320199", False), ("000199", False),
    ("300499", True), ("310499", False),
    ("011299", True), ("011399", False), ("010099", False),
])
def test_day_and_month_boundaries_of_a_birth_number(prefix, ok):
    number = first_valid(prefix)
    if ok:
        assert parse_norwegian(number).kind == IdKind.FNR
    else:
        with pytest.raises(InvalidIdentifier) as exc:
            parse_norwegian(number)
        assert exc.value.code == "date"


@pytest.mark.parametrize(("prefix", "ok"), [
    ("400199", False),  # day 0 + 40
    ("410199", True),   # day 1
    ("710199", True),   # day 31
    ("720199", False),  # day 32
    ("700299", False),  # 30 February
])
def test_d_number_day_boundaries(prefix, ok):
    number = first_valid(prefix)
    if ok:
        assert parse_norwegian(number).kind == IdKind.DNR
    else:
        with pytest.raises(InvalidIdentifier):
            parse_norwegian(number)


@pytest.mark.parametrize(("month", "kind"), [
    ("40", None), ("41", IdKind.HNR), ("52", IdKind.HNR), ("53", None),
    ("80", None), ("81", IdKind.TEST), ("92", IdKind.TEST), ("93", None),
])
def test_month_boundaries_of_h_and_test_numbers(month, kind):
    number = first_valid(f"01{month}99")
    if kind is None:
        with pytest.raises(InvalidIdentifier):
            parse_norwegian(number, allow_test=True, allow_help=True)
    else:
        assert parse_norwegian(number, allow_test=True, allow_help=True).kind == kind


@pytest.mark.parametrize("month", ["41", "52", "81", "92"])
def test_h_and_test_months_are_refused_by_default(month):
    with pytest.raises(InvalidIdentifier):
        parse_national_id(first_valid(f"01{month}99"))


@pytest.mark.parametrize(("yy", "ok"), [
    ("00", True),   # 2000 was a leap year
    ("04", True), ("96", True),
    ("01", False), ("99", False),
])
def test_29_february_is_valid_when_the_date_exists_in_some_century(yy, ok):
    for prefix in (f"2902{yy}", f"6902{yy}"):  # FNR and D-number
        number = first_valid(prefix)
        if ok:
            assert parse_norwegian(number).value == number
        else:
            with pytest.raises(InvalidIdentifier) as exc:
                parse_norwegian(number)
            assert exc.value.code == "date"


def test_30_february_is_never_valid():
    with pytest.raises(InvalidIdentifier):
        parse_norwegian(first_valid("300200"))


@pytest.mark.parametrize("value", [
    "", "3112995671", "311299567150", "3112995671a", "31129956x15", "abcdefghijk",
    "31-12-99-56715", "311299-56715", "+31129956715", "3112995671.5", "٣١١٢٩٩٥٦٧١٥",
    "³¹¹²⁹⁹⁵⁶⁷¹⁵", "３１１２９９５６７１５",
])
def test_malformed_norwegian_numbers_are_format_errors(value):
    with pytest.raises(InvalidIdentifier) as exc:
        parse_norwegian(value)
    assert exc.value.code == "format"


def test_spaces_are_ignored_and_removed():
    assert parse_national_id(" 311299 56715 ").value == "31129956715"
    assert parse_norwegian("311 299 567 15").value == "31129956715"


def test_ten_digits_are_read_as_cpr_and_twelve_as_nothing():
    assert parse_national_id("3112995671").kind == IdKind.CPR
    with pytest.raises(InvalidIdentifier):
        parse_national_id("311299567150")


# --------------------------------------------------------------------------- CPR

@pytest.mark.parametrize("value", ["070392-1234", "0703921234", "070392 1234", " 070392-1234 "])
def test_cpr_with_or_without_the_dash(value):
    ident = parse_national_id(value, country="DK")
    assert ident == NationalId(IdKind.CPR, "0703921234")
    assert ident.system == "urn:oid:1.2.208.176.1.2"
    assert ident.country == "DK"


def test_cpr_without_country_is_recognised_by_length():
    assert parse_national_id("070392-1234").kind == IdKind.CPR


def test_cpr_is_not_checked_with_mod_11():
    # 010165-xxxx: from 1 October 2007 numbers were issued that fail the old mod-11 rule.
    weights = (4, 3, 2, 7, 6, 5, 4, 3, 2, 1)
    failing = next(f"010165{s:04d}" for s in range(10000)
                   if sum(w * int(d) for w, d in zip(weights, f"010165{s:04d}", strict=True))
                   % 11)
    assert parse_cpr(failing).value == failing


@pytest.mark.parametrize("value", [
    "0703921VJ5",     # replacement CPR: another identifier system
    "07039-21234", "0703-921234", "07-03-92-1234", "070392--1234", "070392-123",
    "070392-12345", "07039212345-", "-0703921234",
])
def test_malformed_cpr_is_a_format_error(value):
    with pytest.raises(InvalidIdentifier) as exc:
        parse_cpr(value)
    assert exc.value.code == "format"


@pytest.mark.parametrize(("value", "ok"), [
    ("310192-1234", True), ("320192-1234", False), ("011292-1234", True),
    ("011392-1234", False), ("000192-1234", False), ("290200-1234", True),
    ("290201-1234", False), ("290296-1234", True), ("300296-1234", False),
])
def test_cpr_date_boundaries(value, ok):
    if ok:
        assert parse_cpr(value).value == value.replace("-", "")
    else:
        with pytest.raises(InvalidIdentifier) as exc:
            parse_cpr(value)
        assert exc.value.code == "date"


# --------------------------------------------------------------------------- no derivation

def test_no_function_derives_sex_or_birth_date():
    forbidden = ("sex", "gender", "kjonn", "kjønn", "birth", "born", "age", "century")
    public = {name: obj for name, obj in vars(identifiers).items()
              if not name.startswith("_") and getattr(obj, "__module__", "") ==
              identifiers.__name__}
    names = list(public) + [n for n in dir(NationalId) if not n.startswith("_")]
    assert not [n for n in names if any(word in n.lower() for word in forbidden)]
    for name, obj in public.items():
        if inspect.isfunction(obj):
            returns = inspect.signature(obj).return_annotation
            assert "date" not in str(returns), name


def test_a_parsed_number_carries_only_kind_and_digits():
    ident = parse_norwegian("31129956715")
    assert {f for f in ident.__dataclass_fields__} == {"kind", "value"}
    assert not any(isinstance(getattr(ident, name), dt.date | bool)
                   for name in dir(ident) if not name.startswith("_")
                   and not callable(getattr(ident, name)))


# --------------------------------------------------------------------------- properties

@st.composite
def valid_prefixes(draw: st.DrawFn) -> str:
    """Nine digits that start with a real date, optionally as D-, H- or test number."""
    day = draw(st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2099, 12, 31)))
    d, m = day.day, day.month
    if draw(st.booleans()):
        d += 40
    m += draw(st.sampled_from([0, 40, 80]))
    serial = draw(st.integers(0, 999))
    return f"{d:02d}{m:02d}{day.year % 100:02d}{serial:03d}"


@BOUNDED
@given(valid_prefixes())
def test_every_number_built_on_a_valid_date_parses(prefix):
    number = with_control_digits(prefix)
    assert number == complete(prefix)  # the code agrees with the hand computation
    assume(number is not None)
    assert number is not None
    ident = parse_all(number)
    assert ident.value == number
    month = int(prefix[2:4])
    assert ident.kind == (IdKind.TEST if month > 80 else IdKind.HNR if month > 40
                          else IdKind.DNR if int(prefix[:2]) > 40 else IdKind.FNR)


@BOUNDED
@given(valid_prefixes(), st.sampled_from([0, 1, 2, 3]))
def test_every_number_of_either_scheme_parses(prefix, rest):
    number = complete(prefix, rest)
    assume(number is not None)
    assert number is not None
    assert parse_all(number).value == number


@BOUNDED
@given(valid_prefixes(), st.sampled_from([0, 1, 2, 3]), st.integers(0, 10), st.integers(1, 9))
def test_changing_any_single_digit_of_a_valid_number_is_caught(prefix, rest, pos, delta):
    """Every k2 weight is non-zero mod 11 and k2 must leave exactly 0 in both schemes,
    so a single changed digit can never pass (whatever the 2032 rule allows for k1)."""
    number = complete(prefix, rest)
    assume(number is not None)
    assert number is not None
    changed = number[:pos] + str((int(number[pos]) + delta) % 10) + number[pos + 1:]
    assert not control_digits_ok(changed)
    assert not control_digits_classic(changed)
    with pytest.raises(InvalidIdentifier):
        parse_all(changed)


@BOUNDED
@given(st.text(max_size=30), st.sampled_from([None, "NO", "DK", "SE", ""]),
       st.booleans(), st.booleans())
@example("²" * 11, None, False, False)  # str.isdigit() is True, int() raises
@example("٣" * 10, None, False, False)  # Arabic-Indic digits
@example("１２３４５６-７８９０", "DK", False, False)
def test_parser_raises_only_invalid_identifier_on_any_text(text, country, test, help_):
    try:
        ident = parse_national_id(text, country=country, allow_test=test, allow_help=help_)
    except InvalidIdentifier as exc:
        assert exc.code in {"format", "date", "check", "test_not_allowed", "help_not_allowed"}
        assert str(exc)
    else:
        assert ident.value.isascii() and ident.value.isdigit()
        assert len(ident.value) in (10, 11)


@BOUNDED
@given(st.text(alphabet="0123456789 -", min_size=9, max_size=14))
def test_parser_raises_only_invalid_identifier_on_digit_soup(text):
    with contextlib.suppress(InvalidIdentifier):
        parse_all(text)


@BOUNDED
@given(st.one_of(
    valid_prefixes().map(lambda p: with_control_digits(p) or ""),
    st.dates(min_value=dt.date(1900, 1, 1)).flatmap(
        lambda d: st.integers(0, 9999).map(lambda s: f"{d:%d%m%y}-{s:04d}")),
    st.text(alphabet="0123456789 -", max_size=14),
))
def test_normalisation_is_idempotent(value):
    try:
        first = parse_all(value)
    except InvalidIdentifier:
        return
    again = parse_all(first.value)
    assert again == first
    assert parse_all(again.value) == again
