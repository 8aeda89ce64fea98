"""Rebalancing engine: drift, holding period, cash flows, tax-aware lot choice and safety properties.

Expected numbers are worked by hand from the definitions in docs/wealth-methodology.md
("Rebalancing"): drift = ½·Σ|w − target|; tax = realised gain × rate; holding period per IRS
Publication 550 ("more than 1 year", counting from the day after acquisition).
"""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wealth.engine.rebalance import (
    CASH,
    Lot,
    RebalanceError,
    drift,
    is_short_term,
    long_term_date,
    rebalance,
)
from wealth.engine.wash import Purchase

AS_OF = date(2026, 6, 1)
OLD = date(2020, 1, 2)  # long-term for every test sale
RATES = {"tax_rate_short": 0.37, "tax_rate_long": 0.15}


def lot(
    lot_id: int, symbol: str, qty: float, basis: float, *, account: str = "TAX", taxable: bool = True, start: date = OLD
) -> Lot:
    return Lot(lot_id, account, taxable, symbol, qty, basis, start)


def at_cost(lot_id: int, symbol: str, qty: float, price: float = 100.0, **kw: object) -> Lot:
    return lot(lot_id, symbol, qty, qty * price, **kw)  # type: ignore[arg-type]


# ---------------------------------------------------------------- drift


def test_drift_two_assets_60_40_held_70_30() -> None:
    # ½(|0.7 − 0.6| + |0.3 − 0.4|) = ½(0.1 + 0.1) = 0.10
    assert drift(np.array([0.7, 0.3]), np.array([0.6, 0.4])) == pytest.approx(0.10)


def test_drift_three_assets() -> None:
    # ½(|0.5 − 0.4| + |0.2 − 0.4| + |0.3 − 0.2|) = ½(0.1 + 0.2 + 0.1) = 0.20
    assert drift(np.array([0.5, 0.2, 0.3]), np.array([0.4, 0.4, 0.2])) == pytest.approx(0.20)
    assert drift(np.array([0.4, 0.4, 0.2]), np.array([0.4, 0.4, 0.2])) == 0.0


def test_drift_rejects_mismatched_shapes() -> None:
    with pytest.raises(RebalanceError) as err:
        drift(np.array([0.5, 0.5]), np.array([1.0]))
    assert "weights" in err.value.fields


# ---------------------------------------------------------------- holding period (IRS Pub. 550)


@pytest.mark.parametrize(
    ("bought", "sold", "short"),
    [
        (date(2025, 3, 10), date(2025, 3, 10), True),  # same day
        (date(2025, 3, 10), date(2026, 3, 10), True),  # exactly one year: not "more than 1 year"
        (date(2025, 3, 10), date(2026, 3, 11), False),  # the brief's example: long-term from 2026-03-11
        # Pub. 550's own example: bought 2024-02-05, sold 2025-02-05 short, 2025-02-06 long.
        (date(2024, 2, 5), date(2025, 2, 5), True),
        (date(2024, 2, 5), date(2025, 2, 6), False),
        # Bought 29 Feb 2024: counting starts 1 Mar 2024, one year ends 28 Feb 2025.
        (date(2024, 2, 29), date(2025, 2, 28), True),
        (date(2024, 2, 29), date(2025, 3, 1), False),
        # Bought 28 Feb 2024: counting starts 29 Feb 2024, one year ends 28 Feb 2025.
        (date(2024, 2, 28), date(2025, 2, 28), True),
        (date(2024, 2, 28), date(2025, 3, 1), False),
        # Bought 28 Feb 2023: counting starts 1 Mar 2023, one year ends 29 Feb 2024 (leap year).
        (date(2023, 2, 28), date(2024, 2, 29), True),
        (date(2023, 2, 28), date(2024, 3, 1), False),
    ],
)
def test_is_short_term_edges(bought: date, sold: date, short: bool) -> None:
    assert is_short_term(bought, sold) is short


def test_long_term_date_is_the_first_long_term_day() -> None:
    assert long_term_date(date(2025, 3, 10)) == date(2026, 3, 11)
    assert long_term_date(date(2024, 2, 28)) == date(2025, 3, 1)  # count starts on 29 Feb
    assert long_term_date(date(2024, 2, 29)) == date(2025, 3, 1)


# ---------------------------------------------------------------- band and basic rebalance


