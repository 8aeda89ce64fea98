"""Learning from analysts' past decisions: how likely is a new alert to end in action?

Label: an alert is *actioned* (y = 1) when it was closed with an informal action (warning,
training, restriction, ...) or a STOR was filed; closed as a false positive or with no further
action is y = 0. Open alerts are not training rows. The caller builds the rows (one per closed
alert, oldest first) with ``alert_features`` and the labels.

Model: scikit-learn ``GradientBoostingClassifier`` (Friedman 2001), log-loss, shallow trees.
``HistGradientBoostingClassifier`` was also checked with SHAP's TreeExplainer and works, but
SHAP reads it through private scikit-learn internals that change between releases, whereas
``GradientBoostingClassifier`` is read through its public ``estimators_`` and ``tree_``; with a
few thousand decisions at most the speed difference does not matter.

Explanation: SHAP values (TreeExplainer, path-dependent) in **log-odds** of "actioned":
``base + Σ SHAP = decision_function(x) = logit(P(actioned | x))``. Positive values push towards
action.

Validation (model card): the rows are split in time order, the oldest ``1 − test_fraction`` to
train and the newest ``test_fraction`` to test, so the metrics show how a model trained on the
past does on later decisions (no look-ahead). ROC AUC and the Brier score are reported on the
hold-out; the model that is returned is then refitted on all rows with the same settings, and
the card says so.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib.metadata import version
from typing import Any

import numpy as np
import numpy.typing as npt
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.metrics import brier_score_loss, roc_auc_score

from surveillance.engine.types import FloatArray, SurveillanceInputError

ACTION_MODEL_NAME = "alert-action"
#: Bump when the features, label or learner change.
ACTION_MODEL_VERSION = "1.0"
#: Fixed scenario list for the one-hot columns: a stable column order across refits.
SCENARIO_CODES: tuple[str, ...] = (
    "spoofing",
    "layering",
    "wash_trades",
    "marking_close",
    "insider_dealing",
    "pump_dump",
    "front_running",
    "anomaly",
    "best_execution",
)
ACCOUNT_KINDS: tuple[str, ...] = ("client", "proprietary", "market_maker")
_NUMERIC: tuple[str, ...] = (
    "score",
    "occurrences",
    "is_employee",
    "notional",
    "prior_alerts",
    "prior_actioned",
    "prior_actioned_rate",
    "hour_of_day",
)
ALERT_FEATURE_NAMES: tuple[str, ...] = (
    _NUMERIC + tuple(f"scenario_{c}" for c in SCENARIO_CODES) + tuple(f"account_kind_{k}" for k in ACCOUNT_KINDS)
)
REQUIRED_KEYS: tuple[str, ...] = (
    "scenario",
    "score",
    "occurrences",
    "account_kind",
    "is_employee",
    "notional",
    "prior_alerts",
    "prior_actioned",
    "hour_of_day",
)
#: Fewest decisions, and fewest of each class, before a model is fitted at all.
MIN_DECISIONS = 30
MIN_PER_CLASS = 5


class ActionModelInputError(SurveillanceInputError):
    """Rows, labels or alert dicts the action model cannot use."""


class NotEnoughDecisions(ActionModelInputError):
    """Too few past decisions (or only one outcome) to learn from; show "not enough decisions yet"."""

    def __init__(self, *, n: int, n_actioned: int) -> None:
        self.n = n
        self.n_actioned = n_actioned
        super().__init__(
            f"Not enough decisions yet: the action model needs at least {MIN_DECISIONS} closed alerts with at "
            f"least {MIN_PER_CLASS} actioned and {MIN_PER_CLASS} not actioned (have {n}: {n_actioned} actioned, "
            f"{n - n_actioned} not actioned)."
        )


@dataclass(frozen=True)
class ActionModel:
    """A fitted action model: the classifier, its column names and its model card."""

    classifier: Any = field(repr=False)
    feature_names: tuple[str, ...]
    model_card: dict[str, Any]


def alert_features(alerts: Sequence[Mapping[str, Any]]) -> tuple[FloatArray, tuple[str, ...]]:
    """The action model's input matrix for alert-like dicts, with ``ALERT_FEATURE_NAMES``.

    Each dict needs ``REQUIRED_KEYS``: ``scenario`` (one of ``SCENARIO_CODES``), ``score`` (0–100),
    ``occurrences`` (count), ``account_kind`` (one of ``ACCOUNT_KINDS``, or its integer code),
    ``is_employee`` (bool), ``notional`` (in the firm's reporting currency), ``prior_alerts`` and
    ``prior_actioned`` (counts of earlier alerts on the account, all scenarios, and how many were
    actioned) and ``hour_of_day`` (UTC hour 0–23 of the alert's start). ``prior_actioned_rate`` is
    derived (0 without prior alerts). Raises ``ActionModelInputError`` naming every bad row.
    """
    X = np.zeros((len(alerts), len(ALERT_FEATURE_NAMES)))
    col = {name: j for j, name in enumerate(ALERT_FEATURE_NAMES)}
    errors: list[str] = []
    for i, alert in enumerate(alerts):
        missing = [k for k in REQUIRED_KEYS if k not in alert]
        if missing:
            errors.append(f"row {i}: missing {', '.join(missing)}")
            continue
        scenario, kind = alert["scenario"], alert["account_kind"]
        if isinstance(kind, int) and not isinstance(kind, bool) and 0 <= kind < len(ACCOUNT_KINDS):
            kind = ACCOUNT_KINDS[kind]
        if scenario not in SCENARIO_CODES:
            errors.append(f"row {i}: unknown scenario {scenario!r}")
            continue
        if kind not in ACCOUNT_KINDS:
            errors.append(f"row {i}: unknown account kind {kind!r}")
            continue
        try:
            values = {k: float(alert[k]) for k in REQUIRED_KEYS if k not in ("scenario", "account_kind")}
        except (TypeError, ValueError):
            errors.append(f"row {i}: a numeric field is not a number")
            continue
        if not all(math.isfinite(v) for v in values.values()):
            errors.append(f"row {i}: a numeric field is not finite")
            continue
        values["prior_actioned_rate"] = (
            values["prior_actioned"] / values["prior_alerts"] if values["prior_alerts"] > 0 else 0.0
        )
        for name in _NUMERIC:
            X[i, col[name]] = values[name]
        X[i, col[f"scenario_{scenario}"]] = 1.0
        X[i, col[f"account_kind_{kind}"]] = 1.0
    if errors:
        raise ActionModelInputError("Bad alert rows: " + "; ".join(errors[:10]) + (" ..." if len(errors) > 10 else ""))
    return X, ALERT_FEATURE_NAMES


def _check_X(X: npt.ArrayLike, n_features: int) -> FloatArray:
    arr = np.asarray(X, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[1] != n_features:
        raise ActionModelInputError(f"Expected a matrix with {n_features} columns, got shape {arr.shape}.")
    if not np.isfinite(arr).all():
        raise ActionModelInputError("The feature matrix contains NaN or infinite values.")
    return arr


def _classifier(seed: int) -> GradientBoostingClassifier:
    # Shallow, slow-learning trees with row subsampling: decisions are few and noisy, so the
    # model should find broad effects (scenario, score, history), not memorise cases.
    return GradientBoostingClassifier(
        n_estimators=150,
        learning_rate=0.05,
        max_depth=3,
        min_samples_leaf=5,
        subsample=0.8,
        random_state=seed,
    )


def action_model_fit(
    X: npt.ArrayLike,
    y: npt.ArrayLike,
    feature_names: Sequence[str],
    *,
    seed: int,
    test_fraction: float = 0.25,
) -> ActionModel:
    """Fit the action model on past decisions, rows oldest first (``y``: 1 = actioned, 0 = not).

    Raises ``NotEnoughDecisions`` with fewer than ``MIN_DECISIONS`` rows or fewer than
    ``MIN_PER_CLASS`` of either outcome. The model card's metrics come from the time-ordered
    hold-out (module docstring); the caller adds ``fitted_at``.
    """
    names = tuple(feature_names)
    Xa = _check_X(X, len(names))
    ya = np.asarray(y).ravel()
    if ya.shape[0] != Xa.shape[0]:
        raise ActionModelInputError(f"{Xa.shape[0]} rows but {ya.shape[0]} labels.")
    if not np.isin(ya, (0, 1)).all():
        raise ActionModelInputError("Labels must be 0 (not actioned) or 1 (actioned).")
    ya = ya.astype(np.int64)
    n, n_pos = int(ya.size), int(ya.sum())
    if n < MIN_DECISIONS or min(n_pos, n - n_pos) < MIN_PER_CLASS:
        raise NotEnoughDecisions(n=n, n_actioned=n_pos)
    if not 0.0 < test_fraction < 1.0:
        raise ActionModelInputError("test_fraction must be between 0 and 1.")

    n_test = max(1, round(n * test_fraction))
    n_train = n - n_test
    metrics: dict[str, Any] = {"n_train": n_train, "n_test": n_test, "auc": None, "brier": None}
    y_train, y_test = ya[:n_train], ya[n_train:]
    if len(np.unique(y_train)) < 2:
        metrics["note"] = "The older rows hold one outcome only; no hold-out metrics."
    else:
        held = _classifier(seed).fit(Xa[:n_train], y_train)
        p_test = held.predict_proba(Xa[n_train:])[:, 1]
        metrics["brier"] = float(brier_score_loss(y_test, p_test))
        metrics["base_rate_test"] = float(y_test.mean())
        if len(np.unique(y_test)) == 2:
            metrics["auc"] = float(roc_auc_score(y_test, p_test))
        else:
            metrics["note"] = "The hold-out holds one outcome only; AUC is undefined."
    final = _classifier(seed).fit(Xa, ya)
    card: dict[str, Any] = {
        "model": ACTION_MODEL_NAME,
        "version": ACTION_MODEL_VERSION,
        "label": "actioned = closed with informal action or STOR filed",
        "rows": n,
        "actioned": n_pos,
        "features": list(names),
        "validation": "time-ordered hold-out: oldest rows train, newest test; final model refitted on all rows",
        "metrics": metrics,
        "parameters": {"seed": seed, "test_fraction": test_fraction, **_classifier(seed).get_params()},
        "explained_output": "log-odds of actioned (decision_function)",
        "libraries": {lib: version(lib) for lib in ("scikit-learn", "shap", "numpy")},
    }
    return ActionModel(classifier=final, feature_names=names, model_card=card)


def action_model_predict(model: ActionModel, X: npt.ArrayLike) -> FloatArray:
    """Probability that each alert will be actioned (1-D, 0–1)."""
    Xa = _check_X(X, len(model.feature_names))
    return np.asarray(model.classifier.predict_proba(Xa)[:, 1], dtype=np.float64)


def action_model_explain(model: ActionModel, X: npt.ArrayLike) -> tuple[FloatArray, float]:
    """SHAP values (rows × features, log-odds of actioned) and the base value (log-odds).

    ``base + values.sum(axis=1)`` equals ``classifier.decision_function(X)``, the logit of
    ``action_model_predict``.
    """
    import shap  # slow import (numba), kept off module import

    Xa = _check_X(X, len(model.feature_names))
    explainer = shap.TreeExplainer(model.classifier)
    values = np.asarray(explainer.shap_values(Xa), dtype=np.float64).reshape(Xa.shape)
    return values, float(np.ravel(explainer.expected_value)[0])
