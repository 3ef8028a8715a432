from django.apps import AppConfig


class AppsConfig(AppConfig):
    name = "console.apps"
    label = "kiln_apps"
    verbose_name = "Kiln apps"