def two_asset(a_qty: float, b_qty: float, cash: float = 0.0) -> tuple[list[Lot], dict[str, float]]:
    return [at_cost(1, "AAA", a_qty), at_cost(2, "BBB", b_qty)], {"TAX": cash}


PRICES = {"AAA": 100.0, "BBB": 100.0, "CCC": 100.0}
TARGET_60_40 = {"AAA": 0.6, "BBB": 0.4}


def test_no_trade_inside_the_band() -> None:
    # Given 62/38 against 60/40: drift 0.02 ≤ band 0.05
    lots, cash = two_asset(620, 380)
    plan = rebalance(lots, cash, PRICES, TARGET_60_40, AS_OF, **RATES)
    assert plan.trades == ()
    assert plan.drift_before == pytest.approx(0.02)
    assert plan.drift_after == pytest.approx(0.02)
    assert any("within the 5.0 % band" in r for r in plan.reasons)


def test_rebalance_70_30_back_to_60_40() -> None:
    # Given $100,000 at 70/30, target 60/40: sell $10,000 AAA (100 sh), buy $10,000 BBB.
    lots, cash = two_asset(700, 300)
    plan = rebalance(lots, cash, PRICES, TARGET_60_40, AS_OF, **RATES)
    sells = [t for t in plan.trades if t.side == "sell"]
    buys = [t for t in plan.trades if t.side == "buy"]
    assert [(t.symbol, t.quantity) for t in sells] == [("AAA", 100.0)]
    assert [(t.symbol, t.quantity) for t in buys] == [("BBB", 100.0)]
    assert plan.drift_before == pytest.approx(0.10)
    assert plan.drift_after == pytest.approx(0.0, abs=1e-12)
    assert plan.weights_after["AAA"] == pytest.approx(0.6)
    assert plan.cash_after == {"TAX": pytest.approx(0.0)}
    assert any("AAA is 10.0 % above its 60.0 % target" in r for r in plan.reasons)
    assert any("BBB is 10.0 % below its 40.0 % target" in r for r in plan.reasons)


def test_tax_is_gain_times_rate_and_zero_in_ira() -> None:
    # Taxable lot: 700 sh with basis $35,000 ($50/sh), price $100. Selling 100 sh realises
    # 100 × (100 − 50) = $5,000 long-term gain → tax 0.15 × 5,000 = $750.
    lots = [lot(1, "AAA", 700, 35_000.0), at_cost(2, "BBB", 300)]
    plan = rebalance(lots, {"TAX": 0.0}, PRICES, TARGET_60_40, AS_OF, **RATES)
    (sell,) = [t for t in plan.trades if t.side == "sell"]
    assert sell.realized_gain == pytest.approx(5_000.0)
    assert sell.short_term is False
    assert sell.tax == pytest.approx(750.0)
    assert plan.tax == pytest.approx(750.0)
    # Same holdings in an IRA: no realised gain, no tax.
    ira = [
        lot(1, "AAA", 700, 35_000.0, account="IRA", taxable=False),
        at_cost(2, "BBB", 300, account="IRA", taxable=False),
    ]
    plan = rebalance(ira, {"IRA": 0.0}, PRICES, TARGET_60_40, AS_OF, **RATES)
    (sell,) = [t for t in plan.trades if t.side == "sell"]
    assert (sell.realized_gain, sell.short_term, sell.tax) == (0.0, None, 0.0)
    assert [t.account for t in plan.trades] == ["IRA", "IRA"]  # proceeds buy inside the IRA


def test_asset_band_leaves_small_overweights_alone() -> None:
    # Target 40/40/20; held 45/41/14 → drift ½(5+1+6) = 6 % > 5 %. AAA is 5 % over (> asset_band 3 %),
    # BBB only 1 % over: sell $5,000 AAA only, buy CCC; BBB untouched; drift after ½(1+1) = 1 %.
    lots = [at_cost(1, "AAA", 450), at_cost(2, "BBB", 410), at_cost(3, "CCC", 140)]
    plan = rebalance(lots, {"TAX": 0.0}, PRICES, {"AAA": 0.4, "BBB": 0.4, "CCC": 0.2}, AS_OF, **RATES)
    assert {(t.side, t.symbol, t.quantity) for t in plan.trades} == {("sell", "AAA", 50.0), ("buy", "CCC", 50.0)}
    assert plan.drift_before == pytest.approx(0.06)
    assert plan.drift_after == pytest.approx(0.01)


# ---------------------------------------------------------------- cash flows


