"""The audit trail: one append-only, hash-chained table.

Each row's ``hash`` is SHA-256 over its own canonical content and the previous row's hash,
so changing or removing any row breaks every hash after it. On PostgreSQL a trigger also
rejects UPDATE and DELETE outright (migration 0002).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class AuditEvent(models.Model):
    """Who did what to which object, when, from where, and, for computations, with what inputs.

    ``actor_name`` keeps the record readable after the user is deleted; the actor link has no
    database constraint for the same reason (deleting a user must not touch audit rows).
    """

    occurred_at = models.DateTimeField(db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    actor_name = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=100, db_index=True)
    object_type = models.CharField(max_length=100, blank=True, db_index=True)
    object_id = models.CharField(max_length=100, blank=True, db_index=True)
    object_repr = models.CharField(max_length=255, blank=True)
    request_id = models.CharField(max_length=64, blank=True, db_index=True)
    client_ip = models.GenericIPAddressField(null=True, blank=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    inputs_hash = models.CharField(max_length=64, blank=True)
    parameters = models.JSONField(null=True, blank=True)
    code_version = models.CharField(max_length=64, blank=True)
    explanation = models.JSONField(null=True, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["object_type", "object_id"], name="audit_object_idx")]

    def __str__(self) -> str:
        return f"#{self.pk} {self.action} {self.object_type}:{self.object_id} by {self.actor_name or 'system'}"
