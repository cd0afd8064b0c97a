"""`samhand api-token create USERNAME`: issue an API token (printed once), and list and
revoke them.

    samhand api-token create kari --days 90 --name "EPJ integration"
    samhand api-token list [USERNAME]
    samhand api-token revoke TOKEN_ID
"""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from samhand.api.models import ApiToken

MAX_DAYS = 365


class Command(BaseCommand):
    help = "Create, list and revoke API tokens (bearer credentials for the REST and FHIR API)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="Issue a token for a user; printed once.")
        create.add_argument("username")
        create.add_argument("--days", type=int, default=90,
                            help=f"Days until the token expires (1-{MAX_DAYS}, default 90).")
        create.add_argument("--name", default="", help="What the token is for.")
        listing = sub.add_parser("list", help="List tokens (never the secrets).")
        listing.add_argument("username", nargs="?")
        revoke = sub.add_parser("revoke", help="Revoke a token by its id.")
        revoke.add_argument("token_id")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "create":
            self._create(options["username"], options["days"], options["name"])
        elif action == "list":
            self._list(options.get("username"))
        else:
            self._revoke(options["token_id"])

    def _create(self, username: str, days: int, name: str) -> None:
        if not 1 <= days <= MAX_DAYS:
            raise CommandError(f"--days must be between 1 and {MAX_DAYS}.")
        user = get_user_model().objects.filter(username=username, is_active=True).first()
        if user is None:
            raise CommandError(f"No active user named {username!r}.")
        token, secret = ApiToken.issue(user, days=days, name=name)
        self.stdout.write(secret)
        expires = timezone.localtime(token.expires_at)
        self.stderr.write(
            f"Token {token.pk} for {username}, expires {expires:%Y-%m-%d %H:%M %Z}. "
            "Store it now: it is not shown again. Send it as 'Authorization: Bearer <token>'.")

    def _list(self, username: str | None) -> None:
        tokens = ApiToken.objects.select_related("user").order_by("user__username", "-created_at")
        if username:
            tokens = tokens.filter(user__username=username)
        for token in tokens:
            state = ("revoked" if token.revoked_at else
                     "expired" if token not in ApiToken.objects.usable() else "active")
            used = f"{token.last_used_at:%Y-%m-%d %H:%M}" if token.last_used_at else "never"
            self.stdout.write(f"{token.pk}  {token.user.username:<20} {token.hint}…  {state:<8}"
                              f" expires {token.expires_at:%Y-%m-%d}  last used {used}"
                              f"  {token.name}")

    def _revoke(self, token_id: str) -> None:
        try:
            token = ApiToken.objects.get(pk=uuid.UUID(token_id))
        except (ValueError, ApiToken.DoesNotExist):
            raise CommandError(f"No token with id {token_id!r}.") from None
        token.revoke()
        self.stdout.write(f"Revoked {token.pk} ({token.user.username}).")