def test_deposit_goes_to_the_underweight_asset() -> None:
    # $100,000 at 70/30 plus a $10,000 deposit: V' = 110,000, targets 66,000/44,000, so BBB is
    # $14,000 short and takes the whole deposit (100 sh); AAA is not sold (drift after = 4/110 ≈ 3.6 %).
    lots, cash = two_asset(700, 300)
    plan = rebalance(lots, cash, PRICES, TARGET_60_40, AS_OF, cash_flow=10_000.0, **RATES)
    assert [(t.side, t.symbol, t.quantity) for t in plan.trades] == [("buy", "BBB", 100.0)]
    assert plan.drift_after == pytest.approx(4_000 / 110_000)
    assert plan.cash_after["TAX"] == pytest.approx(0.0)


def test_deposit_fills_the_most_underweight_first() -> None:
    # Held 50,000/27,000/18,000 plus a 5,000 deposit: V' = 100,000, targets 50,000/30,000/20,000.
    # BBB is 3 % under (most underweight) and gets 3,000 (30 sh) first; CCC 2 % under gets 2,000.
    lots = [at_cost(1, "AAA", 500), at_cost(2, "BBB", 270), at_cost(3, "CCC", 180)]
    plan = rebalance(
        lots, {"TAX": 0.0}, PRICES, {"AAA": 0.5, "BBB": 0.3, "CCC": 0.2}, AS_OF, cash_flow=5_000.0, **RATES
    )
    assert [(t.symbol, t.quantity) for t in plan.trades] == [("BBB", 30.0), ("CCC", 20.0)]


def test_withdrawal_sells_the_overweight_first() -> None:
    # $100,000 at 65/35, withdraw $5,000: V' = 95,000, targets 57,000/38,000; AAA is 8,000 over,
    # so the 5,000 comes from AAA alone (50 sh) and BBB is not sold.
    lots, cash = two_asset(650, 350)
    plan = rebalance(lots, cash, PRICES, TARGET_60_40, AS_OF, cash_flow=-5_000.0, **RATES)
    assert [(t.side, t.symbol, t.quantity) for t in plan.trades] == [("sell", "AAA", 50.0)]
    assert plan.cash_after["TAX"] == pytest.approx(0.0)
    assert any("Withdrawal of $5,000" in r for r in plan.reasons)


def test_withdrawal_rounds_sells_up_to_keep_cash_non_negative() -> None:
    # $5,050 needs 50.5 sh at $100: 51 sh are sold, $50 stays as cash.
    lots, cash = two_asset(650, 350)
    plan = rebalance(lots, cash, PRICES, TARGET_60_40, AS_OF, cash_flow=-5_050.0, **RATES)
    assert plan.trades[0].quantity == 51.0
    assert plan.cash_after["TAX"] == pytest.approx(50.0)


def test_withdrawal_larger_than_the_account_is_refused() -> None:
    lots, cash = two_asset(10, 10)
    with pytest.raises(RebalanceError) as err:
        rebalance(lots, cash, PRICES, TARGET_60_40, AS_OF, cash_flow=-5_000.0, **RATES)
    assert "cash_flow" in err.value.fields


@pytest.mark.parametrize("dust", [0.0, 0.004, -0.004])
def test_withdrawing_everything_held_liquidates(dust: float) -> None:
    # 10 sh AAA at $100 plus $50 cash = $1,050 held; withdrawing $1,050 (to half a cent) sells all
    # and leaves what was not withdrawn ($0.004 or $0), never a negative balance.
    lots = [at_cost(1, "AAA", 10)]
    plan = rebalance(lots, {"TAX": 50.0}, PRICES, {"AAA": 1.0}, AS_OF, cash_flow=-1_050.0 + dust, **RATES)
    assert sold_lots(plan) == [(1, 10.0)]
    assert plan.cash_after["TAX"] == pytest.approx(max(dust, 0.0), abs=1e-9)
    assert plan.cash_after["TAX"] >= 0.0
    assert any("nothing is left to rebalance" in r for r in plan.reasons)
    # A cent more than is held is still refused.
    with pytest.raises(RebalanceError) as err:
        rebalance(lots, {"TAX": 50.0}, PRICES, {"AAA": 1.0}, AS_OF, cash_flow=-1_050.01, **RATES)
    assert "cash_flow" in err.value.fields


