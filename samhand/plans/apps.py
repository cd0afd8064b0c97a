from django.apps import AppConfig


class PlansConfig(AppConfig):
    name = "samhand.plans"
    label = "plans"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import content, gate, signals

        content.check_all()  # a malformed scenario library stops start-up, with its name
        signals.connect()
        gate.register()
