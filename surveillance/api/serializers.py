"""Surveillance API serializers: alerts and their review, cases and STOR, detector settings, runs.

Serializers shape input and output only; every rule (states, four eyes, scope) is enforced by
the services, which answer field by field through the project's error body.
"""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from surveillance.models import Alert, AlertComment, AlertTransition, Case
from surveillance.services.workflow import BULK_ASSIGN_MAX, RATIONALE_MAX_CHARS, TRANSITIONS
from surveillance.stor import STOR_FIELDS


def _slug(field: str, *, null: bool = False) -> Any:
    """A related object shown by its natural key (account code, desk code, username, ...)."""
    return serializers.SlugRelatedField(slug_field=field, read_only=True, allow_null=null)


class AlertSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    """One row of the alert queue."""

    account = _slug("code")
    desk = _slug("code")
    instrument = _slug("symbol", null=True)
    assignee = _slug("username", null=True)
    case = _slug("reference", null=True)
    proposal_pending = serializers.BooleanField(read_only=True)
    # Declared, not generated: DRF drops ``allow_blank`` from read-only fields, and the schema
    # must say that an open alert has no outcome yet ("").
    outcome = serializers.ChoiceField(choices=Alert.Outcome.choices, allow_blank=True, read_only=True)
    proposed_outcome = serializers.ChoiceField(choices=Alert.Outcome.choices, allow_blank=True, read_only=True)

    class Meta:
        model = Alert
        fields = [
            "id",
            "scenario",
            "source",
            "score",
            "action_probability",
            "state",
            "outcome",
            "account",
            "desk",
            "instrument",
            "window_start",
            "window_end",
            "occurrences",
            "summary",
            "assignee",
            "case",
            "proposal_pending",
            "proposed_outcome",
            "created_at",
            "updated_at",
            "closed_at",
        ]
        read_only_fields = fields


class AlertTransitionSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    class Meta:
        model = AlertTransition
        fields = ["action", "from_state", "to_state", "actor_name", "rationale", "details", "created_at"]
        read_only_fields = fields


class AlertCommentSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    class Meta:
        model = AlertComment
        fields = ["id", "author_name", "body", "created_at"]
        read_only_fields = fields


class AlertDetailSerializer(AlertSerializer):
    """An alert with its evidence ids, measured features, explanation and review history."""

    proposed_by = _slug("username", null=True)
    closed_by = _slug("username", null=True)
    order_ids = serializers.ListField(child=serializers.IntegerField(), read_only=True)
    trade_ids = serializers.ListField(child=serializers.IntegerField(), read_only=True)
    transitions = AlertTransitionSerializer(many=True, read_only=True)
    comments = AlertCommentSerializer(many=True, read_only=True)

    class Meta(AlertSerializer.Meta):
        fields = [
            *AlertSerializer.Meta.fields,
            "order_ids",
            "trade_ids",
            "features",
            "explanation",
            "parameters",
            "model_version",
            "action_explanation",
            "run",
            "proposed_rationale",
            "proposed_by",
            "proposed_at",
            "closing_rationale",
            "closed_by",
            "transitions",
            "comments",
        ]
        read_only_fields = fields


def _rationale(required: bool = False) -> serializers.CharField:
    return serializers.CharField(
        required=required,
        allow_blank=not required,
        max_length=RATIONALE_MAX_CHARS,
        default="" if not required else serializers.empty,
        trim_whitespace=True,
    )


class AlertTransitionRequestSerializer(serializers.Serializer):  # type: ignore[type-arg]
    """What a reviewer asks: the action and what it needs (rationale for escalate, close,
    propose_close and reject; outcome for close and propose_close; assignee for assign)."""

    action = serializers.ChoiceField(choices=list(TRANSITIONS))
    rationale = _rationale()
    outcome = serializers.ChoiceField(choices=Alert.Outcome.choices, required=False, allow_blank=True, default="")
    assignee = serializers.IntegerField(required=False, allow_null=True, min_value=1, help_text="User id")


class AlertBulkAssignSerializer(serializers.Serializer):  # type: ignore[type-arg]
    alert_ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1), allow_empty=False, max_length=BULK_ASSIGN_MAX
    )
    assignee = serializers.IntegerField(min_value=1, help_text="User id")


class AlertCommentCreateSerializer(serializers.Serializer):  # type: ignore[type-arg]
    body = serializers.CharField(max_length=RATIONALE_MAX_CHARS)


# ---------------------------------------------------------------------------- cases


class CaseSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    desk = _slug("code")
    created_by = _slug("username", null=True)
    stor_proposed_by = _slug("username", null=True)
    stor_filed_by = _slug("username", null=True)
    alert_count = serializers.IntegerField(read_only=True)
    open_alert_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = Case
        fields = [
            "id",
            "reference",
            "title",
            "description",
            "state",
            "desk",
            "created_by",
            "created_at",
            "updated_at",
            "stor_status",
            "stor_proposed_by",
            "stor_filed_by",
            "stor_filed_at",
            "alert_count",
            "open_alert_count",
        ]
        read_only_fields = fields


class CaseDetailSerializer(CaseSerializer):
    alerts = AlertSerializer(many=True, read_only=True)

    class Meta(CaseSerializer.Meta):
        fields = [*CaseSerializer.Meta.fields, "alerts"]
        read_only_fields = fields


class CaseCreateSerializer(serializers.Serializer):  # type: ignore[type-arg]
    title = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, default="", max_length=RATIONALE_MAX_CHARS)
    alert_ids = serializers.ListField(child=serializers.IntegerField(min_value=1), allow_empty=False, max_length=500)


class CaseAlertsSerializer(serializers.Serializer):  # type: ignore[type-arg]
    alert_ids = serializers.ListField(child=serializers.IntegerField(min_value=1), allow_empty=False, max_length=500)


class RationaleSerializer(serializers.Serializer):  # type: ignore[type-arg]
    rationale = _rationale(required=True)


class StorFieldsSerializer(serializers.Serializer):  # type: ignore[type-arg]
    """Edits of the STOR draft; a blank value restores the value filled from the case's data."""

    def get_fields(self) -> dict[str, serializers.Field]:  # type: ignore[type-arg]
        return {
            f.key: serializers.CharField(
                required=False, allow_blank=True, max_length=RATIONALE_MAX_CHARS, help_text=f.label
            )
            for f in STOR_FIELDS
        }

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        unknown = sorted(set(getattr(self, "initial_data", {}) or {}) - set(self.fields))
        if unknown:
            raise serializers.ValidationError({k: ["Unknown STOR field."] for k in unknown})
        if not attrs:
            raise serializers.ValidationError({"non_field_errors": ["Give at least one STOR field."]})
        return attrs


# ---------------------------------------------------------------------------- detectors and runs


class DetectorParamSerializer(serializers.Serializer):  # type: ignore[type-arg]
    name = serializers.CharField()
    default = serializers.FloatField()
    minimum = serializers.FloatField()
    maximum = serializers.FloatField()
    unit = serializers.CharField()
    help = serializers.CharField()
    integer = serializers.BooleanField()


class DetectorSerializer(serializers.Serializer):  # type: ignore[type-arg]
    """A rule detector as it runs: effective parameters (defaults overlaid by the stored ones)."""

    scenario = serializers.CharField()
    title = serializers.CharField()
    enabled = serializers.BooleanField()
    version = serializers.IntegerField(help_text="0 until the first change")
    parameters = serializers.DictField(child=serializers.FloatField())
    defaults = serializers.DictField(child=serializers.FloatField())
    overrides = serializers.DictField(help_text="The values a supervisor set (the rest are defaults)")
    params = DetectorParamSerializer(many=True)
    references = serializers.ListField(child=serializers.CharField())
    updated_by = serializers.CharField()
    updated_at = serializers.DateTimeField(allow_null=True)


class DetectorUpdateSerializer(serializers.Serializer):  # type: ignore[type-arg]
    parameters = serializers.DictField(
        required=False, help_text="Names to change; null restores a default. Checked against each parameter's bounds."
    )
    enabled = serializers.BooleanField(required=False)


class SweepCreateSerializer(serializers.Serializer):  # type: ignore[type-arg]
    since = serializers.DateTimeField(required=False, allow_null=True, help_text="Default: until minus the sweep days")
    until = serializers.DateTimeField(
        required=False, allow_null=True, help_text="Default: just after the newest order event"
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        since, until = attrs.get("since"), attrs.get("until")
        if since is not None and until is not None and since >= until:
            raise serializers.ValidationError({"until": ["Must be after since."]})
        return attrs


class RunQueuedSerializer(serializers.Serializer):  # type: ignore[type-arg]
    id = serializers.IntegerField(help_text="Calculation run id")
    kind = serializers.CharField()
    status = serializers.CharField()
    poll_url = serializers.CharField()