def test_withdrawal_comes_from_the_named_account_only() -> None:
    lots = [at_cost(1, "AAA", 650), at_cost(2, "BBB", 300, account="IRA", taxable=False), at_cost(3, "BBB", 50)]
    # band 10 %: drift after the withdrawal (≈ 6.3 %) triggers no further rebalancing.
    plan = rebalance(
        lots,
        {"TAX": 0.0, "IRA": 0.0},
        PRICES,
        TARGET_60_40,
        AS_OF,
        cash_flow=-2_000.0,
        cash_flow_account="IRA",
        band=0.10,
        **RATES,
    )
    # AAA (the overweight) is not held in the IRA, so the IRA's BBB pays for the withdrawal (20 sh).
    assert [(t.account, t.symbol, t.quantity) for t in plan.trades] == [("IRA", "BBB", 20.0)]
    assert plan.cash_after["IRA"] >= 0


# ---------------------------------------------------------------- lot choice


def overweight_aaa(*aaa_lots: Lot) -> tuple[list[Lot], dict[str, float]]:
    """AAA lots worth 70,000 (700 sh at $100) and BBB 30,000: sell 100 sh AAA to reach 60/40."""
    return [*aaa_lots, at_cost(99, "BBB", 300)], {"TAX": 0.0, "IRA": 0.0}


def sold_lots(plan: object) -> list[tuple[int | None, float]]:
    return [(t.lot_id, t.quantity) for t in plan.trades if t.side == "sell"]  # type: ignore[attr-defined]


def test_tax_advantaged_lots_are_sold_before_taxable() -> None:
    lots, cash = overweight_aaa(
        lot(1, "AAA", 640, 32_000.0),  # taxable, long-term gain
        lot(2, "AAA", 60, 9_000.0, account="IRA", taxable=False),
    )
    plan = rebalance(lots, cash, PRICES, TARGET_60_40, AS_OF, **RATES)
    assert sold_lots(plan) == [(2, 60.0), (1, 40.0)]


def test_loss_lots_before_gain_lots() -> None:
    lots, cash = overweight_aaa(
        lot(1, "AAA", 600, 30_000.0),  # $50/sh basis: gain
        lot(2, "AAA", 100, 12_000.0),  # $120/sh basis: loss of $20/sh
    )
    plan = rebalance(lots, cash, PRICES, TARGET_60_40, AS_OF, **RATES)
    assert sold_lots(plan) == [(2, 100.0)]
    # Long-term loss of 100 × 20 = $2,000 at 15 % → tax −$300 (a saving).
    assert plan.tax == pytest.approx(-300.0)


def test_gain_lots_ranked_by_tax_cost_per_dollar_not_by_holding_period() -> None:
    # Tax per dollar sold = gain/value × rate. A short-term gain of $1/sh on $100 costs
    # 0.01 × 37 % = 0.37 ¢ per dollar; a long-term gain of $60/sh costs 0.60 × 15 % = 9 ¢. Selling
    # 100 sh of the short-term lot costs 100 × $1 × 37 % = $37 instead of 100 × $60 × 15 % = $900.
    recent = date(2026, 1, 5)  # short-term on 2026-06-01, turns long-term 2027-01-06 (not within 30 days)
    lots, cash = overweight_aaa(
        lot(1, "AAA", 100, 9_900.0, start=recent),  # short-term gain of $1/sh
        lot(2, "AAA", 600, 24_000.0),  # long-term gain of $60/sh
    )
    plan = rebalance(lots, cash, PRICES, TARGET_60_40, AS_OF, **RATES)
    assert sold_lots(plan) == [(1, 100.0)]
    assert plan.tax == pytest.approx(37.0)


def test_a_short_term_gain_costing_more_per_dollar_is_sold_last() -> None:
    # Short-term $30/sh: 0.30 × 37 % = 11.1 ¢ per dollar; long-term $60/sh: 0.60 × 15 % = 9 ¢.
    recent = date(2026, 1, 5)
    lots, cash = overweight_aaa(lot(1, "AAA", 100, 7_000.0, start=recent), lot(2, "AAA", 600, 24_000.0))
    plan = rebalance(lots, cash, PRICES, TARGET_60_40, AS_OF, **RATES)
    assert sold_lots(plan) == [(2, 100.0)]
    assert plan.tax == pytest.approx(100 * 60.0 * 0.15)


