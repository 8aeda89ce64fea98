"""Surveillance tables: alerts and their review, cases with STOR drafts, detector parameters.

An alert is written by a detection run (rule detectors, the anomaly model) or by another
product through ``surveillance.services.alert_raise`` (best execution). Review changes are
made only by the workflow services, each one leaving an ``AlertTransition`` row and an audit
event in the same transaction. Scores are 0–100; times are UTC.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from core.models import CalculationRun
from portfolios.models import Account, Desk, Instrument


class Scenario(models.TextChoices):
    SPOOFING = "spoofing", "Spoofing"
    LAYERING = "layering", "Layering"
    WASH_TRADES = "wash_trades", "Wash trades"
    MARKING_CLOSE = "marking_close", "Marking the close"
    INSIDER_DEALING = "insider_dealing", "Insider dealing"
    PUMP_DUMP = "pump_dump", "Pump and dump"
    FRONT_RUNNING = "front_running", "Front running"
    ANOMALY = "anomaly", "Behavioural anomaly"
    BEST_EXECUTION = "best_execution", "Best execution"


RULE_SCENARIOS = (
    Scenario.SPOOFING,
    Scenario.LAYERING,
    Scenario.WASH_TRADES,
    Scenario.MARKING_CLOSE,
    Scenario.INSIDER_DEALING,
    Scenario.PUMP_DUMP,
    Scenario.FRONT_RUNNING,
)


class DetectorConfig(models.Model):
    """The parameters a detector runs with. Missing names take the engine's documented
    defaults; ``version`` goes up on every change (each change is audited with before/after)."""

    scenario = models.CharField(max_length=32, choices=Scenario.choices, unique=True)
    enabled = models.BooleanField(default=True)
    parameters = models.JSONField(default=dict, blank=True)
    version = models.PositiveIntegerField(default=1)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["scenario"]

    def __str__(self) -> str:
        return f"{self.scenario} v{self.version}"


class Case(models.Model):
    """A group of alerts investigated together; it produces the STOR draft.

    ``stor`` holds the draft's fields (ESMA STOR template, see docs/surveillance-methodology.md);
    filing it needs a compliance supervisor other than the person who proposed it.
    """

    class State(models.TextChoices):
        OPEN = "open"
        CLOSED = "closed"

    class StorStatus(models.TextChoices):
        NONE = "none"
        PROPOSED = "proposed"
        FILED = "filed"

    reference = models.CharField(max_length=32, unique=True)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    state = models.CharField(max_length=8, choices=State.choices, default=State.OPEN)
    desk = models.ForeignKey(Desk, on_delete=models.PROTECT, related_name="surveillance_cases")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    stor = models.JSONField(default=dict, blank=True)
    stor_status = models.CharField(max_length=8, choices=StorStatus.choices, default=StorStatus.NONE)
    stor_proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    stor_filed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    stor_filed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(state__in=["open", "closed"]), name="case_state_valid"),
            models.CheckConstraint(condition=Q(stor_status__in=["none", "proposed", "filed"]), name="case_stor_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.reference} {self.title}"


class Alert(models.Model):
    """One suspected episode of one account in one instrument, with its evidence and review.

    ``score`` (0–100) is the detector's; ``action_probability`` is the learned likelihood that an
    analyst will act on it (null until enough decisions exist). ``order_ids``/``trade_ids`` are the
    evidence rows; ``features`` the measured quantities; ``explanation`` the SHAP values of an
    ML-driven alert (``{"values": {feature: value}, "base": b, "units": ...}``).
    A pending four-eyes proposal is held in the ``proposed_*`` fields until a supervisor decides.
    """

    class State(models.TextChoices):
        NEW = "new", "New"
        IN_REVIEW = "in_review", "In review"
        ESCALATED = "escalated", "Escalated"
        CLOSED = "closed", "Closed"

    class Outcome(models.TextChoices):
        NO_ACTION = "no_action", "No action"
        INFORMAL_ACTION = "informal_action", "Informal action"
        STOR_FILED = "stor_filed", "STOR filed"

    class Source(models.TextChoices):
        RULE = "rule"
        MODEL = "model"
        PRODUCT = "product"  # raised by another product through alert_raise (best execution)

    scenario = models.CharField(max_length=32, choices=Scenario.choices)
    source = models.CharField(max_length=8, choices=Source.choices, default=Source.RULE)
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="alerts")
    desk = models.ForeignKey(Desk, on_delete=models.PROTECT, related_name="alerts")
    instrument = models.ForeignKey(Instrument, null=True, blank=True, on_delete=models.PROTECT, related_name="alerts")
    window_start = models.DateTimeField()
    window_end = models.DateTimeField()
    score = models.FloatField()
    occurrences = models.PositiveIntegerField(default=1)
    summary = models.TextField()
    order_ids = models.JSONField(default=list, blank=True)
    trade_ids = models.JSONField(default=list, blank=True)
    features = models.JSONField(default=dict, blank=True)
    explanation = models.JSONField(default=dict, blank=True)
    parameters = models.JSONField(default=dict, blank=True)
    model_version = models.CharField(max_length=64, blank=True)
    action_probability = models.FloatField(null=True, blank=True)
    action_explanation = models.JSONField(default=dict, blank=True)
    run = models.ForeignKey(CalculationRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="alerts")

    state = models.CharField(max_length=16, choices=State.choices, default=State.NEW)
    outcome = models.CharField(max_length=16, choices=Outcome.choices, blank=True)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="assigned_alerts"
    )
    case = models.ForeignKey(Case, null=True, blank=True, on_delete=models.SET_NULL, related_name="alerts")
    proposed_outcome = models.CharField(max_length=16, choices=Outcome.choices, blank=True)
    proposed_rationale = models.TextField(blank=True)
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    proposed_at = models.DateTimeField(null=True, blank=True)
    closing_rationale = models.TextField(blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    closed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-score", "-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(score__gte=0) & Q(score__lte=100), name="alert_score_0_100"),
            models.CheckConstraint(
                condition=Q(action_probability__isnull=True)
                | (Q(action_probability__gte=0) & Q(action_probability__lte=1)),
                name="alert_action_probability_0_1",
            ),
            models.CheckConstraint(condition=Q(window_end__gte=models.F("window_start")), name="alert_window_ordered"),
            models.CheckConstraint(
                condition=Q(state__in=["new", "in_review", "escalated", "closed"]), name="alert_state_valid"
            ),
            # A closed alert always says how it ended and why; an open one has no outcome yet.
            models.CheckConstraint(
                condition=(Q(state="closed") & ~Q(outcome="") & ~Q(closing_rationale=""))
                | (~Q(state="closed") & Q(outcome="")),
                name="alert_closed_has_outcome",
            ),
        ]
        indexes = [
            models.Index(fields=["state", "-score"], name="alert_state_score_idx"),
            models.Index(fields=["scenario", "account", "instrument", "window_end"], name="alert_episode_idx"),
            models.Index(fields=["desk", "state"], name="alert_desk_state_idx"),
        ]

    def __str__(self) -> str:
        return f"alert {self.pk} {self.scenario} {self.score:.0f}"

    @property
    def is_open(self) -> bool:
        return self.state != self.State.CLOSED

    @property
    def proposal_pending(self) -> bool:
        return bool(self.proposed_outcome) and self.is_open


class AlertTransition(models.Model):
    """One step of an alert's review, kept forever (the audit trail holds the same, chained)."""

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="transitions")
    action = models.CharField(max_length=32)
    from_state = models.CharField(max_length=16)
    to_state = models.CharField(max_length=16)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    actor_name = models.CharField(max_length=150)
    rationale = models.TextField(blank=True)
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.alert_id} {self.action} {self.from_state}->{self.to_state}"


class AlertComment(models.Model):
    """A note on an alert. Comments are never edited or deleted; a correction is a new comment."""

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    author_name = models.CharField(max_length=150)
    body = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"comment {self.pk} on alert {self.alert_id}"
