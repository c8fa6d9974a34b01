from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "coko.domains.accounts"
    label = "accounts"
    verbose_name = "Accounts"
