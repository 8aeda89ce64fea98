"""Risk tables: runs and their results, limits and breaches, user scenarios, restrictions.

Amounts are in the portfolio's base currency; VaR and ES are positive losses (see
docs/risk-methodology.md). Results are written once by a run and never edited, so any figure
on a page can be traced to the run, its parameters and its inputs hash.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from core.models import CalculationRun
from portfolios.models import MONEY, Instrument, Portfolio


class RiskRun(models.Model):
    """One risk calculation of one portfolio as of one day (a ``CalculationRun`` of kind ``risk.run``).

    ``summary`` holds run-level figures (NAV, gross, net, position count, systematic share,
    regime probability, ...); ``inputs_hash`` is SHA-256 of the positions and prices used.
    """

    calculation = models.OneToOneField(CalculationRun, on_delete=models.CASCADE, related_name="risk_run")
    portfolio = models.ForeignKey(Portfolio, on_delete=models.CASCADE, related_name="risk_runs")
    as_of = models.DateField()
    parameters = models.JSONField(default=dict)
    inputs_hash = models.CharField(max_length=64, blank=True)
    code_version = models.CharField(max_length=64, blank=True)
    summary = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-as_of", "-id"]
        indexes = [models.Index(fields=["portfolio", "as_of"], name="riskrun_portfolio_asof_idx")]

    def __str__(self) -> str:
        return f"risk run {self.pk} {self.portfolio_id}@{self.as_of}"


class RiskResult(models.Model):
    """VaR and ES of a run for one method, confidence and horizon."""

    run = models.ForeignKey(RiskRun, on_delete=models.CASCADE, related_name="results")
    method = models.CharField(max_length=32)
    confidence = models.DecimalField(max_digits=6, decimal_places=5)
    horizon_days = models.PositiveSmallIntegerField()
    var = models.DecimalField(**MONEY)
    es = models.DecimalField(**MONEY)
    var_pct_nav = models.FloatField(null=True, blank=True)
    es_pct_nav = models.FloatField(null=True, blank=True)
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["method", "confidence", "horizon_days"]
        constraints = [
            models.UniqueConstraint(fields=["run", "method", "confidence", "horizon_days"], name="riskresult_unique"),
            models.CheckConstraint(condition=Q(var__gte=0) & Q(es__gte=0), name="riskresult_nonneg"),
            models.CheckConstraint(condition=Q(confidence__gt=0) & Q(confidence__lt=1), name="riskresult_conf"),
        ]

    def __str__(self) -> str:
        return f"{self.method} {self.confidence} {self.horizon_days}d VaR {self.var}"


class RiskComponent(models.Model):
    """One position's share of the run's VaR (Euler components sum to the total)."""

    run = models.ForeignKey(RiskRun, on_delete=models.CASCADE, related_name="components")
    instrument = models.ForeignKey(Instrument, on_delete=models.PROTECT, related_name="+")
    value = models.DecimalField(**MONEY)
    marginal_var = models.FloatField()
    component_var = models.FloatField()
    component_es = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["-component_var"]
        constraints = [models.UniqueConstraint(fields=["run", "instrument"], name="riskcomponent_unique")]

    def __str__(self) -> str:
        return f"{self.instrument_id}: {self.component_var:.0f}"


class StressResult(models.Model):
    """The P&L of a run's book under one scenario (negative = loss)."""

    class Kind(models.TextChoices):
        HISTORICAL = "historical"
        HYPOTHETICAL = "hypothetical"
        USER = "user"
        REVERSE = "reverse"

    run = models.ForeignKey(RiskRun, on_delete=models.CASCADE, related_name="stress_results")
    scenario = models.CharField(max_length=100)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    pnl = models.DecimalField(**MONEY)
    pnl_pct_nav = models.FloatField(null=True, blank=True)
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["pnl"]
        constraints = [models.UniqueConstraint(fields=["run", "scenario"], name="stressresult_unique")]

    def __str__(self) -> str:
        return f"{self.scenario}: {self.pnl}"


class FactorExposure(models.Model):
    """The run's portfolio beta to one factor and that factor's share of systematic variance."""

    run = models.ForeignKey(RiskRun, on_delete=models.CASCADE, related_name="factor_exposures")
    factor = models.CharField(max_length=32)
    beta = models.FloatField()
    contribution = models.FloatField(help_text="Share of systematic variance (Euler), sums to 1")

    class Meta:
        ordering = ["factor"]
        constraints = [models.UniqueConstraint(fields=["run", "factor"], name="factorexposure_unique")]

    def __str__(self) -> str:
        return f"{self.factor}: {self.beta:.2f}"


