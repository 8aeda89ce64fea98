"""Action model (surveillance.engine.action_model): alert features, fit, hold-out, SHAP.

Sources: Friedman (2001), "Greedy function approximation: a gradient boosting machine" — for
the log-loss, a boosted model's raw output is the log-odds, so ``decision_function`` =
logit(``predict_proba``); Lundberg et al. (2020), Nature MI — TreeExplainer's local accuracy:
base value + Σ SHAP = the explained raw output. AUC and Brier score as in scikit-learn
(``roc_auc_score``, ``brier_score_loss``).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import logit

from surveillance.engine import action_model as am
from surveillance.engine.types import SurveillanceInputError


def alert(**overrides):
    base = {
        "scenario": "spoofing",
        "score": 60.0,
        "occurrences": 1,
        "account_kind": "client",
        "is_employee": False,
        "notional": 100_000.0,
        "prior_alerts": 0,
        "prior_actioned": 0,
        "hour_of_day": 15,
    }
    return base | overrides


def decisions(n: int = 400, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Synthetic past decisions, oldest first: analysts act on high scores, employees, insider
    dealing and accounts acted on before (a logistic rule plus noise)."""
    rng = np.random.default_rng(seed)
    rows = [
        alert(
            scenario=am.SCENARIO_CODES[int(rng.integers(0, len(am.SCENARIO_CODES)))],
            score=float(rng.uniform(20, 100)),
            occurrences=int(rng.integers(1, 6)),
            account_kind=am.ACCOUNT_KINDS[int(rng.integers(0, 3))],
            is_employee=bool(rng.random() < 0.15),
            notional=float(rng.lognormal(11, 1.5)),
            prior_alerts=(pa := int(rng.integers(0, 6))),
            prior_actioned=int(rng.integers(0, pa + 1)),
            hour_of_day=int(rng.integers(13, 22)),
        )
        for _ in range(n)
    ]
    X, names = am.alert_features(rows)
    col = {name: j for j, name in enumerate(names)}
    z = (
        0.08 * (X[:, col["score"]] - 60)
        + 1.5 * X[:, col["is_employee"]]
        + 1.5 * X[:, col["scenario_insider_dealing"]]
        + 2.0 * X[:, col["prior_actioned_rate"]]
        - 1.0
    )
    y = (rng.random(n) < 1 / (1 + np.exp(-z))).astype(int)
    return X, y


def test_alert_features_have_stable_names_and_encode_each_field():
    X, names = am.alert_features(
        [
            alert(),
            alert(
                scenario="best_execution",
                account_kind=2,
                is_employee=True,
                prior_alerts=4,
                prior_actioned=1,
                hour_of_day=20,
                occurrences=3,
            ),
        ]
    )
    assert names == am.ALERT_FEATURE_NAMES
    assert names[:8] == (
        "score",
        "occurrences",
        "is_employee",
        "notional",
        "prior_alerts",
        "prior_actioned",
        "prior_actioned_rate",
        "hour_of_day",
    )
    assert [n for n in names if n.startswith("scenario_")] == [f"scenario_{c}" for c in am.SCENARIO_CODES]
    first = dict(zip(names, X[0], strict=True))
    second = dict(zip(names, X[1], strict=True))
    assert first["scenario_spoofing"] == 1.0
    assert sum(v for k, v in first.items() if k.startswith("scenario_")) == 1.0
    assert first["account_kind_client"] == 1.0
    assert first["prior_actioned_rate"] == 0.0  # no prior alerts
    assert second["scenario_best_execution"] == 1.0
    assert second["account_kind_market_maker"] == 1.0  # integer code 2 = AccountKind.MARKET_MAKER
    assert (second["is_employee"], second["occurrences"], second["hour_of_day"]) == (1.0, 3.0, 20.0)
    assert second["prior_actioned_rate"] == 0.25
    assert X.shape == (2, len(names))


def test_given_bad_alert_rows_when_encoded_then_every_problem_is_named():
    bad = [alert(scenario="churning"), {"scenario": "spoofing"}, alert(score="high"), alert(account_kind="broker")]
    with pytest.raises(am.ActionModelInputError) as caught:
        am.alert_features(bad)
    message = str(caught.value)
    assert "row 0: unknown scenario 'churning'" in message
    assert "row 1: missing score" in message
    assert "row 2: a numeric field is not a number" in message
    assert "row 3: unknown account kind 'broker'" in message


