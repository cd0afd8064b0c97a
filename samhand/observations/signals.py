"""A pathway that starts seeds the patient's escalation rules from
samhand/observations/rules/<template_key>.yaml (defaults.seed_rules) — after the start
commits, so that seeding never holds up or fails a pathway start (and its audit row
follows the start's). Should it not happen, the first use seeds them."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver

from samhand.audit.services import Actor


def _on_pathway_saved(sender: Any, instance: Any, created: bool, **kwargs: Any) -> None:
    if not created or kwargs.get("raw"):
        return
    from .defaults import seed_rules

    actor = Actor(user=instance.started_by, organisation=instance.started_by_organisation) \
        if instance.started_by_id else Actor(client="system")
    patient, key = instance.patient, instance.template_key
    transaction.on_commit(lambda: seed_rules(patient, template_key=key, actor=actor),
                          robust=True)


def connect() -> None:
    from samhand.pathways.models import Pathway

    receiver(post_save, sender=Pathway, dispatch_uid="observations_seed_rules")(
        _on_pathway_saved)

