"""Wash sales (IRS Publication 550, "Wash Sales") and tax-loss harvesting candidates.

Pub. 550's examples are reproduced with their numbers; other expectations follow from the rules
quoted in wealth/engine/harvest.py (30 days before or after, any account including IRAs, share
for share in order of acquisition, Rev. Rul. 2008-5 for IRA replacements).
"""

from __future__ import annotations

import math
from datetime import date, timedelta

import pytest

from wealth.engine.harvest import (
    HarvestError,
    Lot,
    Purchase,
    Sale,
    harvest_candidates,
    wash_sales,
)

SOLD_ON = date(2026, 3, 16)


def loss_sale(
    *,
    quantity: float = 100,
    basis: float = 1_000.0,
    proceeds: float = 750.0,
    start: date = date(2025, 11, 3),
    lot_id: int = 1,
    matched: float = 0.0,
) -> Sale:
    return Sale("TAX", "XYZ", SOLD_ON, quantity, proceeds, basis, start, lot_id, matched)


def buy(
    days: int,
    quantity: float,
    price: float,
    *,
    account: str = "TAX",
    taxable: bool = True,
    lot_id: int | None = 2,
    symbol: str = "XYZ",
) -> Purchase:
    return Purchase(account, taxable, symbol, SOLD_ON + timedelta(days=days), quantity, price, lot_id)


# ---------------------------------------------------------------- wash_sales


def test_pub_550_example_1_full_replacement() -> None:
    # IRS Pub. 550, Wash Sales, Example 1: bought 100 sh for $1,000, sold them for $750, and within
    # 30 days bought 100 sh for $800. The $250 loss is disallowed; the new shares' basis is
    # $800 + $250 = $1,050.
    (wash,) = wash_sales(loss_sale(), [buy(10, 100, 8.0)])
    assert wash.shares == 100
    assert wash.disallowed_loss == pytest.approx(250.0)
    assert wash.basis_added == pytest.approx(250.0)
    assert 100 * 8.0 + wash.basis_added == pytest.approx(1_050.0)


def test_pub_550_example_2_partial_replacement() -> None:
    # IRS Pub. 550, Wash Sales, Example 2: as Example 1 but only 50 sh bought for $400 within 30
    # days. $125 (50/100 of $250) is disallowed and added to basis ($400 + $125 = $525); the other
    # $125 is deductible.
    sale = loss_sale()
    (wash,) = wash_sales(sale, [buy(10, 50, 8.0)])
    assert wash.shares == 50
    assert wash.disallowed_loss == pytest.approx(125.0)
    assert 50 * 8.0 + wash.basis_added == pytest.approx(525.0)
    assert (sale.cost_basis - sale.proceeds) - wash.disallowed_loss == pytest.approx(125.0)


@pytest.mark.parametrize(
    ("days", "washed"),
    [(-31, False), (-30, True), (0, True), (30, True), (31, False)],
)
def test_window_is_30_days_before_or_after(days: int, washed: bool) -> None:
    # Pub. 550: "within 30 days before or after the sale".
    assert bool(wash_sales(loss_sale(), [buy(days, 100, 8.0)])) is washed


def test_purchase_in_an_ira_disallows_the_loss_without_adding_basis() -> None:
    # Rev. Rul. 2008-5: buying the replacement in an IRA disallows the loss and does not increase
    # the basis of the IRA (or anything else): the $250 is lost.
    (wash,) = wash_sales(loss_sale(), [buy(5, 100, 8.0, account="IRA", taxable=False)])
    assert wash.disallowed_loss == pytest.approx(250.0)
    assert wash.basis_added == 0.0
    assert wash.replacement_account == "IRA"


def test_replacement_holding_period_includes_the_sold_shares() -> None:
    # Sold shares held from 2025-11-03 to 2026-03-16 = 133 days; replacement bought 2026-03-26
    # gets holding_start 2026-03-26 − 133 days = 2025-11-13.
    sale = loss_sale(start=date(2025, 11, 3))
    assert (SOLD_ON - sale.holding_start).days == 133
    (wash,) = wash_sales(sale, [buy(10, 100, 8.0)])
    assert wash.holding_start == date(2025, 11, 13)