def test_equal_tax_cost_prefers_the_long_term_lot() -> None:
    # Both lots at cost (0 tax per dollar): the tie goes to the long-term lot, so no short-term
    # holding is given up.
    recent = date(2026, 1, 5)
    lots, cash = overweight_aaa(at_cost(1, "AAA", 100, start=recent), at_cost(2, "AAA", 600))
    plan = rebalance(lots, cash, PRICES, TARGET_60_40, AS_OF, **RATES)
    assert sold_lots(plan) == [(2, 100.0)]


def test_a_loss_washed_by_a_recent_purchase_saves_nothing() -> None:
    # IRS Pub. 550 (Wash Sales): 100 sh AAA bought 10 days ago in the same taxable account wash a
    # loss on 100 sh sold now. Old lot: 600 sh at $120 (a $20/sh loss, worth −$300 of tax at
    # 15 % on 100 sh if deductible). Washed, it saves nothing, so the recent lot at cost (0 tax)
    # is sold instead and the plan reports no saving.
    bought = date(2026, 5, 22)
    lots, cash = overweight_aaa(lot(1, "AAA", 600, 72_000.0), at_cost(2, "AAA", 100, start=bought))
    recent = [Purchase("TAX", True, "AAA", bought, 100, 100.0, 2)]
    without = rebalance(lots, cash, PRICES, TARGET_60_40, AS_OF, **RATES)
    assert sold_lots(without) == [(1, 100.0)] and without.tax == pytest.approx(-300.0)
    plan = rebalance(lots, cash, PRICES, TARGET_60_40, AS_OF, purchases=recent, **RATES)
    assert sold_lots(plan) == [(2, 100.0)]
    assert plan.tax == pytest.approx(0.0)


def test_a_washed_loss_sale_reports_only_the_deductible_part() -> None:
    # Only the loss lot is there (700 sh at $120); an IRA bought 40 sh AAA 10 days ago. Selling
    # 100 sh: 40 sh are washed (40 × $20 = $800 disallowed, lost for good per Rev. Rul. 2008-5), the
    # other 60 sh give a deductible loss of $1,200 → tax −$180 at 15 %, not −$300.
    lots, cash = overweight_aaa(lot(1, "AAA", 700, 84_000.0))
    recent = [Purchase("IRA", False, "AAA", date(2026, 5, 22), 40, 100.0, 55)]
    plan = rebalance(lots, cash, PRICES, TARGET_60_40, AS_OF, purchases=recent, **RATES)
    (sell,) = [t for t in plan.trades if t.side == "sell"]
    assert sell.realized_gain == pytest.approx(-2_000.0)
    assert sell.tax == pytest.approx(-180.0)
    assert any("Wash sale: $800" in r and "Rev. Rul. 2008-5" in r for r in plan.reasons)
    # Outside the 30-day window (31 days before) the purchase washes nothing.
    old = [Purchase("IRA", False, "AAA", date(2026, 5, 1), 40, 100.0, 55)]
    assert rebalance(lots, cash, PRICES, TARGET_60_40, AS_OF, purchases=old, **RATES).tax == pytest.approx(-300.0)


def test_long_term_gains_lowest_gain_per_dollar_first() -> None:
    lots, cash = overweight_aaa(lot(1, "AAA", 350, 7_000.0), lot(2, "AAA", 350, 28_000.0))
    plan = rebalance(lots, cash, PRICES, TARGET_60_40, AS_OF, **RATES)
    assert sold_lots(plan) == [(2, 100.0)]  # $20/sh gain beats $80/sh gain


def test_short_term_lot_close_to_long_term_is_deferred_when_drift_is_moderate() -> None:
    # Only lot of AAA is a short-term gain that turns long-term on 2026-06-11 (10 days away).
    start = date(2025, 6, 10)
    assert long_term_date(start) == date(2026, 6, 11)
    lots = [lot(1, "AAA", 680, 34_000.0, start=start), at_cost(2, "BBB", 320)]
    # Drift 8 % is above the 5 % band but under 2 × band = 10 %: the sale waits.
    plan = rebalance(lots, {"TAX": 0.0}, PRICES, TARGET_60_40, AS_OF, **RATES)
    assert [t for t in plan.trades if t.side == "sell"] == []
    assert any("Deferred the sale" in r and "2026-06-11" in r for r in plan.reasons)
    assert any("under twice the 5.0 % band" in r for r in plan.reasons)
    # At 12 % drift (≥ 2 × band) it is sold, at the short-term rate, and the reasons say why.
    lots = [lot(1, "AAA", 720, 36_000.0, start=start), at_cost(2, "BBB", 280)]
    plan = rebalance(lots, {"TAX": 0.0}, PRICES, TARGET_60_40, AS_OF, **RATES)
    (sell,) = [t for t in plan.trades if t.side == "sell"]
    assert sell.short_term is True
    assert sell.tax == pytest.approx(120 * 50.0 * 0.37)  # 120 sh × $50 gain × 37 %
    assert any("short-term gain" in r for r in plan.reasons)


