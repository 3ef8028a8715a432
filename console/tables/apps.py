from django.apps import AppConfig


class TablesConfig(AppConfig):
    name = "console.tables"
    label = "kiln_tables"
    verbose_name = "Kiln tables"
