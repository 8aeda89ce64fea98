"""Insider dealing: an unusual one-way position before price-sensitive news that then pays off.

What the abuse is. Using inside information (precise, non-public, likely to have a significant
effect on prices) by acquiring or disposing of the instruments it concerns (EU MAR, Regulation
596/2014, Art. 7 and Art. 8, prohibited by Art. 14; suspicious orders and transactions are
reported under Art. 16). Surveillance cannot see the information; it sees its footprint: a
position that is unusual for the market and for the account, taken shortly before a
price-sensitive announcement, in the direction the price then moved abnormally.

Algorithm, for every price-sensitive news event (instrument, time t_e) and every account that
traded the instrument in ``[t_e − lookback_days, t_e)``:

1. Position: the account's net quantity ``Σ side·qty`` in the instrument over that window.
2. Large for the market: ``|net| / ADV ≥ min_adv_pct`` (ADV: the mean daily public volume of the
   instrument over the data's sessions before the event's, from ``Tape``; all its other
   sessions if none precede; bars' volume without tape).
3. Unusual for the account: the position is a one-way bet that dominates what the account did,
   ``concentration = |net notional| / the account's gross notional in all instruments over the
   same window ≥ min_concentration_pct``. A diversified book trading both ways (an institution
   working client blocks, a market maker) has a low concentration however large its trades;
   this needs no long history and is not inflated by the account's other suspicious positions.
   Its blind spot is an insider trading inside a busy book (a proprietary desk), where the
   position is a small part of the account's flow.
4. Employees' accounts (``is_employee``) have both thresholds divided by ``employee_factor``:
   they are likelier to hold inside information, so the same footprint weighs more.
5. Outcome: the abnormal return after the event by the market-adjusted model of
   :mod:`surveillance.engine.event_study` (from the last print before the news to the close
   ``horizon_days`` sessions on, minus the median of the other instruments), standardised by
   the instrument's daily abnormal-return volatility over ``vol_window_days`` sessions. It is
   favourable when ``sign(net) · z ≥ min_abnormal_z`` (1.5σ by default, the 93% one-sided
   quantile: the announcement's effect is measured to the close, so it carries the rest of the
   session's noise, and the size and concentration tests must hold as well).
6. Decision: all of 2, 3 and 5 must hold. A large position that is a small part of a busy book,
   or one the price never rewarded, is ordinary trading however strong the other tests look.

Score: ``odds = (adv share / threshold) · (concentration / threshold) · (z / min_abnormal_z)``
with the employee-adjusted thresholds, ``score = 100 · odds / (1 + odds)``: 50 at the thresholds.

Known false positives: research-driven or momentum positioning that happens to precede news;
an institution's single large client order in a quiet week (one-way and dominant for that
week, so only its size and the outcome tell it apart);
an investor building a position on public information the day before scheduled results; a
pump-and-dump accumulator whose instrument happens to have price-sensitive news during the
accumulation (both patterns deserve a look); event days with other market-wide news.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from surveillance.engine.event_study import event_outcome
from surveillance.engine.evidence import (
    daily_volume,
    duration_text,
    flags_of,
    key_codes,
    odds_score,
    ranges_expand,
    window_ranges,
)
from surveillance.engine.params import DetectorSpec, Param, params_clean
from surveillance.engine.types import US_PER_DAY, Detection, FloatArray, IntArray, SurveillanceData

SCENARIO = "insider_dealing"


def _adv(data: SurveillanceData, instrument: IntArray, day: IntArray) -> FloatArray:
    """Mean daily public volume of each instrument on the sessions before ``day`` in the data
    (all its other sessions if none precede), from the tape; bars' volume without tape."""
    out = np.full(len(instrument), np.nan)
    if len(data.tape):
        dv = daily_volume(data.tape)
        rows, _ = dv.cell(instrument, day)
        # One pass per event: events are few and the grid is instruments × sessions.
        for k in np.flatnonzero(rows >= 0).tolist():
            volume = dv.grid[rows[k]]
            printed = np.isfinite(volume)
            pick = printed & (dv.days < day[k])
            pick = pick if pick.any() else printed & (dv.days != day[k])
            if pick.any():
                out[k] = float(volume[pick].mean())
    bars = data.bars
    for k in np.flatnonzero(~np.isfinite(out)).tolist():
        mine = (bars.instrument == instrument[k]) & (bars.day < day[k]) & np.isfinite(bars.volume)
        if mine.any():
            out[k] = float(bars.volume[mine][-20:].mean())
    return out


