"""Wash trades: trades in which the beneficial owner does not change.

What the abuse is. A transaction that transfers no beneficial interest or market risk, or
transfers it only between parties acting in concert, gives a false or misleading signal of
supply, demand or price (EU MAR, Regulation 596/2014, Art. 12(1)(a) and Annex I A(c), "no
change in beneficial ownership"; Commission Delegated Regulation (EU) 2016/522, Annex II
Section 1, "wash trades"; FINRA Rule 5210 Supplementary Material .01, bona fide transactions,
and .02, self-trades). "Same beneficial owner" is ``Accounts.group``.

Algorithm.

1. Exact: every trade with a known internal counterparty (``Trades.counterparty >= 0``) whose
   group equals the account's group, including an account trading with itself. When both sides
   of a cross are recorded (one row per side) the pair counts once.
2. Near: among trades whose counterparty is unknown (matched anonymously on a venue), a buy and
   a sell by two *different* accounts of one group in one instrument within ``near_window_s``
   of each other, at prices within ``price_tolerance_bps`` and quantities within
   ``quantity_tolerance_pct``, and never more than half the quoted spread apart (a buy near the
   bid and a sell near the offer are a liquidity provider's round trip). Each buy keeps its
   closest sell and each sell is used once. A single account buying and selling against
   outside counterparties changes beneficial ownership twice, which is round-trip trading (a
   market maker's business), not a wash: if its own orders met each other the fill carries the
   account as counterparty (step 1).
3. Episodes: the matches of one group and instrument closer than ``episode_gap_min`` form one
   episode, reported on the account with the most matches when its evidence ``E`` (below) is
   at least ``min_evidence``: by default one internal cross, one near match with simultaneous
   legs at one price and size, or two or more looser near matches. A single loose coincidence
   between linked accounts (a family's accounts reacting to the same news) is not enough.

Score. Each match has a weight: 1 for an exact cross; for a near match
``w = (q_small/q_large) · (1 − ½·Δt/window) · (1 − ½·Δp/tolerance)`` in [0.2, 1] (1 when the
two legs are simultaneous, at one price and of one size). With ``E = Σ w`` the score is the
odds score ``100 · E / (1 + E)``: one exact cross scores 50, four 80, nine 90.

Known false positives: transfers between a person's own accounts booked as trades; a family's
linked accounts trading independently on the same news; a fund manager crossing between two
funds of one manager at a fair price (legitimate when done under a documented cross policy).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from surveillance.engine.evidence import (
    DailyVolume,
    daily_volume,
    duration_text,
    groups_of,
    key_codes,
    odds_score,
    ranges_expand,
    spread_at,
    window_ranges,
)
from surveillance.engine.params import DetectorSpec, Param, params_clean
from surveillance.engine.types import (
    US_PER_DAY,
    US_PER_MINUTE,
    US_PER_SECOND,
    Accounts,
    Detection,
    FloatArray,
    IntArray,
    SurveillanceData,
    Trades,
)

SCENARIO = "wash_trades"


def _exact_matches(trades: Trades, accounts: Accounts, group: IntArray) -> tuple[IntArray, IntArray]:
    """Same-group internal crosses: (kept row per cross, its mirror row or -1)."""
    rows = np.flatnonzero(trades.counterparty >= 0)
    rows = rows[groups_of(accounts, trades.counterparty[rows]) == group[rows]]
    if len(rows) == 0:
        return rows, rows
    a, c = trades.account[rows], trades.counterparty[rows]
    lo, hi = np.minimum(a, c), np.maximum(a, c)
    inst, ts = trades.instrument[rows], trades.ts_us[rows]
    price, qty, side = trades.price[rows], trades.quantity[rows], trades.side[rows]
    # Both sides of one cross share instrument, time, price, quantity and the account pair;
    # sorting by those (buy first) puts a mirror right after its buy.
    order = np.lexsort((-side.astype(np.int64), qty, price, ts, hi, lo, inst))
    cols = [x[order] for x in (inst, ts, price, qty, lo, hi)]
    s = side[order]
    mirror_of_prev = np.zeros(len(order), dtype=np.bool_)
    if len(order) > 1:
        mirror_of_prev[1:] = s[1:] != s[:-1]
        for col in cols:
            mirror_of_prev[1:] &= col[1:] == col[:-1]
    # A mirror is folded into the row before it; pairs never chain (a third identical row
    # would have the first row's side), but guard anyway.
    mirror_of_prev[1:] &= ~mirror_of_prev[:-1]
    r = rows[order]
    kept = np.flatnonzero(~mirror_of_prev)
    nxt = np.minimum(kept + 1, len(r) - 1)
    has = (kept + 1 < len(r)) & mirror_of_prev[nxt]
    return r[kept], np.where(has, r[nxt], -1).astype(np.int64)


def _near_matches(
    data: SurveillanceData, group: IntArray, multi: np.ndarray, p: Mapping[str, float]
) -> tuple[IntArray, IntArray, FloatArray]:
    """Near wash pairs: (buy row, sell row, weight), one-to-one."""
    trades = data.trades
    window_us = int(p["near_window_s"] * US_PER_SECOND)
    tol_bps = p["price_tolerance_bps"]
    qty_floor = 1.0 - p["quantity_tolerance_pct"] / 100.0
    cand = np.flatnonzero((trades.counterparty < 0) & multi)
    empty = np.zeros(0, dtype=np.int64)
    if len(cand) < 2:
        return empty, empty, np.zeros(0)
    key = key_codes(group[cand], trades.instrument[cand])
    is_buy = trades.side[cand] > 0
    sells, buys = cand[~is_buy], cand[is_buy]
    if len(sells) == 0 or len(buys) == 0:
        return empty, empty, np.zeros(0)
    t_b = trades.ts_us[buys]
    order, start, stop = window_ranges(
        key[~is_buy], trades.ts_us[sells], key[is_buy], t_b - window_us, t_b + window_us, time_sorted=True
    )
    q, pos = ranges_expand(start, stop)
    b, s = buys[q], sells[order[pos]]
    keep = trades.account[b] != trades.account[s]
    b, s = b[keep], s[keep]
    pb, ps = trades.price[b], trades.price[s]
    gap_bps = np.abs(pb - ps) / np.maximum((pb + ps) / 2.0, 1e-12) * 1e4
    qb, qs = trades.quantity[b], trades.quantity[s]
    q_ratio = np.minimum(qb, qs) / np.maximum(np.maximum(qb, qs), 1e-12)
    keep = (gap_bps <= tol_bps) & (q_ratio >= qty_floor)
    b, s, gap_bps, q_ratio = b[keep], s[keep], gap_bps[keep], q_ratio[keep]
    # Legs more than half the quoted spread apart are a purchase nearer the bid and a sale
    # nearer the offer: a liquidity provider's round trip, not a wash. Without quotes the
    # price tolerance alone applies.
    half_spread = 0.5 * spread_at(data.quotes, trades.instrument[b], np.minimum(trades.ts_us[b], trades.ts_us[s]))
    keep = ~(np.abs(trades.price[b] - trades.price[s]) > half_spread + 1e-9)
    b, s, gap_bps, q_ratio = b[keep], s[keep], gap_bps[keep], q_ratio[keep]
    dt = np.abs(trades.ts_us[b] - trades.ts_us[s]).astype(np.float64)
    w = q_ratio * (1.0 - 0.5 * dt / max(window_us, 1)) * (1.0 - 0.5 * gap_bps / max(tol_bps, 1e-12))
    # Closest sell per buy, then each sell used once (by its closest buy).
    first = np.lexsort((-w, b))
    b, s, w = b[first], s[first], w[first]
    one = np.ones(len(b), dtype=np.bool_)
    one[1:] = b[1:] != b[:-1]
    b, s, w = b[one], s[one], w[one]
    first = np.lexsort((-w, s))
    b, s, w = b[first], s[first], w[first]
    one = np.ones(len(s), dtype=np.bool_)
    one[1:] = s[1:] != s[:-1]
    return b[one], s[one], w[one]


def detect(data: SurveillanceData, params: Mapping[str, float]) -> list[Detection]:
    """Exact and near wash trades, one detection per group, instrument and episode."""
    p = params_clean(SPEC, params)
    trades = data.trades
    if len(trades) == 0:
        return []
    group = groups_of(data.accounts, trades.account)
    ex_row, ex_mirror = _exact_matches(trades, data.accounts, group)
    if len(data.accounts):
        g, counts = np.unique(data.accounts.group, return_counts=True)
        multi = np.isin(group, g[counts >= 2])
    else:
        multi = np.zeros(len(trades), dtype=np.bool_)
    near_b, near_s, near_w = _near_matches(data, group, multi, p)

    leg_a = np.concatenate((ex_row, near_b))
    leg_b = np.concatenate((ex_mirror, near_s))
    weight = np.concatenate((np.ones(len(ex_row)), near_w))
    exact = np.concatenate((np.ones(len(ex_row), np.bool_), np.zeros(len(near_b), np.bool_)))
    if len(leg_a) == 0:
        return []
    t_a = trades.ts_us[leg_a]
    t_b = np.where(leg_b >= 0, trades.ts_us[np.maximum(leg_b, 0)], t_a)
    start, end = np.minimum(t_a, t_b), np.maximum(t_a, t_b)
    m_group, m_inst = group[leg_a], trades.instrument[leg_a]
    order = np.lexsort((start, m_inst, m_group))
    gap_us = int(p["episode_gap_min"] * US_PER_MINUTE)
    volume = daily_volume(data.tape)

    out: list[Detection] = []
    episode: list[int] = []
    last_end = 0
    # One pass over the matches only (few: a match is already a suspicious pair).
    for i in order.tolist():
        if episode:
            j = episode[-1]
            same = m_group[i] == m_group[j] and m_inst[i] == m_inst[j]
            if same and start[i] <= last_end + gap_us:
                episode.append(i)
                last_end = max(last_end, int(end[i]))
                continue
            out.append(_detection(trades, episode, leg_a, leg_b, weight, exact, start, end, volume))
        episode = [i]
        last_end = int(end[i])
    if episode:
        out.append(_detection(trades, episode, leg_a, leg_b, weight, exact, start, end, volume))
    # One loose coincidence between linked accounts is common (families, a fund's two books);
    # an episode must carry at least ``min_evidence`` (1 = one internal cross's worth).
    return [d for d in out if d.features["evidence_weight"] >= p["min_evidence"] - 1e-9]


def _detection(
    trades: Trades,
    episode: list[int],
    leg_a: IntArray,
    leg_b: IntArray,
    weight: FloatArray,
    exact: np.ndarray,
    start: IntArray,
    end: IntArray,
    volume: DailyVolume,
) -> Detection:
    """One detection from the matches of an episode."""
    idx = np.asarray(episode, dtype=np.int64)
    a, b = leg_a[idx], leg_b[idx]
    legs = np.concatenate((a, b[b >= 0]))
    accounts_seen = np.concatenate(
        (trades.account[a], np.where(b >= 0, trades.account[np.maximum(b, 0)], trades.counterparty[a]))
    )
    ids, counts = np.unique(accounts_seen, return_counts=True)
    account = int(ids[np.argmax(counts)])
    q_a = trades.quantity[a]
    q_b = np.where(b >= 0, trades.quantity[np.maximum(b, 0)], q_a)
    matched_qty = float(np.minimum(q_a, q_b).sum())
    p_a = trades.price[a]
    p_b = np.where(b >= 0, trades.price[np.maximum(b, 0)], p_a)
    gap_bps = float(np.max(np.abs(p_a - p_b) / np.maximum((p_a + p_b) / 2.0, 1e-12) * 1e4))
    gap_s = float(np.max(end[idx] - start[idx])) / US_PER_SECOND
    instrument = int(trades.instrument[a[0]])
    row, col = volume.cell(np.array([instrument]), np.array([int(start[idx].min()) // US_PER_DAY]))
    day_volume = float(volume.grid[row[0], col[0]]) if row[0] >= 0 and col[0] >= 0 else 0.0
    day_volume = day_volume if np.isfinite(day_volume) else 0.0
    evidence = float(weight[idx].sum())
    n_exact, n_near = int(exact[idx].sum()), int((~exact[idx]).sum())
    parts = []
    if n_exact:
        parts.append(f"{n_exact} internal cross{'es' if n_exact > 1 else ''}")
    if n_near:
        parts.append(f"{n_near} near match{'es' if n_near > 1 else ''} within {duration_text(int(gap_s * 1e6))}")
    summary = (
        f"Accounts {', '.join(str(int(x)) for x in ids)} of one beneficial owner traded instrument {instrument} "
        f"with each other: {' and '.join(parts)}, {matched_qty:,.0f} shares with no change of ownership."
    )
    order_ids = trades.order_id[legs]
    return Detection(
        scenario=SCENARIO,
        account=account,
        instrument=instrument,
        start_us=int(start[idx].min()),
        end_us=int(end[idx].max()),
        score=odds_score([evidence]),
        summary=summary,
        order_ids=tuple(sorted({int(x) for x in order_ids[order_ids >= 0]})),
        trade_ids=tuple(sorted({int(x) for x in trades.trade_id[legs]})),
        features={
            "exact_crosses": float(n_exact),
            "near_matches": float(n_near),
            "evidence_weight": round(evidence, 4),
            "matched_quantity_shares": matched_qty,
            "max_time_gap_s": round(gap_s, 3),
            "max_price_gap_bps": round(gap_bps, 3),
            "day_volume_share_pct": round(100.0 * matched_qty / day_volume, 4) if day_volume > 0 else 0.0,
        },
    )


SPEC = DetectorSpec(
    scenario=SCENARIO,
    title="Wash trades",
    params=(
        Param(
            "near_window_s",
            60.0,
            0.0,
            3600.0,
            "s",
            "Longest time between the buy and the sell of a near wash pair (legs of a pre-arranged "
            "trade arrive within seconds of each other).",
        ),
        Param(
            "price_tolerance_bps",
            1.0,
            0.0,
            500.0,
            "bps",
            "Largest price difference between the two legs of a near pair, in basis points of their mean price.",
        ),
        Param(
            "quantity_tolerance_pct",
            20.0,
            0.0,
            100.0,
            "%",
            "Largest size difference between the two legs, in percent of the larger one.",
        ),
        Param(
            "min_evidence",
            1.0,
            0.1,
            100.0,
            "matches",
            "Evidence an episode needs: the sum of its match weights (an internal cross weighs 1, a near "
            "match 0.2–1 by closeness).",
        ),
        Param(
            "episode_gap_min",
            30.0,
            1.0,
            1440.0,
            "min",
            "Matches of one group and instrument closer than this form one episode.",
        ),
    ),
    run=detect,
    references=(
        "EU MAR (Regulation 596/2014) Art. 12(1)(a) and Annex I A(c)",
        "Commission Delegated Regulation (EU) 2016/522 Annex II Section 1 (wash trades)",
        "FINRA Rule 5210, Supplementary Material .01 (bona fide transactions) and .02 (self-trades)",
    ),
)
