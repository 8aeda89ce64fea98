"""Unsupervised anomaly ranking of behaviour rows (account × instrument × day), with SHAP reasons.

What it is for: the rule-based detectors find the abuses someone has described; this ranks the
days that look least like everything else, so an analyst with review capacity for ``top_k`` rows
sees the strangest ones first. It is a ranking, not a verdict: the score says how unusual a row is
*within this table*, so there is always a top row even in a clean market.

Method (docs/surveillance-methodology.md):

1. Scaling. Each feature is centred on its median and divided by a robust spread (IQR / 1.349,
   the normal-consistent σ; when the IQR is 0, 1.2533 × mean absolute deviation from the median;
   when that is 0 too, 1), then compressed with sign(z)·log(1 + |z|). Rank-based ECOD ignores
   this; it matters to the Isolation Forest, whose random split points are uniform between a
   feature's min and max: without compression one huge value would leave the bulk of the data
   unresolved.
2. Detectors (PyOD): ``IForest`` (Liu, Ting & Zhou 2008, Isolation Forest; ``n_estimators``
   trees on subsamples of ``max_samples`` rows; PyOD wraps scikit-learn's ``IsolationForest``)
   and ``ECOD`` (Li et al. 2022, empirical-cumulative-distribution outlier detection:
   parameter-free tail probabilities per feature). Their raw scores have different scales.
3. Combination: each detector's scores are turned into percentile ranks in (0, 1]
   (``rank / n``, ties averaged) and the combined score is 100 × their mean. It is robust to the
   detectors' scales and lets one detector's extreme value count no more than "ranked first".
4. Explanation: SHAP values (Lundberg et al. 2020, TreeExplainer, path-dependent) of the fitted
   scikit-learn ``IsolationForest``, for the top ``top_k`` rows only. TreeExplainer explains the
   forest's *mean path length* h̄(x): the average over trees of (edges from the root to x's leaf
   + c(n_leaf)), where c(n) = 2H(n − 1) − 2(n − 1)/n is the expected path length of an
   unsuccessful binary-search-tree search in n points. So ``shap_base`` + Σ SHAP = h̄(x), in
   tree edges, and scikit-learn's score is ``score_samples(x) = −2^(−h̄(x)/c(max_samples))``.
   A NEGATIVE SHAP value shortens the path, i.e. pushes the row towards "anomalous"; the
   features with the most negative values are the row's reasons. The forest reaches SHAP as its
   dict-of-trees model (``iforest_tree_model``), equal to SHAP's own conversion but vectorised.
"""

from __future__ import annotations

import datetime as dt
import warnings
from dataclasses import dataclass, field
from importlib.metadata import version
from typing import Any

import numpy as np
from scipy.stats import rankdata

from surveillance.engine.features import FEATURE_WORDS, FeatureTable, feature_value_text
from surveillance.engine.types import US_PER_DAY, Detection, FloatArray, IntArray, SurveillanceInputError

ANOMALY_MODEL_NAME = "behaviour-anomaly"
#: Bump when the features, scaling, detectors or combination change (stored on every alert).
ANOMALY_MODEL_VERSION = "1.0"
#: Fewer rows than this and "unusual" means little; the call is refused.
MIN_ROWS = 20
DETECTOR_NAMES: tuple[str, ...] = ("iforest", "ecod")


class AnomalyInputError(SurveillanceInputError):
    """The feature table cannot be ranked (empty, too small, malformed, bad ``top_k``)."""


@dataclass(frozen=True)
class AnomalyResult:
    """The ranking of every row plus detections and SHAP values for the ``top_k`` rows.

    ``scores`` is the combined 0–100 score of every row; ``detector_scores`` the raw PyOD
    decision scores (higher = more unusual) per detector; ``top_rows`` the indices of the
    reviewed rows, best first; ``shap_values`` is len(top_rows) × k in tree edges of mean path
    length and ``shap_base`` the explainer's expected value (see the module docstring);
    ``model_input`` the scaled matrix the detectors saw and ``iforest`` the fitted scikit-learn
    ``IsolationForest``, kept so callers and tests can recompute the explained output.
    """

    detections: list[Detection]
    model_card: dict[str, Any]
    scores: FloatArray
    detector_scores: dict[str, FloatArray]
    top_rows: IntArray
    shap_values: FloatArray
    shap_base: float
    model_input: FloatArray
    iforest: Any = field(repr=False)


def features_scale(X: FloatArray) -> FloatArray:
    """Robust per-column scaling then sign-log compression (module docstring, step 1)."""
    median = np.median(X, axis=0)
    q75, q25 = np.percentile(X, [75.0, 25.0], axis=0)
    spread = (q75 - q25) / 1.349
    mad = 1.2533 * np.mean(np.abs(X - median), axis=0)
    spread = np.where(spread > 0, spread, np.where(mad > 0, mad, 1.0))
    z = (X - median) / spread
    return np.asarray(np.sign(z) * np.log1p(np.abs(z)), dtype=np.float64)


