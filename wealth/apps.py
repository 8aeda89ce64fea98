from django.apps import AppConfig


class WealthConfig(AppConfig):
    name = "wealth"
    verbose_name = "Wealth"
