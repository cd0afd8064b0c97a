"""`samhand demo`: migrate, load the demo data (once), print the logins, serve the UI.

    samhand demo                  migrate, load, print logins, serve on 127.0.0.1:8000
    samhand demo --no-serve       migrate, load, print logins
    samhand demo --addr 0.0.0.0:8080
    samhand demo --totp hanne.berg   print the current second-factor code for a demo user
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from samhand.accounts.models import User
from samhand.demo.data import DemoSummary, demo_totp_code, load_demo


class Command(BaseCommand):
    help = "Load the demo data set and serve samhand on http://127.0.0.1:8000"
    requires_system_checks: list[str] = []  # the database may not exist yet

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--no-serve", action="store_true",
                            help="Load the data and print the logins, do not start the server.")
        parser.add_argument("--addr", default="127.0.0.1:8000",
                            help="Address and port for the web server (default 127.0.0.1:8000).")
        parser.add_argument("--totp", metavar="USERNAME",
                            help="Print the current 6-digit login code of a demo user and stop.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["totp"]:
            self._print_code(options["totp"])
            return
        engine = settings.DATABASES["default"]["ENGINE"]
        if str(engine).endswith("sqlite3"):
            settings.VAR_DIR.mkdir(parents=True, exist_ok=True)
        verbosity = options["verbosity"]
        self.stdout.write("Migrating the database …")
        call_command("migrate", interactive=False, verbosity=max(0, verbosity - 1))
        summary = load_demo()
        self.stdout.write(self.style.SUCCESS(
            "Demo data loaded." if summary.created else "Demo data already loaded."))
        self._print_logins(summary, options["addr"])
        if options["no_serve"]:
            return
        call_command("runserver", options["addr"], use_reloader=False)

    def _print_code(self, username: str) -> None:
        if not User.objects.filter(username=username).exists():
            raise CommandError(f"No demo user called {username!r}. Run `samhand demo` first.")
        self.stdout.write(demo_totp_code(username))

    def _print_logins(self, summary: DemoSummary, addr: str) -> None:
        write = self.stdout.write
        write("")
        write(self.style.MIGRATE_HEADING(f"samhand demo: http://{addr}/"))
        write(f"Password for every demo user: {summary.password}")
        write("Second factor (TOTP): add the secret to an authenticator app, or run")
        write("    uv run samhand demo --totp USERNAME")
        write("for the current 6-digit code.")
        write("")
        rows = [("username", "name", "role", "organisation", "TOTP secret")]
        rows += [(x.username, x.name, x.role, x.organisation, x.totp_secret)
                 for x in summary.logins]
        widths = [max(len(row[i]) for row in rows) for i in range(4)]
        for n, row in enumerate(rows):
            line = "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:4]))
            write(f"{line}  {row[4]}")
            if n == 0:
                write("-" * (sum(widths) + 8 + len(row[4]) + 20))
        write("")
        write("Things to try:")
        write("  hanne.berg (home nursing, Fjordby) sees her unit's patients; bjorn.myhre "
              "(Nesvik) cannot open them.")
        write("  jonas.eide does not see Solveig Karlsen: she has blocked him (a neighbour).")
        write("  Anna Nguyen withdrew her consent: the municipality no longer sees the "
              "hospital's diagnoses.")
        write("  reidun.haugland (relative) sees Torbjørn Haugland's contacts and access log.")
        write("")
