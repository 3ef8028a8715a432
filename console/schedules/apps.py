from django.apps import AppConfig


class SchedulesConfig(AppConfig):
    name = "console.schedules"
    label = "kiln_schedules"
    verbose_name = "Kiln schedules"

    def ready(self) -> None:
        from console.schedules import appformat

        appformat.register()  # after "kscripts": apimethods comes first in INSTALLED_APPS
