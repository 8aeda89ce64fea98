"""``tca_compute``: every TCA figure for a batch of parent orders and their fills, in one vectorised pass.

Inputs are the columnar tables of :mod:`execution_quality.engine.types`; the output holds one
row per input order and one per input fill, **in the input row order**. Nothing loops over
orders or fills in Python: each lookup is ``np.searchsorted`` per instrument (see
:mod:`~execution_quality.engine.timeline`), interval sums are differences of cumulative sums,
and per-order aggregates are ``np.bincount`` over fills sorted canonically (order, time,
execution id), so the figures do not depend on the input row order, to the last bit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from execution_quality.engine.benchmarks import (
    BENCHMARK_NAMES,
    OrderBenchmarks,
    QuoteBook,
    TapeBook,
    benchmark_matrix,
    cost_bps,
    order_benchmarks_compute,
)
from execution_quality.engine.features import (
    OrderFeatures,
    daily_history,
    main_code_by_quantity,
    order_features_compute,
)
from execution_quality.engine.impact import istar_bps, sqrt_impact_bps
from execution_quality.engine.markouts import fill_markouts_compute
from execution_quality.engine.shortfall import Shortfall, shortfall_compute
from execution_quality.engine.spreads import FillSpreads, fill_spreads_compute
from execution_quality.engine.types import (
    DailyBars,
    Fills,
    FloatArray,
    IntArray,
    Orders,
    Quotes,
    Tape,
    TcaFlag,
    TcaInputError,
    TcaParams,
    bars_empty,
    seconds_to_us,
)

#: Relative tolerance below which a filled quantity counts as the order quantity (float sums of
#: fractional fills must not turn a complete order into a partial one).
FILL_TOLERANCE = 1e-9


@dataclass(frozen=True, eq=False)
class OrderResults:
    """Per parent order, aligned with the input ``Orders`` rows."""

    order_id: IntArray
    n_fills: IntArray
    filled_quantity: FloatArray
    avg_price: FloatArray  # quantity-weighted average fill price (NaN without fills)
    fees: FloatArray  # currency
    benchmarks: OrderBenchmarks
    costs_bps: FloatArray  # n × len(BENCHMARK_NAMES): slippage of avg_price vs each benchmark
    shortfall: Shortfall
    features: OrderFeatures
    pretrade_sqrt_bps: FloatArray  # square-root law with params.sqrt_impact_y
    pretrade_istar_bps: FloatArray  # I-Star market impact at params.pretrade_pov
    flags: IntArray  # TcaFlag bits

    def cost_bps(self, benchmark: str) -> FloatArray:
        """Slippage vs one benchmark (``"arrival"``, ``"vwap"``, ``"twap"``, ``"pwp"``, ``"prev_close"``,
        ``"open"``, ``"close"``), positive = cost."""
        return self.costs_bps[:, BENCHMARK_NAMES.index(benchmark)]


@dataclass(frozen=True, eq=False)
class ExecutionResults:
    """Per fill, aligned with the input ``Fills`` rows."""

    execution_id: IntArray
    order_row: IntArray  # row of the parent in the input Orders
    spreads: FillSpreads
    markout_horizons_s: tuple[float, ...]
    markouts_bps: FloatArray  # n × len(horizons), positive = price moved the trade's way
    costs_bps: FloatArray  # n × len(BENCHMARK_NAMES): this fill's price vs its parent's benchmarks
    flags: IntArray

    def cost_bps(self, benchmark: str) -> FloatArray:
        """This fill's slippage vs one of its parent order's benchmarks, positive = cost."""
        return self.costs_bps[:, BENCHMARK_NAMES.index(benchmark)]

    def markout_bps(self, horizon_s: float) -> FloatArray:
        """Markouts at one of ``markout_horizons_s``."""
        return self.markouts_bps[:, self.markout_horizons_s.index(horizon_s)]


@dataclass(frozen=True, eq=False)
class TcaResult:
    """What ``tca_compute`` returns: order and execution results and the parameters used."""

    orders: OrderResults
    executions: ExecutionResults
    params: TcaParams


def _parent_rows(fills: Fills, orders: Orders) -> IntArray:
    """Row in ``orders`` of each fill's parent; a fill whose parent is missing or disagrees raises."""
    if len(fills) == 0:
        return np.empty(0, dtype=np.int64)
    if len(orders) == 0:
        raise TcaInputError(f"{len(fills)} fills reference parent orders that are not in the order set.")
    by_id = np.argsort(orders.order_id, kind="stable")
    sorted_ids = orders.order_id[by_id]
    pos = np.minimum(np.searchsorted(sorted_ids, fills.order_id), sorted_ids.size - 1)
    found = sorted_ids[pos] == fills.order_id
    if not np.all(found):
        missing = fills.order_id[~found]
        raise TcaInputError(
            f"{missing.size} fills reference parent orders that are not in the order set, e.g. order {int(missing[0])}."
        )
    rows = by_id[pos].astype(np.int64)
    for column in ("instrument", "side"):
        bad = getattr(fills, column) != getattr(orders, column)[rows]
        if np.any(bad):
            example = int(fills.execution_id[bad][0])
            raise TcaInputError(
                f"{int(bad.sum())} fills disagree with their parent order's {column}, e.g. execution {example}."
            )
    return rows


