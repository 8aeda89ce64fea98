"""Read-only representation of audit events: every stored column, hashes included."""

from __future__ import annotations

from rest_framework import serializers

from audit.models import AuditEvent


class AuditEventSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    """``actor`` is the user's id (may point at a deleted user); ``actor_name`` stays readable."""

    class Meta:
        model = AuditEvent
        fields = [
            "id",
            "occurred_at",
            "actor",
            "actor_name",
            "action",
            "object_type",
            "object_id",
            "object_repr",
            "request_id",
            "client_ip",
            "before",
            "after",
            "inputs_hash",
            "parameters",
            "code_version",
            "explanation",
            "prev_hash",
            "hash",
        ]
        read_only_fields = fields
