"""Behavioural coaching nudges on synthetic series whose drawdowns and weights are set by hand."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest

from wealth.engine.coaching import CoachingError, concentration_creep, panic_selling

START = date(2026, 1, 1)
DATES = np.array([np.datetime64(START + timedelta(days=i), "D") for i in range(90)])


def series(trough: float) -> np.ndarray:
    """Rises 80,000 → 100,000 over days 0–20 (peak on 2026-01-21), falls linearly to
    100,000·(1 − trough) by day 40, then stays there."""
    up = np.linspace(80_000.0, 100_000.0, 21)
    down = np.linspace(100_000.0, 100_000.0 * (1 - trough), 21)[1:]
    flat = np.full(90 - 41, 100_000.0 * (1 - trough))
    return np.concatenate([up, down, flat])


def day(i: int) -> date:
    return START + timedelta(days=i)


def test_selling_a_quarter_after_a_15_pct_fall_is_flagged() -> None:
    values = series(0.15)
    assert 1 - values[42] / values.max() == pytest.approx(0.15)
    (nudge,) = panic_selling(DATES, values, [(day(42), 25_000.0)], 100_000.0)
    assert (nudge.kind, nudge.severity) == ("panic_selling", "warning")
    assert nudge.evidence["sale_share"] == pytest.approx(0.25)
    assert nudge.evidence["drawdown"] == pytest.approx(0.15)
    assert nudge.evidence["peak_date"] == "2026-01-21"
    assert "25.0 %" in nudge.reason and "15.0 %" in nudge.reason and "$25,000" in nudge.reason
    assert "25 %" in nudge.message and "15 %" in nudge.message
    # One sale is "on" its day; the series is an index by default, so its peak carries no "$".
    assert f"on {day(42).isoformat()} while the market" in nudge.reason and "peak of 100,000" in nudge.reason


def test_the_reason_names_the_series_and_shows_money_peaks_in_dollars() -> None:
    values = series(0.15)
    (nudge,) = panic_selling(
        DATES,
        values,
        [(day(41), 10_000.0), (day(42), 15_000.0)],
        100_000.0,
        series_label="the portfolio",
        series_in_money=True,
    )
    assert f"between {day(41).isoformat()} and {day(42).isoformat()} while the portfolio" in nudge.reason
    assert "peak of $100,000" in nudge.reason


def test_same_sale_without_a_drawdown_is_not_flagged() -> None:
    rising = np.linspace(80_000.0, 120_000.0, 90)
    assert panic_selling(DATES, rising, [(day(42), 25_000.0)], 100_000.0) == []


def test_sale_in_a_5_pct_dip_is_not_flagged() -> None:
    assert panic_selling(DATES, series(0.05), [(day(42), 25_000.0)], 100_000.0) == []


def test_sale_before_the_fall_is_not_flagged() -> None:
    # Day 22: the value is 1.5 % below the peak.
    assert panic_selling(DATES, series(0.15), [(day(22), 25_000.0)], 100_000.0) == []


def test_small_sales_add_up_within_the_window() -> None:
    # Three 4 % sales (12 % ≥ 10 %) within 30 days during the fall: one nudge.
    sales = [(day(35), 4_000.0), (day(45), 4_000.0), (day(55), 4_000.0)]
    (nudge,) = panic_selling(DATES, series(0.15), sales, 100_000.0)
    assert nudge.evidence["sale_share"] == pytest.approx(0.12)
    assert (nudge.evidence["first_sale"], nudge.evidence["last_sale"]) == ("2026-02-05", "2026-02-25")
    # Spread 40 days apart no 30-day window holds more than 4 %.
    spread = [(day(41), 4_000.0), (day(81), 4_000.0)]
    assert panic_selling(DATES, series(0.15), spread, 100_000.0) == []


def test_overlapping_windows_give_one_nudge() -> None:
    sales = [(day(41), 12_000.0), (day(50), 12_000.0), (day(60), 12_000.0)]
    (nudge,) = panic_selling(DATES, series(0.20), sales, 100_000.0)
    assert nudge.evidence["amount_sold"] == pytest.approx(36_000.0)


def test_sales_on_days_without_a_price_use_the_last_value() -> None:
    # Observations every 5 days only: the sale on day 43 uses day 40's value (15 % below the day 20 peak).
    sparse = slice(0, 90, 5)
    (nudge,) = panic_selling(DATES[sparse], series(0.15)[sparse], [(day(43), 20_000.0)], 100_000.0)
    assert nudge.evidence["drawdown"] == pytest.approx(0.15)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"values": np.ones(3)}, "values"),
        ({"holdings_value": 0.0}, "holdings_value"),
        ({"drawdown_threshold": 1.5}, "drawdown_threshold"),
        ({"window_days": 0}, "window_days"),
        ({"sales": [(START, -5.0)]}, "sales"),
    ],
)
def test_panic_selling_bad_input(kwargs: dict[str, object], field: str) -> None:
    args: dict[str, object] = {"dates": DATES, "values": series(0.15), "sales": [], "holdings_value": 1.0} | kwargs
    with pytest.raises(CoachingError) as err:
        panic_selling(**args)  # type: ignore[arg-type]
    assert field in err.value.fields


# ---------------------------------------------------------------- concentration


def test_one_stock_growing_from_12_to_27_pct_is_a_warning() -> None:
    then = {"AAPL": 0.12, "BND": 0.48, "VTI": 0.40}
    now = {"AAPL": 0.27, "BND": 0.40, "VTI": 0.33}
    (nudge,) = concentration_creep(now, then, then)
    assert (nudge.kind, nudge.severity) == ("concentration_creep", "warning")
    assert nudge.evidence["symbol"] == "AAPL"
    assert "27.0 %" in nudge.reason and "12.0 %" in nudge.reason and "20.0 %" in nudge.reason
    # HHI went from 0.12² + 0.48² + 0.40² = 0.4048 to 0.27² + 0.40² + 0.33² = 0.3418 (it fell: the
    # nudge comes from the single position, and the evidence shows both).
    assert nudge.evidence["hhi_then"] == pytest.approx(0.4048)
    assert nudge.evidence["hhi_now"] == pytest.approx(0.3418)


def test_position_above_target_by_more_than_creep_is_info() -> None:
    # 10 % target, grew 10 % → 16 %: +6 % over both (≥ creep 5 %) but under the 20 % limit.
    target = {"XYZ": 0.10, "VTI": 0.90}
    (nudge,) = concentration_creep({"XYZ": 0.16, "VTI": 0.84}, {"XYZ": 0.10, "VTI": 0.90}, target)
    assert (nudge.severity, nudge.evidence["symbol"]) == ("info", "XYZ")
    assert "10.0 % to 16.0 %" in nudge.reason


def test_no_nudge_when_not_grown_or_within_creep() -> None:
    target = {"XYZ": 0.10, "VTI": 0.90}
    # Above target by 6 % but unchanged since last time: no new creep.
    assert concentration_creep({"XYZ": 0.16, "VTI": 0.84}, {"XYZ": 0.16, "VTI": 0.84}, target) == []
    # Grew by 4 % only.
    assert concentration_creep({"XYZ": 0.14, "VTI": 0.86}, {"XYZ": 0.10, "VTI": 0.90}, target) == []


def test_planned_large_fund_is_not_a_single_position_warning() -> None:
    target = {"VTI": 0.60, "BND": 0.40}
    assert concentration_creep({"VTI": 0.62, "BND": 0.38}, target, target) == []


def test_cash_is_ignored() -> None:
    assert concentration_creep({"CASH": 0.9, "VTI": 0.1}, {"CASH": 0.1, "VTI": 0.9}, {"VTI": 0.9}) == []


def test_hhi_rise_alone_is_info() -> None:
    # On-plan move to a more concentrated mix: HHI 0.3² + 0.3² + 0.2² + 0.2² = 0.26 →
    # 0.4² + 0.4² + 0.1² + 0.1² = 0.34 (rise 0.08 ≥ 0.05); no single position is off its target.
    then = {"A": 0.3, "B": 0.3, "C": 0.2, "D": 0.2}
    now = {"A": 0.4, "B": 0.4, "C": 0.1, "D": 0.1}
    (nudge,) = concentration_creep(now, then, now)
    assert nudge.severity == "info"
    assert nudge.evidence["hhi_now"] == pytest.approx(0.34)
    assert nudge.evidence["hhi_then"] == pytest.approx(0.26)


def test_concentration_bad_input() -> None:
    with pytest.raises(CoachingError) as err:
        concentration_creep({"A": 1.2}, {}, {}, creep=0.0)
    assert {"weights_now", "creep"} <= set(err.value.fields)


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda: concentration_creep({"AAA": "0.3"}, {}, {}), "weights_now"),
        (lambda: concentration_creep({"AAA": 0.3}, {"AAA": None}, {}), "weights_then"),
        (lambda: concentration_creep({"AAA": 0.3}, {}, None), "target"),
        (lambda: concentration_creep({"AAA": 0.3}, {}, {}, creep="5 %"), "creep"),
        (lambda: panic_selling(DATES, series(0.15), [(START, "100")], 1.0), "sales"),
        (lambda: panic_selling(DATES, series(0.15), [("2026-01-02", 100.0)], 1.0), "sales"),
        (lambda: panic_selling(DATES, series(0.15), [], "1000"), "holdings_value"),
        (lambda: panic_selling(DATES, ["a"] * DATES.size, [], 1.0), "values"),
        (lambda: panic_selling(DATES, series(0.15), [], 1.0, window_days=None), "window_days"),
    ],
)
def test_non_numeric_values_are_coaching_errors(call: object, field: str) -> None:
    # Mappings or arguments holding text or None give the module's error with the field named,
    # never a TypeError from math.isfinite.
    with pytest.raises(CoachingError) as err:
        call()  # type: ignore[operator]
    assert field in err.value.fields
