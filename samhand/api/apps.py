from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _create_cache_table(sender: Any, using: str = "default", **kwargs: Any) -> None:
    """The database cache table is not a migration; create it after every migrate."""
    from django.core.management import call_command

    call_command("createcachetable", database=using, verbosity=0)


class ApiConfig(AppConfig):
    name = "samhand.api"
    label = "samhand_api"

    def ready(self) -> None:
        # Logging is configured before apps are ready, so the filter stays in place.
        from .logfilters import install

        install()
        post_migrate.connect(_create_cache_table, sender=self,
                             dispatch_uid="samhand_create_cache_table")