def test_replacement_bought_before_the_sale_never_starts_before_the_sold_shares() -> None:
    # IRC §1223(3) / Pub. 550: the replacement's holding period includes the sold shares' period,
    # and the overlap (replacement bought before the sale) counts once. Sold shares held
    # 2025-01-01 → 2025-12-27 = 360 days; replacement bought 2025-11-27. Subtracting 360 days gives
    # 2024-12-02, before the sold shares were even acquired; the start is max(2024-12-02,
    # 2025-01-01) = 2025-01-01.
    sold = Sale("TAX", "XYZ", date(2025, 12, 27), 100, 750.0, 1_000.0, date(2025, 1, 1), 1)
    assert (sold.trade_date - sold.holding_start).days == 360
    early = Purchase("TAX", True, "XYZ", date(2025, 11, 27), 100, 8.0, 2)
    (wash,) = wash_sales(sold, [early])
    assert date(2025, 11, 27) - timedelta(days=360) == date(2024, 12, 2)
    assert wash.holding_start == date(2025, 1, 1)


def test_a_replacement_share_washes_only_one_sold_share() -> None:
    # Treas. Reg. §1.1091-1(b): losses are taken in the order of their sales; §1.1091-1(e): a
    # share that made one loss non-deductible is disregarded for any other loss. Two sales of
    # 100 sh at a $250 loss each (lots 1 and 3) and one replacement purchase of 150 sh: the
    # first sale uses 100 of the 150 shares ($250 disallowed), the second only the other 50
    # ($125 of its $250 disallowed, $125 deductible).
    replacement = buy(5, 150, 8.0, lot_id=7)
    first, second = loss_sale(lot_id=1), loss_sale(lot_id=3)
    (w1,) = wash_sales(first, [replacement])
    assert (w1.shares, w1.disallowed_loss) == (100, pytest.approx(250.0))
    left = Purchase(**{**replacement.__dict__, "available": replacement.quantity - w1.shares})
    (w2,) = wash_sales(second, [left])
    assert (w2.shares, w2.disallowed_loss) == (50, pytest.approx(125.0))
    # Without ``available`` the same 150 shares would wash all 100 sold shares a second time.
    (twice,) = wash_sales(second, [replacement])
    assert twice.shares == 100
    # Fully used: nothing left to wash a third sale; a sale already matched is not matched again.
    used = Purchase(**{**replacement.__dict__, "available": 0.0})
    assert wash_sales(loss_sale(lot_id=4), [used]) == ()
    assert wash_sales(loss_sale(lot_id=4, matched=100), [replacement]) == ()
    (partly,) = wash_sales(loss_sale(lot_id=4, matched=40), [replacement])
    assert partly.shares == 60 and partly.disallowed_loss == pytest.approx(150.0)


def test_bad_available_and_matched_are_refused() -> None:
    with pytest.raises(HarvestError) as err:
        wash_sales(loss_sale(), [Purchase(**{**buy(5, 10, 8.0).__dict__, "available": 11.0})])
    assert "purchases" in err.value.fields
    with pytest.raises(HarvestError) as err:
        wash_sales(loss_sale(matched=-1), [])
    assert "sale" in err.value.fields


def test_replacements_matched_in_order_of_acquisition() -> None:
    # Sold 100 sh; bought 60 sh on day +10 (listed first) and 60 sh on day +5. The day +5 lot takes
    # 60 sh ($150 of the $250), the day +10 lot the remaining 40 sh ($100).
    later, earlier = buy(10, 60, 8.0, lot_id=11), buy(5, 60, 8.0, lot_id=12)
    washes = wash_sales(loss_sale(), [later, earlier])
    assert [(w.replacement_lot_id, w.shares) for w in washes] == [(12, 60), (11, 40)]
    assert [w.disallowed_loss for w in washes] == [pytest.approx(150.0), pytest.approx(100.0)]


def test_a_gain_is_never_a_wash_sale() -> None:
    assert wash_sales(loss_sale(proceeds=1_200.0), [buy(1, 100, 12.0)]) == ()
    assert wash_sales(loss_sale(proceeds=1_000.0), [buy(1, 100, 10.0)]) == ()


