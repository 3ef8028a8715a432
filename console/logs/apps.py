from django.apps import AppConfig


class LogsConfig(AppConfig):
    name = "console.logs"
    label = "kiln_logs"
    verbose_name = "Kiln invocation log"