class Scenario(models.Model):
    """A user-defined stress scenario: named shocks applied to every portfolio's book.

    ``shocks`` maps a target to a move in percent: ``{"sector:Energy": -30, "country:US": -10,
    "instrument:AAPL": -50, "all": -5, "vol": 50, "fx:EUR": -10}`` (validated by the form/API).
    """

    name = models.CharField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    shocks = models.JSONField()
    is_active = models.BooleanField(default=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Limit(models.Model):
    """A risk limit of one portfolio.

    ``threshold`` is in base currency for VaR, ES, stress loss and daily loss; a fraction of NAV
    for position size, sector exposure and leverage (0.02 = 2 %). A breach is raised when the
    measured value exceeds the threshold; a warning from ``warning_ratio`` × threshold.
    """

    class Kind(models.TextChoices):
        VAR = "var", "VaR"
        ES = "es", "Expected shortfall"
        POSITION_PCT_NAV = "position_pct_nav", "Position size (% NAV)"
        SECTOR_EXPOSURE = "sector_exposure", "Sector exposure (% NAV)"
        GROSS_LEVERAGE = "gross_leverage", "Gross leverage"
        NET_LEVERAGE = "net_leverage", "Net leverage"
        STRESS_LOSS = "stress_loss", "Stress loss"
        DAILY_LOSS = "daily_loss", "Daily loss (kill switch)"

    portfolio = models.ForeignKey(Portfolio, on_delete=models.CASCADE, related_name="limits")
    kind = models.CharField(max_length=24, choices=Kind.choices)
    threshold = models.DecimalField(max_digits=24, decimal_places=6)
    warning_ratio = models.DecimalField(max_digits=4, decimal_places=3, default=0.8)
    method = models.CharField(max_length=32, blank=True, default="historical")
    confidence = models.DecimalField(max_digits=6, decimal_places=5, null=True, blank=True)
    horizon_days = models.PositiveSmallIntegerField(null=True, blank=True)
    sector = models.CharField(max_length=64, blank=True)
    is_active = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["portfolio_id", "kind"]
        constraints = [
            models.CheckConstraint(condition=Q(threshold__gt=0), name="limit_threshold_positive"),
            models.CheckConstraint(
                condition=Q(warning_ratio__gt=0) & Q(warning_ratio__lte=1), name="limit_warning_ratio_0_1"
            ),
            models.UniqueConstraint(
                fields=["portfolio", "kind", "method", "confidence", "horizon_days", "sector"],
                name="limit_unique_definition",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.portfolio_id} {self.kind} ≤ {self.threshold}"


class LimitBreach(models.Model):
    """A limit found at or above its warning level by a check (a run or a trade batch)."""

    class Severity(models.TextChoices):
        WARNING = "warning"
        BREACH = "breach"
        CRITICAL = "critical"  # kill switch tripped

    class Status(models.TextChoices):
        OPEN = "open"
        ACKNOWLEDGED = "acknowledged"
        RESOLVED = "resolved"

    limit = models.ForeignKey(Limit, on_delete=models.CASCADE, related_name="breaches")
    portfolio = models.ForeignKey(Portfolio, on_delete=models.CASCADE, related_name="breaches")
    run = models.ForeignKey(RiskRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="breaches")
    severity = models.CharField(max_length=10, choices=Severity.choices)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.OPEN)
    measured = models.DecimalField(max_digits=24, decimal_places=6)
    limit_value = models.DecimalField(max_digits=24, decimal_places=6)
    utilisation = models.FloatField(help_text="measured / limit")
    subject = models.CharField(max_length=100, blank=True, help_text="Instrument or sector concerned, if any")
    recommended_action = models.CharField(max_length=300)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.severity} {self.limit_id}: {self.measured} vs {self.limit_value}"


class RestrictedInstrument(models.Model):
    """An instrument no order may be placed in (restricted list), checked before trading."""

    instrument = models.OneToOneField(Instrument, on_delete=models.CASCADE, related_name="restriction")
    reason = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.instrument_id}: {self.reason}"