def test_the_sold_lots_own_purchase_and_other_symbols_do_not_count() -> None:
    own = buy(-20, 100, 10.0, lot_id=1)  # the purchase that created the sold lot
    other = buy(3, 100, 8.0, symbol="ABC")
    assert wash_sales(loss_sale(lot_id=1), [own, other]) == ()


def test_bad_sale_is_refused() -> None:
    with pytest.raises(HarvestError) as err:
        wash_sales(loss_sale(quantity=0), [])
    assert "sale" in err.value.fields


# ---------------------------------------------------------------- harvest_candidates

AS_OF = date(2026, 6, 1)
LONG_AGO = date(2024, 1, 10)
RECENT = date(2026, 2, 2)  # short-term on AS_OF
RATES = {"tax_rate_short": 0.37, "tax_rate_long": 0.15}
SUBS = {"XYZ": ["XYZ2"], "ABC": ["ABC2"], "DEF": []}
PRICES = {"XYZ": 90.0, "XYZ2": 50.0, "ABC": 80.0, "ABC2": 40.0, "DEF": 50.0}


def tlot(lot_id: int, symbol: str, qty: float, basis: float, start: date = LONG_AGO, *, taxable: bool = True) -> Lot:
    return Lot(lot_id, "TAX" if taxable else "IRA", taxable, symbol, qty, basis, start)


def candidates(lots: list[Lot], purchases: list[Purchase] | None = None, **kw: object) -> list:
    args: dict[str, object] = {"purchases": purchases or [], "substitutes": SUBS, **RATES} | kw
    return harvest_candidates(lots, PRICES, AS_OF, **args)  # type: ignore[arg-type]


def test_long_term_loss_benefit_and_costs() -> None:
    # 100 sh XYZ, basis $10,000, now $9,000: loss $1,000 = 10 % of basis, long-term.
    # Saving 1,000 × 15 % = $150; costs 9,000 × (5 bp sell + 5 bp buy) = $9; net $141.
    (opp,) = candidates([tlot(1, "XYZ", 100, 10_000.0)])
    assert (opp.loss, opp.loss_pct, opp.short_term) == (pytest.approx(1_000.0), pytest.approx(0.10), False)
    assert opp.tax_saving == pytest.approx(150.0)
    assert opp.costs == pytest.approx(9.0)
    assert opp.net_benefit == pytest.approx(141.0)
    assert opp.substitute == "XYZ2" and opp.blocked_by is None
    assert "net $141" in opp.reason


def test_short_term_loss_uses_the_short_term_rate() -> None:
    (opp,) = candidates([tlot(1, "XYZ", 100, 10_000.0, RECENT)])
    assert opp.short_term is True
    assert opp.tax_saving == pytest.approx(370.0)  # 1,000 × 37 %


def test_threshold_and_min_loss_filter() -> None:
    # 4 % loss (basis 9,375 → 9,000 is 4 %): under the 5 % threshold.
    assert candidates([tlot(1, "XYZ", 100, 9_375.0)]) == []
    # 10 % loss but only $100 (< $200 minimum).
    assert candidates([tlot(1, "XYZ", 10, 1_000.0)]) == []
    # Same lot passes when the minimum is lowered.
    assert len(candidates([tlot(1, "XYZ", 10, 1_000.0)], min_loss=50.0)) == 1


def test_no_positive_net_benefit_no_candidate() -> None:
    # Loss $1,000 but 0 % tax: saving 0 − costs < 0.
    assert candidates([tlot(1, "XYZ", 100, 10_000.0)], tax_rate_long=0.0) == []
    # Costs of 1 % a side (9,000 × 2 % = $180) exceed the $150 saving.
    assert candidates([tlot(1, "XYZ", 100, 10_000.0)], trading_cost=0.01) == []


def test_substitute_is_required() -> None:
    (opp,) = candidates([tlot(1, "DEF", 100, 6_000.0)])  # $1,000 loss, no substitute for DEF
    assert opp.substitute is None
    assert "no substitute" in opp.reason


