"""Anomaly ranking (surveillance.engine.anomaly): ranking, SHAP additivity, determinism, errors.

Sources: Liu, Ting & Zhou (2008), "Isolation Forest", ICDM — path length h(x), the normaliser
c(n) = 2H(n − 1) − 2(n − 1)/n and the score s(x) = 2^(−E[h(x)]/c(ψ)) (their eq. 1–2), which
scikit-learn's ``IsolationForest.score_samples`` returns negated; Lundberg et al. (2020),
"From local explanations to global understanding with explainable AI for trees", Nature MI —
local accuracy: base value + Σ SHAP = the explained model output.
"""

from __future__ import annotations

import numpy as np
import pytest

from surveillance.engine import anomaly
from surveillance.engine.features import FEATURE_NAMES, FeatureTable, behaviour_features
from surveillance.engine.types import SurveillanceInputError
from tests.surveillance.engine import builders as b

N_ROWS = 300
ODD = 123  # the planted row


def ordinary_table(seed: int = 0, n: int = N_ROWS) -> FeatureTable:
    """Ordinary account-days: modest ratios and shares, one-sided trading, no news positions."""
    rng = np.random.default_rng(seed)
    cols = {
        "orders_count": rng.integers(1, 12, n).astype(float),
        "trades_count": rng.integers(1, 8, n).astype(float),
        "order_to_trade_ratio": rng.uniform(1.0, 3.0, n),
        "cancel_rate": rng.uniform(0.0, 0.3, n),
        "replace_rate": rng.uniform(0.0, 0.2, n),
        "median_time_to_cancel_s": rng.uniform(60.0, 3_000.0, n),
        "mean_order_size_vs_adv": rng.uniform(0.0005, 0.002, n),
        "share_of_volume": rng.uniform(0.0, 0.01, n),
        "traded_qty_vs_adv": rng.uniform(0.0, 0.01, n),
        "closing_window_share": rng.uniform(0.0, 0.1, n),
        "net_gross_ratio": rng.uniform(0.7, 1.0, n),
        "pre_event_position": np.zeros(n),
    }
    X = np.column_stack([cols[name] for name in FEATURE_NAMES])
    ids = np.arange(n, dtype=np.int64)
    return FeatureTable(ids + 1_000, ids % 5 + 1, 20_000 + ids % 10, FEATURE_NAMES, X)


def with_spoofer_row(table: FeatureTable) -> FeatureTable:
    """Row ODD becomes a spoofer-like day: 60 orders cancelled within half a second."""
    X = table.X.copy()
    odd = dict.fromkeys(FEATURE_NAMES, 0.0) | {
        "orders_count": 60.0,
        "trades_count": 2.0,
        "order_to_trade_ratio": 60.0,
        "cancel_rate": 0.98,
        "replace_rate": 0.1,
        "median_time_to_cancel_s": 0.5,
        "mean_order_size_vs_adv": 0.05,
        "share_of_volume": 0.004,
        "traded_qty_vs_adv": 0.004,
        "closing_window_share": 0.05,
        "net_gross_ratio": 0.9,
    }
    X[ODD] = [odd[name] for name in FEATURE_NAMES]
    return FeatureTable(table.account, table.instrument, table.day, table.names, X)


def mean_path_length(forest, Z: np.ndarray) -> np.ndarray:
    """E[h(x)] over the trees, recomputed from scikit-learn's fitted trees: edges from the root to
    x's leaf + c(n_leaf) (Liu et al. 2008, §4.1), averaged — independently of SHAP."""

    def c(n: np.ndarray) -> np.ndarray:
        n = n.astype(float)
        out = np.where(n == 2, 1.0, 0.0)
        big = n > 2
        return np.where(big, 2.0 * (np.log(np.maximum(n - 1, 1)) + np.euler_gamma) - 2.0 * (n - 1) / n, out)

    h = np.zeros(Z.shape[0])
    for tree, features in zip(forest.estimators_, forest.estimators_features_, strict=True):
        assert (features == np.arange(Z.shape[1])).all()  # max_features = 1.0: all columns, in order
        leaf = tree.apply(Z.astype(np.float32))
        edges = tree.tree_.compute_node_depths()[leaf] - 1  # scikit-learn counts the root as depth 1
        h += edges + c(tree.tree_.n_node_samples[leaf])
    return h / len(forest.estimators_)