def _gross_notional(data: SurveillanceData, account: IntArray, lo_us: IntArray, hi_us: IntArray) -> FloatArray:
    """Gross notional (Σ |qty · price|, all instruments) of each account's trades in [lo, hi]."""
    trades = data.trades
    n = len(trades)
    codes = key_codes(np.concatenate((trades.account, account)))
    order, start, stop = window_ranges(codes[:n], trades.ts_us, codes[n:], lo_us, hi_us, time_sorted=True)
    cs = np.concatenate(([0.0], np.cumsum(np.abs(trades.quantity * trades.price)[order])))
    gross: FloatArray = cs[stop] - cs[start]
    return gross


def detect(data: SurveillanceData, params: Mapping[str, float]) -> list[Detection]:
    """Accounts with unusual one-way positions before price-sensitive news that moved their way."""
    p = params_clean(SPEC, params)
    news, trades = data.news, data.trades
    ev = np.flatnonzero(news.price_sensitive)
    if len(ev) == 0 or len(trades) == 0:
        return []
    e_inst, e_ts = news.instrument[ev], news.ts_us[ev]
    lookback_us = int(p["lookback_days"] * US_PER_DAY)
    n = len(trades)
    codes = key_codes(np.concatenate((trades.instrument, e_inst)))
    order, start, stop = window_ranges(
        codes[:n], trades.ts_us, codes[n:], e_ts - lookback_us, e_ts - 1, time_sorted=True
    )
    q, pos = ranges_expand(start, stop)
    if len(q) == 0:
        return []
    rows = order[pos]
    # One candidate per (event, account): its trades in the instrument over the window.
    cand = key_codes(q, trades.account[rows])
    n_cand = int(cand.max()) + 1
    signed = trades.side[rows].astype(np.float64) * trades.quantity[rows]
    net = np.bincount(cand, weights=signed, minlength=n_cand)
    net_notional = np.bincount(cand, weights=signed * trades.price[rows], minlength=n_cand)
    first = np.unique(cand, return_index=True)[1]
    c_q, c_acc = q[first], trades.account[rows[first]]

    ar, sigma, z = event_outcome(
        data, e_inst, e_ts, horizon_days=int(p["horizon_days"]), vol_window_days=int(p["vol_window_days"])
    )
    event_day = e_ts // US_PER_DAY + (e_ts % US_PER_DAY > data.close_offset_us)
    adv = _adv(data, e_inst, event_day)
    gross = _gross_notional(data, c_acc, e_ts[c_q] - lookback_us, e_ts[c_q] - 1)
    _, employee = flags_of(data.accounts, c_acc)
    factor = np.where(employee, p["employee_factor"], 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        adv_share = np.abs(net) / adv[c_q]
        concentration = np.abs(net_notional) / gross
    adv_ratio = np.nan_to_num(adv_share / (p["min_adv_pct"] / 100.0) * factor, nan=0.0, posinf=0.0)
    conc_ratio = np.nan_to_num(concentration / (p["min_concentration_pct"] / 100.0) * factor, nan=0.0)
    favourable = np.nan_to_num(np.sign(net) * z[c_q], nan=-np.inf)
    z_ratio = favourable / p["min_abnormal_z"]
    # All three are required: a large position that is a small part of a busy book, or one
    # the price never rewarded, is ordinary trading however the other two look.
    hit = (net != 0) & (adv_ratio >= 1.0) & (conc_ratio >= 1.0) & (z_ratio >= 1.0)

    out: list[Detection] = []
    by_cand = np.argsort(cand, kind="stable")
    bounds = np.searchsorted(cand[by_cand], np.arange(n_cand + 1))
    for c in np.flatnonzero(hit).tolist():
        e = int(c_q[c])
        out.append(
            _detection(
                data,
                rows[by_cand[bounds[c] : bounds[c + 1]]],
                event_row=int(ev[e]),
                net=float(net[c]),
                net_notional=float(net_notional[c]),
                adv_share=float(adv_share[c]),
                concentration=float(concentration[c]),
                ar=float(ar[e]),
                sigma=float(sigma[e]),
                z=float(z[e]),
                employee=bool(employee[c]),
                score=odds_score(
                    [float(adv_ratio[c]), float(conc_ratio[c]), float(favourable[c]) / p["min_abnormal_z"]]
                ),
            )
        )
    return out


def _detection(
    data: SurveillanceData,
    evidence: IntArray,
    *,
    event_row: int,
    net: float,
    net_notional: float,
    adv_share: float,
    concentration: float,
    ar: float,
    sigma: float,
    z: float,
    employee: bool,
    score: float,
) -> Detection:
    trades = data.trades
    instrument = int(trades.instrument[evidence[0]])
    account = int(trades.account[evidence[0]])
    event_us = int(data.news.ts_us[event_row])
    first_us = int(trades.ts_us[evidence].min())
    last_us = int(trades.ts_us[evidence].max())
    verb = "bought" if net > 0 else "sold"
    who = f"Employee account {verb}" if employee else verb.capitalize()
    summary = (
        f"{who} a net {abs(net):,.0f} shares of instrument {instrument} ({100 * adv_share:.1f}% of ADV, "
        f"{100 * concentration:.0f}% of its trading then) from {duration_text(event_us - first_us)} to "
        f"{duration_text(event_us - last_us)} before a price-sensitive announcement; "
        f"{100 * np.expm1(ar):+.1f}% abnormal return after ({z:+.1f}σ)."
    )
    order_ids = trades.order_id[evidence]
    return Detection(
        scenario=SCENARIO,
        account=account,
        instrument=instrument,
        start_us=first_us,
        end_us=event_us,
        score=score,
        summary=summary,
        order_ids=tuple(sorted({int(x) for x in order_ids[order_ids >= 0]})),
        trade_ids=tuple(sorted(int(x) for x in trades.trade_id[evidence])),
        features={
            "net_quantity_shares": net,
            "net_notional": round(net_notional, 2),
            "adv_share_pct": round(100.0 * adv_share, 4),
            "concentration_pct": round(100.0 * concentration, 3),
            "abnormal_return_pct": round(100.0 * float(np.expm1(ar)), 4),
            "abnormal_return_sigma": round(z, 3),
            "abnormal_vol_daily_pct": round(100.0 * sigma, 4),
            "lead_time_h": round((event_us - last_us) / 3.6e9, 3),
            "is_employee": 1.0 if employee else 0.0,
        },
        extra={"event_id": int(data.news.event_id[event_row])},
    )


SPEC = DetectorSpec(
    scenario=SCENARIO,
    title="Insider dealing",
    params=(
        Param(
            "lookback_days",
            7.0,
            0.04,
            60.0,
            "days",
            "How far before the announcement positioning counts (calendar days; fractions for hours).",
        ),
        Param(
            "min_adv_pct",
            1.0,
            0.01,
            100.0,
            "% ADV",
            "Net quantity large against the market: share of the average daily public volume.",
        ),
        Param(
            "min_concentration_pct",
            50.0,
            1.0,
            100.0,
            "%",
            "Net notional in the instrument as a share of all the account's trading over the window.",
        ),
        Param(
            "employee_factor",
            2.0,
            1.0,
            20.0,
            "×",
            "Employees' size and concentration thresholds are divided by this (the same footprint weighs more).",
        ),
        Param(
            "min_abnormal_z",
            1.5,
            0.5,
            10.0,
            "σ",
            "Abnormal return after the event in the position's direction, in σ of abnormal returns over that span.",
        ),
        Param(
            "horizon_days",
            1.0,
            1.0,
            20.0,
            "sessions",
            "Sessions from the event's (included) over which the abnormal return is measured.",
            integer=True,
        ),
        Param(
            "vol_window_days",
            60.0,
            10.0,
            500.0,
            "sessions",
            "Sessions before the event used for the σ of daily abnormal returns.",
            integer=True,
        ),
    ),
    run=detect,
    references=(
        "EU MAR (Regulation 596/2014) Art. 7, 8 and 14 (inside information, insider dealing)",
        "EU MAR Art. 16 (detection and reporting of suspicious orders and transactions)",
    ),
)
