"""Book arithmetic: positions are opening quantities plus signed fills.

Quantities are signed (long > 0, short < 0); a buy adds, a sell subtracts.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal


def signed_quantity(side: str, quantity: Decimal) -> Decimal:
    """+quantity for a buy, -quantity for a sell."""
    if side == "buy":
        return quantity
    if side == "sell":
        return -quantity
    raise ValueError(f"unknown side {side!r}")


def book_positions(opening: dict[int, Decimal], fills: Iterable[tuple[int, str, Decimal]]) -> dict[int, Decimal]:
    """Instrument id -> quantity after applying ``fills`` (instrument id, side, quantity).

    Instruments whose quantity nets to exactly zero are dropped from the book.
    """
    book = dict(opening)
    for instrument_id, side, quantity in fills:
        book[instrument_id] = book.get(instrument_id, Decimal(0)) + signed_quantity(side, quantity)
    return {k: v for k, v in book.items() if v != 0}
