"""`samhand otp-enrol USERNAME`: an operator sets up a user's authenticator app.

Prints the secret and the otpauth:// URL once; the device is confirmed at once, and
any earlier device of the user is removed (a lost phone).
"""

from __future__ import annotations

import base64
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django_otp.plugins.otp_totp.models import TOTPDevice

from samhand.accounts.models import User


class Command(BaseCommand):
    help = "Set up (or replace) a user's TOTP authenticator and print its secret once."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")

    def handle(self, *args: Any, **options: Any) -> None:
        user = User.objects.filter(username=options["username"], is_active=True).first()
        if user is None:
            raise CommandError(f"No active user named {options['username']!r}.")
        with transaction.atomic():
            TOTPDevice.objects.filter(user=user).delete()
            device = TOTPDevice.objects.create(user=user, name="samhand", confirmed=True)
        secret = base64.b32encode(device.bin_key).decode()
        self.stdout.write(f"Secret for {user.username}: {secret}")
        self.stdout.write(f"URL for a QR code: {device.config_url}")