def percentile_ranks(scores: FloatArray) -> FloatArray:
    """Percentile rank of each score in (0, 1]: rank / n with ties averaged (largest = 1)."""
    return np.asarray(rankdata(scores, method="average"), dtype=np.float64) / scores.size


def _check(table: FeatureTable, top_k: int) -> None:
    n = len(table)
    if n == 0:
        raise AnomalyInputError("There is no activity to rank: the feature table is empty.")
    if n < MIN_ROWS:
        raise AnomalyInputError(f"Too few rows to rank ({n}); the anomaly model needs at least {MIN_ROWS}.")
    if table.X.ndim != 2 or table.X.shape[1] != len(table.names):
        raise AnomalyInputError("The feature matrix does not match the feature names.")
    if not np.isfinite(table.X).all():
        raise AnomalyInputError("The feature matrix contains NaN or infinite values.")
    if top_k < 1:
        raise AnomalyInputError("top_k must be at least 1.")


def _fit_detectors(
    Z: FloatArray, *, seed: int, n_estimators: int, max_samples: int
) -> tuple[dict[str, FloatArray], Any]:
    # Imported here: PyOD pulls in numba and takes a noticeable time to import, which every web
    # process would otherwise pay at start-up.
    from pyod.models.ecod import ECOD
    from pyod.models.iforest import IForest

    iforest = IForest(
        n_estimators=n_estimators,
        max_samples=min(max_samples, Z.shape[0]),
        max_features=1.0,
        random_state=seed,
        n_jobs=1,
    )
    ecod = ECOD(n_jobs=1)
    with warnings.catch_warnings():
        # ECOD's skewness is undefined for a constant column; numpy warns, the score is unaffected.
        warnings.simplefilter("ignore", RuntimeWarning)
        iforest.fit(Z)
        ecod.fit(Z)
    raw = {
        "iforest": np.asarray(iforest.decision_scores_, dtype=np.float64),
        "ecod": np.asarray(ecod.decision_scores_, dtype=np.float64),
    }
    return raw, iforest.detector_


def _path_length_c(n: FloatArray) -> FloatArray:
    """c(n): expected path length of an unsuccessful BST search among n points (Liu et al. 2008)."""
    safe = np.maximum(n, 3.0)
    big = 2.0 * (np.log(safe - 1.0) + np.euler_gamma) - 2.0 * (safe - 1.0) / safe
    return np.where(n > 2, big, np.where(n == 2, 1.0, 0.0))


def iforest_tree_model(forest: Any) -> dict[str, Any]:
    """The fitted ``IsolationForest`` as SHAP's documented dict-of-trees model.

    Each node's value is the sample-weighted mean, over the leaves below it, of (edges from the
    root + c(n_leaf)), divided by the number of trees, so a row's prediction is the forest's mean
    path length h̄(x) — the same trees SHAP builds itself for an ``IsolationForest``. SHAP's own
    conversion calls a validated scikit-learn helper once per leaf (about 0.6 s for 100 trees,
    whatever the number of rows); this one is vectorised per tree level and gives equal values.
    """
    scale = 1.0 / len(forest.estimators_)
    trees: list[dict[str, Any]] = []
    for estimator, columns in zip(forest.estimators_, forest.estimators_features_, strict=True):
        tree = estimator.tree_
        left = np.asarray(tree.children_left, dtype=np.int64)
        right = np.asarray(tree.children_right, dtype=np.int64)
        n = np.asarray(tree.n_node_samples, dtype=np.float64)
        depth = np.asarray(tree.compute_node_depths(), dtype=np.int64) - 1  # edges; the root is depth 1
        leaf = left < 0
        values = np.zeros(n.size)
        values[leaf] = depth[leaf] + _path_length_c(n[leaf])
        for level in range(int(depth.max()) - 1, -1, -1):
            inner = np.flatnonzero(~leaf & (depth == level))
            lc, rc = left[inner], right[inner]
            values[inner] = (values[lc] * n[lc] + values[rc] * n[rc]) / n[inner]
        feature = np.asarray(tree.feature, dtype=np.int64)
        trees.append(
            {
                "children_left": left,
                "children_right": right,
                "children_default": left,
                "features": np.where(feature >= 0, np.asarray(columns)[np.maximum(feature, 0)], feature),
                "thresholds": np.asarray(tree.threshold, dtype=np.float64),
                "values": (values * scale).reshape(-1, 1),
                "node_sample_weight": np.asarray(tree.weighted_n_node_samples, dtype=np.float64),
            }
        )
    # scikit-learn's trees compare float32 inputs with their thresholds; so must SHAP.
    return {"trees": trees, "input_dtype": np.float32, "tree_output": "raw_value", "base_offset": 0.0}


def iforest_shap(forest: Any, Z: FloatArray) -> tuple[FloatArray, float]:
    """SHAP values (rows × k, tree edges of mean path length) and the base value for ``Z``."""
    import shap  # slow import (numba), kept off module import

    explainer = shap.TreeExplainer(iforest_tree_model(forest))
    values = np.asarray(explainer.shap_values(Z.astype(np.float32)), dtype=np.float64).reshape(Z.shape)
    return values, float(np.ravel(explainer.expected_value)[0])


