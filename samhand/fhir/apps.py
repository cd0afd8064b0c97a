from django.apps import AppConfig


class FhirConfig(AppConfig):
    name = "samhand.fhir"
    label = "samhand_fhir"
