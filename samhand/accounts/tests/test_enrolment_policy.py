from typing import Any

from django.core.management import call_command
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice

from samhand.conftest import PASSWORD


def test_without_self_enrolment_a_password_alone_cannot_bind_an_authenticator(
        world: Any, settings: Any) -> None:
    settings.SAMHAND_OTP_SELF_ENROLMENT = False
    client = Client()
    response = client.post("/accounts/login/", {"username": "home_nurse_a",
                                                "password": PASSWORD}, follow=True)
    assert response.status_code == 403
    assert not TOTPDevice.objects.filter(user=world.home_nurse_a).exists()


def test_an_operator_enrols_a_user_and_the_secret_is_printed_once(world: Any,
                                                                   capsys: Any) -> None:
    call_command("otp_enrol", "home_nurse_a")
    out = capsys.readouterr().out
    device = TOTPDevice.objects.get(user=world.home_nurse_a)
    assert device.confirmed
    assert "otpauth://" in out
