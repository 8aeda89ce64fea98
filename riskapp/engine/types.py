"""Shared types and conventions of the risk engine (see docs/risk-methodology.md).

Conventions every engine function follows:

- Inputs are float64 numpy arrays. ``returns`` is T × N simple daily returns, oldest first;
  ``values`` is the N-vector of position values (exposures) in the portfolio's base currency,
  signed (short < 0). The linear P&L of a scenario is ``returns @ values``.
- Losses are positive: ``loss = -pnl``. VaR and ES are reported as positive loss amounts in
  the base currency (a book that cannot lose reports 0, never a negative VaR).
- ``confidence`` is in (0, 1), e.g. 0.99; ``horizon_days`` is a positive whole number of days.
- Random simulations take an explicit seed or ``numpy.random.Generator`` and are reproducible.
- Bad input raises ``RiskInputError`` with a message meant for a person.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
#: Full revaluation: scenario returns (k × N, read-only, reused between calls — copy it to keep
#: it) → the k-vector of portfolio P&L in base currency.
Revalue = Callable[[FloatArray], npt.ArrayLike]

DEFAULT_CONFIDENCES: tuple[float, ...] = (0.95, 0.975, 0.99)
DEFAULT_HORIZONS: tuple[int, ...] = (1, 10)


class RiskInputError(ValueError):
    """Inputs a risk computation cannot use (empty history, NaN, bad confidence, ...)."""


@dataclass(frozen=True)
class VarResult:
    """One VaR/ES figure: positive losses in base currency over ``horizon_days``."""

    method: str
    confidence: float
    horizon_days: int
    var: float
    es: float
    details: dict[str, float] = field(default_factory=dict)


def check_confidence(confidence: float) -> float:
    c = float(confidence)
    if not (0.0 < c < 1.0) or not np.isfinite(c):
        raise RiskInputError(f"Confidence must be strictly between 0 and 1; got {confidence!r}.")
    return c


def check_horizon(horizon_days: int) -> int:
    if isinstance(horizon_days, bool) or int(horizon_days) != horizon_days or horizon_days < 1:
        raise RiskInputError(f"Horizon must be a positive whole number of days; got {horizon_days!r}.")
    return int(horizon_days)


def check_returns(returns: npt.ArrayLike, *, min_rows: int = 2) -> FloatArray:
    """A finite T × N float64 matrix with at least ``min_rows`` rows (1-D input becomes T × 1)."""
    arr = np.asarray(returns, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2 or arr.shape[0] == 0 or arr.shape[1] == 0:
        raise RiskInputError("The return history is empty.")
    if arr.shape[0] < min_rows:
        raise RiskInputError(f"At least {min_rows} days of history are needed; got {arr.shape[0]}.")
    if not np.all(np.isfinite(arr)):
        bad = int(np.count_nonzero(~np.isfinite(arr)))
        raise RiskInputError(f"The return history has {bad} missing or non-finite values (NaN/inf).")
    return arr


def check_values(values: npt.ArrayLike, n_assets: int | None = None) -> FloatArray:
    """A finite N-vector of position values, matching ``n_assets`` when given."""
    arr = np.asarray(values, dtype=np.float64).reshape(-1)
    if arr.size == 0:
        raise RiskInputError("The portfolio has no positions.")
    if not np.all(np.isfinite(arr)):
        raise RiskInputError("Position values must be finite numbers.")
    if n_assets is not None and arr.size != n_assets:
        raise RiskInputError(f"{arr.size} position values for {n_assets} return series.")
    return arr


def check_dof(dof: float) -> float:
    """Student-t degrees of freedom: a finite number above 2 (the variance must exist)."""
    nu = float(dof)
    if not (nu > 2.0 and math.isfinite(nu)):
        raise RiskInputError(f"Student-t degrees of freedom must be a finite number above 2; got {dof!r}.")
    return nu


def check_positive_int(value: int, name: str) -> int:
    if isinstance(value, bool) or int(value) != value or value < 1:
        raise RiskInputError(f"{name} must be a positive whole number; got {value!r}.")
    return int(value)


def revalued_pnl(revalue: Revalue, scenarios: FloatArray) -> FloatArray:
    """Call a full-revaluation callback on a read-only view and check what it returns."""
    view = scenarios.view()
    view.flags.writeable = False
    pnl = np.asarray(revalue(view), dtype=np.float64).reshape(-1)
    if pnl.size != scenarios.shape[0]:
        raise RiskInputError(f"Revaluation returned {pnl.size} P&L values for {scenarios.shape[0]} scenarios.")
    if not np.all(np.isfinite(pnl)):
        raise RiskInputError("Revaluation returned missing or non-finite P&L values.")
    return pnl
