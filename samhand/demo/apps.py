from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DemoConfig(AppConfig):
    """Demo data (`samhand demo`) and synthetic bulk data (`samhand generate`). No models."""

    name = "samhand.demo"
    label = "demo"
    verbose_name = _("Demo data")
