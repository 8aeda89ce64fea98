from django.apps import AppConfig


class ExecutionQualityConfig(AppConfig):
    name = "execution_quality"
    verbose_name = "Best execution"
