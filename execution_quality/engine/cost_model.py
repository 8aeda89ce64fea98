"""The cost model: what should an order have cost, given the conditions it traded in?

Target: the order's cost against the arrival mid in bps (positive = cost). Features (one row
per parent order, all known from the order and the market around it):

- numeric: ``size_adv`` (Q/ADV), ``volatility_daily_bps``, ``arrival_spread_bps``,
  ``minutes_since_open``, ``duration_s``, ``pov`` (realised participation) and ``side_buy``
  (1 buy, 0 sell);
- one-hot: order type, venue and broker. The levels are the most frequent ones in the training
  rows (at most ``max_levels`` each, the rest share an ``other`` column), fixed in the
  :class:`CostFeatureSpec`, so the columns do not move between fit and prediction.

A missing or non-finite numeric value (no ADV, no arrival quote) is replaced by the training
median of its column, stored in the spec: scikit-learn's ``GradientBoostingRegressor`` takes no
NaN, and the median keeps such rows at the centre of the data rather than at an extreme.

Learner: ``GradientBoostingRegressor`` (Friedman 2001), squared error, shallow trees. Validation:
rows are taken in time order (the caller passes them oldest first); the oldest
``1 − test_fraction`` train and the newest ``test_fraction`` test, so the card's MAE, RMSE and R²
show how a model fitted on the past does on later orders. The returned model is refitted on every
row with the same settings, and the card says so.

Explanation: SHAP values (``shap.TreeExplainer``, path-dependent) in bps of predicted cost, with
``base + Σ values = prediction`` for every row (Lundberg et al. 2020, "From local explanations to
global understanding with explainable AI for trees", *Nature Machine Intelligence* 2).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from importlib.metadata import version
from typing import Any

import numpy as np
import numpy.typing as npt
from sklearn.ensemble import GradientBoostingRegressor
from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score

from execution_quality.engine.types import FloatArray, TcaInputError

COST_MODEL_NAME = "tca-cost"
#: Bump when the features, target or learner change.
COST_MODEL_FORMAT = "1.0"
NUMERIC_FEATURES: tuple[str, ...] = (
    "size_adv",
    "volatility_daily_bps",
    "arrival_spread_bps",
    "minutes_since_open",
    "duration_s",
    "pov",
    "side_buy",
)
OTHER = "other"
#: Fewer usable orders than this and the model is not trained (the hold-out would be too small to mean anything).
MIN_TRAINING_ORDERS = 50


@dataclass(frozen=True)
class CostFeatureSpec:
    """How raw order figures become the model's columns (levels and fill-in medians)."""

    order_types: tuple[str, ...]
    venues: tuple[str, ...]
    brokers: tuple[str, ...]
    medians: tuple[float, ...]  # one per NUMERIC_FEATURES

    @property
    def names(self) -> list[str]:
        """Column names: the numeric features, then ``order_type=…``, ``venue=…``, ``broker=…``."""
        out = list(NUMERIC_FEATURES)
        for prefix, levels in (("order_type", self.order_types), ("venue", self.venues), ("broker", self.brokers)):
            out += [f"{prefix}={level}" for level in (*levels, OTHER)]
        return out

    def as_dict(self) -> dict[str, Any]:
        return {
            "order_types": list(self.order_types),
            "venues": list(self.venues),
            "brokers": list(self.brokers),
            "medians": dict(zip(NUMERIC_FEATURES, self.medians, strict=True)),
        }


@dataclass(frozen=True)
class CostRows:
    """Raw figures of ``n`` orders: ``numeric`` is n × len(NUMERIC_FEATURES) (NaN allowed)."""

    numeric: FloatArray
    order_type: Sequence[str]
    venue: Sequence[str]
    broker: Sequence[str]

    def __post_init__(self) -> None:
        num = np.asarray(self.numeric, dtype=np.float64)
        if num.ndim != 2 or num.shape[1] != len(NUMERIC_FEATURES):
            raise TcaInputError(f"numeric must be n × {len(NUMERIC_FEATURES)}; got shape {num.shape}.")
        n = num.shape[0]
        if not (len(self.order_type) == len(self.venue) == len(self.broker) == n):
            raise TcaInputError("order_type, venue and broker must have one entry per row of numeric.")
        object.__setattr__(self, "numeric", num)

    def __len__(self) -> int:
        return int(self.numeric.shape[0])


def _levels(values: Sequence[str], max_levels: int) -> tuple[str, ...]:
    counts = Counter(values)
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return tuple(k for k, _ in ranked[:max_levels] if k != OTHER)


def cost_feature_spec(rows: CostRows, *, max_levels: int = 12) -> CostFeatureSpec:
    """The spec learnt from training rows: the most frequent levels and the column medians."""
    num = np.where(np.isfinite(rows.numeric), rows.numeric, np.nan)
    with np.errstate(all="ignore"):
        medians = [float(np.nanmedian(col)) if np.isfinite(col).any() else 0.0 for col in num.T]
    return CostFeatureSpec(
        order_types=_levels(rows.order_type, max_levels),
        venues=_levels(rows.venue, max_levels),
        brokers=_levels(rows.broker, max_levels),
        medians=tuple(medians),
    )


def _one_hot(values: Sequence[str], levels: tuple[str, ...]) -> FloatArray:
    index = {level: k for k, level in enumerate(levels)}
    out = np.zeros((len(values), len(levels) + 1), dtype=np.float64)
    cols = np.fromiter((index.get(v, len(levels)) for v in values), dtype=np.int64, count=len(values))
    out[np.arange(len(values)), cols] = 1.0
    return out


