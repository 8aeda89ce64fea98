"""Best execution tables: TCA results per parent order and per execution, and the cost model.

Costs are in basis points, positive = cost to the client, for buys and sells alike; markouts are
positive when the price moved the trade's way (docs/tca-methodology.md). A result row is
recomputed in place when an order gets new fills, so each order has exactly one current result;
``run`` says which ``CalculationRun`` wrote it last.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from core.models import CalculationRun
from portfolios.models import MONEY, PRICE, QTY, Account, Desk, Instrument, Order, Trade


class CostModel(models.Model):
    """A trained cost model (gradient boosting predicting an order's cost in bps).

    ``artifact`` is the fitted scikit-learn estimator serialised with joblib; only the training
    service writes it, and it is loaded only from this table. ``card`` is the model card (training
    window, features, parameters, hold-out metrics), also written to the audit trail.
    """

    version = models.CharField(max_length=64, unique=True)
    trained_at = models.DateTimeField(auto_now_add=True)
    trained_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    card = models.JSONField(default=dict)
    artifact = models.BinaryField()
    is_active = models.BooleanField(default=False)

    class Meta:
        ordering = ["-trained_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_active"], condition=models.Q(is_active=True), name="costmodel_one_active"
            )
        ]

    def __str__(self) -> str:
        return f"cost model {self.version}"


class TcaOrderResult(models.Model):
    """Transaction cost analysis of one parent order (its child fills aggregated)."""

    order = models.OneToOneField(Order, on_delete=models.CASCADE, related_name="tca")
    run = models.ForeignKey(CalculationRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="+")
    desk = models.ForeignKey(Desk, on_delete=models.PROTECT, related_name="+")
    instrument = models.ForeignKey(Instrument, on_delete=models.PROTECT, related_name="+")
    side = models.CharField(max_length=4)
    order_type = models.CharField(max_length=8)
    venue = models.CharField(max_length=32, blank=True)
    broker = models.CharField(max_length=32, blank=True)
    arrival_ts = models.DateTimeField()
    end_ts = models.DateTimeField()
    quantity = models.DecimalField(**QTY)
    filled_quantity = models.DecimalField(**QTY)
    n_fills = models.PositiveIntegerField(default=0)
    avg_price = models.DecimalField(null=True, blank=True, **PRICE)
    notional = models.DecimalField(default=0, **MONEY)
    fees = models.DecimalField(default=0, **MONEY)

    # Benchmarks (prices) and slippage against each (bps, positive = cost).
    arrival_price = models.FloatField(null=True, blank=True)
    vwap = models.FloatField(null=True, blank=True)
    twap = models.FloatField(null=True, blank=True)
    pwp = models.FloatField(null=True, blank=True)
    prev_close = models.FloatField(null=True, blank=True)
    open_price = models.FloatField(null=True, blank=True)
    close_price = models.FloatField(null=True, blank=True)
    cost_arrival_bps = models.FloatField(null=True, blank=True)
    cost_vwap_bps = models.FloatField(null=True, blank=True)
    cost_twap_bps = models.FloatField(null=True, blank=True)
    cost_pwp_bps = models.FloatField(null=True, blank=True)
    cost_prev_close_bps = models.FloatField(null=True, blank=True)
    cost_open_bps = models.FloatField(null=True, blank=True)
    cost_close_bps = models.FloatField(null=True, blank=True)

    # Implementation shortfall (Perold), bps of the paper investment; currency amounts in ``details``.
    shortfall_bps = models.FloatField(null=True, blank=True)
    shortfall_delay_bps = models.FloatField(null=True, blank=True)
    shortfall_trading_bps = models.FloatField(null=True, blank=True)
    shortfall_opportunity_bps = models.FloatField(null=True, blank=True)
    shortfall_fees_bps = models.FloatField(null=True, blank=True)

    # Context and pre-trade estimates.
    size_adv = models.FloatField(null=True, blank=True)
    volatility_daily_bps = models.FloatField(null=True, blank=True)
    arrival_spread_bps = models.FloatField(null=True, blank=True)
    minutes_since_open = models.FloatField(null=True, blank=True)
    duration_s = models.FloatField(null=True, blank=True)
    pov = models.FloatField(null=True, blank=True)
    pretrade_sqrt_bps = models.FloatField(null=True, blank=True)
    pretrade_istar_bps = models.FloatField(null=True, blank=True)

    # The cost model's view: expected cost for the conditions, SHAP explanation, poor flag.
    predicted_cost_bps = models.FloatField(null=True, blank=True)
    explanation = models.JSONField(default=dict, blank=True)
    model_version = models.CharField(max_length=64, blank=True)
    poor_execution = models.BooleanField(default=False)
    flags = models.BigIntegerField(default=0)
    details = models.JSONField(default=dict, blank=True)
    computed_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-arrival_ts", "-id"]
        indexes = [
            models.Index(fields=["desk", "arrival_ts"], name="tcaorder_desk_arrival_idx"),
            models.Index(fields=["venue"], name="tcaorder_venue_idx"),
            models.Index(fields=["broker"], name="tcaorder_broker_idx"),
        ]

    def __str__(self) -> str:
        return f"TCA of order {self.order_id}"


class TcaExecutionResult(models.Model):
    """Spreads, markouts and slippage of one execution (a fill of a child or the parent order)."""

    trade = models.OneToOneField(Trade, on_delete=models.CASCADE, related_name="tca")
    order_result = models.ForeignKey(TcaOrderResult, on_delete=models.CASCADE, related_name="executions")
    venue = models.CharField(max_length=32, blank=True)
    broker = models.CharField(max_length=32, blank=True)
    ts = models.DateTimeField()
    price = models.DecimalField(**PRICE)
    quantity = models.DecimalField(**QTY)
    mid = models.FloatField(null=True, blank=True)
    bid = models.FloatField(null=True, blank=True)
    ask = models.FloatField(null=True, blank=True)
    effective_spread_bps = models.FloatField(null=True, blank=True)
    realised_spread_bps = models.FloatField(null=True, blank=True)
    spread_capture = models.FloatField(null=True, blank=True)
    outside_quote = models.BooleanField(default=False)
    markout_1s_bps = models.FloatField(null=True, blank=True)
    markout_5s_bps = models.FloatField(null=True, blank=True)
    markout_60s_bps = models.FloatField(null=True, blank=True)
    markout_300s_bps = models.FloatField(null=True, blank=True)
    cost_arrival_bps = models.FloatField(null=True, blank=True)
    cost_vwap_bps = models.FloatField(null=True, blank=True)
    flags = models.BigIntegerField(default=0)

    class Meta:
        ordering = ["ts", "id"]
        indexes = [models.Index(fields=["venue", "ts"], name="tcaexec_venue_ts_idx")]

    def __str__(self) -> str:
        return f"TCA of trade {self.trade_id}"
