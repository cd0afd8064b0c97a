from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "samhand.api"
    label = "samhand_api"

    def ready(self) -> None:
        # Logging is configured before apps are ready, so the filter stays in place.
        from .logfilters import install

        install()
