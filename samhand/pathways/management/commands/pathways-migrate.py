"""`samhand pathways-migrate KEY [--to VERSION] [--pathway ID ...] [--apply]`: move running
pathways to another template version, explicitly. Without --apply it only lists what
would move (a dry run)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from samhand.access.policy import Grant
from samhand.audit.models import AuditEvent
from samhand.audit.services import Actor
from samhand.lib.errors import DomainError
from samhand.pathways.loader import get_template
from samhand.pathways.models import Pathway
from samhand.pathways.services import migrate_pathway


class Command(BaseCommand):
    help = "Move running pathways of a template to another (default: the newest) version."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("template")
        parser.add_argument("--to", type=int, default=None)
        parser.add_argument("--pathway", action="append", default=[])
        parser.add_argument("--apply", action="store_true")

    def handle(self, *args: Any, template: str, to: int | None, pathway: list[str],
               apply: bool, **options: Any) -> None:
        try:
            target = get_template(template, to)
        except KeyError:
            raise CommandError(f"no template {template} version {to or 'latest'}") from None
        qs = Pathway.objects.filter(template_key=template, status=Pathway.Status.ACTIVE
                                    ).exclude(template_version=target.version)
        if pathway:
            qs = qs.filter(pk__in=pathway)
        actor = Actor(client="system")
        grant = Grant(basis=AuditEvent.Basis.CARE_RELATION, basis_id="operator",
                      organisation=None)
        moved = 0
        for p in qs.order_by("started_at"):
            if not apply:
                self.stdout.write(f"would move {p.pk}: v{p.template_version} -> "
                                  f"v{target.version}")
                continue
            try:
                migrate_pathway(p, actor=actor, grant=grant, version=target.version)
                moved += 1
            except DomainError as exc:
                self.stderr.write(f"{p.pk}: {exc.message}")
        self.stdout.write(f"{moved} moved" if apply else "dry run; add --apply to move")
