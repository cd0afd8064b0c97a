from django.apps import AppConfig


class ObservationsConfig(AppConfig):
    name = "samhand.observations"
    label = "observations"
    default_auto_field = "django.db.models.BigAutoField"
