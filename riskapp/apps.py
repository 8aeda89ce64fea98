from django.apps import AppConfig


class RiskappConfig(AppConfig):
    name = "riskapp"
    verbose_name = "Market risk"
