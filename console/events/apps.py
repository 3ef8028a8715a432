from django.apps import AppConfig


class EventsConfig(AppConfig):
    name = "console.events"
    label = "kiln_events"
    verbose_name = "Kiln events, users and automations"
