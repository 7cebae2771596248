from django.apps import AppConfig


class OutboxConfig(AppConfig):
    name = "fairdebt.outbox"
    label = "outbox"
    verbose_name = "Outbox (every outbound action)"