def _sum_by(rows: IntArray, weights: FloatArray, n: int) -> FloatArray:
    return np.asarray(np.bincount(rows, weights=weights, minlength=n), dtype=np.float64)


def tca_compute(
    *,
    fills: Fills,
    orders: Orders,
    quotes: Quotes,
    tape: Tape,
    bars: DailyBars | None = None,
    params: TcaParams | None = None,
) -> TcaResult:
    """Benchmarks, slippage, implementation shortfall, spreads, markouts, features and pre-trade
    estimates for every order and fill (docs/tca-methodology.md).

    ``bars`` may be omitted: the day-level benchmarks, ADV and volatility are then NaN and flagged.
    Raises :class:`TcaInputError` for a fill whose parent order is missing or has another side or
    instrument; the tables validate themselves on construction.
    """
    p = params or TcaParams()
    day_bars = bars if bars is not None else bars_empty()
    n_orders = len(orders)
    order_row = _parent_rows(fills, orders)

    # Per-order aggregates over fills in canonical order (bit-identical whatever the input order).
    canon = np.lexsort((fills.execution_id, fills.ts_us, order_row))
    rows_c = order_row[canon]
    qty_c, px_c = fills.quantity[canon], fills.price[canon]
    n_fills = np.bincount(rows_c, minlength=n_orders).astype(np.int64)
    filled = _sum_by(rows_c, qty_c, n_orders)
    notional = _sum_by(rows_c, qty_c * px_c, n_orders)
    fees = _sum_by(rows_c, fills.fee[canon], n_orders)
    with np.errstate(invalid="ignore", divide="ignore"):
        avg_price = np.where(filled > 0, notional / filled, np.nan)

    quote_book = QuoteBook.build(quotes)
    tape_book = TapeBook.build(tape)
    bench = order_benchmarks_compute(
        quote_book=quote_book,
        tape_book=tape_book,
        bars=day_bars,
        instrument=orders.instrument,
        arrival_us=orders.arrival_us,
        end_us=orders.end_us,
        filled_quantity=filled,
        participation=p.participation,
        stale_quote_us=seconds_to_us(p.stale_quote_s),
    )
    prices = benchmark_matrix(bench)
    side_o = orders.side.astype(np.float64)
    order_costs = cost_bps(side_o[:, None], avg_price[:, None], prices)

    flags = bench.flags.copy()
    flags |= np.where(n_fills == 0, int(TcaFlag.NO_FILLS), 0)
    partial = (n_fills > 0) & (filled < orders.quantity * (1.0 - FILL_TOLERANCE))
    over = filled > orders.quantity * (1.0 + FILL_TOLERANCE)
    flags |= np.where(partial, int(TcaFlag.PARTIAL_FILL), 0)
    flags |= np.where(over, int(TcaFlag.OVERFILL), 0)
    outside_life = (fills.ts_us < orders.arrival_us[order_row]) | (fills.ts_us > orders.end_us[order_row])
    if np.any(outside_life):
        hit = np.bincount(order_row[outside_life], minlength=n_orders) > 0
        flags |= np.where(hit, int(TcaFlag.FILL_OUTSIDE_ORDER_LIFE), 0)
    no_decision = np.isnan(orders.decision_price)
    flags |= np.where(no_decision, int(TcaFlag.DECISION_IS_ARRIVAL), 0)

    # Implementation shortfall; a complete order (within tolerance) has nothing left to price.
    quantity_for_is = np.where(partial | over | (n_fills == 0), orders.quantity, filled)
    final = bench.end_mid if p.opportunity_price == "end" else bench.close
    shortfall = shortfall_compute(
        side=orders.side,
        quantity=quantity_for_is,
        filled_quantity=filled,
        filled_notional=notional,
        fees=fees,
        decision_price=orders.decision_price,
        arrival_price=bench.arrival_price,
        final_price=final,
    )
    flags |= np.where((shortfall.unfilled_quantity > 0) & np.isnan(final), int(TcaFlag.NO_OPPORTUNITY_PRICE), 0)

    history = daily_history(
        day_bars,
        bench.day,
        adv_window_days=p.adv_window_days,
        volatility_window_days=p.volatility_window_days,
        min_history_days=p.min_history_days,
    )
    flags |= np.where(history.enough, 0, int(TcaFlag.NO_HISTORY))
    features = order_features_compute(
        history=history,
        prices=bench.day,
        side=orders.side,
        quantity=orders.quantity,
        arrival_us=orders.arrival_us,
        end_us=orders.end_us,
        arrival_bid=bench.arrival_bid,
        arrival_ask=bench.arrival_ask,
        arrival_mid=bench.arrival_price,
        limit_price=orders.limit_price,
        order_type=orders.order_type,
        filled_quantity=filled,
        tape_volume=bench.tape_volume,
        venue=main_code_by_quantity(order_row, fills.venue, fills.quantity, n_orders),
        broker=main_code_by_quantity(order_row, fills.broker, fills.quantity, n_orders),
        session_open_minute_utc=p.session_open_minute_utc,
    )
    sigma_bps = features.volatility_daily_bps
    pretrade_sqrt = sqrt_impact_bps(sigma_daily_bps=sigma_bps, size_adv=features.size_adv, y=p.sqrt_impact_y)
    _, pretrade_istar = istar_bps(
        size_adv=features.size_adv,
        sigma_annual=history.volatility_daily * np.sqrt(p.trading_days_per_year),
        pov=np.full(n_orders, p.pretrade_pov),
        params=p.istar,
    )

    # Executions.
    located = quote_book.timeline.locate(fills.instrument, fills.ts_us)
    spreads = fill_spreads_compute(
        quote_book=quote_book,
        located=located,
        side=fills.side,
        price=fills.price,
        ts_us=fills.ts_us,
        horizon_us=seconds_to_us(p.realised_spread_horizon_s),
    )
    markouts, markout_flags = fill_markouts_compute(
        quote_book=quote_book,
        located=located,
        side=fills.side,
        price=fills.price,
        ts_us=fills.ts_us,
        horizons_us=tuple(seconds_to_us(h) for h in p.markout_horizons_s),
    )
    side_f = fills.side.astype(np.float64)
    fill_costs = cost_bps(side_f[:, None], fills.price[:, None], prices[order_row])

    return TcaResult(
        orders=OrderResults(
            order_id=orders.order_id,
            n_fills=n_fills,
            filled_quantity=filled,
            avg_price=avg_price,
            fees=fees,
            benchmarks=bench,
            costs_bps=order_costs,
            shortfall=shortfall,
            features=features,
            pretrade_sqrt_bps=pretrade_sqrt,
            pretrade_istar_bps=pretrade_istar,
            flags=flags,
        ),
        executions=ExecutionResults(
            execution_id=fills.execution_id,
            order_row=order_row,
            spreads=spreads,
            markout_horizons_s=tuple(p.markout_horizons_s),
            markouts_bps=markouts,
            costs_bps=fill_costs,
            flags=spreads.flags | markout_flags,
        ),
        params=p,
    )
