from django.apps import AppConfig


class ApiMethodsConfig(AppConfig):
    name = "apimethods"
    label = "apimethods"