def test_fractional_shares_reach_target_exactly() -> None:
    # Price $300: 70/30 of $100,000 → sell $10,000 = 33.33 sh. Whole shares: 33 sh;
    # fractional: 33.333333 sh.
    lots = [lot(1, "AAA", 70_000 / 300, 70_000.0), lot(2, "BBB", 300, 30_000.0)]
    prices = {"AAA": 300.0, "BBB": 100.0}
    whole = rebalance(lots, {"TAX": 0.0}, prices, TARGET_60_40, AS_OF, **RATES)
    frac = rebalance(lots, {"TAX": 0.0}, prices, TARGET_60_40, AS_OF, lots_in_whole_units=False, **RATES)
    assert [t.quantity for t in whole.trades] == [33.0, 99.0]  # floor(9,900 / 100) = 99 sh BBB
    assert frac.trades[0].quantity == pytest.approx(33.333333, abs=1e-6)
    assert frac.drift_after < whole.drift_after
    assert frac.drift_after == pytest.approx(0.0, abs=1e-6)


def test_symbols_missing_from_the_target_are_sold() -> None:
    lots = [at_cost(1, "AAA", 500), at_cost(2, "BBB", 400), at_cost(3, "OLD", 100)]
    plan = rebalance(lots, {"TAX": 0.0}, PRICES | {"OLD": 100.0}, TARGET_60_40, AS_OF, **RATES)
    assert ("sell", "OLD", 100.0) in {(t.side, t.symbol, t.quantity) for t in plan.trades}
    assert plan.weights_after["OLD"] == 0.0


def test_cash_target_is_kept() -> None:
    # Target 55/40 with 5 % CASH: 60/40/0 held → sell AAA 5,000 and keep it as cash.
    lots, cash = two_asset(600, 400)
    plan = rebalance(lots, cash, PRICES, {"AAA": 0.55, "BBB": 0.40, CASH: 0.05}, AS_OF, band=0.04, **RATES)
    assert [(t.side, t.symbol, t.quantity) for t in plan.trades] == [("sell", "AAA", 50.0)]
    assert plan.weights_after[CASH] == pytest.approx(0.05)


# ---------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"prices": {"AAA": 100.0}}, "prices"),
        ({"cash": {"TAX": -1.0}}, "cash"),
        ({"target": {"AAA": 0.7, "BBB": 0.4}}, "target"),
        ({"target": {"AAA": 0.5, "BBB": 0.4, CASH: 0.05}}, "target"),
        ({"band": -0.1}, "band"),
        ({"tax_rate_short": 1.5}, "tax_rate_short"),
        ({"cash_flow": 1_000.0, "cash_flow_account": "NOPE"}, "cash_flow_account"),
        # Non-numeric values in mappings and arguments: the module's error, never a TypeError.
        ({"cash": {"TAX": "100"}}, "cash"),
        ({"prices": {"AAA": "100", "BBB": 100.0}}, "prices"),
        ({"target": {"AAA": None, "BBB": 0.4}}, "target"),
        ({"tax_rate_long": "0.15"}, "tax_rate_long"),
        ({"min_trade": None}, "min_trade"),
        ({"cash_flow": "-5000"}, "cash_flow"),
        ({"lots": [lot(1, "AAA", 700, math.nan), at_cost(2, "BBB", 300)]}, "lots"),
        ({"lots": [lot(1, "AAA", "700", 70_000.0), at_cost(2, "BBB", 300)]}, "lots"),  # type: ignore[arg-type]
        ({"purchases": [Purchase("TAX", True, "AAA", AS_OF, math.nan, 100.0, None)]}, "purchases"),
        ({"purchases": ["AAA"]}, "purchases"),
    ],
)
def test_bad_input_names_the_field(kwargs: dict[str, object], field: str) -> None:
    lots, cash = two_asset(700, 300)
    args: dict[str, object] = {"lots": lots, "cash": cash, "prices": PRICES, "target": TARGET_60_40, "as_of": AS_OF}
    args |= RATES | kwargs
    with pytest.raises(RebalanceError) as err:
        rebalance(**args)  # type: ignore[arg-type]
    assert field in err.value.fields


