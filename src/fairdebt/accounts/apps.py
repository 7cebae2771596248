from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "fairdebt.accounts"
    label = "accounts"
