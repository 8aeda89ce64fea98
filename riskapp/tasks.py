"""Market risk Celery tasks: take ids, call one service. Routed to this app's queue in settings."""
