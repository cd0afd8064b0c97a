"""Norwegian organisation numbers (standards.md §C.1: weights 3,2,7,6,5,4,3,2, mod 11)."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from hypothesis import example, given, settings
from hypothesis import strategies as st

from samhand.orgs.models import validate_org_number

WEIGHTS = (3, 2, 7, 6, 5, 4, 3, 2)


def check_digit(first8: str) -> int | None:
    """By hand, from brreg's description: 11 - (sum mod 11); 11 -> 0; 10 -> no number."""
    check = 11 - sum(w * int(d) for w, d in zip(WEIGHTS, first8, strict=True)) % 11
    return None if check == 10 else check % 11


def test_brreg_example_is_valid():
    # 3*1+2*2+7*3+6*4+5*5+4*6+3*7+2*8 = 138; 138 mod 11 = 6; 11 - 6 = 5
    assert check_digit("12345678") == 5
    validate_org_number("123456785")


@pytest.mark.parametrize("value", ["983974899", "940101808", "964965781"])
def test_the_fixture_organisations_have_valid_numbers(value):
    validate_org_number(value)


@pytest.mark.parametrize(("value", "code"), [
    ("123456784", "check"), ("123456786", "check"), ("12345678", "format"),
    ("1234567850", "format"), ("12345678a", "format"), ("", "format"),
    (" 123456785", "format"), ("123 456 785", "format"), ("１２３４５６７８５", "format"),
    ("¹²³⁴⁵⁶⁷⁸⁵", "format"),
])
def test_invalid_organisation_numbers(value, code):
    with pytest.raises(ValidationError) as exc:
        validate_org_number(value)
    assert exc.value.code == code


def test_a_number_whose_check_digit_would_be_ten_does_not_exist():
    first8 = next(f"{n:08d}" for n in range(10**6, 10**6 + 200) if check_digit(f"{n:08d}") is None)
    for digit in "0123456789":
        with pytest.raises(ValidationError):
            validate_org_number(first8 + digit)


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 10**8 - 1))
def test_exactly_one_check_digit_is_accepted_for_eight_digits(n):
    first8 = f"{n:08d}"
    accepted = []
    for digit in "0123456789":
        try:
            validate_org_number(first8 + digit)
        except ValidationError:
            continue
        accepted.append(int(digit))
    expected = check_digit(first8)
    assert accepted == ([] if expected is None else [expected])


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=12))
@example("²" * 9)
@example("٣" * 9)
def test_validator_raises_only_validation_error_on_any_text(text):
    try:
        validate_org_number(text)
    except ValidationError:
        return
    assert text.isascii() and text.isdigit() and len(text) == 9
