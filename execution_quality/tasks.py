"""Best execution Celery tasks: take ids, call one service. Routed to this app's queue in settings."""
