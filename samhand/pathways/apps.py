from django.apps import AppConfig


class PathwaysConfig(AppConfig):
    name = "samhand.pathways"
    label = "pathways"
    default_auto_field = "django.db.models.BigAutoField"
