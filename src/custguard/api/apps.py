from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "custguard.api"
    label = "api"