def cost_features_matrix(spec: CostFeatureSpec, rows: CostRows) -> FloatArray:
    """The model's design matrix (n × len(spec.names)), missing numeric values filled with medians."""
    num = rows.numeric.copy()
    bad = ~np.isfinite(num)
    if bad.any():
        num[bad] = np.broadcast_to(np.asarray(spec.medians, dtype=np.float64), num.shape)[bad]
    parts = [
        num,
        _one_hot(rows.order_type, spec.order_types),
        _one_hot(rows.venue, spec.venues),
        _one_hot(rows.broker, spec.brokers),
    ]
    return np.ascontiguousarray(np.hstack(parts), dtype=np.float64)


def _regressor(seed: int) -> GradientBoostingRegressor:
    # Shallow trees and shrinkage: costs are noisy, and a few hundred orders per venue is typical.
    return GradientBoostingRegressor(
        loss="squared_error", n_estimators=200, max_depth=3, learning_rate=0.05, subsample=0.8, random_state=seed
    )


@dataclass(frozen=True)
class CostModel:
    """A fitted cost model: the regressor, its feature spec and its model card."""

    regressor: GradientBoostingRegressor
    spec: CostFeatureSpec
    card: dict[str, Any]


def cost_model_fit(
    rows: CostRows, y: npt.ArrayLike, *, seed: int = 7, test_fraction: float = 0.2, max_levels: int = 12
) -> CostModel:
    """Fit the cost model on ``rows`` (oldest first) and their costs ``y`` (bps); see the module docstring.

    Rows whose target is not finite are dropped first; fewer than ``MIN_TRAINING_ORDERS`` left
    raise :class:`TcaInputError`.
    """
    target = np.asarray(y, dtype=np.float64)
    if target.shape != (len(rows),):
        raise TcaInputError(f"y must have one cost per row ({len(rows)}); got shape {target.shape}.")
    if not 0.0 < test_fraction < 1.0:
        raise TcaInputError(f"test_fraction must be in (0, 1); got {test_fraction!r}.")
    keep = [int(i) for i in np.flatnonzero(np.isfinite(target))]
    if len(keep) < MIN_TRAINING_ORDERS:
        raise TcaInputError(
            f"The cost model needs at least {MIN_TRAINING_ORDERS} orders with a known cost; got {len(keep)}."
        )
    rows = CostRows(
        numeric=rows.numeric[keep],
        order_type=[rows.order_type[i] for i in keep],
        venue=[rows.venue[i] for i in keep],
        broker=[rows.broker[i] for i in keep],
    )
    target = target[keep]
    n = len(rows)
    n_test = max(1, round(n * test_fraction))
    n_train = n - n_test
    train = CostRows(
        numeric=rows.numeric[:n_train],
        order_type=rows.order_type[:n_train],
        venue=rows.venue[:n_train],
        broker=rows.broker[:n_train],
    )
    spec_train = cost_feature_spec(train, max_levels=max_levels)
    # The hold-out columns use levels and medians learnt from the training rows only (no look-ahead).
    X_held = cost_features_matrix(spec_train, rows)
    held = _regressor(seed).fit(X_held[:n_train], target[:n_train])
    pred = held.predict(X_held[n_train:])
    y_test = target[n_train:]
    metrics = {
        "n_train": n_train,
        "n_test": n_test,
        "mae_bps": float(mean_absolute_error(y_test, pred)),
        "rmse_bps": float(math.sqrt(mean_squared_error(y_test, pred))),
        "r2": float(r2_score(y_test, pred)) if n_test > 1 else float("nan"),
        "baseline_mae_bps": float(np.mean(np.abs(y_test - np.mean(target[:n_train])))),
    }
    spec = cost_feature_spec(rows, max_levels=max_levels)
    final = _regressor(seed).fit(cost_features_matrix(spec, rows), target)
    importances = dict(zip(spec.names, (float(v) for v in final.feature_importances_), strict=True))
    card: dict[str, Any] = {
        "name": COST_MODEL_NAME,
        "format": COST_MODEL_FORMAT,
        "learner": "sklearn.ensemble.GradientBoostingRegressor",
        "target": "cost_arrival_bps (cost against the arrival mid, bps, positive = cost)",
        "features": spec.names,
        "encoding": spec.as_dict(),
        "validation": (
            "time-ordered hold-out: the oldest rows train, the newest test; the final model is refitted on all rows"
        ),
        "metrics": metrics,
        "feature_importances": importances,
        "parameters": {
            "seed": seed,
            "test_fraction": test_fraction,
            "max_levels": max_levels,
            **{k: v for k, v in final.get_params().items() if isinstance(v, int | float | str | bool) or v is None},
        },
        "explained_output": "predicted cost vs arrival, bps (SHAP values add up to the prediction)",
        "libraries": {lib: version(lib) for lib in ("scikit-learn", "shap", "numpy")},
    }
    return CostModel(regressor=final, spec=spec, card=card)


def cost_model_predict(model: CostModel, rows: CostRows) -> FloatArray:
    """Expected cost vs arrival (bps) of each row."""
    if len(rows) == 0:
        return np.empty(0, dtype=np.float64)
    X = cost_features_matrix(model.spec, rows)
    return np.asarray(model.regressor.predict(X), dtype=np.float64)


def cost_model_explain(model: CostModel, rows: CostRows) -> tuple[FloatArray, float]:
    """SHAP values (rows × features, bps) and the base value (bps): ``base + values.sum(1)`` is the prediction."""
    import shap  # slow import (numba), kept off module import

    X = cost_features_matrix(model.spec, rows)
    if X.shape[0] == 0:
        return np.empty((0, X.shape[1]), dtype=np.float64), 0.0
    explainer = shap.TreeExplainer(model.regressor)
    values = np.asarray(explainer.shap_values(X), dtype=np.float64).reshape(X.shape)
    return values, float(np.ravel(explainer.expected_value)[0])
