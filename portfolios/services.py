"""Services of the shared model: the book (positions from opening + fills) and its snapshots."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from audit.services import audit_record
from core.errors import ValidationFailed
from core.models import CalculationRun
from portfolios.engine.book import book_positions
from portfolios.models import Portfolio, Position, Trade


def _end_of_day(day: date) -> datetime:
    """The first instant after ``day`` in UTC: fills strictly before it belong to the day."""
    return datetime.combine(day + timedelta(days=1), time.min, tzinfo=UTC)


def opening_date(*, portfolio: Portfolio, as_of: date) -> date | None:
    """The latest opening-position date at or before ``as_of`` (the book starts there)."""
    return (
        Position.objects.filter(portfolio=portfolio, kind=Position.Kind.OPENING, as_of__lte=as_of)
        .order_by("-as_of")
        .values_list("as_of", flat=True)
        .first()
    )


def portfolio_book(*, portfolio: Portfolio, as_of: date) -> dict[int, Decimal]:
    """Instrument id -> signed quantity at the end of ``as_of`` (UTC).

    The book is the opening position (the latest one dated on or before ``as_of``, taken as of
    that day's close) plus every fill in the portfolio's accounts after that day and up to the
    end of ``as_of``. Without an opening position the book starts empty.
    """
    start = opening_date(portfolio=portfolio, as_of=as_of)
    opening: dict[int, Decimal] = {}
    fills = Trade.objects.filter(account__portfolio=portfolio, ts__lt=_end_of_day(as_of))
    if start is not None:
        opening = dict(
            Position.objects.filter(portfolio=portfolio, kind=Position.Kind.OPENING, as_of=start).values_list(
                "instrument_id", "quantity"
            )
        )
        fills = fills.filter(ts__gte=_end_of_day(start))
    return book_positions(opening, fills.order_by().values_list("instrument_id", "side", "quantity").iterator())


def positions_snapshot(
    *,
    portfolio: Portfolio,
    as_of: date,
    user: User | None = None,
    progress: Callable[[int, str], None] | None = None,
) -> dict[str, Any]:
    """Write the end-of-day snapshot of the book for ``as_of``; re-running replaces it.

    Returns a summary (positions written, gross quantity) for the calculation run.
    """
    if as_of > timezone.now().date():
        raise ValidationFailed("Cannot snapshot a day in the future.")
    if progress:
        progress(10, "Summing fills")
    book = portfolio_book(portfolio=portfolio, as_of=as_of)
    if progress:
        progress(60, f"Writing {len(book)} positions")
    with transaction.atomic():
        before = Position.objects.filter(portfolio=portfolio, as_of=as_of, kind=Position.Kind.SNAPSHOT)
        replaced = before.count()
        before.delete()
        Position.objects.bulk_create(
            [
                Position(portfolio=portfolio, instrument_id=iid, as_of=as_of, kind=Position.Kind.SNAPSHOT, quantity=qty)
                for iid, qty in sorted(book.items())
            ]
        )
        summary = {
            "portfolio": portfolio.code,
            "as_of": as_of.isoformat(),
            "positions": len(book),
            "replaced": replaced,
            "gross_quantity": str(sum((abs(q) for q in book.values()), Decimal(0))),
        }
        audit_record(action="positions.snapshot", actor=user, obj=portfolio, after=summary)
    return summary


def positions_snapshot_run(*, run: CalculationRun, progress: Callable[[int, str], None]) -> dict[str, Any]:
    """Body of the ``positions.snapshot`` calculation run (parameters: portfolio_id, as_of)."""
    portfolio = Portfolio.objects.get(pk=run.parameters["portfolio_id"])
    as_of = date.fromisoformat(run.parameters["as_of"])
    return positions_snapshot(portfolio=portfolio, as_of=as_of, user=run.user, progress=progress)