def test_given_past_decisions_when_fitted_then_the_model_ranks_later_decisions_well():
    X, y = decisions()
    model = am.action_model_fit(X, y, am.ALERT_FEATURE_NAMES, seed=1)
    card = model.model_card
    assert (card["metrics"]["n_train"], card["metrics"]["n_test"]) == (300, 100)
    # The rule behind the labels is learnable: AUC well above chance on the newest quarter,
    # and a Brier score below that of always predicting the hold-out's base rate.
    assert card["metrics"]["auc"] > 0.75
    base_rate = card["metrics"]["base_rate_test"]
    assert card["metrics"]["brier"] < base_rate * (1 - base_rate)
    assert card["label"] == "actioned = closed with informal action or STOR filed"
    assert card["version"] == am.ACTION_MODEL_VERSION
    assert card["features"] == list(am.ALERT_FEATURE_NAMES)
    assert card["parameters"]["seed"] == 1
    assert (card["rows"], card["actioned"]) == (400, int(y.sum()))
    assert "fitted_at" not in card
    p = am.action_model_predict(model, X[:50])
    assert p.shape == (50,)
    assert ((p > 0) & (p < 1)).all()
    # An employee's high-score insider-dealing alert outranks a low-score client spoofing one.
    hi, lo = am.alert_features(
        [alert(scenario="insider_dealing", score=95, is_employee=True), alert(scenario="spoofing", score=25)]
    )[0]
    p_hi, p_lo = am.action_model_predict(model, np.vstack((hi, lo)))
    assert p_hi > p_lo


def test_given_a_fitted_model_when_explained_then_shap_adds_up_to_the_log_odds():
    X, y = decisions(seed=2)
    model = am.action_model_fit(X, y, am.ALERT_FEATURE_NAMES, seed=3)
    values, base = am.action_model_explain(model, X[:40])
    assert values.shape == (40, len(am.ALERT_FEATURE_NAMES))
    total = values.sum(axis=1) + base
    np.testing.assert_allclose(total, model.classifier.decision_function(X[:40]), rtol=1e-6)
    np.testing.assert_allclose(total, logit(am.action_model_predict(model, X[:40])), rtol=1e-6)


def test_given_a_seed_when_fitted_twice_then_predictions_are_identical():
    X, y = decisions(seed=4)
    a = am.action_model_fit(X, y, am.ALERT_FEATURE_NAMES, seed=9)
    b = am.action_model_fit(X, y, am.ALERT_FEATURE_NAMES, seed=9)
    np.testing.assert_array_equal(am.action_model_predict(a, X), am.action_model_predict(b, X))
    assert a.model_card == b.model_card
    c = am.action_model_fit(X, y, am.ALERT_FEATURE_NAMES, seed=10)  # row subsampling follows the seed
    assert not np.array_equal(am.action_model_predict(a, X), am.action_model_predict(c, X))


def test_given_the_newest_decisions_all_actioned_when_fitted_then_the_hold_out_is_the_newest_rows():
    """Rows are taken oldest first: a hold-out made of the newest quarter holds one outcome only,
    so AUC is undefined and the card says why (a shuffled split would have mixed outcomes)."""
    X, y = decisions(n=200, seed=5)
    y = y.copy()
    y[150:] = 1
    card = am.action_model_fit(X, y, am.ALERT_FEATURE_NAMES, seed=0).model_card
    assert card["metrics"]["auc"] is None
    assert "one outcome" in card["metrics"]["note"]
    assert card["metrics"]["brier"] is not None


@pytest.mark.parametrize(
    ("n", "n_actioned"),
    [(am.MIN_DECISIONS - 1, 10), (100, 0), (100, 100), (100, am.MIN_PER_CLASS - 1)],
)
def test_given_too_few_decisions_or_one_outcome_when_fitted_then_not_enough_decisions(n, n_actioned):
    X, _ = decisions(n=n, seed=6)
    y = np.zeros(n, dtype=int)
    y[:n_actioned] = 1
    with pytest.raises(am.NotEnoughDecisions, match="Not enough decisions yet") as caught:
        am.action_model_fit(X, y, am.ALERT_FEATURE_NAMES, seed=0)
    assert isinstance(caught.value, SurveillanceInputError)
    assert (caught.value.n, caught.value.n_actioned) == (n, n_actioned)


def test_given_malformed_inputs_when_fitted_or_used_then_clear_errors():
    X, y = decisions(n=60, seed=7)
    with pytest.raises(am.ActionModelInputError, match="columns"):
        am.action_model_fit(X[:, :-1], y, am.ALERT_FEATURE_NAMES, seed=0)
    with pytest.raises(am.ActionModelInputError, match="labels"):
        am.action_model_fit(X, y[:-1], am.ALERT_FEATURE_NAMES, seed=0)
    with pytest.raises(am.ActionModelInputError, match="0 \\(not actioned\\) or 1"):
        am.action_model_fit(X, y * 2, am.ALERT_FEATURE_NAMES, seed=0)
    y_ok = np.r_[np.ones(30, int), np.zeros(30, int)]
    model = am.action_model_fit(X, y_ok, am.ALERT_FEATURE_NAMES, seed=0)
    with pytest.raises(am.ActionModelInputError, match="columns"):
        am.action_model_predict(model, X[:, :5])
    bad = X[:3].copy()
    bad[0, 0] = np.nan
    with pytest.raises(am.ActionModelInputError, match="NaN"):
        am.action_model_explain(model, bad)
