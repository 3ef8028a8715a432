from django.apps import AppConfig


class ApiMethodsConfig(AppConfig):
    name = "apimethods"
    label = "apimethods"

    def ready(self) -> None:
        from apimethods import appfacts, appformat

        appfacts.connect_signals()
        appformat.register()  # after the tables section: console.tables comes first in INSTALLED_APPS
        from apimethods.actions import appformat as api_method_format

        api_method_format.register()  # after kscripts: an import may swap a KScript for an API method
