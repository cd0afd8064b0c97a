"""`samhand audit verify | export | grant-sql`: the audit log from the command line.

    samhand audit verify [--anchor SEQ:HASH]    check the hash chain; exit 1 if broken
    samhand audit export --patient UUID         a FHIR R4 Bundle of the patient's AuditEvents
    samhand audit grant-sql --app-role NAME     GRANT/REVOKE for an INSERT-only app role
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from django.core.management.base import (
    BaseCommand,
    CommandError,
    CommandParser,
    no_translations,
)

from samhand.audit.models import AuditEvent
from samhand.audit.protection import grant_sql
from samhand.audit.services import Actor, parse_anchor, record, verify_chain


class Command(BaseCommand):
    help = "Check, export or protect the audit log."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="subcommand", required=True)
        verify = sub.add_parser("verify", help="Check the hash chain; report the first "
                                "altered or missing row.")
        verify.add_argument("--anchor", help="SEQ:HASH printed by an earlier verify and kept "
                            "outside the database; that row must still have that hash.")
        export = sub.add_parser("export", help="Print a patient's audit events as a FHIR R4 "
                                "Bundle (type collection).")
        export.add_argument("--patient", required=True, help="The patient's UUID.")
        export.add_argument("--indent", type=int, default=None)
        grants = sub.add_parser("grant-sql", help="Print the GRANT/REVOKE statements for a "
                                "separate application database role (PostgreSQL).")
        grants.add_argument("--app-role", default="samhand_app")
        grants.add_argument("--owner-role", default=None)
        grants.add_argument("--schema", default="public")

    @no_translations  # operators' scripts and cron mails read this output: always English
    def handle(self, *args: Any, **options: Any) -> None:
        subcommand = options["subcommand"]
        if subcommand == "verify":
            self.verify(options.get("anchor"))
        elif subcommand == "export":
            self.export(options["patient"], options.get("indent"))
        elif subcommand == "grant-sql":
            try:
                self.stdout.write(grant_sql(options["app_role"], options["owner_role"],
                                            options["schema"]), ending="")
            except ValueError as exc:
                raise CommandError(str(exc)) from exc

    def verify(self, anchor_text: str | None) -> None:
        try:
            anchor = parse_anchor(anchor_text) if anchor_text else None
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        result = verify_chain(anchor=anchor)
        if not result.ok:
            raise CommandError(f"FAILED at row {result.first_bad_seq}: {result.problem} "
                               f"({result.checked} rows before it are intact)", returncode=1)
        self.stdout.write(f"OK: {result.checked} audit rows, chain intact. "
                          f"Anchor: {result.head_seq}:{result.head_hash}")

    def export(self, patient_text: str, indent: int | None) -> None:
        from samhand.fhir.audit import bundle_for

        try:
            patient_id = uuid.UUID(patient_text)
        except ValueError as exc:
            raise CommandError("--patient takes the patient's UUID") from exc
        events = list(AuditEvent.objects.filter(patient_id=patient_id).order_by("seq"))
        # The export is itself an access to the patient's data (security.md #25).
        record(Actor(client="cli"), "samhand.audit.exported", AuditEvent.Action.READ,
               patient_id=patient_id, object_type="AuditEvent",
               object_ids=[e.uuid for e in events], basis=AuditEvent.Basis.SYSTEM)
        self.stdout.write(json.dumps(bundle_for(events), indent=indent, ensure_ascii=False))
