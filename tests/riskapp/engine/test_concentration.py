"""Concentration: Herfindahl–Hirschman index on gross weights, groups, top names.

Reference: U.S. Department of Justice & FTC, *Horizontal Merger Guidelines* (2010), §5.3: "a market
consisting of four firms with market shares of 30 percent, 30 percent, 20 percent, and 20 percent
has an HHI of 2,600" (= 0.26 as a fraction).
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riskapp.engine.concentration import (
    by_group,
    concentration_report,
    effective_number,
    gross_weights,
    herfindahl,
    top_names,
)
from riskapp.engine.types import RiskInputError


def test_given_the_merger_guidelines_example_then_hhi_is_2600_basis_points():
    assert herfindahl([0.30, 0.30, 0.20, 0.20]) * 10_000 == pytest.approx(2_600)


def test_given_values_instead_of_weights_then_hhi_normalises_to_gross_weights():
    assert herfindahl([300.0, 300.0, 200.0, 200.0]) == pytest.approx(0.26)
    # A short position counts by its size: a long/short pair is as concentrated as two equal longs.
    assert herfindahl([100.0, -100.0]) == pytest.approx(0.5)
    assert gross_weights([100.0, -300.0]) == pytest.approx([0.25, 0.75])


def test_given_equal_weights_then_effective_number_is_the_count():
    assert effective_number([5.0] * 8) == pytest.approx(8.0)
    assert effective_number([1.0, 0.0, 0.0]) == pytest.approx(1.0)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(min_value=-1e9, max_value=1e9), min_size=1, max_size=30))
def test_hhi_lies_between_one_over_n_and_one(values):
    nonzero = [v for v in values if abs(v) > 1e-6]
    if not nonzero:
        return
    h = herfindahl(nonzero)
    assert 1.0 / len(nonzero) - 1e-12 <= h <= 1.0 + 1e-12


def test_given_positions_then_by_group_aggregates_and_sorts_by_gross_exposure():
    groups = by_group([100.0, -50.0, 300.0, 25.0], ["Tech", "Tech", "Energy", ""])
    assert list(groups) == ["Energy", "Tech", "Unclassified"]
    assert groups["Tech"] == {
        "net": 50.0,
        "gross": 150.0,
        "long": 100.0,
        "short": -50.0,
        "weight": 150 / 475,
        "count": 2,
    }
    assert sum(g["weight"] for g in groups.values()) == pytest.approx(1.0)


def test_given_repeated_names_then_top_names_add_positions_up():
    top = top_names([100.0, 50.0, 120.0, -10.0], ["AAA", "BBB", "CCC", "AAA"], n=2)
    assert top == [("CCC", 120.0, pytest.approx(120 / 280)), ("AAA", 90.0, pytest.approx(110 / 280))]


def test_given_a_book_then_the_report_has_name_sector_and_country_concentration():
    report = concentration_report(
        [100.0, 100.0, 100.0, 100.0],
        names=["A", "B", "C", "D"],
        sectors=["Tech", "Tech", "Tech", "Energy"],
        countries=["US", "US", "US", "US"],
        top_n=2,
    )
    assert report.hhi_name == pytest.approx(0.25) and report.effective_names == pytest.approx(4.0)
    assert report.hhi_sector == pytest.approx(0.75**2 + 0.25**2)
    assert report.hhi_country == pytest.approx(1.0)
    assert report.top_share == pytest.approx(0.5)
    assert report.by_sector is not None and report.by_sector["Tech"]["count"] == 3


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: herfindahl([0.0, 0.0]), "no exposure"),
        (lambda: herfindahl([]), "no positions"),
        (lambda: by_group([1.0, 2.0], ["A"]), "1 group labels for 2"),
        (lambda: top_names([1.0], ["A"], n=0), "at least 1"),
        (lambda: herfindahl([1.0, float("nan")]), "finite"),
    ],
)
def test_given_bad_inputs_then_risk_input_error(call, message):
    with pytest.raises(RiskInputError, match=message):
        call()
