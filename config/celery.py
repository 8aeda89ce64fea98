"""The Celery application.

Tasks are routed to one queue per domain so each can be scaled on its own machines.
Reliability settings (acks_late, reject_on_worker_lost, prefetch 1) live in settings under
the ``CELERY_`` namespace so tests can override them like any other setting.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")

app = Celery("vigil")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
