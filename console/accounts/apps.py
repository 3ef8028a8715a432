from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "console.accounts"
    label = "kiln_accounts"