def test_given_one_spoofer_like_row_when_ranked_then_it_comes_first_with_reasons_in_words():
    table = with_spoofer_row(ordinary_table())
    result = anomaly.anomalies_rank(table, top_k=10, seed=7)
    assert int(result.top_rows[0]) == ODD
    top = result.detections[0]
    assert (top.scenario, top.account, top.instrument) == ("anomaly", 1_000 + ODD, ODD % 5 + 1)
    assert top.start_us == int(table.day[ODD]) * 86_400_000_000
    assert top.end_us == top.start_us + 86_400_000_000 - 1
    assert top.score > 99.0
    assert top.score == max(d.score for d in result.detections)
    assert [d.score for d in result.detections] == sorted((d.score for d in result.detections), reverse=True)
    # Its reasons are the order-flow features we planted, named in words with the median.
    drivers = top.extra["drivers"]
    assert len(drivers) == 3
    assert set(drivers) <= {
        "orders_count",
        "order_to_trade_ratio",
        "cancel_rate",
        "median_time_to_cancel_s",
        "mean_order_size_vs_adv",
        "net_gross_ratio",
    }
    assert top.summary.startswith("Unusual day")
    assert "(median" in top.summary
    # The drivers are the most negative SHAP values (shorter paths = more anomalous).
    shap = top.extra["shap"]
    assert sorted(shap, key=shap.get)[:3] == drivers
    assert top.features["cancel_rate"] == 0.98
    assert set(top.extra["detector_scores"]) == {"iforest", "ecod"}
    assert top.extra["detector_percentiles"]["iforest"] == 100.0
    assert len(result.detections) == 10
    assert result.scores.shape == (N_ROWS,)
    assert ((result.scores > 0) & (result.scores <= 100)).all()


def test_given_the_top_rows_when_explained_then_shap_adds_up_to_the_mean_path_length():
    """Local accuracy, and which output it is: base + Σ SHAP = E[h(x)] (mean path length in
    edges), and −2^(−E[h(x)]/c(ψ)) is scikit-learn's score_samples (Liu et al. 2008, eq. 2)."""
    result = anomaly.anomalies_rank(with_spoofer_row(ordinary_table()), top_k=25, seed=3)
    Z = result.model_input[result.top_rows]
    h = mean_path_length(result.iforest, Z)
    total = result.shap_values.sum(axis=1) + result.shap_base
    np.testing.assert_allclose(total, h, rtol=1e-6)
    psi = result.iforest.max_samples_
    c_psi = 2.0 * (np.log(psi - 1) + np.euler_gamma) - 2.0 * (psi - 1) / psi
    np.testing.assert_allclose(-(2.0 ** (-h / c_psi)), result.iforest.score_samples(Z), rtol=1e-9)
    # The planted row has the shortest mean path of all reviewed rows.
    assert np.argmin(h) == 0
    assert result.shap_values.shape == (25, len(FEATURE_NAMES))
    assert result.detections[0].extra["shap_base"] == result.shap_base


def test_our_tree_conversion_gives_the_same_shap_values_as_shaps_own_isolation_forest_support():
    """SHAP's TreeExplainer reads an ``IsolationForest`` itself (its IsoTree conversion); the
    vectorised conversion the engine uses must give the same values and base value."""
    import shap

    result = anomaly.anomalies_rank(with_spoofer_row(ordinary_table()), top_k=15, seed=4, n_estimators=20)
    Z = result.model_input[result.top_rows]
    reference = shap.TreeExplainer(result.iforest)
    np.testing.assert_allclose(result.shap_values, reference.shap_values(Z), rtol=1e-9, atol=1e-12)
    assert result.shap_base == pytest.approx(float(np.ravel(reference.expected_value)[0]), rel=1e-12)


def test_given_a_seed_when_ranked_twice_then_the_answer_is_identical_and_the_seed_matters():
    table = with_spoofer_row(ordinary_table(seed=5))
    a = anomaly.anomalies_rank(table, top_k=20, seed=11)
    again = anomaly.anomalies_rank(table, top_k=20, seed=11)
    np.testing.assert_array_equal(a.scores, again.scores)
    np.testing.assert_array_equal(a.top_rows, again.top_rows)
    np.testing.assert_array_equal(a.shap_values, again.shap_values)
    assert [d.summary for d in a.detections] == [d.summary for d in again.detections]
    other = anomaly.anomalies_rank(table, top_k=20, seed=12)
    assert not np.array_equal(a.detector_scores["iforest"], other.detector_scores["iforest"])
    np.testing.assert_array_equal(a.detector_scores["ecod"], other.detector_scores["ecod"])  # ECOD has no randomness


