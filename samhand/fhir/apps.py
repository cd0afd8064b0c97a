from django.apps import AppConfig


class FhirConfig(AppConfig):
    name = "samhand.fhir"
    label = "samhand_fhir"

    def ready(self) -> None:
        from .resources import register_app_types

        register_app_types()
