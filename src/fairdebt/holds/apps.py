from django.apps import AppConfig


class HoldsConfig(AppConfig):
    name = "fairdebt.holds"
    label = "holds"
    verbose_name = "Holds (Breathing Space, vulnerability, pauses)"