def test_model_card_describes_the_fit():
    table = ordinary_table()
    card = anomaly.anomalies_rank(table, top_k=5, seed=2, n_estimators=50).model_card
    assert card["model"] == anomaly.ANOMALY_MODEL_NAME
    assert card["version"] == anomaly.ANOMALY_MODEL_VERSION
    assert card["training_window"] == {
        "first_day": 20_000,
        "last_day": 20_009,
        "first_date": "2024-10-04",
        "last_date": "2024-10-13",
    }
    assert card["rows"] == N_ROWS
    assert card["features"] == list(FEATURE_NAMES)
    assert card["parameters"] == {"seed": 2, "n_estimators": 50, "max_samples": 256, "max_features": 1.0}
    assert set(card["libraries"]) == {"pyod", "shap", "scikit-learn", "numpy"}
    assert "fitted_at" not in card  # the caller stamps it


def test_percentile_ranks_average_ties():
    """rank / n with ties sharing the average rank (scipy.stats.rankdata 'average')."""
    np.testing.assert_allclose(anomaly.percentile_ranks(np.array([3.0, 1.0, 2.0, 2.0])), [1.0, 0.25, 0.625, 0.625])


def test_robust_scaling_worked_example():
    """Column [0..4]: median 2, IQR 2 → σ̂ = 2 / 1.349, so 4 maps to log(1 + 1.349). Column
    [0,0,0,0,10]: IQR 0, mean |x − 0| = 2 → σ̂ = 1.2533 × 2. A constant column maps to 0."""
    X = np.column_stack(([0.0, 1, 2, 3, 4], [0.0, 0, 0, 0, 10], [7.0] * 5))
    Z = anomaly.features_scale(X)
    assert Z[4, 0] == pytest.approx(np.log1p(1.349))
    assert Z[0, 0] == pytest.approx(-np.log1p(1.349))
    assert Z[4, 1] == pytest.approx(np.log1p(10 / (1.2533 * 2)))
    assert (Z[:, 2] == 0).all()


def test_given_a_table_built_from_order_flow_when_ranked_then_the_quote_stuffer_comes_first():
    """End to end: 30 ordinary client accounts and one account that enters 40 orders and
    cancels each within half a second."""
    flow = b.client_flow(accounts_ids=list(range(100, 130)), first_order_id=1_000, n_orders=150, price=10.0)
    for k in range(40):
        flow += b.order_life(
            9_000 + k, account=77, side="buy", at_s=5 * k, quantity=2_000, price=9.99, cancel_s=5 * k + 0.5
        )
    data = b.market(
        orders=flow, trades_rows=b.fills_as_trades(flow), tape_rows=[{"t": 1, "price": 10, "quantity": 1e5}]
    )
    table = behaviour_features(data)
    result = anomaly.anomalies_rank(table, top_k=3, seed=0)
    assert result.detections[0].account == 77
    assert "cancel" in result.detections[0].summary or "order-to-trade" in result.detections[0].summary


@pytest.mark.parametrize(
    ("table", "top_k", "message"),
    [
        (ordinary_table(n=0), 5, "empty"),
        (ordinary_table(n=anomaly.MIN_ROWS - 1), 5, "Too few rows"),
        (ordinary_table(), 0, "top_k"),
    ],
)
def test_given_unusable_inputs_when_ranked_then_a_clear_error(table, top_k, message):
    with pytest.raises(anomaly.AnomalyInputError, match=message) as caught:
        anomaly.anomalies_rank(table, top_k=top_k, seed=0)
    assert isinstance(caught.value, SurveillanceInputError)


def test_given_nan_features_when_ranked_then_a_clear_error():
    table = ordinary_table()
    table.X[0, 0] = np.nan
    with pytest.raises(anomaly.AnomalyInputError, match="NaN"):
        anomaly.anomalies_rank(table, top_k=5, seed=0)


def test_given_top_k_above_the_table_size_when_ranked_then_every_row_is_returned():
    result = anomaly.anomalies_rank(ordinary_table(n=30), top_k=100, seed=0)
    assert sorted(result.top_rows.tolist()) == list(range(30))
    assert len(result.detections) == 30
