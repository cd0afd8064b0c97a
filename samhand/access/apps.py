from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccessConfig(AppConfig):
    name = "samhand.access"
    label = "access"
    verbose_name = _("Access")

    def ready(self) -> None:
        from samhand.lib import checks  # noqa: F401  (registers the system checks)
