"""Test mode: the real PostgreSQL and Redis on loopback unless DATABASE_URL says otherwise."""

import os

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/vigil")

from .base import *  # noqa: F403
from .base import REST_FRAMEWORK

# Hashing is deliberately slow in production; tests create many users.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Tests exercise throttling explicitly; the default rates would trip on the suite itself.
REST_FRAMEWORK = {
    **REST_FRAMEWORK,
    "DEFAULT_THROTTLE_RATES": {"anon": "100000/min", "user": "100000/min", "pretrade": "100000/min"},
}
# Unit tests run tasks in-process; the Celery integration test starts a real worker.
CELERY_BROKER_URL = ""
CELERY_TASK_ALWAYS_EAGER = True
# Failed runs are retried at once (eager Celery runs the retry in-process right away anyway).
RUN_RETRY_BACKOFF_SECONDS = 0.0
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
AXES_ENABLED = True

# Tests revoke and expire keys directly in the database and expect the next request to see it.
API_KEY_CACHE_SECONDS = 0
# Ingestion tests would each start a detection run in-process; the surveillance tests that are
# about incremental detection switch it on with the ``settings`` fixture.
SURVEILLANCE_INCREMENTAL = False
# Likewise for TCA of new fills: the tests about it switch it on with the ``settings`` fixture.
TCA_INCREMENTAL = False
# Tests change data between requests and expect the home counts to show it at once.
HOME_COUNTS_CACHE_SECONDS = 0
