"""Spoofing, layering and front running on a generated market with labelled episodes.

A regression guard on the whole chain (generator → detectors → grouping → matching): at default
severity the detectors must keep finding the injected episodes without flooding the analyst.
The floors sit below the numbers published in docs/surveillance-methodology.md, because one
small market (10 sessions × 10 instruments) is a noisy sample of them.
"""

from __future__ import annotations

import pytest

from surveillance.engine.evaluation import evaluation_run

FLOORS = {  # scenario: (precision, recall)
    "spoofing": (0.7, 0.8),
    "layering": (0.8, 0.8),
    "front_running": (0.4, 0.4),
}


@pytest.mark.slow
def test_given_a_generated_market_then_precision_and_recall_stay_above_floors() -> None:
    report = evaluation_run(seed=3, days=10, instruments=10, severity="default", scenarios=list(FLOORS))
    for scenario, (precision, recall) in FLOORS.items():
        s = report.scores[scenario]
        assert s.episodes > 0
        assert s.precision >= precision, (scenario, s)
        assert s.recall >= recall, (scenario, s)
