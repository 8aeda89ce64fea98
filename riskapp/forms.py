"""Risk forms: limits and user-defined scenarios (validated here; saved by services)."""

from __future__ import annotations

import math
import re
from typing import Any

from django import forms

from riskapp.engine.limits import EXPOSURE_KINDS
from riskapp.engine.var import ALL_METHODS
from riskapp.models import Limit, Scenario

# Names exclude control characters: PostgreSQL's jsonb refuses \u0000 (a 500 instead of a form error).
_SHOCK_KEY = re.compile(
    r"^(all|vol|sector:[^:\x00-\x1f\x7f]{1,64}|country:[A-Z]{2}|instrument:[^:\x00-\x1f\x7f]{1,64}|fx:[A-Z]{3})$"
)


def validate_shocks(value: Any) -> dict[str, float]:
    """Shocks are ``{target: percent move}``; targets: all, vol, sector:X, country:XX, instrument:SYM, fx:CCY.

    Moves are percentages between −100 and +1000 (a price cannot fall below zero).
    """
    if not isinstance(value, dict) or not value:
        raise ValueError('Give at least one shock, e.g. {"sector:Energy": -30}.')
    clean: dict[str, float] = {}
    for key, move in value.items():
        if not isinstance(key, str) or not _SHOCK_KEY.match(key):
            raise ValueError(
                f"Unknown shock target {key!r}: use all, vol, sector:<name>, country:<XX>, "
                "instrument:<symbol>, fx:<CCY>."
            )
        if isinstance(move, bool) or not isinstance(move, int | float) or not math.isfinite(move):
            raise ValueError(f"The move for {key} must be a number (percent).")
        if not -100 <= move <= 1000:
            raise ValueError(f"The move for {key} must be between -100 and 1000 percent.")
        clean[key] = float(move)
    return clean


class LimitForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = Limit
        fields = ["kind", "threshold", "warning_ratio", "method", "confidence", "horizon_days", "sector", "is_active"]
        help_texts = {
            "threshold": "Exposure limits: a fraction of NAV (0.02 = 2 %). VaR, ES, stress and daily loss: an amount.",
            "warning_ratio": "Warn from this share of the threshold (0.8 = 80 %).",
        }

    def clean(self) -> dict[str, Any]:
        data: dict[str, Any] = super().clean() or {}
        kind, threshold = data.get("kind"), data.get("threshold")
        if threshold is not None and threshold <= 0:
            self.add_error("threshold", "Must be greater than 0.")
        if kind in EXPOSURE_KINDS and threshold is not None and threshold > 100:
            self.add_error("threshold", "Exposure limits are fractions of NAV (0.02 = 2 %).")
        if kind in {"var", "es"}:
            conf = data.get("confidence")
            if conf is None or not (0 < conf < 1):
                self.add_error("confidence", "VaR and ES limits need a confidence in (0, 1), e.g. 0.99.")
            if not data.get("horizon_days"):
                self.add_error("horizon_days", "VaR and ES limits need a horizon in days.")
            # An unknown method never matches a run's results: the limit would silently never be checked.
            method = data.get("method")
            if method and method not in ALL_METHODS:
                self.add_error("method", f"Choose a method among {', '.join(ALL_METHODS)}.")
        ratio = data.get("warning_ratio")
        if ratio is not None and not (0 < ratio <= 1):
            self.add_error("warning_ratio", "Between 0 (excluded) and 1.")
        return data


class ScenarioForm(forms.ModelForm):  # type: ignore[type-arg]
    shocks = forms.JSONField(help_text='e.g. {"sector:Energy": -30, "all": -5, "vol": 50}')

    class Meta:
        model = Scenario
        fields = ["name", "description", "shocks", "is_active"]

    def clean_shocks(self) -> dict[str, float]:
        try:
            return validate_shocks(self.cleaned_data["shocks"])
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from None
