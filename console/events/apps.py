from django.apps import AppConfig


class EventsConfig(AppConfig):
    name = "console.events"
    label = "kiln_events"
    verbose_name = "Kiln events, users and automations"

    def ready(self) -> None:
        from console.events import appformat

        appformat.register()  # after "schedules": console.schedules comes first in INSTALLED_APPS
