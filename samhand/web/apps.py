from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "samhand.web"
    label = "samhand_web"
