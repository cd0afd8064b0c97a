"""`samhand demo`: migrate, load, print the logins (the server is not started here)."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from samhand.demo.data import DEMO_PASSWORD, demo_totp_secret
from samhand.patients.models import Patient

pytestmark = pytest.mark.django_db


def test_demo_without_serving_loads_and_prints_the_logins() -> None:
    out = StringIO()

    call_command("demo", "--no-serve", stdout=out)

    text = out.getvalue()
    assert Patient.objects.count() == 40
    assert "Demo data loaded." in text
    assert DEMO_PASSWORD in text
    for username in ("ingrid.lunde", "erik.strand", "kare.nilsen", "hanne.berg",
                     "jonas.eide", "bjorn.myhre", "nora.lien", "gunnar.lie",
                     "reidun.haugland"):
        assert username in text
    assert demo_totp_secret("hanne.berg") in text
    assert "http://127.0.0.1:8000/" in text


def test_a_second_run_says_the_data_is_already_there() -> None:
    call_command("demo", "--no-serve", stdout=StringIO())
    out = StringIO()

    call_command("demo", "--no-serve", stdout=out)

    assert "Demo data already loaded." in out.getvalue()
    assert Patient.objects.count() == 40


def test_totp_prints_a_six_digit_code() -> None:
    call_command("demo", "--no-serve", stdout=StringIO())
    out = StringIO()

    call_command("demo", "--totp", "hanne.berg", stdout=out)

    code = out.getvalue().strip()
    assert len(code) == 6 and code.isdigit()


def test_totp_for_an_unknown_user_fails_clearly() -> None:
    with pytest.raises(CommandError, match="No demo user"):
        call_command("demo", "--totp", "nobody.here", stdout=StringIO())
