"""Shared mechanics stored in the database: API keys, idempotency records, calculation runs,
notifications and the outbox of tasks to send."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class ApiKey(models.Model):
    """A machine client's credential. Only a SHA-256 of the secret is stored.

    The key handed to the client is ``<prefix>.<secret>``; the prefix finds the row, the
    secret is compared by hash. Secrets are 256 random bits, so a fast hash is enough (no
    dictionary attack is possible against them, unlike passwords).
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, unique=True)
    secret_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class IdempotencyRecord(models.Model):
    """The stored response of a successful request made with an ``Idempotency-Key``.

    Keys are scoped by user and endpoint. ``request_hash`` is SHA-256 of method, path and
    body, so the same key with another body is told apart (422).
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    key = models.CharField(max_length=255)
    endpoint = models.CharField(max_length=200)
    request_hash = models.CharField(max_length=64)
    response_status = models.PositiveSmallIntegerField()
    response_body = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "endpoint", "key"], name="idempotency_unique_key"),
        ]

    def __str__(self) -> str:
        return f"{self.endpoint} {self.key}"


class CalculationRun(models.Model):
    """One piece of background work, as a row that pages and the API poll.

    Progress is 0–100. Timestamps are UTC. ``result`` holds a small summary (ids, counts);
    large results live in the owning app's tables.
    """

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    kind = models.CharField(max_length=64, db_index=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED, db_index=True)
    parameters = models.JSONField(default=dict, blank=True)
    progress = models.PositiveSmallIntegerField(default=0)
    message = models.CharField(max_length=255, blank=True)
    result = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="calculation_runs"
    )
    task_id = models.CharField(max_length=64, blank=True)
    # What to send again if the broker lost the message (see ``manage.py runs_requeue``).
    task_name = models.CharField(max_length=200, blank=True)
    queue = models.CharField(max_length=32, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    # Refreshed by every progress report: a running run whose heartbeat is recent is owned by a
    # live worker, so a duplicate delivery of its task leaves it alone.
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(progress__gte=0, progress__lte=100), name="run_progress_0_100"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in {self.Status.SUCCEEDED, self.Status.FAILED}

    @property
    def duration_seconds(self) -> float | None:
        if self.started_at and self.finished_at:
            return (self.finished_at - self.started_at).total_seconds()
        return None


class Notification(models.Model):
    """An in-app message to one user (limit breaches, finished runs, ...); also e-mailed."""

    class Level(models.TextChoices):
        INFO = "info"
        WARNING = "warning"
        CRITICAL = "critical"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    level = models.CharField(max_length=8, choices=Level.choices, default=Level.INFO)
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    url = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "read_at"], name="notification_unread_idx")]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.title}"


class OutboxMessage(models.Model):
    """A task to send to the broker, written in the same transaction as the change it follows.

    The transactional outbox: a writer records follow-up work as a row, so the work is committed
    or rolled back with the change, and a relay (``core.outbox``) publishes pending rows once the
    broker answers. Delivery is at least once (publish, then mark): the tasks sent this way are
    idempotent. ``args``/``kwargs`` are the task's JSON arguments; an empty ``queue`` leaves the
    choice to ``CELERY_TASK_ROUTES``. ``available_at`` holds a message back after a failure of its
    own (backoff); timestamps are UTC.
    """

    task_name = models.CharField(max_length=200)
    args = models.JSONField(default=list, blank=True)
    kwargs = models.JSONField(default=dict, blank=True)
    queue = models.CharField(max_length=32, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    available_at = models.DateTimeField(default=timezone.now)
    dispatched_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            # The relay reads pending rows oldest first; dispatched rows (nearly all) stay out of it.
            models.Index(fields=["id"], condition=Q(dispatched_at__isnull=True), name="outbox_pending_idx"),
        ]

    def __str__(self) -> str:
        state = "sent" if self.dispatched_at else "pending"
        return f"{self.task_name} #{self.pk} ({state})"
