from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "fairdebt.web"
    label = "web"
