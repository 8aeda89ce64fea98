from django.apps import AppConfig


class PortfoliosConfig(AppConfig):
    """The shared model every product reads: instruments, market data, books, orders, trades."""

    name = "portfolios"
    verbose_name = "Portfolios and market data"
