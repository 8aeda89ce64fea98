"""Scoring detections against labelled episodes: the matching rule and the metric arithmetic.
Hand-built detections and episodes; no database."""

from __future__ import annotations

import math

import numpy as np
import pytest

from surveillance.engine import evaluation
from surveillance.engine.evaluation import (
    DEFAULT_TOLERANCE_US,
    detections_score,
    detectors_available,
    evaluation_run,
    report_markdown,
    report_text,
)
from surveillance.engine.scenarios import SCENARIOS, Episode
from surveillance.engine.types import US_PER_MINUTE, Accounts, Detection

T0 = 1_704_205_800_000_000  # 2 January 2024 14:30 UTC
MIN = US_PER_MINUTE

# Accounts 1 and 2 are linked (group 0); account 3 is on its own (group 1).
ACCOUNTS = Accounts(
    account_id=np.array([1, 2, 3], dtype=np.int64),
    owner=np.array([10, 11, 12], dtype=np.int64),
    kind=np.zeros(3, dtype=np.int8),
    group=np.array([0, 0, 1], dtype=np.int64),
    is_employee=np.zeros(3, dtype=np.bool_),
)


def _episode(scenario="spoofing", account=1, instrument=0, start=0, end=5) -> Episode:
    return Episode(scenario, account, instrument, T0 + start * MIN, T0 + end * MIN, "default")


def _detection(scenario="spoofing", account=1, instrument=0, start=0, end=5) -> Detection:
    return Detection(scenario, account, instrument, T0 + start * MIN, T0 + end * MIN, 80.0, "test")


def _score(detections, episodes, **kwargs):
    return detections_score(detections, episodes, orders_count=10_000, accounts=ACCOUNTS, **kwargs)


def test_given_the_same_episode_when_scored_then_it_is_a_true_positive():
    s = _score([_detection()], [_episode()]).scores["spoofing"]
    assert (s.episodes, s.alerts, s.tp, s.fp, s.fn) == (1, 1, 1, 0, 0)
    assert s.precision == s.recall == s.f1 == 1.0


def test_given_a_linked_account_of_the_group_then_it_matches():
    s = _score([_detection(account=2)], [_episode(account=1)]).scores["spoofing"]
    assert (s.tp, s.fp, s.fn) == (1, 0, 0)


def test_given_an_account_of_another_group_then_it_is_a_false_positive_and_a_miss():
    s = _score([_detection(account=3)], [_episode(account=1)]).scores["spoofing"]
    assert (s.tp, s.fp, s.fn) == (0, 1, 1)


def test_given_an_unknown_account_then_it_matches_only_itself():
    s = _score([_detection(account=99)], [_episode(account=99)]).scores["spoofing"]
    assert (s.tp, s.fn) == (1, 0)
    s = _score([_detection(account=98)], [_episode(account=99)]).scores["spoofing"]
    assert (s.tp, s.fn) == (0, 1)


def test_given_a_detection_of_another_scenario_then_it_is_a_false_positive_for_its_own_scenario():
    r = _score([_detection(scenario="layering")], [_episode(scenario="spoofing")])
    assert (r.scores["layering"].fp, r.scores["layering"].tp) == (1, 0)
    assert r.scores["spoofing"].fn == 1 and r.scores["spoofing"].alerts == 0


def test_given_another_instrument_then_no_match():
    s = _score([_detection(instrument=1)], [_episode(instrument=0)]).scores["spoofing"]
    assert (s.tp, s.fp, s.fn) == (0, 1, 1)


def test_given_windows_apart_by_more_than_the_tolerance_then_no_match_and_within_it_a_match():
    tol_min = DEFAULT_TOLERANCE_US // MIN
    far = _detection(start=5 + tol_min + 1, end=5 + tol_min + 3)
    near = _detection(start=5 + tol_min - 1, end=5 + tol_min + 3)
    assert _score([far], [_episode()]).scores["spoofing"].tp == 0
    assert _score([near], [_episode()]).scores["spoofing"].tp == 1
    # A detection before the episode, by exactly the tolerance, still touches it.
    before = _detection(start=-30, end=-tol_min)
    assert _score([before], [_episode()]).scores["spoofing"].tp == 1
    assert _score([far], [_episode()], tolerance_us=(tol_min + 1) * MIN).scores["spoofing"].tp == 1


