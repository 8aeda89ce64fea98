"""The wash-sale rule (IRC §1091, IRS Publication 550 "Wash Sales", Treas. Reg. §1.1091-1).

A loss on a sale of stock is disallowed when, within 30 days before or after the sale date,
substantially identical stock is bought (here: the same symbol) in any of the client's accounts.
Replacement shares are matched to sold shares share for share in the order they were acquired;
a replacement share that has already washed one loss is not used again (§1.1091-1(e)), and
losses are matched in the order of their sales (§1.1091-1(b)): callers that wash several sales
pass what is left with ``Purchase.available`` and ``Sale.matched``.

The disallowed loss is added to the replacement shares' basis and their holding period includes
that of the sold shares (IRC §1223(3)): their ``holding_start`` moves back by the days the sold
shares were held, but never before the sold shares' own start (a replacement bought before the
sale overlaps the sold shares' period, and the overlap counts once). A replacement bought in an
IRA or other tax-advantaged account still disallows the loss, but nothing is added to any basis:
the loss is lost for good (Rev. Rul. 2008-5). A sale at a gain is never a wash sale.

This module has no dependency on the other engines so that both ``harvest`` and ``rebalance``
can use it.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TypeGuard

__all__ = ["WASH_WINDOW_DAYS", "HarvestError", "Purchase", "Sale", "WashSale", "replacements", "wash_sales"]

WASH_WINDOW_DAYS = 30
_EPS = 1e-9


class HarvestError(ValueError):
    """Inputs the harvester cannot use; ``fields`` maps each offending argument to messages."""

    def __init__(self, fields: Mapping[str, list[str]]) -> None:
        self.fields: dict[str, list[str]] = {key: list(messages) for key, messages in fields.items()}
        super().__init__("; ".join(f"{key}: {' '.join(msgs)}" for key, msgs in self.fields.items()))


@dataclass(frozen=True)
class Purchase:
    """A buy in any of the client's accounts; ``lot_id`` is the lot it created, when known.

    ``available`` is how many of its shares can still wash a loss (None: all of ``quantity``);
    shares already matched to an earlier loss sale are not matched again (§1.1091-1(e))."""

    account: str
    taxable: bool
    symbol: str
    trade_date: date
    quantity: float
    price: float
    lot_id: int | None
    available: float | None = None


@dataclass(frozen=True)
class Sale:
    """A sale of (part of) one lot: ``proceeds`` and ``cost_basis`` are totals for ``quantity``.

    ``matched`` is how many of the sold shares earlier replacements have already washed (0 by
    default); only the rest can be matched."""

    account: str
    symbol: str
    trade_date: date
    quantity: float
    proceeds: float
    cost_basis: float
    holding_start: date
    lot_id: int | None
    matched: float = 0.0


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


def _finite(x: object) -> TypeGuard[float]:
    """A real number (not a bool) that is neither NaN nor infinite."""
    return isinstance(x, numbers.Real) and not isinstance(x, bool) and math.isfinite(x)


def _check(sale: Sale, purchases: Sequence[Purchase]) -> None:
    errors: dict[str, list[str]] = {}
    if not (_finite(sale.quantity) and sale.quantity > 0):
        errors.setdefault("sale", []).append("Sale quantity must be positive.")
    if not (_finite(sale.proceeds) and sale.proceeds >= 0):
        errors.setdefault("sale", []).append("Sale proceeds must be a number ≥ 0.")
    if not (_finite(sale.cost_basis) and sale.cost_basis >= 0):
        errors.setdefault("sale", []).append("Sale cost basis must be a number ≥ 0.")
    if not (_finite(sale.matched) and 0 <= sale.matched <= (sale.quantity if _finite(sale.quantity) else 0) + _EPS):
        errors.setdefault("sale", []).append("Sale matched shares must be between 0 and the quantity sold.")
    if not (isinstance(sale.holding_start, date) and isinstance(sale.trade_date, date)):
        errors.setdefault("sale", []).append("Sale dates must be dates.")
    elif sale.holding_start > sale.trade_date:
        errors.setdefault("sale", []).append("Sale holding start is after the sale date.")
    for p in purchases:
        if not (_finite(p.quantity) and p.quantity >= 0):
            errors.setdefault("purchases", []).append(f"Purchase of {p.symbol} on {p.trade_date} has a bad quantity.")
        elif p.available is not None and not (_finite(p.available) and 0 <= p.available <= p.quantity + _EPS):
            errors.setdefault("purchases", []).append(
                f"Purchase of {p.symbol} on {p.trade_date}: available shares must be between 0 and its quantity."
            )
        if not isinstance(p.trade_date, date):
            errors.setdefault("purchases", []).append(f"Purchase of {p.symbol} has no trade date.")
    if errors:
        raise HarvestError(errors)


def wash_sales(sale: Sale, purchases: Sequence[Purchase]) -> tuple[WashSale, ...]:
    """The wash sales a loss sale triggers: one entry per replacement purchase matched.

    Purchases of the same symbol dated within 30 days before or after ``sale.trade_date`` in any
    account are replacements, matched in order of acquisition (date, then input order) until the
    sold shares not yet ``matched`` are used up, each taking at most its ``available`` shares.
    The purchase that created the sold lot (same ``lot_id``) is not a replacement. Returns () for
    a gain or break-even sale."""
    _check(sale, purchases)
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
            # IRC §1223(3): the sold shares' period is added, but a replacement bought before
            # the sale overlaps it and the overlap is not counted twice.
            holding_start=max(p.trade_date - days_held, sale.holding_start),
        )
        for p, shares in replacements(sale, purchases)
    )


def replacements(sale: Sale, purchases: Sequence[Purchase]) -> list[tuple[Purchase, float]]:
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
    left = sale.quantity - sale.matched
    for _, _, p in sorted(candidates, key=lambda item: (item[0], item[1])):
        if left <= _EPS:
            break
        free = p.quantity if p.available is None else p.available
        if free <= _EPS:
            continue
        shares = min(left, free)
        out.append((p, shares))
        left -= shares
    return out
