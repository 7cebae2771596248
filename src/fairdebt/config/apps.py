from django.apps import AppConfig


class ConfigConfig(AppConfig):
    name = "fairdebt.config"
    label = "fdconfig"