def _summary(table: FeatureTable, row: int, drivers: list[int], typical: FloatArray) -> str:
    parts = [
        f"{FEATURE_WORDS[table.names[j]][0]} {feature_value_text(table.names[j], float(table.X[row, j]))}"
        f" (median {feature_value_text(table.names[j], float(typical[j]))})"
        for j in drivers
    ]
    listed = ", ".join(parts[:-1]) + f" and {parts[-1]}" if len(parts) > 1 else parts[0]
    return f"Unusual day for this account in this instrument, driven by {listed}."


def anomalies_rank(
    table: FeatureTable,
    *,
    top_k: int,
    seed: int,
    n_estimators: int = 100,
    max_samples: int = 256,
) -> AnomalyResult:
    """Rank every row of ``table`` by unusualness and explain the ``top_k`` most unusual.

    ``top_k`` should be the number of rows the team can review (it is capped at the table size);
    ``seed`` fixes the Isolation Forest, so equal inputs give equal outputs. Returns
    ``AnomalyResult`` whose ``detections`` carry scenario ``"anomaly"``, the day as the window,
    the combined score 0–100, the raw feature values, and in ``extra`` the SHAP values by
    feature name, ``shap_base`` and the detectors' scores. ``model_card`` describes the fit; the
    caller adds ``fitted_at``.
    """
    _check(table, top_k)
    Z = features_scale(table.X)
    raw, model = _fit_detectors(Z, seed=seed, n_estimators=n_estimators, max_samples=max_samples)
    pct = {name: percentile_ranks(raw[name]) for name in DETECTOR_NAMES}
    combined = 100.0 * np.mean([pct[name] for name in DETECTOR_NAMES], axis=0)

    # Highest combined score first; ties broken by the Isolation Forest, then by the row keys,
    # so the order never depends on sort stability.
    order = np.lexsort((table.day, table.instrument, table.account, -raw["iforest"], -combined))
    top = order[: min(top_k, len(table))].astype(np.int64)
    shap_values, shap_base = iforest_shap(model, Z[top])

    typical = np.median(table.X, axis=0)
    detections: list[Detection] = []
    for i, row in enumerate(top.tolist()):
        drivers = [int(j) for j in np.argsort(shap_values[i], kind="stable")[:3]]
        start_us = int(table.day[row]) * US_PER_DAY
        detections.append(
            Detection(
                scenario="anomaly",
                account=int(table.account[row]),
                instrument=int(table.instrument[row]),
                start_us=start_us,
                end_us=start_us + US_PER_DAY - 1,
                score=round(float(combined[row]), 2),
                summary=_summary(table, row, drivers, typical),
                features={name: float(table.X[row, j]) for j, name in enumerate(table.names)},
                extra={
                    "shap": {name: float(shap_values[i, j]) for j, name in enumerate(table.names)},
                    "shap_base": shap_base,
                    "detector_scores": {name: float(raw[name][row]) for name in DETECTOR_NAMES},
                    "detector_percentiles": {name: round(100.0 * float(pct[name][row]), 2) for name in DETECTOR_NAMES},
                    "drivers": [table.names[j] for j in drivers],
                },
            )
        )
    return AnomalyResult(
        detections=detections,
        model_card=_model_card(table, seed=seed, n_estimators=n_estimators, max_samples=int(model.max_samples_)),
        scores=combined,
        detector_scores=raw,
        top_rows=top,
        shap_values=shap_values,
        shap_base=shap_base,
        model_input=Z,
        iforest=model,
    )


def _model_card(table: FeatureTable, *, seed: int, n_estimators: int, max_samples: int) -> dict[str, Any]:
    first, last = int(table.day.min()), int(table.day.max())
    epoch = dt.date(1970, 1, 1)
    return {
        "model": ANOMALY_MODEL_NAME,
        "version": ANOMALY_MODEL_VERSION,
        "training_window": {
            "first_day": first,
            "last_day": last,
            "first_date": (epoch + dt.timedelta(days=first)).isoformat(),
            "last_date": (epoch + dt.timedelta(days=last)).isoformat(),
        },
        "rows": len(table),
        "features": list(table.names),
        "detectors": list(DETECTOR_NAMES),
        "combination": "100 × mean of per-detector percentile ranks (rank / n, ties averaged)",
        "scaling": "(x − median) / (IQR / 1.349), then sign(z)·log(1 + |z|)",
        "explained_output": "Isolation Forest mean path length (tree edges); negative SHAP = more anomalous",
        "parameters": {
            "seed": seed,
            "n_estimators": n_estimators,
            "max_samples": max_samples,
            "max_features": 1.0,
        },
        "libraries": {lib: version(lib) for lib in ("pyod", "shap", "scikit-learn", "numpy")},
    }
