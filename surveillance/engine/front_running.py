"""Front running: the firm's own or an employee's account (or one linked to them) trades the
same side as a large client order shortly before it, and typically unwinds once the client's
order has moved the price.

What the abuse is. FINRA Rule 5270 (front running of block transactions): no member or
associated person may cause an order to be executed while holding material, non-public market
information about an imminent block transaction, including for accounts in which they have an
interest or of customers they tipped (5270(b)). FINRA Rule 5320 (trading ahead of customer
orders) is the related duty. In the EU, information about a client's pending orders is inside
information for the persons executing them (MAR, Regulation (EU) No 596/2014, Art. 7(1)(d)),
so trading on it is insider dealing (Art. 8, prohibited by Art. 14).

Algorithm (the loop runs over large client orders only, which are few):

1. Large client orders: orders of ``AccountKind.CLIENT`` accounts of at least ``min_adv_pct`` %
   of the instrument's average daily volume (daily bars, else the tape); where no volume is
   known, at least ``min_size_ratio`` times its typical order size (geometric mean).
2. Suspects: accounts in a beneficial-owner group that holds a proprietary or employee account,
   other than the client's own group (FINRA 5270(b): accounts the person has an interest in or
   tipped). Market makers' own quoting is not scanned unless linked to such an account.
3. Ahead: a suspect's trades in the instrument from ``lookback_s`` before the client order's
   arrival until its first execution. The net quantity on the client's side must be at least
   ``min_ahead_share`` of the client order and at least ``min_position_z`` times the account's
   usual net flow in the instrument over a window of that length (root-mean-square over the
   data's sessions, the episode's own windows left out, floored at one typical order): an
   unusual position for that account, so a desk that trades both ways all day is measured
   against its own activity.
4. Unwind: the suspect's opposite-side trades from the arrival until ``unwind_s`` after the
   client order ended; at least ``min_unwind_share`` of the position must be unwound, unless the
   position reaches ``hold_position_z`` (holding it is still front running; trading ahead and
   unwinding into the client's impact is what separates an ordinary position from it).
5. Episodes sharing ahead trades (a parent order and its child slices) are merged.

Score (0–100): 40 for meeting every threshold plus up to 60 from the strength of the evidence,
each strength in [0, 1] growing linearly:

    score = 40 + 60 × (0.15·s_client + 0.15·s_ahead + 0.20·s_unusual + 0.15·s_close
                       + 0.20·s_unwind + 0.15·s_profit)

``s_client`` from ln(1) to ln(4) of the client order's size over its threshold, ``s_ahead`` from
``min_ahead_share`` to 4× that, ``s_unusual`` from ``min_position_z`` to 4× that, ``s_close``
from the gap between the last ahead trade and the arrival at ``lookback_s`` to 0 s, ``s_unwind``
from ``min_unwind_share`` to 1 and ``s_profit`` from 0 to 50 bps of the ahead price (unwind
VWAP, or the client's VWAP when not unwound, against the ahead VWAP, in the client's direction).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from surveillance.engine import orderflow as of
from surveillance.engine.params import DetectorSpec, Param
from surveillance.engine.types import (
    US_PER_DAY,
    US_PER_SECOND,
    AccountKind,
    Detection,
    EventKind,
    FloatArray,
    IntArray,
    SurveillanceData,
)

WEIGHTS = {"client": 0.15, "ahead": 0.15, "unusual": 0.20, "close": 0.15, "unwind": 0.20, "profit": 0.15}
BASE_SCORE = 40.0
PROFIT_FULL_BPS = 50.0


def average_daily_volume(data: SurveillanceData, instruments: IntArray) -> FloatArray:
    """Average daily volume (shares) per instrument: the mean of known daily-bar volumes, else
    the tape's total quantity over its trading days; NaN when neither is known."""
    out = np.full(instruments.size, np.nan)
    bars = data.bars
    if len(bars):
        known = np.isfinite(bars.volume)
        inst_u, code = of.dense_codes(bars.instrument[known])
        if inst_u.size:
            mean = np.bincount(code, weights=bars.volume[known]) / np.maximum(np.bincount(code), 1)
            out = of.lookup(inst_u, mean, instruments)
    tape = data.tape
    if len(tape) and np.isnan(out).any():
        inst_u, code = of.dense_codes(tape.instrument)
        total = np.bincount(code, weights=tape.quantity, minlength=inst_u.size)
        day = tape.ts_us // US_PER_DAY
        n_days = int(day.max() - day.min()) + 1
        pairs, _ = of.dense_codes(code * n_days + (day - day.min()))  # distinct (instrument, day)
        days = np.bincount(pairs // n_days, minlength=inst_u.size)
        from_tape = of.lookup(inst_u, total / np.maximum(days, 1), instruments)
        out = np.where(np.isnan(out), from_tape, out)
    return out


@dataclass
class _Hit:
    account: int
    instrument: int
    ahead_rows: set[int]
    unwind_rows: set[int]
    client_orders: set[int]
    score: float
    features: dict[str, float]
    summary: str
    start_us: int
    end_us: int


def detect(data: SurveillanceData, params: Mapping[str, float]) -> list[Detection]:
    """Front-running episodes, one per suspect account and client order (merged when they share
    the ahead trades); see the module docstring."""
    lives = of.order_lives(data.orders)
    trades = data.trades
    accounts = data.accounts
    if len(lives) == 0 or len(trades) == 0 or len(accounts) == 0:
        return []
    suspect_groups = np.unique(accounts.group[(accounts.kind == AccountKind.PROPRIETARY) | accounts.is_employee])
    if suspect_groups.size == 0:
        return []
    # Size first (vectorised over every order), then who placed the few large ones.
    size_x = lives.quantity / lives.typical
    inst_u = lives.typical_by_instrument[0]
    adv = of.lookup(inst_u, average_daily_volume(data, inst_u), lives.instrument)
    adv_pct = 100.0 * lives.quantity / adv
    # Large against ADV where ADV is known; against the typical order only where it is not.
    over = np.where(np.isfinite(adv_pct), adv_pct / params["min_adv_pct"], size_x / params["min_size_ratio"])
    large = np.flatnonzero(over >= 1.0)
    known = np.isin(lives.account[large], accounts.account_id)
    clients = large[known & (accounts.kind_of(lives.account[large]) == AccountKind.CLIENT)]
    if clients.size == 0:
        return []
    t_group = of.trade_groups(data)
    sus = np.flatnonzero(np.isin(t_group, suspect_groups) & np.isin(trades.instrument, lives.instrument[clients]))
    if sus.size == 0:
        return []
    first_fill = _first_fill_us(data, lives, clients)
    _, inst_code = of.dense_codes(np.concatenate([trades.instrument[sus], lives.instrument[clients]]))
    index = of.TradeIndex.build(inst_code[: sus.size], trades.ts_us[sus], sus)
    lookback_us = int(params["lookback_s"] * US_PER_SECOND)
    unwind_us = int(params["unwind_s"] * US_PER_SECOND)
    placed = lives.placed_us[clients]
    ahead_end = np.where(first_fill >= 0, np.clip(first_fill, placed, placed + lookback_us), placed)
    window_end = lives.ended_us[clients] + unwind_us
    lo, hi = index.ranges(inst_code[sus.size :], placed - lookback_us, window_end)
    client_group = of.account_groups(data, lives.account[clients])
    flow = _UsualFlow.build(data, sus, lookback_us)

    hits: list[_Hit] = []
    for k, c in enumerate(clients.tolist()):
        rows = index.rows[lo[k] : hi[k]]
        rows = rows[t_group[rows] != client_group[k]]
        if rows.size == 0:
            continue
        hits += _hits_for_client(
            data,
            params,
            rows,
            client=c,
            lives=lives,
            ahead_end_us=int(ahead_end[k]),
            size_over_threshold=float(over[c]),
            adv_pct=float(adv_pct[c]),
            usual_flow=flow,
            typical_qty=float(lives.typical[c]),
        )
    return [_detection(data, h) for h in _merge(hits)]


@dataclass(frozen=True)
class _UsualFlow:
    """How far each account usually moves its position in an instrument per window of
    ``window_us``: the root-mean-square of its net signed quantity per window over the sessions
    in the data, windows without trades counting as zero."""

    window_us: int
    n_windows: float
    pairs: dict[tuple[int, int], int]
    sum_sq: FloatArray
    cells: IntArray  # sorted pair · n_bins + (bin − first_bin)
    net: FloatArray
    first_bin: int
    n_bins: int

    @staticmethod
    def build(data: SurveillanceData, rows: IntArray, window_us: int) -> _UsualFlow:
        t = data.trades
        acct, inst = t.account[rows], t.instrument[rows]
        days = np.unique(data.orders.ts_us // US_PER_DAY).size if len(data.orders) else 1
        n_windows = max(1.0, days * (data.close_offset_us - data.open_offset_us) / window_us)
        if rows.size == 0:
            empty = np.empty(0)
            return _UsualFlow(window_us, n_windows, {}, empty, np.empty(0, np.int64), empty, 0, 1)
        _, pair = of.dense_codes(acct * 1_000_003 + inst)
        bins = t.ts_us[rows] // window_us
        first_bin, n_bins = int(bins.min()), int(bins.max() - bins.min()) + 1
        cells, cell = of.dense_codes(pair * n_bins + (bins - first_bin))
        net = np.bincount(cell, weights=t.side[rows] * t.quantity[rows], minlength=cells.size).astype(np.float64)
        sum_sq = np.bincount(cells // n_bins, weights=net**2).astype(np.float64)
        first = np.zeros(int(pair.max()) + 1, np.int64)
        first[pair[::-1]] = np.arange(rows.size)[::-1]  # any row of each pair will do
        pairs = {(int(acct[r]), int(inst[r])): k for k, r in enumerate(first.tolist())}
        return _UsualFlow(window_us, n_windows, pairs, sum_sq, cells, net, first_bin, n_bins)

    def rms_outside(self, account: int, instrument: int, t0_us: int, t1_us: int) -> float:
        """The usual flow leaving out the windows that [t0_us, t1_us] touches (the episode itself)."""
        p = self.pairs.get((account, instrument))
        if p is None:
            return 0.0
        b0 = max(t0_us // self.window_us - self.first_bin, 0)
        b1 = min(t1_us // self.window_us - self.first_bin, self.n_bins - 1)
        lo = int(np.searchsorted(self.cells, p * self.n_bins + b0, side="left"))
        hi = int(np.searchsorted(self.cells, p * self.n_bins + b1, side="right"))
        inside = float((self.net[lo:hi] ** 2).sum())
        n_left = max(self.n_windows - max(b1 - b0 + 1, 0), 1.0)
        return float(np.sqrt(max(float(self.sum_sq[p]) - inside, 0.0) / n_left))


def _first_fill_us(data: SurveillanceData, lives: of.OrderLives, orders: IntArray) -> IntArray:
    """Time of the first execution event of each order (positions in ``lives``), -1 if none;
    searched only between the order's own first and last rows."""
    ev = data.orders
    out = np.full(orders.size, -1, np.int64)
    for k, o in enumerate(orders.tolist()):
        lo, hi = int(lives.row[o]), int(lives.end_row[o]) + 1
        kind = ev.kind[lo:hi]
        hit = np.flatnonzero(
            (ev.order_id[lo:hi] == lives.order_id[o]) & ((kind == EventKind.FILL) | (kind == EventKind.PARTIAL_FILL))
        )
        if hit.size:
            out[k] = ev.ts_us[lo + hit[0]]
    return out


def _hits_for_client(
    data: SurveillanceData,
    params: Mapping[str, float],
    rows: IntArray,
    *,
    client: int,
    lives: of.OrderLives,
    ahead_end_us: int,
    size_over_threshold: float,
    adv_pct: float,
    usual_flow: _UsualFlow,
    typical_qty: float,
) -> list[_Hit]:
    trades = data.trades
    side = int(lives.side[client])
    placed = int(lives.placed_us[client])
    qty = float(lives.quantity[client])
    lookback_s = params["lookback_s"]
    ts = trades.ts_us[rows]
    signed = trades.side[rows].astype(np.float64) * side * trades.quantity[rows]  # + = client's side
    ahead = ts <= ahead_end_us
    out: list[_Hit] = []
    for account in np.unique(trades.account[rows]).tolist():
        mine = trades.account[rows] == account
        a = mine & ahead
        net_ahead = float(signed[a].sum())
        if net_ahead <= 0 or net_ahead < params["min_ahead_share"] * qty:
            continue
        # Floored at the instrument's typical order: an account that hardly trades is measured
        # against one ordinary order, so the measure does not grow with the length of the data.
        usual_rms = usual_flow.rms_outside(int(account), int(lives.instrument[client]), int(ts[a].min()), ahead_end_us)
        usual = max(usual_rms, typical_qty, 1.0)
        position_z = net_ahead / usual
        if position_z < params["min_position_z"]:
            continue
        same = a & (signed > 0)
        unwind = mine & (ts > placed) & (signed < 0) & ~ahead
        unwound = max(0.0, min(float(-signed[unwind].sum()), net_ahead))
        unwind_share = unwound / net_ahead
        if unwind_share < params["min_unwind_share"] and position_z < params["hold_position_z"]:
            continue  # neither unwound into the client's impact nor extraordinary for the account
        ahead_px = _vwap(trades.price[rows[same]], trades.quantity[rows[same]])
        exit_px = (
            _vwap(trades.price[rows[unwind]], trades.quantity[rows[unwind]])
            if unwound > 0
            else _client_vwap(data, int(lives.order_id[client]))
        )
        profit_bps = side * (exit_px - ahead_px) / ahead_px * 1e4 if np.isfinite(exit_px) else 0.0
        gap_s = max(0.0, (placed - float(ts[same].max())) / US_PER_SECOND)
        min_unwind = params["min_unwind_share"]
        s = {
            "client": float(of.strength(np.log(max(size_over_threshold, 1e-12)), 0.0, np.log(4.0))),
            "ahead": float(
                of.strength(net_ahead / qty, params["min_ahead_share"], 4.0 * max(params["min_ahead_share"], 0.01))
            ),
            "unusual": float(of.strength(position_z, params["min_position_z"], 4.0 * params["min_position_z"])),
            "close": float(of.strength(gap_s, lookback_s, 0.0)),
            "unwind": float(of.strength(unwind_share, min_unwind, 1.0)) if min_unwind < 1 else 1.0,
            "profit": float(of.strength(profit_bps, 0.0, PROFIT_FULL_BPS)),
        }
        score = BASE_SCORE + (100.0 - BASE_SCORE) * sum(WEIGHTS[k] * v for k, v in s.items())
        verb, unverb = ("Bought", "sold") if side > 0 else ("Sold", "bought")
        start = int(ts[a].min())
        end = max(int(lives.ended_us[client]), int(ts[unwind].max()) if unwind.any() else start)
        out.append(
            _Hit(
                account=int(account),
                instrument=int(lives.instrument[client]),
                ahead_rows=set(rows[a].tolist()),
                unwind_rows=set(rows[unwind].tolist()),
                client_orders={int(lives.order_id[client])},
                score=round(float(np.clip(score, 0.0, 100.0)), 2),
                features={
                    "client_order_quantity": qty,
                    "client_adv_pct": round(adv_pct, 3) if np.isfinite(adv_pct) else float("nan"),
                    "ahead_quantity": net_ahead,
                    "ahead_share": round(net_ahead / qty, 4),
                    "position_z": round(position_z, 3),
                    "ahead_gap_s": round(gap_s, 3),
                    "unwind_share": round(unwind_share, 4),
                    "profit_bps": round(float(profit_bps), 2),
                },
                summary=(
                    f"{verb} {net_ahead:,.0f} {gap_s / 60:.1f} min before a client order of {qty:,.0f} on the "
                    f"same side, then {unverb} {unwound:,.0f} ({100 * unwind_share:.0f}%) after it; "
                    f"{'gain' if profit_bps >= 0 else 'loss'} of {abs(profit_bps):.1f} bps on the position "
                    "taken ahead."
                ),
                start_us=start,
                end_us=end,
            )
        )
    return out


def _vwap(price: FloatArray, quantity: FloatArray) -> float:
    total = float(quantity.sum())
    return float((price * quantity).sum() / total) if total > 0 else float("nan")


def _client_vwap(data: SurveillanceData, order_id: int) -> float:
    t = data.trades
    mine = t.order_id == order_id
    if mine.any():
        return _vwap(t.price[mine], t.quantity[mine])
    ev = data.orders
    fills = (ev.order_id == order_id) & ((ev.kind == EventKind.FILL) | (ev.kind == EventKind.PARTIAL_FILL))
    return _vwap(ev.price[fills], ev.quantity[fills])


def _merge(hits: list[_Hit]) -> list[_Hit]:
    """One episode per account and shared ahead trades (a parent and its slices)."""
    out: list[_Hit] = []
    for h in sorted(hits, key=lambda x: (x.account, x.instrument, x.start_us)):
        same = next(
            (o for o in out if (o.account, o.instrument) == (h.account, h.instrument) and o.ahead_rows & h.ahead_rows),
            None,
        )
        if same is None:
            out.append(h)
            continue
        same.ahead_rows |= h.ahead_rows
        same.unwind_rows |= h.unwind_rows
        same.client_orders |= h.client_orders
        same.start_us, same.end_us = min(same.start_us, h.start_us), max(same.end_us, h.end_us)
        if h.score > same.score:
            same.score, same.features, same.summary = h.score, h.features, h.summary
    return out


def _detection(data: SurveillanceData, h: _Hit) -> Detection:
    t = data.trades
    rows = np.asarray(sorted(h.ahead_rows | h.unwind_rows), dtype=np.int64)
    own_orders = {int(o) for o in t.order_id[rows] if o >= 0}
    return Detection(
        scenario="front_running",
        account=h.account,
        instrument=h.instrument,
        start_us=h.start_us,
        end_us=h.end_us,
        score=h.score,
        summary=h.summary,
        order_ids=tuple(sorted(h.client_orders | own_orders)),
        trade_ids=tuple(int(x) for x in t.trade_id[rows]),
        features=h.features,
        extra={"client_order_ids": sorted(h.client_orders)},
    )


SPEC = DetectorSpec(
    scenario="front_running",
    title="Front running",
    params=(
        Param("min_adv_pct", 2.0, 0.01, 100.0, "% ADV", "Client order at least this share of average daily volume."),
        Param(
            "min_size_ratio",
            20.0,
            1.0,
            10_000.0,
            "×",
            "Where ADV is unknown: client order at least this multiple of the instrument's typical order size.",
        ),
        Param("lookback_s", 300.0, 1.0, 86_400.0, "s", "Trades this long before the client order count as ahead."),
        Param(
            "unwind_s",
            3600.0,
            0.0,
            86_400.0,
            "s",
            "Opposite trades until this long after the client order ended count as the unwind.",
        ),
        Param(
            "min_ahead_share",
            0.02,
            0.0,
            10.0,
            "",
            "Net quantity traded ahead at least this share of the client order.",
        ),
        Param(
            "min_position_z",
            3.0,
            0.0,
            1000.0,
            "×",
            "Net position taken ahead at least this multiple of the account's usual net flow (RMS) in the "
            "instrument over a window of lookback_s.",
        ),
        Param(
            "hold_position_z",
            10.0,
            0.0,
            1e6,
            "×",
            "A position this unusual (same measure as min_position_z) is reported even if it is not unwound.",
        ),
        Param(
            "min_unwind_share",
            0.5,
            0.0,
            1.0,
            "",
            "At least this share of the ahead position closed after the client order (0 = not required).",
        ),
    ),
    run=detect,
    references=(
        "FINRA Rule 5270 (front running of block transactions); FINRA Rule 5320",
        "EU MAR (Regulation (EU) No 596/2014) Art. 7(1)(d), Art. 8 and Art. 14",
    ),
)