def test_given_a_mixed_set_then_the_metrics_follow_their_definitions():
    """Worked example: episodes A, B, C; alerts a1, a2 on A (one on the linked account), b1 on
    B, x1 matching nothing. TP = 3, FP = 1, FN = 1 (C); precision 3/4, recall 2/3,
    F1 = 2·(3/4)·(2/3)/(3/4 + 2/3) = 12/17 ≈ 0.7059; 4 alerts on 20,000 orders = 2 per 10,000."""
    episodes = [
        _episode(start=0, end=5),
        _episode(instrument=1, start=60, end=70),
        _episode(instrument=2, start=0, end=5),
    ]
    detections = [
        _detection(start=1, end=2),
        _detection(account=2, start=3, end=4),
        _detection(instrument=1, start=65, end=66),
        _detection(instrument=1, start=300, end=310),
    ]
    r = detections_score(detections, episodes, orders_count=20_000, accounts=ACCOUNTS)
    s = r.scores["spoofing"]
    assert (s.episodes, s.alerts, s.tp, s.fp, s.fn, s.detected) == (3, 4, 3, 1, 1, 2)
    assert s.precision == pytest.approx(0.75)
    assert s.recall == pytest.approx(2 / 3)
    assert s.f1 == pytest.approx(12 / 17)
    assert s.alerts_per_10k_orders == pytest.approx(2.0)
    assert r.alerts == 4 and r.alerts_per_10k_orders == pytest.approx(2.0)
    assert len(r.false_positives) == 1 and r.false_positives[0].start_us == T0 + 300 * MIN
    assert [e.instrument for e in r.missed] == [2]


def test_given_no_alerts_then_precision_is_undefined_and_f1_zero():
    s = _score([], [_episode()]).scores["spoofing"]
    assert math.isnan(s.precision) and s.recall == 0.0 and s.f1 == 0.0


def test_given_no_episodes_and_no_alerts_then_every_ratio_is_undefined():
    s = _score([], []).scores["wash_trades"]
    assert math.isnan(s.precision) and math.isnan(s.recall) and math.isnan(s.f1)


def test_given_alerts_but_no_episodes_then_precision_is_zero():
    s = _score([_detection(scenario="pump_dump")], []).scores["pump_dump"]
    assert s.precision == 0.0 and math.isnan(s.recall)


def test_given_default_rows_then_all_seven_scenarios_are_reported_in_order():
    r = _score([], [])
    assert list(r.scores) == list(SCENARIOS)


def test_given_bad_counts_then_scoring_refuses():
    with pytest.raises(ValueError, match="non-negative"):
        detections_score([], [], orders_count=-1)


def test_given_an_oracle_detector_when_evaluated_then_every_scenario_scores_one(monkeypatch):
    """The pipeline itself loses nothing: detections copied from the episodes score 1.0."""
    captured = {}

    def oracle(data, *, scenarios=None, parameters=None):
        return [
            Detection(e.scenario, e.account, e.instrument, e.start_us, e.end_us, 90.0, "oracle")
            for e in captured["episodes"]
        ]

    real_generate = evaluation.market_generate

    def generate(**kwargs):
        g = real_generate(**kwargs)
        captured["episodes"] = g.episodes
        return g

    monkeypatch.setattr(evaluation, "market_generate", generate)
    monkeypatch.setattr(evaluation, "detections_run", oracle)
    monkeypatch.setattr(evaluation, "detectors_available", lambda chosen: (list(chosen), {}))
    r = evaluation_run(seed=2, days=2, instruments=2, severity="high", episodes_per_scenario=2)
    for s in r.scores.values():
        assert (s.episodes, s.tp, s.fp, s.fn) == (2, 2, 0, 0)
    assert r.orders_count > 0 and r.order_events > r.orders_count
    assert "| spoofing | 2 | 2 | 2 | 0 | 0 | 1.00 | 1.00 | 1.00 |" in report_markdown(r)
    assert "severity high" in report_text(r)


def test_given_a_missing_detector_module_then_it_is_reported_not_fatal():
    ok, missing = detectors_available(["no_such_scenario"])
    assert ok == [] and missing == {"no_such_scenario": "no module"}
