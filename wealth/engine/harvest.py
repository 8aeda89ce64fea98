"""Tax-loss harvesting (IRS Publication 550, "Wash Sales").

The wash-sale rule itself (matching, basis and holding-period adjustments, IRA replacements)
lives in :mod:`wealth.engine.wash`; its names are re-exported here.

Harvesting: sell a taxable lot standing at a loss and buy a similar but not substantially
identical substitute, so the portfolio keeps its exposure and the loss offsets gains.
Benefit = loss × tax rate (short- or long-term by the lot's holding period) − round-trip
trading costs (sale of the lot + purchase of the substitute, as fractions of the amount).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TypeGuard

from wealth.engine.rebalance import Lot, Trade, is_short_term
from wealth.engine.wash import HarvestError, Purchase, Sale, WashSale, replacements, wash_sales

__all__ = [
    "HarvestError",
    "HarvestOpportunity",
    "Lot",
    "Purchase",
    "Sale",
    "Trade",
    "WashSale",
    "harvest_candidates",
    "wash_sales",
]

_EPS = 1e-9


@dataclass(frozen=True)
class HarvestOpportunity:
    """A taxable lot worth harvesting; ``loss`` is positive, ``reason`` is for the advisor."""

    lot_id: int
    account: str
    symbol: str
    quantity: float
    price: float
    loss: float
    loss_pct: float
    short_term: bool
    tax_saving: float
    costs: float
    net_benefit: float
    substitute: str | None
    blocked_by: str | None
    reason: str


def _money(x: float) -> str:
    return f"${x:,.0f}"


def _qty(q: float) -> str:
    return f"{q:,.0f}" if abs(q - round(q)) < _EPS else f"{q:,.6f}".rstrip("0")


def _finite(x: object) -> TypeGuard[float]:
    """A real number (not a bool) that is neither NaN nor infinite."""
    return isinstance(x, numbers.Real) and not isinstance(x, bool) and math.isfinite(x)


def _rate(costs: Mapping[str, float] | float, symbol: str, errors: dict[str, list[str]]) -> float:
    if not isinstance(costs, Mapping):
        return float(costs)
    if symbol not in costs:
        errors.setdefault("trading_cost", []).append(f"No trading cost for {symbol}.")
        return 0.0
    return float(costs[symbol])


def harvest_candidates(
    lots: Sequence[Lot],
    prices: Mapping[str, float],
    as_of: date,
    *,
    purchases: Sequence[Purchase],
    substitutes: Mapping[str, Sequence[str]],
    tax_rate_short: float,
    tax_rate_long: float,
    trading_cost: Mapping[str, float] | float = 0.0005,
    threshold: float = 0.05,
    min_loss: float = 200.0,
) -> list[HarvestOpportunity]:
    """Taxable lots whose loss is at least ``threshold`` of basis and ``min_loss`` dollars and
    whose tax saving beats the round-trip costs.

    A lot is listed but not actionable (``blocked_by`` set) when a purchase of the same symbol in
    any account within the last 30 days would wash the loss, and (``substitute`` None, reason
    "no substitute") when no substitute with a price is known. Actionable lots come first, each
    group sorted by net benefit, largest first. ``trading_cost`` is a fraction of the amount
    traded (0.0005 = 5 bp), one number or one per symbol (the lot's and the substitute's)."""
    errors: dict[str, list[str]] = {}
    for name, value in (("tax_rate_short", tax_rate_short), ("tax_rate_long", tax_rate_long), ("threshold", threshold)):
        if not (_finite(value) and 0 <= value <= 1):
            errors.setdefault(name, []).append(f"{name} must be between 0 and 1.")
    if not (_finite(min_loss) and min_loss >= 0):
        errors.setdefault("min_loss", []).append("min_loss must be a number ≥ 0.")
    if not isinstance(trading_cost, Mapping):
        if not (_finite(trading_cost) and 0 <= trading_cost < 1):
            errors.setdefault("trading_cost", []).append("trading_cost must be between 0 and 1.")
    elif any(not (_finite(c) and 0 <= c < 1) for c in trading_cost.values()):
        errors.setdefault("trading_cost", []).append("Every trading cost must be between 0 and 1.")
    for lot in lots:
        if not (_finite(lot.quantity) and lot.quantity >= 0):
            errors.setdefault("lots", []).append(f"Lot #{lot.lot_id} has a negative or non-numeric quantity.")
            continue
        if not (_finite(lot.cost_basis) and lot.cost_basis >= 0):
            errors.setdefault("lots", []).append(f"Lot #{lot.lot_id} has a negative or non-numeric cost basis.")
        if not isinstance(lot.holding_start, date) or lot.holding_start > as_of:
            errors.setdefault("lots", []).append(f"Lot #{lot.lot_id} is held from a date after {as_of.isoformat()}.")
        if lot.taxable and lot.quantity > 0:
            price = prices.get(lot.symbol)
            if not (_finite(price) and price > 0):
                errors.setdefault("prices", []).append(f"No positive price for {lot.symbol}.")
    if errors:
        raise HarvestError({k: sorted(set(v)) for k, v in errors.items()})

    found: list[HarvestOpportunity] = []
    for lot in lots:
        if not lot.taxable or lot.quantity <= 0 or lot.cost_basis <= 0:
            continue
        price = float(prices[lot.symbol])
        value = lot.quantity * price
        loss = lot.cost_basis - value
        loss_pct = loss / lot.cost_basis
        if loss_pct < threshold or loss < min_loss or loss <= 0:
            continue
        short = is_short_term(lot.holding_start, as_of)
        rate = tax_rate_short if short else tax_rate_long
        saving = loss * rate
        substitute = next((s for s in substitutes.get(lot.symbol, ()) if s != lot.symbol and s in prices), None)
        buy_rate = _rate(trading_cost, substitute, errors) if substitute is not None else 0.0
        costs = value * (_rate(trading_cost, lot.symbol, errors) + buy_rate)
        if errors:
            raise HarvestError({k: sorted(set(v)) for k, v in errors.items()})
        net = saving - costs
        if net <= 0:
            continue
        term = "short-term" if short else "long-term"
        head = (
            f"Lot #{lot.lot_id} ({lot.account}): {_qty(lot.quantity)} sh {lot.symbol} at {loss_pct * 100:.1f} % "
            f"below basis, a {term} loss of {_money(loss)}"
        )
        sale = Sale(lot.account, lot.symbol, as_of, lot.quantity, value, lot.cost_basis, lot.holding_start, lot.lot_id)
        washes = wash_sales(sale, purchases)
        blocked_by: str | None = None
        if washes:
            first = replacements(sale, purchases)[0][0]
            blocked_by = f"purchase of {_qty(first.quantity)} sh {lot.symbol} in {first.account} on {first.trade_date}"
            disallowed = sum(w.disallowed_loss for w in washes)
            reason = (
                f"{head}. Blocked: the {blocked_by} is within 30 days, so selling now would disallow "
                f"{_money(disallowed)} of the loss (wash sale)."
            )
        elif substitute is None:
            reason = f"{head}. Not actionable: no substitute."
        else:
            reason = (
                f"{head}. Sell and buy {substitute}: saves {_money(saving)} at {rate * 100:.0f} %, "
                f"costs {_money(costs)}, net {_money(net)}."
            )
        found.append(
            HarvestOpportunity(
                lot_id=lot.lot_id,
                account=lot.account,
                symbol=lot.symbol,
                quantity=lot.quantity,
                price=price,
                loss=loss,
                loss_pct=loss_pct,
                short_term=short,
                tax_saving=saving,
                costs=costs,
                net_benefit=net,
                substitute=substitute,
                blocked_by=blocked_by,
                reason=reason,
            )
        )
    found.sort(key=lambda o: (o.blocked_by is not None or o.substitute is None, -o.net_benefit, o.lot_id))
    return found
