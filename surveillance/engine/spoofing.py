"""Spoofing: a large order near the touch, cancelled quickly and (almost) unfilled, while the
same beneficial owner executes on the other side.

What the abuse is. Placing an order one does not intend to execute, to make others believe
supply or demand has changed, and trading on the other side of the move it causes.
EU MAR (Regulation (EU) No 596/2014) Art. 12(1)(a) and 12(2)(c), Annex I A(f) (orders that
change the representation of the order book and are removed before execution); Commission
Delegated Regulation (EU) 2016/522 Annex II Section 1 ("large orders ... on one side of the
order book in order to execute a trade on the other side ... usually known as layering and
spoofing"); FINRA Rule 5210 Supplementary Material .03; CFTC Interpretive Guidance and Policy
Statement on Disruptive Trading Practices, 78 FR 31890 (May 2013): "bidding or offering with the
intent to cancel the bid or offer before execution", CEA §4c(a)(5)(C).

Algorithm (vectorised; the per-candidate loop only runs on the few survivors):

1. One row per order (``orderflow.order_lives``). The typical order size of an instrument is the
   geometric mean of its order quantities.
2. Large, short-lived, unfilled: cancelled limit orders with ``quantity ≥ min_size_ratio ×
   typical``, life (placement → cancel) ``≤ max_life_s``, ``filled / quantity ≤ max_fill_ratio``.
3. At the touch and dominating it: the limit at most ``max_distance_bps`` (of the mid) behind
   the same-side best quote in force at placement (inside the spread counts as 0; the default
   of 20 bps is two one-cent ticks on a $10 stock, so "near the touch" does not shrink to the
   touch itself for low-priced shares) and the
   quantity at least ``min_touch_ratio`` times the size displayed there. Without quotes these
   two tests cannot be made and are passed.
4. The trade it serves: executions by any account of the same beneficial-owner group, same
   instrument, opposite side, from placement until ``after_s`` after the cancel; with
   ``require_resting_opposite`` at least one of them fills an order that was already resting
   when the large order arrived (the genuine order the spoof is meant to get filled), and the
   cancel comes within ``max_cancel_gap_s`` of one of them ("once the trade has taken place, the
   orders ... are removed").
5. One price level: if the owner's large cancelled orders on that side rest on more than
   ``max_levels`` prices at the execution, the pattern is layering and left to that detector.

A market maker's quotes are a few lots and so never pass step 2; a market maker that places one
large order and trades against it is caught like anyone (no exemption by account kind).

Score (0–100): every episode that passes all tests starts at 40 and earns up to 60 more from
the strength of its evidence, each strength in [0, 1] growing linearly from its threshold:

    score = 40 + 60 × (0.30·s_size + 0.20·s_speed + 0.10·s_unfilled + 0.10·s_touch
                       + 0.15·s_timing + 0.15·s_resting)

with ``s_size`` from ln(size ratio) at ln(min_size_ratio) to ln(4 × min_size_ratio), ``s_speed``
from the life at ``max_life_s`` to 0 s, ``s_unfilled`` from the fill ratio at
``max_fill_ratio`` to 0, ``s_touch`` from the distance at ``max_distance_bps`` to 0,
``s_timing`` from the gap between the cancel and the nearest opposite execution at
``max_cancel_gap_s`` to 0 s, and ``s_resting`` 1 when the opposite execution filled an order
resting before the large one (else 0).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from surveillance.engine import orderflow as of
from surveillance.engine.params import DetectorSpec, Param
from surveillance.engine.types import US_PER_SECOND, Detection, IntArray, SurveillanceData

WEIGHTS = {"size": 0.30, "speed": 0.20, "unfilled": 0.10, "touch": 0.10, "timing": 0.15, "resting": 0.15}
BASE_SCORE = 40.0


def detect(data: SurveillanceData, params: Mapping[str, float]) -> list[Detection]:
    """Spoofing episodes, one per spoof order; see the module docstring for the method."""
    lives = of.order_lives(data.orders)
    if len(lives) == 0 or len(data.trades) == 0:
        return []
    size_ratio = lives.quantity / lives.typical
    life_s = (lives.ended_us - lives.placed_us) / US_PER_SECOND
    fill_ratio = lives.filled / np.maximum(lives.quantity, 1e-12)
    large = np.flatnonzero(
        lives.cancelled
        & np.isfinite(lives.price)
        & (size_ratio >= params["min_size_ratio"])
        & (life_s <= params["max_life_s"])
        & (fill_ratio <= params["max_fill_ratio"])
    )
    if large.size == 0:
        return []
    c = lives.take(large)
    touch = of.touch_at(data.quotes, c.instrument, c.placed_us)
    touch_px, touch_qty = touch.same_side(c.side)
    # Positive = behind the touch (less aggressive); an order inside the spread counts as 0.
    distance_bps = np.maximum(c.side * (touch_px - c.price) / touch.mid * 1e4, 0.0)
    distance_bps = np.where(np.isfinite(distance_bps), distance_bps, 0.0)
    # Without quotes the touch tests cannot be made and are passed (NaN compares False below).
    touch_ratio = c.quantity / touch_qty
    near = np.flatnonzero(~(distance_bps > params["max_distance_bps"]) & ~(touch_ratio < params["min_touch_ratio"]))
    if near.size == 0:
        return []
    s = c.take(near)
    windows = of.trades_in_windows(
        data,
        group=of.account_groups(data, s.account),
        instrument=s.instrument,
        side=-s.side.astype(np.int64),
        t0_us=s.placed_us,
        t1_us=s.ended_us + int(params["after_s"] * US_PER_SECOND),
    )
    with_other = [j for j, w in enumerate(windows) if w.size]
    if not with_other:
        return []
    resting = _resting_before(data, lives, s, windows, with_other)
    out: list[Detection] = []
    max_gap_us = params["max_cancel_gap_s"] * US_PER_SECOND
    for j in with_other:
        if params["require_resting_opposite"] and not resting[j]:
            continue
        opp = windows[j]
        if np.min(np.abs(data.trades.ts_us[opp] - s.ended_us[j])) > max_gap_us:
            continue  # pulled long before or after the trade: not tied to it
        k = int(near[j])
        levels = _levels_alive(c, k, int(data.trades.ts_us[opp[0]]))
        if levels > params["max_levels"]:
            continue  # several price levels: layering, reported by the layering detector
        out.append(
            _detection(
                data,
                params,
                s,
                j,
                opp,
                size_ratio=float(size_ratio[large[k]]),
                life_s=float(life_s[large[k]]),
                fill_ratio=float(fill_ratio[large[k]]),
                distance_bps=float(distance_bps[k]),
                touch_qty=float(touch_qty[k]),
                resting_before=resting[j],
                levels=levels,
            )
        )
    return out


def _levels_alive(c: of.OrderLives, k: int, at_us: int) -> int:
    """Distinct limit prices of the large cancelled orders of the same account, instrument and
    side as candidate ``k`` that rest at ``at_us`` (itself included)."""
    same = (
        (c.account == c.account[k])
        & (c.instrument == c.instrument[k])
        & (c.side == c.side[k])
        & (c.placed_us <= at_us)
        & (c.ended_us > at_us)
    )
    return max(1, int(np.unique(c.price[same]).size))


def _resting_before(
    data: SurveillanceData, lives: of.OrderLives, s: of.OrderLives, windows: list[IntArray], chosen: list[int]
) -> dict[int, bool]:
    """Per chosen candidate: did an opposite trade fill a limit order that was already resting
    when the large order was placed (the genuine order the spoof is meant to get filled)?"""
    rows = [windows[j] for j in chosen]
    pos_all = of.lives_index(lives, data.trades.order_id[np.concatenate(rows)])
    bounds = np.cumsum([0, *(r.size for r in rows)])
    out: dict[int, bool] = {}
    for k, j in enumerate(chosen):
        pos = pos_all[bounds[k] : bounds[k + 1]]
        pos = pos[pos >= 0]
        out[j] = bool(np.any(np.isfinite(lives.price[pos]) & (lives.placed_us[pos] < s.placed_us[j])))
    return out


def _detection(
    data: SurveillanceData,
    params: Mapping[str, float],
    s: of.OrderLives,
    j: int,
    opp: IntArray,
    *,
    size_ratio: float,
    life_s: float,
    fill_ratio: float,
    distance_bps: float,
    touch_qty: float,
    resting_before: bool,
    levels: int,
) -> Detection:
    trades = data.trades
    opp_ts = trades.ts_us[opp]
    cancel_us = int(s.ended_us[j])
    gap_s = float(np.min(np.abs(opp_ts - cancel_us))) / US_PER_SECOND
    max_life_s, min_ratio = params["max_life_s"], params["min_size_ratio"]
    strengths = {
        "size": float(of.strength(np.log(size_ratio), np.log(min_ratio), np.log(4.0 * min_ratio))),
        "speed": float(of.strength(life_s, max_life_s, 0.0)),
        "unfilled": float(of.strength(fill_ratio, params["max_fill_ratio"], 0.0)),
        "touch": float(of.strength(distance_bps, params["max_distance_bps"], 0.0)),
        "timing": float(of.strength(gap_s, params["max_cancel_gap_s"], 0.0)),
        "resting": float(resting_before),
    }
    score = BASE_SCORE + (100.0 - BASE_SCORE) * sum(WEIGHTS[k] * v for k, v in strengths.items())
    opp_qty = float(trades.quantity[opp].sum())
    qty = float(s.quantity[j])
    side_word, opp_word = ("buy", "sold") if s.side[j] > 0 else ("sell", "bought")
    features = {
        "order_quantity": qty,
        "size_ratio_x": round(size_ratio, 3),
        "touch_size_ratio_x": round(qty / touch_qty, 3) if touch_qty > 0 else float("nan"),
        "life_s": round(life_s, 3),
        "fill_ratio": round(fill_ratio, 4),
        "distance_from_touch_bps": round(distance_bps, 2),
        "price_levels": float(levels),
        "opposite_quantity": opp_qty,
        "opposite_trades": float(opp.size),
        "opposite_resting_before": float(resting_before),
        "cancel_to_opposite_gap_s": round(gap_s, 3),
    }
    return Detection(
        scenario="spoofing",
        account=int(s.account[j]),
        instrument=int(s.instrument[j]),
        start_us=int(s.placed_us[j]),
        end_us=max(cancel_us, int(opp_ts.max())),
        score=round(float(np.clip(score, 0.0, 100.0)), 2),
        summary=(
            f"Placed a {side_word} order of {qty:,.0f} ({size_ratio:.1f}× the typical size) "
            f"{distance_bps:.1f} bps from the touch and cancelled it after {life_s:.1f} s "
            f"with {100 * fill_ratio:.0f}% filled, while the same owner {opp_word} {opp_qty:,.0f} "
            f"on the other side."
        ),
        order_ids=(int(s.order_id[j]), *sorted({int(o) for o in trades.order_id[opp] if o >= 0})),
        trade_ids=tuple(int(t) for t in trades.trade_id[opp]),
        features=features,
    )


SPEC = DetectorSpec(
    scenario="spoofing",
    title="Spoofing",
    params=(
        Param(
            "min_size_ratio",
            5.0,
            1.0,
            1000.0,
            "×",
            "Order size at least this multiple of the instrument's typical order size (geometric mean).",
        ),
        Param("max_life_s", 30.0, 0.001, 3600.0, "s", "Cancelled at most this long after placement."),
        Param("max_fill_ratio", 0.1, 0.0, 1.0, "", "At most this share of the order executed before the cancel."),
        Param(
            "max_distance_bps",
            20.0,
            0.0,
            1000.0,
            "bps",
            "Limit at most this far behind the same-side best quote at placement, in bps of the mid.",
        ),
        Param(
            "min_touch_ratio",
            4.0,
            0.0,
            1000.0,
            "×",
            "Order size at least this multiple of the size displayed at the same-side touch at placement.",
        ),
        Param(
            "require_resting_opposite",
            1,
            0,
            1,
            "",
            "1: the opposite execution must fill an order resting before the large order was placed; "
            "0: any opposite execution during its life counts.",
            integer=True,
        ),
        Param(
            "max_levels",
            2,
            1,
            100,
            "levels",
            "The large orders rest on at most this many prices; more is layering (its own detector).",
            integer=True,
        ),
        Param(
            "max_cancel_gap_s",
            10.0,
            0.0,
            3600.0,
            "s",
            "The cancel comes at most this long before or after an opposite-side execution.",
        ),
        Param(
            "after_s",
            2.0,
            0.0,
            600.0,
            "s",
            "Opposite-side executions count from placement until this long after the cancel.",
        ),
    ),
    run=detect,
    references=(
        "EU MAR (Regulation (EU) No 596/2014) Art. 12(1)(a), 12(2)(c); Annex I A(f)",
        "Commission Delegated Regulation (EU) 2016/522 Annex II Section 1 (layering and spoofing)",
        "FINRA Rule 5210 Supplementary Material .03",
        "CFTC Interpretive Guidance on Disruptive Trading Practices, 78 FR 31890 (2013), CEA §4c(a)(5)(C)",
    ),
)