def test_blocked_by_a_recent_purchase_in_another_account() -> None:
    # An IRA bought 10 sh XYZ 12 days ago: selling the taxable lot now would wash $100 of the loss.
    ira_buy = Purchase("IRA", False, "XYZ", AS_OF - timedelta(days=12), 10, 91.0, 55)
    (opp,) = candidates([tlot(1, "XYZ", 100, 10_000.0)], [ira_buy])
    assert opp.blocked_by == "purchase of 10 sh XYZ in IRA on 2026-05-20"
    assert "IRA" in opp.reason and "2026-05-20" in opp.reason and "$100" in opp.reason
    # 31 days ago: outside the window, not blocked.
    old_buy = Purchase("IRA", False, "XYZ", AS_OF - timedelta(days=31), 10, 91.0, 55)
    (opp,) = candidates([tlot(1, "XYZ", 100, 10_000.0)], [old_buy])
    assert opp.blocked_by is None


def test_the_lots_own_recent_purchase_does_not_block_it() -> None:
    bought = date(2026, 5, 20)
    own = Purchase("TAX", True, "XYZ", bought, 100, 100.0, 1)
    (opp,) = candidates([tlot(1, "XYZ", 100, 10_000.0, bought)], [own])
    assert opp.blocked_by is None


def test_sorted_by_net_benefit_actionable_first() -> None:
    lots = [
        tlot(1, "XYZ", 100, 10_000.0),  # LT loss 1,000: net 150 − 9 = 141
        tlot(2, "ABC", 100, 10_000.0, RECENT),  # ST loss 2,000: net 740 − 8 = 732
        tlot(3, "DEF", 100, 7_000.0),  # bigger loss but no substitute: listed last
        tlot(4, "XYZ", 50, 10_000.0, taxable=False),  # IRA lot: never harvested
    ]
    found = candidates(lots)
    assert [o.lot_id for o in found] == [2, 1, 3]
    # ABC: saving 2,000 × 37 % = 740; costs 8,000 × 10 bp = 8; net 732.
    assert found[0].net_benefit == pytest.approx(732.0)


def test_per_symbol_trading_costs() -> None:
    costs = {"XYZ": 0.001, "XYZ2": 0.002}
    (opp,) = candidates([tlot(1, "XYZ", 100, 10_000.0)], trading_cost=costs)
    assert opp.costs == pytest.approx(9_000 * 0.003)
    with pytest.raises(HarvestError) as err:
        candidates([tlot(1, "XYZ", 100, 10_000.0)], trading_cost={"XYZ": 0.001})
    assert "trading_cost" in err.value.fields


def test_bad_rates_and_missing_prices_are_refused() -> None:
    with pytest.raises(HarvestError) as err:
        candidates([tlot(1, "NOPE", 1, 10.0)], tax_rate_short=1.5)
    assert {"tax_rate_short", "prices"} <= set(err.value.fields)


@pytest.mark.parametrize(
    ("lots", "kwargs", "field"),
    [
        ([tlot(1, "XYZ", 100, math.nan)], {}, "lots"),  # NaN cost basis
        ([tlot(1, "XYZ", 100, 10_000.0, AS_OF + timedelta(days=1))], {}, "lots"),  # dated after as_of
        ([tlot(1, "XYZ", math.inf, 10_000.0)], {}, "lots"),
        ([tlot(1, "XYZ", 100, 10_000.0)], {"tax_rate_long": "0.15"}, "tax_rate_long"),
        ([tlot(1, "XYZ", 100, 10_000.0)], {"trading_cost": "5bp"}, "trading_cost"),
        ([tlot(1, "XYZ", 100, 10_000.0)], {"min_loss": None}, "min_loss"),
    ],
)
def test_bad_input_is_a_harvest_error_with_fields(lots: list[Lot], kwargs: dict[str, object], field: str) -> None:
    # Bad input gives the module's own error naming the field, never a TypeError or a silent skip.
    with pytest.raises(HarvestError) as err:
        candidates(lots, **kwargs)
    assert field in err.value.fields
