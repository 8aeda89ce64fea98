"""The cost model's pure helper: columns, time-ordered validation, SHAP additivity (no database).

SHAP's local accuracy (Lundberg & Lee 2017, "A unified approach to interpreting model
predictions", NeurIPS; Lundberg et al. 2020, Nature Machine Intelligence 2): for every row,
base value + Σ SHAP values = the model's output, here the predicted cost in bps.
"""

from __future__ import annotations

import numpy as np
import pytest

from execution_quality.engine.cost_model import (
    MIN_TRAINING_ORDERS,
    NUMERIC_FEATURES,
    OTHER,
    CostRows,
    cost_feature_spec,
    cost_features_matrix,
    cost_model_explain,
    cost_model_fit,
    cost_model_predict,
)
from execution_quality.engine.types import TcaInputError


def _rows(n: int, seed: int = 1) -> tuple[CostRows, np.ndarray]:
    """Orders whose cost is 2 + spread/2 + 300·√size + 5 on venue B, plus noise (bps)."""
    rng = np.random.default_rng(seed)
    size = rng.uniform(0.0005, 0.05, n)
    spread = rng.uniform(1, 20, n)
    numeric = np.column_stack(
        [
            size,
            rng.uniform(50, 300, n),
            spread,
            rng.uniform(0, 390, n),
            rng.uniform(10, 3600, n),
            rng.uniform(0.01, 0.3, n),
            rng.integers(0, 2, n),
        ]
    )
    venue = [("A", "B", "C")[k % 3] for k in range(n)]
    y = 2 + spread / 2 + 300 * np.sqrt(size) + np.where(np.array(venue) == "B", 5.0, 0.0) + rng.normal(0, 1, n)
    broker = [("X", "Y")[k % 2] for k in range(n)]
    rows = CostRows(numeric=numeric, order_type=["market"] * n, venue=venue, broker=broker)
    return rows, y


def test_given_too_few_orders_then_a_clear_error():
    rows, y = _rows(MIN_TRAINING_ORDERS)
    y[0] = np.nan  # one row without a cost leaves 49 usable
    with pytest.raises(TcaInputError, match=f"at least {MIN_TRAINING_ORDERS} orders with a known cost; got 49"):
        cost_model_fit(rows, y)


def test_given_a_known_relation_then_the_hold_out_is_time_ordered_and_the_fit_is_good():
    rows, y = _rows(200)
    model = cost_model_fit(rows, y, seed=3)
    m = model.card["metrics"]
    # the newest 20 % test: 160 train, 40 test
    assert (m["n_train"], m["n_test"]) == (160, 40)
    # a real relation is learnt: far better than predicting the training mean
    assert m["r2"] > 0.8 and m["mae_bps"] < 0.5 * m["baseline_mae_bps"]
    assert model.card["features"][: len(NUMERIC_FEATURES)] == list(NUMERIC_FEATURES)
    assert "venue=B" in model.card["features"] and f"venue={OTHER}" in model.card["features"]
    assert set(model.card["libraries"]) == {"scikit-learn", "shap", "numpy"}


def test_shap_values_add_up_to_the_prediction():
    rows, y = _rows(120)
    model = cost_model_fit(rows, y, seed=3)
    test_rows, _ = _rows(15, seed=9)
    values, base = cost_model_explain(model, test_rows)
    predicted = cost_model_predict(model, test_rows)
    assert values.shape == (15, len(model.spec.names))
    np.testing.assert_allclose(base + values.sum(axis=1), predicted, rtol=0, atol=1e-6)


def test_missing_numbers_take_the_training_median_and_unknown_levels_the_other_column():
    rows, _ = _rows(10)
    spec = cost_feature_spec(rows, max_levels=2)
    assert spec.venues == ("A", "B")  # A and B come 4 and 3 times (ties broken by name), C falls to "other"
    new = CostRows(
        numeric=np.full((1, len(NUMERIC_FEATURES)), np.nan), order_type=["limit"], venue=["ZZZ"], broker=["X"]
    )
    X = cost_features_matrix(spec, new)
    np.testing.assert_allclose(X[0, : len(NUMERIC_FEATURES)], np.nanmedian(rows.numeric, axis=0))
    names = spec.names
    assert X[0, names.index("venue=other")] == 1.0 and X[0, names.index("order_type=other")] == 1.0
    assert X[0, names.index("broker=X")] == 1.0 and X[0].sum() == pytest.approx(X[0, : len(NUMERIC_FEATURES)].sum() + 3)


def test_given_misshaped_rows_then_input_errors():
    with pytest.raises(TcaInputError, match="numeric must be n"):
        CostRows(numeric=np.zeros((2, 3)), order_type=["a", "b"], venue=["a", "b"], broker=["a", "b"])
    with pytest.raises(TcaInputError, match="one entry per row"):
        CostRows(numeric=np.zeros((2, len(NUMERIC_FEATURES))), order_type=["a"], venue=["a", "b"], broker=["a", "b"])
