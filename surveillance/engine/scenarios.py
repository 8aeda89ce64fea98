"""Seeded synthetic markets with labelled market-abuse episodes, for evaluation, tests and the demo.

``market_generate`` builds ``days`` sessions of ``instruments`` names: daily closes (real ones
when the caller passes them, e.g. skfolio's S&P 500 prices, else a random walk) with
``HISTORY_DAYS`` of daily bars before the window, intraday quotes and a public tape calibrated on
them (``portfolios.engine.synthetic``), an innocent background of orders from market makers,
retail and institutional clients, proprietary traders and employees (``scenario_background``,
``scenario_flow``), and ``episodes_per_scenario`` labelled episodes of each of the seven abuses
(``scenario_abuse``) at a severity:

- ``low``: borderline conduct (a spoof 3–6× the touch size left a minute; positioning of
  0.3–1% of ADV days before an announcement);
- ``default``: clear conduct, the cases a surveillance team must catch;
- ``high``: blatant conduct (spoofs 15–40× the touch pulled within seconds, repeated).

The background flow is the same whatever the severity (its random streams are keyed by
purpose, instrument and day: same arrivals, accounts and sizes; only prices near the
price-moving episodes differ), so comparing severities compares the episodes. The same seed gives
the same market, bit for bit. Output tables follow ``surveillance.engine.types``: sorted by
time, integer ids (orders numbered in arrival order, trades in execution order).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from portfolios.engine.synthetic import stream_rng
from surveillance.engine.scenario_abuse import PLANNERS, Ctx, Draft
from surveillance.engine.scenario_background import (
    CLOSE_OFFSET_US,
    HISTORY_DAYS,
    OPEN_OFFSET_US,
    Population,
    adv_realised,
    background_plan,
    market_plan,
    population_build,
    quotes_tape_build,
)
from surveillance.engine.scenario_flow import background_orders
from surveillance.engine.scenario_knobs import SEVERITY_KNOBS, Knobs
from surveillance.engine.scenario_market import Episode, Market, OrderSink, orders_expand
from surveillance.engine.types import (
    DailyBars,
    FloatArray,
    IntArray,
    NewsEvents,
    OrderEvents,
    Quotes,
    SurveillanceData,
    SurveillanceInputError,
    Tape,
    Trades,
)

__all__ = [
    "HISTORY_DAYS",
    "SCENARIOS",
    "SEVERITIES",
    "SEVERITY_KNOBS",
    "Episode",
    "GeneratedMarket",
    "Knobs",
    "market_generate",
]

SCENARIOS: tuple[str, ...] = tuple(PLANNERS)
SEVERITIES: tuple[str, ...] = ("low", "default", "high")
PLAN_FIRST = ("pump_dump", "insider_dealing", "marking_close")
MAX_DAYS = 260
MAX_INSTRUMENTS = 500


@dataclass(frozen=True)
class GeneratedMarket:
    """A generated market: the detectors' input, the ground truth and display names.

    ``account_codes`` maps account ids to codes (``PROP-03``, ``CL-00042``...);
    ``instrument_symbols`` instrument ids (0-based) to symbols.
    """

    data: SurveillanceData
    episodes: list[Episode]
    account_codes: dict[int, str]
    instrument_symbols: dict[int, str]
    severity: str
    seed: int

    @property
    def orders_count(self) -> int:
        """Number of distinct orders (the denominator of alerts per 10,000 orders)."""
        return int(np.unique(self.data.orders.order_id).size)


def _check(days: int, instruments: int, severity: str, episodes: int | None, activity: float) -> None:
    errors = []
    if not 1 <= days <= MAX_DAYS:
        errors.append(f"days must be between 1 and {MAX_DAYS} (got {days})")
    if not 1 <= instruments <= MAX_INSTRUMENTS:
        errors.append(f"instruments must be between 1 and {MAX_INSTRUMENTS} (got {instruments})")
    if severity not in SEVERITY_KNOBS:
        errors.append(f"severity must be one of {', '.join(SEVERITIES)} (got {severity!r})")
    if episodes is not None and episodes < 0:
        errors.append(f"episodes_per_scenario must be 0 or more (got {episodes})")
    if not 0.01 <= activity <= 100:
        errors.append(f"activity must be between 0.01 and 100 (got {activity})")
    if errors:
        raise SurveillanceInputError("; ".join(errors) + ".")


def market_generate(
    *,
    seed: int,
    days: int,
    instruments: int,
    severity: str = "default",
    episodes_per_scenario: int | None = None,
    closes: FloatArray | None = None,
    symbols: Sequence[str] | None = None,
    activity: float = 1.0,
    scenarios: Sequence[str] | None = None,
) -> GeneratedMarket:
    """A seeded market with background flow and labelled abuse episodes.

    ``closes`` (sessions × names, oldest first) are real daily closes to calibrate on; each
    instrument takes a random stretch of ``HISTORY_DAYS + days`` sessions from one column
    (``symbols`` names the columns). ``episodes_per_scenario`` defaults to one per eight
    instrument-sessions, between 2 and 20. ``activity`` scales the order rate: at 1 an
    instrument-session holds about 5,300 order events. ``scenarios`` restricts the injected
    abuses (all seven by default).
    """
    _check(days, instruments, severity, episodes_per_scenario, activity)
    chosen = list(scenarios) if scenarios is not None else list(SCENARIOS)
    unknown = [s for s in chosen if s not in PLANNERS]
    if unknown:
        raise SurveillanceInputError(
            f"Unknown scenarios: {', '.join(unknown)}; expected some of {', '.join(SCENARIOS)}."
        )
    count = episodes_per_scenario if episodes_per_scenario is not None else int(np.clip(days * instruments // 8, 2, 20))
    mk = market_plan(seed=seed, days=days, instruments=instruments, closes=closes, activity=activity)
    pop = population_build(seed, instruments)
    blocks, close_buyers, swings = background_plan(mk, pop)
    # Background announcements and surges keep their sessions to themselves (see ``Ctx.slot``).
    news_days = {(i, mk.session_of(t)) for i, t, sensitive in mk.news if sensitive}
    busy = news_days | {(s.instrument, mk.session_of(s.start_us)) for s in mk.surges}
    ctx = Ctx(
        rng=stream_rng(seed, "episodes", severity),
        mk=mk,
        pop=pop,
        kn=SEVERITY_KNOBS[severity],
        used=busy,
        news_days=set(news_days),
    )
    # Episodes with the longest footprints are placed first, while the market is still empty.
    plan_order = sorted(chosen, key=lambda s: PLAN_FIRST.index(s) if s in PLAN_FIRST else len(PLAN_FIRST))
    builders = [(s, PLANNERS[s](ctx)) for s in plan_order for _ in range(count)]
    quotes_tape_build(mk)
    sink = OrderSink()
    background_orders(mk, pop, sink, blocks=blocks, close_buyers=close_buyers, swings=swings)
    mk.adv = adv_realised(mk, sink)
    drafts = [build(sink) for _, build in builders]
    drafts.sort(key=lambda dr: (chosen.index(dr.scenario), dr.start_us))
    data, order_id_of = _assemble(mk, pop, sink)
    b = sink.all()
    last_us = np.max(np.vstack([b.arrival, b.replace_us, b.f1_us, b.f2_us, b.cancel_us]), axis=0)
    episodes = _episodes(drafts, order_id_of, b.arrival, last_us, data.trades, severity)
    return GeneratedMarket(
        data=data,
        episodes=episodes,
        account_codes=dict(pop.codes),
        instrument_symbols=_symbols(symbols, instruments),
        severity=severity,
        seed=seed,
    )


def _symbols(symbols: Sequence[str] | None, instruments: int) -> dict[int, str]:
    if not symbols:
        return {i: f"SYN{i + 1:03d}" for i in range(instruments)}
    out = {}
    for i in range(instruments):
        base = str(symbols[i % len(symbols)])
        out[i] = base if i < len(symbols) else f"{base}.{i // len(symbols) + 1}"
    return out


def _assemble(mk: Market, pop: Population, sink: OrderSink) -> tuple[SurveillanceData, IntArray]:
    """Final ids, sorted tables, our executions added to the public tape, daily bars."""
    b = sink.all()
    n = len(b)
    order_id_of = np.empty(n, dtype=np.int64)  # row == temporary id (the sink hands them out in order)
    order_id_of[np.lexsort((b.tmp_id, b.arrival))] = np.arange(1, n + 1, dtype=np.int64)
    ev, tr = orders_expand(b, order_id_of)
    k = np.lexsort((ev["order_id"], ev["ts_us"]))
    orders = OrderEvents(
        order_id=ev["order_id"][k].astype(np.int64),
        account=ev["account"][k].astype(np.int64),
        instrument=ev["instrument"][k].astype(np.int64),
        side=ev["side"][k].astype(np.int8),
        kind=ev["kind"][k].astype(np.int8),
        ts_us=ev["ts_us"][k].astype(np.int64),
        price=ev["price"][k].astype(np.float64),
        quantity=ev["quantity"][k].astype(np.float64),
        order_quantity=ev["order_quantity"][k].astype(np.float64),
    )
    k = np.lexsort((tr["order_id"], tr["ts_us"]))
    trades = Trades(
        trade_id=np.arange(1, k.size + 1, dtype=np.int64),
        order_id=tr["order_id"][k].astype(np.int64),
        account=tr["account"][k].astype(np.int64),
        counterparty=tr["counterparty"][k].astype(np.int64),
        instrument=tr["instrument"][k].astype(np.int64),
        side=tr["side"][k].astype(np.int8),
        ts_us=tr["ts_us"][k].astype(np.int64),
        price=tr["price"][k].astype(np.float64),
        quantity=tr["quantity"][k].astype(np.float64),
    )
    # Our executions print too; an internal cross prints once (on its buy side).
    printed = (trades.counterparty < 0) | (trades.side > 0)
    t_inst = np.concatenate(
        [np.full(ts.size, i, dtype=np.int64) for i, ts in enumerate(mk.t_ts)] + [trades.instrument[printed]]
    )
    t_ts = np.concatenate([*mk.t_ts, trades.ts_us[printed]])
    t_px = np.concatenate([*mk.t_price, trades.price[printed]])
    t_q = np.concatenate([*mk.t_qty, trades.quantity[printed]])
    k = np.lexsort((t_inst, t_ts))
    tape = Tape(instrument=t_inst[k], ts_us=t_ts[k], price=t_px[k], quantity=t_q[k])
    q_inst = np.concatenate([np.full(ts.size, i, dtype=np.int64) for i, ts in enumerate(mk.q_ts)])
    q_ts = np.concatenate(mk.q_ts)
    k = np.lexsort((q_inst, q_ts))
    quotes = Quotes(
        instrument=q_inst[k],
        ts_us=q_ts[k],
        bid=np.concatenate(mk.q_bid)[k],
        ask=np.concatenate(mk.q_ask)[k],
        bid_size=np.concatenate(mk.q_bid_size)[k],
        ask_size=np.concatenate(mk.q_ask_size)[k],
    )
    news_arr = np.array(sorted((t, i, s) for i, t, s in mk.news), dtype=np.int64).reshape(-1, 3)
    news = NewsEvents(
        event_id=np.arange(1, news_arr.shape[0] + 1, dtype=np.int64),
        instrument=news_arr[:, 1].copy(),
        ts_us=news_arr[:, 0].copy(),
        price_sensitive=news_arr[:, 2].astype(np.bool_),
    )
    data = SurveillanceData(
        orders=orders,
        trades=trades,
        quotes=quotes,
        tape=tape,
        news=news,
        bars=_bars(mk, tape),
        accounts=pop.accounts,
        open_offset_us=OPEN_OFFSET_US,
        close_offset_us=CLOSE_OFFSET_US,
    )
    return data, order_id_of


def _bars(mk: Market, tape: Tape) -> DailyBars:
    """History bars (real or simulated closes; volume around the ADV) then the window's bars
    (the last quote's mid as close, the tape's volume)."""
    rng = stream_rng(mk.seed, "bars")
    n, nh, nd = mk.n_instruments, mk.hist_days.size, mk.n_days
    day_idx = mk.day_of(tape.ts_us)
    vol_window = np.zeros((n, nd))
    np.add.at(vol_window, (tape.instrument, day_idx), tape.quantity)
    # Daily volume scatters log-normally around the ADV (σ = 0.25; the −σ²/2 keeps the mean).
    hist_vol = mk.adv[:, None] * rng.lognormal(-(0.25**2) / 2, 0.25, (n, nh))
    close = np.hstack([mk.hist_close, mk.day_close])
    volume = np.round(np.hstack([hist_vol, vol_window])).astype(np.float64)
    days = np.concatenate([mk.hist_days, mk.days])
    return DailyBars(
        instrument=np.repeat(np.arange(n, dtype=np.int64), nh + nd),
        day=np.tile(days.astype(np.int64), n),
        close=np.round(close, 4).ravel(),
        volume=volume.ravel(),
    )


def _episodes(
    drafts: list[Draft], order_id_of: IntArray, first_us: IntArray, last_us: IntArray, trades: Trades, severity: str
) -> list[Episode]:
    """Final episodes; each window is widened to cover every event of its own orders."""
    out = []
    for dr in drafts:
        tmp = np.asarray(dr.tmp_ids, dtype=np.int64)
        oids = np.sort(order_id_of[tmp])
        tids = trades.trade_id[np.isin(trades.order_id, oids)]
        out.append(
            Episode(
                scenario=dr.scenario,
                account=dr.account,
                instrument=dr.instrument,
                start_us=int(min(dr.start_us, int(first_us[tmp].min()))),
                end_us=int(max(dr.end_us, int(last_us[tmp].max()))),
                severity=severity,
                order_ids=tuple(int(x) for x in oids),
                trade_ids=tuple(int(x) for x in tids),
                knobs=dict(dr.knobs),
            )
        )
    return out
