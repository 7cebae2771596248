from django.apps import AppConfig


class VaultConfig(AppConfig):
    name = "fairdebt.vault"
    label = "vault"
    verbose_name = "Identity vault"
