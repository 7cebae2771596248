from django.apps import AppConfig


class WorklistsConfig(AppConfig):
    name = "fairdebt.worklists"
    label = "worklists"
    verbose_name = "Prioritisation and worklists"
