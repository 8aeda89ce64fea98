"""The Celery application.

Tasks are routed to one queue per domain so each can be scaled on its own machines.
Reliability settings (acks_late, reject_on_worker_lost, prefetch 1) live in settings under
the ``CELERY_`` namespace so tests can override them like any other setting.
"""

import os

from celery import Celery

from core.logging import task_signals_connect

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")

app = Celery("vigil")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# Task log lines carry the task id, name and run id, and the id of the request that queued it.
task_signals_connect()
