"""Best execution forms: the pre-trade estimate and the dashboard's period switch.

Forms check the shape of the input; the services check it against the data (an instrument
without history, a model that is not trained) and their domain errors come back onto the form.
The dashboard's other filters are ``filters.TcaOrderFilterSet`` (shared with the API).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django import forms
from django.utils import timezone

from portfolios.models import Side

#: Quick periods of the dashboard, in calendar days back from the newest order shown.
PERIODS = {"30": 30, "90": 90, "365": 365}
MAX_QUANTITY = Decimal("1e12")
#: Risk aversion λ of the Almgren–Chriss schedule, per currency unit of variance: 0 trades evenly
#: (TWAP); 1e-6 is a moderate urgency for a US large-cap order of a few % of ADV.
DEFAULT_RISK_AVERSION = 1e-6
MAX_RISK_AVERSION = 1.0
MIN_HORIZON_MINUTES, MAX_HORIZON_MINUTES = 5.0, 390.0  # one US session at most


def period_start(period: str, newest: date | None) -> date | None:
    """The first day of a quick period ending on ``newest`` (the newest order's UTC day).

    Anchored on the data rather than today so a book whose orders stop in the past still shows
    its last month.
    """
    days = PERIODS.get(period)
    if days is None or newest is None:
        return None
    return newest - timedelta(days=days - 1)


class PretradeForm(forms.Form):
    """Inputs of a pre-trade cost estimate: what to trade, how much, and how urgently."""

    instrument = forms.CharField(
        max_length=64,
        help_text="Symbol, e.g. AAPL. Needs daily bars for its ADV and volatility.",
        widget=forms.TextInput(attrs={"list": "instrument-symbols", "autocomplete": "off", "spellcheck": "false"}),
    )
    side = forms.ChoiceField(choices=Side.choices, initial=Side.BUY)
    quantity = forms.DecimalField(
        max_digits=24,
        decimal_places=6,
        help_text="Shares (or contracts) to trade.",
        widget=forms.NumberInput(attrs={"min": "0", "step": "any"}),
    )
    risk_aversion = forms.FloatField(
        required=False,
        initial=DEFAULT_RISK_AVERSION,
        min_value=0.0,
        max_value=MAX_RISK_AVERSION,
        label="Risk aversion λ",
        help_text="0 spreads the order evenly (TWAP); larger values trade faster to cut price risk.",
        widget=forms.NumberInput(attrs={"min": "0", "step": "any"}),
    )

    horizon_minutes = forms.FloatField(
        required=False,
        min_value=MIN_HORIZON_MINUTES,
        max_value=MAX_HORIZON_MINUTES,
        label="Horizon (minutes)",
        help_text="Leave empty for the time the order needs at 10 % of volume (5 to 390 minutes).",
        widget=forms.NumberInput(attrs={"min": "5", "max": "390", "step": "any"}),
    )
    arrival = forms.DateTimeField(
        required=False,
        label="As of (UTC)",
        help_text="Market data as of this time: ADV and volatility from the days before, the last quote. Empty: now.",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local", "step": "1"}, format="%Y-%m-%dT%H:%M:%S"),
    )

    def clean_arrival(self) -> datetime | None:
        value: datetime | None = self.cleaned_data.get("arrival")
        if value is None:
            return None
        # The page speaks UTC: a time typed without a zone is UTC, not the server's zone.
        return value.replace(tzinfo=UTC) if timezone.is_naive(value) else value.astimezone(UTC)

    def clean_instrument(self) -> str:
        symbol: str = self.cleaned_data["instrument"].strip()
        # PostgreSQL refuses NUL in text parameters (a 500, not a form error).
        if not symbol or "\x00" in symbol:
            raise forms.ValidationError("Give an instrument symbol.")
        return symbol

    def clean_quantity(self) -> Decimal:
        quantity: Decimal = self.cleaned_data["quantity"]
        if not quantity.is_finite() or quantity <= 0:
            raise forms.ValidationError("The quantity must be greater than zero.")
        if quantity > MAX_QUANTITY:
            raise forms.ValidationError("The quantity is too large.")
        return quantity

    def clean_risk_aversion(self) -> float:
        value: Any = self.cleaned_data.get("risk_aversion")
        # An empty field means the default, not an error: most people leave it alone.
        return DEFAULT_RISK_AVERSION if value is None else float(value)
