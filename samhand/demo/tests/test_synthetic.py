"""The synthetic number source behind `samhand generate`."""

from __future__ import annotations

import random

import pytest

from samhand.demo.data import PATIENTS, demo_national_ids
from samhand.demo.synthetic import _Numbers
from samhand.patients.identifiers import IdKind, parse_national_id

pytestmark = pytest.mark.django_db


def test_generated_numbers_never_take_a_demo_patients_number() -> None:
    numbers = _Numbers(random.Random(3))
    demo = demo_national_ids()

    drawn = [numbers.draw(spec.birth) for spec in PATIENTS for _ in range(60)]

    assert len(drawn) == len(set(drawn))
    assert not demo & set(drawn)
    assert all(parse_national_id(n, allow_test=True).kind == IdKind.TEST for n in drawn)


def test_people_born_from_2000_get_individual_numbers_from_500() -> None:
    numbers = _Numbers(random.Random(4))
    young = next(spec.birth for spec in PATIENTS if spec.birth.year >= 2000)

    assert all(int(numbers.draw(young)[6:9]) >= 500 for _ in range(30))
