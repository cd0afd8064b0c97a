from django.apps import AppConfig


class ObservationsConfig(AppConfig):
    name = "samhand.observations"
    label = "observations"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.apps import apps

        if apps.is_installed("samhand.pathways"):
            from .signals import connect

            connect()