def test_mixed_account_tax_status_is_refused() -> None:
    lots = [at_cost(1, "AAA", 10), at_cost(2, "BBB", 10, taxable=False)]
    with pytest.raises(RebalanceError) as err:
        rebalance(lots, {"TAX": 0.0}, PRICES, TARGET_60_40, AS_OF, **RATES)
    assert "lots" in err.value.fields


# ---------------------------------------------------------------- properties


@st.composite
def portfolios(draw: st.DrawFn) -> dict[str, object]:
    symbols = ["AAA", "BBB", "CCC", "DDD"]
    prices = {s: draw(st.floats(1.0, 500.0)) for s in symbols}
    lots = []
    for i in range(draw(st.integers(1, 8))):
        account = draw(st.sampled_from(["TAX", "IRA"]))
        symbol = draw(st.sampled_from(symbols))
        qty = float(draw(st.integers(1, 400)))
        basis = qty * prices[symbol] * draw(st.floats(0.3, 2.0))
        start = draw(st.dates(date(2020, 1, 1), AS_OF))
        lots.append(Lot(i + 1, account, account == "TAX", symbol, qty, basis, start))
    raw = [draw(st.floats(0.0, 1.0)) for _ in symbols]
    scale = draw(st.floats(0.8, 1.0)) / (sum(raw) or 1.0)
    target = {s: w * scale for s, w in zip(symbols, raw, strict=True)}
    cash = {"TAX": draw(st.floats(0.0, 20_000.0)), "IRA": draw(st.floats(0.0, 20_000.0))}
    held_tax = cash["TAX"] + sum(x.quantity * prices[x.symbol] for x in lots if x.account == "TAX")
    flow = draw(st.floats(-1.0, 1.0)) * held_tax * 0.9
    return {
        "lots": lots,
        "cash": cash,
        "prices": prices,
        "target": target,
        "cash_flow": flow,
        "whole": draw(st.booleans()),
    }


@settings(max_examples=200, deadline=None)
@given(portfolios())
def test_property_cash_never_negative_and_value_conserved(p: dict[str, object]) -> None:
    lots: list[Lot] = p["lots"]  # type: ignore[assignment]
    prices: dict[str, float] = p["prices"]  # type: ignore[assignment]
    cash: dict[str, float] = p["cash"]  # type: ignore[assignment]
    flow: float = p["cash_flow"]  # type: ignore[assignment]
    plan = rebalance(
        lots,
        cash,
        prices,
        p["target"],
        AS_OF,
        cash_flow=flow,
        band=0.02,  # type: ignore[arg-type]
        lots_in_whole_units=bool(p["whole"]),
        account_taxable={"IRA": False},
        **RATES,
    )
    # Per-account cash never negative.
    assert all(v >= 0 for v in plan.cash_after.values()), plan.cash_after
    # No lot sells more than it holds; whole-share mode trades whole shares.
    sold: dict[int, float] = {}
    for t in plan.trades:
        if t.side == "sell":
            assert t.lot_id is not None
            sold[t.lot_id] = sold.get(t.lot_id, 0.0) + t.quantity
        elif p["whole"]:
            assert t.quantity == math.floor(t.quantity)
    by_id = {x.lot_id: x for x in lots}
    assert all(q <= by_id[i].quantity + 1e-9 for i, q in sold.items())
    # Every account's cash moves only by its own trades and the cash flow (no transfers).
    for account in cash:
        delta = sum(t.amount if t.side == "sell" else -t.amount for t in plan.trades if t.account == account)
        expected = cash[account] + delta + (flow if account == "TAX" else 0.0)
        assert plan.cash_after[account] == pytest.approx(expected, abs=1e-6)
    # One plan never buys a symbol it sells at a loss in a taxable account (a wash sale).
    losses = {t.symbol for t in plan.trades if t.side == "sell" and t.realized_gain < 0}
    assert not ({t.symbol for t in plan.trades if t.side == "buy"} & losses)
    # Weights add up to one.
    assert sum(plan.weights_after.values()) == pytest.approx(1.0)
    # Without a cash flow no trade moves an asset past its target: drift never grows.
    if flow == 0.0:
        assert plan.drift_after <= plan.drift_before + 1e-12
