"""Tax-loss harvesting and the wash-sale rule (IRS Publication 550, "Wash Sales").

Wash sale: a loss on a sale of stock is disallowed when, within 30 days before or after the sale
date, substantially identical stock is bought (here: the same symbol) in any of the client's
accounts. Replacement shares are matched to sold shares share for share in the order they were
acquired; the disallowed loss is added to the replacement shares' basis and their holding
period includes that of the sold shares (their ``holding_start`` moves back by the days the sold
shares were held). A replacement bought in an IRA or other tax-advantaged account still
disallows the loss, but nothing is added to any basis: the loss is lost for good (Rev. Rul.
2008-5). A sale at a gain is never a wash sale.

Harvesting: sell a taxable lot standing at a loss and buy a similar but not substantially
identical substitute, so the portfolio keeps its exposure and the loss offsets gains.
Benefit = loss × tax rate (short- or long-term by the lot's holding period) − round-trip
trading costs (sale of the lot + purchase of the substitute, as fractions of the amount).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from wealth.engine.rebalance import Lot, Trade, is_short_term

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

WASH_WINDOW_DAYS = 30
_EPS = 1e-9


class HarvestError(ValueError):
    """Inputs the harvester cannot use; ``fields`` maps each offending argument to messages."""

    def __init__(self, fields: Mapping[str, list[str]]) -> None:
        self.fields: dict[str, list[str]] = {key: list(messages) for key, messages in fields.items()}
        super().__init__("; ".join(f"{key}: {' '.join(msgs)}" for key, msgs in self.fields.items()))


@dataclass(frozen=True)
class Purchase:
    """A buy in any of the client's accounts; ``lot_id`` is the lot it created, when known."""

    account: str
    taxable: bool
    symbol: str
    trade_date: date
    quantity: float
    price: float
    lot_id: int | None


@dataclass(frozen=True)
class Sale:
    """A sale of (part of) one lot: ``proceeds`` and ``cost_basis`` are totals for ``quantity``."""

    account: str
    symbol: str
    trade_date: date
    quantity: float
    proceeds: float
    cost_basis: float
    holding_start: date
    lot_id: int | None


@dataclass(frozen=True)
class WashSale:
    """Sold shares matched to ``shares`` replacement shares of one purchase.

    ``disallowed_loss`` is the part of the loss not deductible now; ``basis_added`` is what the
    replacement's basis grows by (0 for a tax-advantaged replacement); ``holding_start`` is the
    replacement shares' adjusted holding start."""

    sale_lot_id: int | None
    replacement_lot_id: int | None
    replacement_account: str
    shares: float
    disallowed_loss: float
    basis_added: float
    holding_start: date


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


def wash_sales(sale: Sale, purchases: Sequence[Purchase]) -> tuple[WashSale, ...]:
    """The wash sales a loss sale triggers: one entry per replacement purchase matched.

    Purchases of the same symbol dated within 30 days before or after ``sale.trade_date`` in any
    account are replacements, matched in order of acquisition (date, then input order) until the
    sold shares are used up. The purchase that created the sold lot (same ``lot_id``) is not a
    replacement. Returns () for a gain or break-even sale."""
    errors: dict[str, list[str]] = {}
    if not (math.isfinite(sale.quantity) and sale.quantity > 0):
        errors.setdefault("sale", []).append("Sale quantity must be positive.")
    if not (math.isfinite(sale.proceeds) and sale.proceeds >= 0):
        errors.setdefault("sale", []).append("Sale proceeds must be a number ≥ 0.")
    if not (math.isfinite(sale.cost_basis) and sale.cost_basis >= 0):
        errors.setdefault("sale", []).append("Sale cost basis must be a number ≥ 0.")
    if sale.holding_start > sale.trade_date:
        errors.setdefault("sale", []).append("Sale holding start is after the sale date.")
    for p in purchases:
        if not (math.isfinite(p.quantity) and p.quantity >= 0):
            errors.setdefault("purchases", []).append(f"Purchase of {p.symbol} on {p.trade_date} has a bad quantity.")
    if errors:
        raise HarvestError(errors)

    loss = sale.cost_basis - sale.proceeds
    if loss <= 0:
        return ()
    loss_per_share = loss / sale.quantity
    days_held = sale.trade_date - sale.holding_start
    return tuple(
        WashSale(
            sale_lot_id=sale.lot_id,
            replacement_lot_id=p.lot_id,
            replacement_account=p.account,
            shares=shares,
            disallowed_loss=loss_per_share * shares,
            basis_added=loss_per_share * shares if p.taxable else 0.0,
            holding_start=p.trade_date - days_held,
        )
        for p, shares in _replacements(sale, purchases)
    )


def _replacements(sale: Sale, purchases: Sequence[Purchase]) -> list[tuple[Purchase, float]]:
    """Replacement purchases and the sold shares each absorbs, in order of acquisition."""
    window = timedelta(days=WASH_WINDOW_DAYS)
    candidates = [
        (p.trade_date, i, p)
        for i, p in enumerate(purchases)
        if p.symbol == sale.symbol
        and p.quantity > 0
        and abs(p.trade_date - sale.trade_date) <= window
        and not (sale.lot_id is not None and p.lot_id == sale.lot_id)
    ]
    out: list[tuple[Purchase, float]] = []
    left = sale.quantity
    for _, _, p in sorted(candidates, key=lambda item: (item[0], item[1])):
        if left <= _EPS:
            break
        shares = min(left, p.quantity)
        out.append((p, shares))
        left -= shares
    return out


def _rate(costs: Mapping[str, float] | float, symbol: str, errors: dict[str, list[str]]) -> float:
    if isinstance(costs, int | float):
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
        if not (math.isfinite(value) and 0 <= value <= 1):
            errors.setdefault(name, []).append(f"{name} must be between 0 and 1.")
    if not (math.isfinite(min_loss) and min_loss >= 0):
        errors.setdefault("min_loss", []).append("min_loss must be a number ≥ 0.")
    if isinstance(trading_cost, int | float):
        if not (math.isfinite(trading_cost) and 0 <= trading_cost < 1):
            errors.setdefault("trading_cost", []).append("trading_cost must be between 0 and 1.")
    elif any(not (math.isfinite(c) and 0 <= c < 1) for c in trading_cost.values()):
        errors.setdefault("trading_cost", []).append("Every trading cost must be between 0 and 1.")
    for lot in lots:
        if lot.taxable and lot.quantity > 0:
            price = prices.get(lot.symbol)
            if price is None or not (math.isfinite(price) and price > 0):
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
            first = _replacements(sale, purchases)[0][0]
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
