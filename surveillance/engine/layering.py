"""Layering: several same-side orders resting over several price levels, an execution on the
other side by the same beneficial owner, then the layered orders cancelled right after it.

What the abuse is. FINRA Rule 5210 Supplementary Material .03 describes it step by step: a party
enters multiple limit orders on one side of the market at various price levels, the apparent
supply or demand changes, the party's order on the opposite side is executed, and the party then
cancels the layered orders. EU MAR (Regulation (EU) No 596/2014) Art. 12(1)(a), 12(2)(c) and
Annex I A(f); Commission Delegated Regulation (EU) 2016/522 Annex II Section 1 ("submitting
multiple or large orders to trade often away from the touch on one side of the order book in
order to execute a trade on the other side ... usually known as layering and spoofing"); CFTC
Interpretive Guidance on Disruptive Trading Practices, 78 FR 31890 (May 2013), CEA §4c(a)(5)(C).

Algorithm. Every trade is a possible "opposite-side execution"; for each one, vectorised over
all trades (``orderflow.AliveCounter``, two binary searches per trade):

1. Layers: the trade's beneficial-owner group's cancelled limit orders (fill ratio
   ``≤ max_fill_ratio``) on the other side of the same instrument, resting at the trade.
   Pre-filter: at least ``min_orders`` of them; their quantity at least ``min_depth_ratio``
   times the instrument's typical order size (geometric mean), so the book visibly changes; and
   the layered side holds at least ``min_imbalance`` of the group's resting quantity in the
   instrument (both sides) just before the execution, the executing order itself left out.
   Resting quantity counts each order's full size while it rests (what the book showed).
2. For the few trades left: keep the layers cancelled within ``cancel_within_s`` after the trade
   and placed within ``burst_s`` of each other (the densest such burst), and require
   ``min_orders`` orders at ``min_levels`` distinct prices with the depth still above
   ``min_depth_ratio``, and the same one-sidedness (``min_imbalance``) in the book as it stood
   once the last layer was in: the picture shown to the market. A market maker quoting both
   sides, even several levels deep, shows a book split about evenly and stops here; a market
   maker whose layers dwarf its own quotes is caught like anyone.
3. Trades that share layers are one episode; the alert goes to the account holding most of the
   layered quantity, with every layer and opposite trade as evidence.

Score (0–100): 40 for meeting every threshold plus up to 60 from the strength of the evidence,
each strength in [0, 1] growing linearly from its threshold:

    score = 40 + 60 × (0.20·s_orders + 0.15·s_levels + 0.25·s_depth + 0.15·s_imbalance
                       + 0.15·s_cancel + 0.10·s_burst)

``s_orders`` from ``min_orders`` to twice that, ``s_levels`` likewise for price levels,
``s_depth`` from ln(min_depth_ratio) to ln(4 × min_depth_ratio), ``s_imbalance`` from
``min_imbalance`` to 1, ``s_cancel`` from the median cancel delay at ``cancel_within_s`` to 0 s
and ``s_burst`` from the placement span at ``burst_s`` to 0 s.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from surveillance.engine import orderflow as of
from surveillance.engine.params import DetectorSpec, Param
from surveillance.engine.types import US_PER_SECOND, Detection, FloatArray, IntArray, SurveillanceData

WEIGHTS = {"orders": 0.20, "levels": 0.15, "depth": 0.25, "imbalance": 0.15, "cancel": 0.15, "burst": 0.10}
BASE_SCORE = 40.0


@dataclass
class _Episode:
    """Layers (positions in the order lives) and opposite trades (rows of ``Trades``)."""

    layers: set[int]
    trades: list[int]
    best: dict[str, float] = field(default_factory=dict)


def detect(data: SurveillanceData, params: Mapping[str, float]) -> list[Detection]:
    """Layering episodes, one per set of layered orders; see the module docstring."""
    events, trades = data.orders, data.trades
    lives = of.order_lives(events)
    if len(lives) == 0 or len(trades) == 0:
        return []
    n = len(events)
    n_lives = len(lives)
    (g_o, g_t), n_groups = of.group_codes(data, lives.account, trades.account)
    i_u, i_code = of.dense_codes(np.concatenate([lives.instrument, trades.instrument]))
    n_keys = n_groups * i_u.size * 2
    key_o = (g_o * i_u.size + i_code[:n_lives]) * 2 + (lives.side > 0)
    key_t = (g_t * i_u.size + i_code[n_lives:]) * 2 + (trades.side > 0)
    key_layer_side = key_t ^ 1  # the side opposite to the trade

    fill_ratio = lives.filled / np.maximum(lives.quantity, 1e-12)
    is_layer = lives.cancelled & np.isfinite(lives.price) & (fill_ratio <= params["max_fill_ratio"])
    layer_idx = np.flatnonzero(is_layer)
    if layer_idx.size < params["min_orders"]:
        return []
    layers = of.AliveCounter.build(
        key_o[layer_idx], n_keys, lives.row[layer_idx], lives.end_row[layer_idx], lives.quantity[layer_idx], n
    )  # layers are cancelled, hence closed
    rank = np.searchsorted(events.ts_us, trades.ts_us, side="right") - 1
    n_alive, q_alive = layers.alive(key_layer_side, rank)
    inst_u, typical = lives.typical_by_instrument
    typ = of.lookup(inst_u, typical, trades.instrument, 1.0)
    cand = np.flatnonzero((n_alive >= params["min_orders"]) & (q_alive >= params["min_depth_ratio"] * typ))
    if cand.size == 0:
        return []
    # The owner's whole resting book = the layer candidates + every other order, each counted at
    # its full size while it rests (fills are not time-resolved here, and an order that fills in
    # the end still showed its size). Only the small complement needs a second counter.
    other_idx = np.flatnonzero(~is_layer)
    ends = of.end_ranks(lives, n)
    others = of.AliveCounter.build(
        key_o[other_idx], n_keys, lives.row[other_idx], ends[other_idx], lives.quantity[other_idx], n
    )
    resting = _Book(layers, others)
    # The book as it stood just before the execution: a market maker's two-sided quote is
    # about even then, whereas a layering book is all on one side ...
    before = np.searchsorted(events.ts_us, trades.ts_us[cand], side="left") - 1
    q_layer_side = resting.quantity(key_layer_side[cand], before)
    q_trade_side = resting.quantity(key_t[cand], before)
    # ... not counting the order that executes: it is the genuine "opposite side order".
    own = np.full(len(trades), -1, np.int64)
    own[cand] = of.lives_index(lives, trades.order_id[cand])
    own_c = np.maximum(own[cand], 0)
    own_alive = (own[cand] >= 0) & (lives.row[own_c] <= before) & (lives.end_row[own_c] > before)
    q_trade_side = np.maximum(q_trade_side - np.where(own_alive, lives.quantity[own_c], 0.0), 0.0)
    imbalance = np.zeros(len(trades))
    imbalance[cand] = q_layer_side / np.maximum(q_layer_side + q_trade_side, 1e-12)
    candidates = cand[imbalance[cand] >= params["min_imbalance"]]
    if candidates.size == 0:
        return []
    cancel_us = int(params["cancel_within_s"] * US_PER_SECOND)
    rank_w = np.searchsorted(events.ts_us, trades.ts_us[candidates] + cancel_us, side="right") - 1
    lo, hi = layers.started(key_layer_side[candidates], rank[candidates])

    episodes: dict[tuple[int, int], list[_Episode]] = {}
    for k, j in enumerate(candidates.tolist()):
        pos = layer_idx[layers.start_index[lo[k] : hi[k]]]
        r = int(rank[j])
        pos = pos[(lives.end_row[pos] > r) & (lives.end_row[pos] <= rank_w[k])]
        pos = _densest_burst(pos, lives.placed_us, int(params["burst_s"] * US_PER_SECOND))
        if pos.size < params["min_orders"]:
            continue
        levels = np.unique(lives.price[pos]).size
        depth_ratio = float(lives.quantity[pos].sum() / typ[j])
        if levels < params["min_levels"] or depth_ratio < params["min_depth_ratio"]:
            continue
        # The book as shown once the last layer was in: the deceptive picture itself.
        shown = _imbalance_at(resting, lives, int(key_layer_side[j]), int(key_t[j]), int(lives.row[pos].max()), own[j])
        if shown < params["min_imbalance"]:
            continue
        strengths = _strengths(
            params,
            n_orders=pos.size,
            levels=levels,
            depth_ratio=depth_ratio,
            imbalance=min(shown, float(imbalance[j])),
            cancel_delay_s=float(np.median(lives.ended_us[pos] - trades.ts_us[j])) / US_PER_SECOND,
            burst_span_s=float(np.ptp(lives.placed_us[pos])) / US_PER_SECOND,
        )
        slot = (int(key_t[j]) >> 1, int(trades.side[j]))
        found = episodes.setdefault(slot, [])
        layer_set = set(pos.tolist())
        match = next((e for e in found if e.layers & layer_set), None)
        if match is None:
            found.append(_Episode(layers=layer_set, trades=[j], best=strengths))
        else:
            match.layers |= layer_set
            match.trades.append(j)
            if strengths["score"] > match.best["score"]:
                match.best = strengths
    return [_detection(data, lives, e) for eps in episodes.values() for e in eps]


@dataclass(frozen=True)
class _Book:
    """Resting quantity per key and rank from two counters over disjoint sets of orders."""

    a: of.AliveCounter
    b: of.AliveCounter

    def quantity(self, key: IntArray, rank: IntArray) -> FloatArray:
        return self.a.alive(key, rank)[1] + self.b.alive(key, rank)[1]


def _imbalance_at(
    resting: _Book, lives: of.OrderLives, layer_key: int, trade_key: int, rank: int, executing: int
) -> float:
    """Layered side's share of the owner's resting quantity at ``rank``, leaving out the order
    that later executes on the other side (position ``executing`` in ``lives``, -1 if none)."""
    r = np.asarray([rank], np.int64)
    q_layer = resting.quantity(np.asarray([layer_key], np.int64), r)
    q_trade = resting.quantity(np.asarray([trade_key], np.int64), r)
    other = float(q_trade[0])
    if executing >= 0 and lives.row[executing] <= rank < lives.end_row[executing]:
        other -= float(lives.quantity[executing])
    layer = float(q_layer[0])
    return layer / max(layer + max(other, 0.0), 1e-12)


def _densest_burst(pos: IntArray, placed_us: IntArray, burst_us: int) -> IntArray:
    """The largest subset of ``pos`` placed within ``burst_us`` of each other (earliest on ties)."""
    if pos.size <= 1:
        return pos
    pos = pos[np.argsort(placed_us[pos], kind="stable")]
    t = placed_us[pos]
    ends = np.searchsorted(t, t + burst_us, side="right")
    sizes = ends - np.arange(t.size)
    start = int(np.argmax(sizes))
    return pos[start : int(ends[start])]


def _strengths(
    params: Mapping[str, float],
    *,
    n_orders: int,
    levels: int,
    depth_ratio: float,
    imbalance: float,
    cancel_delay_s: float,
    burst_span_s: float,
) -> dict[str, float]:
    """Evidence strengths, the score, and the features they came from."""
    min_orders, min_levels, min_depth = params["min_orders"], params["min_levels"], params["min_depth_ratio"]
    s = {
        "orders": float(of.strength(n_orders, min_orders, 2.0 * min_orders)),
        "levels": float(of.strength(levels, min_levels, 2.0 * min_levels)),
        "depth": float(of.strength(np.log(depth_ratio), np.log(min_depth), np.log(4.0 * min_depth))),
        "imbalance": float(of.strength(imbalance, params["min_imbalance"], 1.0)),
        "cancel": float(of.strength(cancel_delay_s, params["cancel_within_s"], 0.0)),
        "burst": float(of.strength(burst_span_s, params["burst_s"], 0.0)),
    }
    score = BASE_SCORE + (100.0 - BASE_SCORE) * sum(WEIGHTS[k] * v for k, v in s.items())
    return {
        "score": round(float(np.clip(score, 0.0, 100.0)), 2),
        "layer_orders": float(n_orders),
        "price_levels": float(levels),
        "depth_ratio_x": round(depth_ratio, 3),
        "book_imbalance": round(imbalance, 4),
        "cancel_delay_s": round(cancel_delay_s, 3),
        "burst_span_s": round(burst_span_s, 3),
    }


def _detection(data: SurveillanceData, lives: of.OrderLives, e: _Episode) -> Detection:
    trades = data.trades
    pos = np.asarray(sorted(e.layers), dtype=np.int64)
    t_rows = np.asarray(sorted(set(e.trades)), dtype=np.int64)
    qty = lives.quantity[pos]
    accounts, by_account = np.unique(lives.account[pos], return_inverse=True)
    account = int(accounts[np.argmax(np.bincount(by_account.ravel(), weights=qty))])
    layer_side = int(lives.side[pos[0]])
    exec_qty = float(trades.quantity[t_rows].sum())
    best = e.best
    features: dict[str, float] = {k: v for k, v in best.items() if k != "score"}
    features["layer_quantity"] = float(qty.sum())
    features["opposite_quantity"] = exec_qty
    side_word = "buy" if layer_side > 0 else "sell"
    opp_word = "sold" if layer_side > 0 else "bought"
    prices: FloatArray = lives.price[pos]
    return Detection(
        scenario="layering",
        account=account,
        instrument=int(lives.instrument[pos[0]]),
        start_us=int(lives.placed_us[pos].min()),
        end_us=int(max(lives.ended_us[pos].max(), trades.ts_us[t_rows].max())),
        score=best["score"],
        summary=(
            f"Layered {pos.size} {side_word} orders ({qty.sum():,.0f} shares, {best['depth_ratio_x']:.1f}× the "
            f"typical size) over {np.unique(prices).size} price levels within {best['burst_span_s']:.1f} s, "
            f"{opp_word} {exec_qty:,.0f} on the other side, then cancelled the layers "
            f"{best['cancel_delay_s']:.1f} s after the execution."
        ),
        order_ids=tuple(sorted({int(o) for o in lives.order_id[pos]} | _trade_orders(trades.order_id[t_rows]))),
        trade_ids=tuple(int(t) for t in trades.trade_id[t_rows]),
        features=features,
    )


def _trade_orders(order_ids: IntArray) -> set[int]:
    return {int(o) for o in order_ids if o >= 0}


SPEC = DetectorSpec(
    scenario="layering",
    title="Layering",
    params=(
        Param("min_orders", 3, 2, 100, "orders", "At least this many same-side orders resting.", integer=True),
        Param("min_levels", 3, 2, 100, "levels", "At least this many distinct limit prices.", integer=True),
        Param("burst_s", 30.0, 0.001, 3600.0, "s", "Layers placed within this span of each other."),
        Param(
            "cancel_within_s",
            60.0,
            0.001,
            3600.0,
            "s",
            "Layers cancelled at most this long after the opposite-side execution.",
        ),
        Param("max_fill_ratio", 0.1, 0.0, 1.0, "", "At most this share of each layered order executed."),
        Param(
            "min_depth_ratio",
            2.0,
            0.1,
            1000.0,
            "×",
            "Layered quantity at least this multiple of the instrument's typical order size.",
        ),
        Param(
            "min_imbalance",
            0.9,
            0.5,
            1.0,
            "",
            "Layered side's share of the owner's resting quantity in the instrument (the executing order "
            "left out), just before the execution and once the last layer was in.",
        ),
    ),
    run=detect,
    references=(
        "FINRA Rule 5210 Supplementary Material .03",
        "EU MAR (Regulation (EU) No 596/2014) Art. 12(1)(a), 12(2)(c); Annex I A(f)",
        "Commission Delegated Regulation (EU) 2016/522 Annex II Section 1 (layering and spoofing)",
        "CFTC Interpretive Guidance on Disruptive Trading Practices, 78 FR 31890 (2013), CEA §4c(a)(5)(C)",
    ),
)
