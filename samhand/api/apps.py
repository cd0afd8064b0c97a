from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "samhand.api"
    label = "samhand_api"
