"""Behaviour features: one row per account, instrument and UTC day with activity.

The unsupervised anomaly model (``surveillance.engine.anomaly``) ranks these rows, so every
column is a plain measurement of how an account behaved in one instrument on one day, with its
unit in the name or stated below. A row exists when the account has at least one order event or
one execution in the instrument that day (day = ``ts_us // 86_400_000_000``, UTC).

Columns (docs/surveillance-methodology.md has the same table):

- ``orders_count`` — new orders entered (count of ``new`` events).
- ``trades_count`` — executions (rows of ``Trades``).
- ``order_to_trade_ratio`` — order messages (``new`` + ``replace`` + ``cancel``) per execution,
  as in MiFID II RTS 9 (Delegated Regulation (EU) 2017/566) Art. 3; the denominator is at least
  1, so a day without executions shows its message count.
- ``cancel_rate`` — share of the day's new orders that were cancelled (at any later time in the
  data), 0–1; 0 when no new order.
- ``replace_rate`` — ``replace`` events per new order that day (may exceed 1); 0 when no new order.
- ``median_time_to_cancel_s`` — median seconds from ``new`` to ``cancel`` over the day's cancelled
  orders, capped at the session length; a day with no cancelled order is filled with the session
  length (close − open offset, 23,400 s by default): "held all session", the opposite of a
  fleeting order.
- ``mean_order_size_vs_adv`` — mean ``order_quantity`` of the day's new orders / ADV; 0 when no
  new order or no ADV.
- ``share_of_volume`` — the account's executed quantity / the tape's quantity in the instrument
  that day, 0–1 (capped at 1 when our executions exceed the tape); 0 when the tape is empty.
- ``traded_qty_vs_adv`` — the account's executed quantity that day / ADV; 0 when no ADV.
- ``closing_window_share`` — share of the account's executed quantity that day within the last
  ``closing_window_min`` minutes up to and including the close (``close_offset_us``), 0–1;
  0 when nothing executed.
- ``net_gross_ratio`` — |bought − sold| / (bought + sold) of executed quantity, 0 (perfect round
  trip) to 1 (one-sided); a day without executions is filled with 1 (no round trip).
- ``pre_event_position`` — signed net executed quantity (bought − sold) of the account in the
  ``pre_event_days`` × 24 hours before a price-sensitive news event on the instrument, as a
  fraction of ADV (+ = net bought). The event is the first price-sensitive one after the start of
  the row's day and no later than ``pre_event_days`` after the day's end; 0 when there is none.

ADV (average daily volume, shares) for an instrument and day is the mean of the non-missing
``bars.volume`` over the last ``adv_days`` bars strictly before the day; failing that the mean of
all the instrument's bar volumes; failing that its mean daily tape quantity in the data; rows
with no ADV at all get 0 in the ADV-scaled columns.

Everything is computed with sorting, ``np.unique``/``np.searchsorted`` and ``np.bincount`` over
integer row keys, without a Python loop over events (~1 s per million order events).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from surveillance.engine.types import (
    US_PER_DAY,
    US_PER_MINUTE,
    US_PER_SECOND,
    EventKind,
    FloatArray,
    IntArray,
    SurveillanceData,
    SurveillanceInputError,
)

FEATURE_NAMES: tuple[str, ...] = (
    "orders_count",
    "trades_count",
    "order_to_trade_ratio",
    "cancel_rate",
    "replace_rate",
    "median_time_to_cancel_s",
    "mean_order_size_vs_adv",
    "share_of_volume",
    "traded_qty_vs_adv",
    "closing_window_share",
    "net_gross_ratio",
    "pre_event_position",
)

#: How each column reads in a sentence, and how its value is printed (see ``feature_value_text``).
FEATURE_WORDS: dict[str, tuple[str, str]] = {
    "orders_count": ("new orders", "count"),
    "trades_count": ("executions", "count"),
    "order_to_trade_ratio": ("order-to-trade ratio", "ratio"),
    "cancel_rate": ("cancel rate", "share"),
    "replace_rate": ("replaces per order", "ratio"),
    "median_time_to_cancel_s": ("median time to cancel", "seconds"),
    "mean_order_size_vs_adv": ("mean order size", "adv"),
    "share_of_volume": ("share of the day's volume", "share"),
    "traded_qty_vs_adv": ("traded quantity", "adv"),
    "closing_window_share": ("share of its volume in the closing window", "share"),
    "net_gross_ratio": ("net/gross traded ratio", "ratio"),
    "pre_event_position": ("net position before price-sensitive news", "adv"),
}


@dataclass(frozen=True)
class FeatureTable:
    """Behaviour features, one row per (account, instrument, UTC day), sorted by those keys.

    ``X`` is n × len(``names``) float64 with no NaN or infinity (fills are documented in the
    module docstring); ``day`` counts days since the Unix epoch.
    """

    account: IntArray
    instrument: IntArray
    day: IntArray
    names: tuple[str, ...]
    X: FloatArray

    def __len__(self) -> int:
        return int(self.X.shape[0])

    def column(self, name: str) -> FloatArray:
        """One feature column by name."""
        return self.X[:, self.names.index(name)]


def feature_value_text(name: str, value: float) -> str:
    """A feature value as an analyst reads it ("97%", "0.4 s", "12.0% of ADV")."""
    kind = FEATURE_WORDS[name][1]
    if kind == "count":
        return f"{value:,.0f}"
    if kind == "share":
        return f"{100.0 * value:.1f}%"
    if kind == "seconds":
        return f"{value:,.1f} s"
    if kind == "adv":
        return f"{100.0 * value:+.1f}% of ADV" if name == "pre_event_position" else f"{100.0 * value:.1f}% of ADV"
    return f"{value:,.2f}"


def _empty_table() -> FeatureTable:
    empty = np.empty(0, dtype=np.int64)
    return FeatureTable(empty, empty.copy(), empty.copy(), FEATURE_NAMES, np.empty((0, len(FEATURE_NAMES))))


def _codes(values: IntArray) -> tuple[IntArray, IntArray]:
    """Sorted distinct values and each input's position among them (hash-based, fast)."""
    codes, uniques = pd.factorize(values, sort=True)
    return np.asarray(uniques, dtype=np.int64), np.asarray(codes, dtype=np.int64)


def _lookup(sorted_keys: IntArray, query: IntArray) -> tuple[IntArray, np.ndarray]:
    """Position of each query in ``sorted_keys`` and whether it is present."""
    if sorted_keys.size == 0:
        return np.zeros(query.size, dtype=np.int64), np.zeros(query.size, dtype=bool)
    pos = np.minimum(np.searchsorted(sorted_keys, query), sorted_keys.size - 1)
    return pos, sorted_keys[pos] == query


def _wsum(codes: IntArray, weights: FloatArray | None, size: int) -> FloatArray:
    """Sum of ``weights`` (or count) per integer code 0 … size − 1, as float64."""
    return np.asarray(np.bincount(codes, weights=weights, minlength=size), dtype=np.float64)


def _sum_by_key(keys: IntArray, weights: FloatArray) -> tuple[IntArray, FloatArray]:
    """Sorted distinct keys and the sum of ``weights`` for each."""
    uniq, inv = np.unique(keys, return_inverse=True)
    return uniq, _wsum(inv, weights, uniq.size)


def _ratio(num: FloatArray, den: FloatArray, fill: float) -> FloatArray:
    out = np.full(num.shape, fill, dtype=np.float64)
    ok = den > 0
    out[ok] = num[ok] / den[ok]
    return out


def _adv(data: SurveillanceData, inst_ids: IntArray, inst_q: IntArray, day_q: IntArray, *, adv_days: int) -> FloatArray:
    """ADV (shares) for each (instrument code, day) query; NaN where nothing is known.

    ``inst_ids`` are the sorted instrument ids the codes index.
    """
    n_inst = inst_ids.size
    adv = np.full(inst_q.size, np.nan)
    bars = data.bars
    b_code, b_known = _lookup(inst_ids, bars.instrument)
    if b_known.any():
        b_code, b_day, b_vol = b_code[b_known], bars.day[b_known], bars.volume[b_known]
        lo_day = int(min(b_day.min(), day_q.min()))
        span = int(max(b_day.max(), day_q.max())) - lo_day + 2
        b_key = b_code * span + (b_day - lo_day)
        order = np.argsort(b_key, kind="stable")
        b_key, b_vol = b_key[order], b_vol[order]
        valid = np.isfinite(b_vol)
        csum = np.concatenate(([0.0], np.cumsum(np.where(valid, b_vol, 0.0))))
        ccnt = np.concatenate(([0], np.cumsum(valid)))
        # Bars strictly before the query day, at most ``adv_days`` of them, same instrument.
        end = np.searchsorted(b_key, inst_q * span + (day_q - lo_day), side="left")
        first = np.searchsorted(b_key, inst_q * span, side="left")
        start = np.maximum(end - adv_days, first)
        cnt = ccnt[end] - ccnt[start]
        adv = _ratio(csum[end] - csum[start], cnt.astype(np.float64), np.nan)
        # Fallback: the instrument's mean over all its bars.
        codes_sorted = b_key // span
        tot = _wsum(codes_sorted, np.where(valid, b_vol, 0.0), n_inst)
        tot_n = _wsum(codes_sorted, valid.astype(np.float64), n_inst)
        mean_all = _ratio(tot, tot_n, np.nan)
        adv = np.where(np.isfinite(adv), adv, mean_all[inst_q])
    # Last fallback: mean daily tape quantity of the instrument in the data.
    tape = data.tape
    t_code, t_known = _lookup(inst_ids, tape.instrument)
    if t_known.any() and not np.isfinite(adv).all():
        t_code = t_code[t_known]
        t_day = tape.ts_us[t_known] // US_PER_DAY
        d0 = int(t_day.min())
        keys, qty = _sum_by_key(t_code * (int(t_day.max()) - d0 + 1) + (t_day - d0), tape.quantity[t_known])
        span_t = int(t_day.max()) - d0 + 1
        per_inst = _wsum(keys // span_t, qty, n_inst)
        days_inst = _wsum(keys // span_t, None, n_inst)
        mean_tape = _ratio(per_inst, days_inst, np.nan)
        adv = np.where(np.isfinite(adv), adv, mean_tape[inst_q])
    adv[~(adv > 0)] = np.nan
    return adv


def behaviour_features(
    data: SurveillanceData,
    *,
    closing_window_min: float = 10.0,
    pre_event_days: float = 2.0,
    adv_days: int = 20,
) -> FeatureTable:
    """Compute the behaviour feature table of ``data`` (columns in ``FEATURE_NAMES``).

    ``closing_window_min`` is the closing window in minutes before ``data.close_offset_us``;
    ``pre_event_days`` the look-back before a price-sensitive event, in days of 24 hours;
    ``adv_days`` the number of daily bars averaged for ADV. Returns an empty table when there is
    no activity.
    """
    if closing_window_min < 0 or pre_event_days < 0 or adv_days < 1:
        raise SurveillanceInputError("closing_window_min and pre_event_days must be ≥ 0 and adv_days ≥ 1.")
    orders, trades = data.orders, data.trades
    n_o, n_t = len(orders), len(trades)
    if n_o + n_t == 0:
        return _empty_table()

    # --- Row keys: (account, instrument, day) of every order event and execution. -------------
    o_day = orders.ts_us // US_PER_DAY
    t_day = trades.ts_us // US_PER_DAY
    acc_ids, acc_code = _codes(np.concatenate((orders.account, trades.account)))
    inst_ids, inst_code = _codes(np.concatenate((orders.instrument, trades.instrument)))
    all_day = np.concatenate((o_day, t_day))
    day0 = int(all_day.min())
    n_days = int(all_day.max()) - day0 + 1
    n_inst = inst_ids.size
    key = (acc_code * n_inst + inst_code) * n_days + (all_day - day0)
    row_keys, row_of = _codes(key)
    n_rows = row_keys.size
    row_o, row_t = row_of[:n_o], row_of[n_o:]
    row_day_off = row_keys % n_days
    row_inst = (row_keys // n_days) % n_inst
    row_acc = row_keys // n_days // n_inst
    day = row_day_off + day0

    def count(rows: IntArray, weights: FloatArray | None = None) -> FloatArray:
        return _wsum(rows, weights, n_rows)

    # --- Order messages. ----------------------------------------------------------------------
    kind = orders.kind
    is_new = kind == EventKind.NEW
    is_cancel = kind == EventKind.CANCEL
    is_replace = kind == EventKind.REPLACE
    orders_count = count(row_o[is_new])
    replaces = count(row_o[is_replace])
    messages = orders_count + replaces + count(row_o[is_cancel])
    trades_count = count(row_t)

    # First cancel of each order, matched to the order's ``new`` event.
    new_id, new_ts, new_row = orders.order_id[is_new], orders.ts_us[is_new], row_o[is_new]
    c_id, c_ts = orders.order_id[is_cancel], orders.ts_us[is_cancel]
    srt = np.lexsort((c_ts, c_id))
    c_id, c_ts = c_id[srt], c_ts[srt]
    first = np.ones(c_id.size, dtype=bool)
    first[1:] = c_id[1:] != c_id[:-1]
    c_id, c_ts = c_id[first], c_ts[first]
    pos, found = _lookup(c_id, new_id)
    cancelled = found & (c_ts[pos] >= new_ts) if c_id.size else found
    session_s = max((data.close_offset_us - data.open_offset_us) / US_PER_SECOND, 0.0)
    life_s = np.minimum((c_ts[pos[cancelled]] - new_ts[cancelled]) / US_PER_SECOND, session_s)
    median_life = np.full(n_rows, session_s)
    if life_s.size:
        med = pd.Series(life_s).groupby(new_row[cancelled]).median()
        median_life[med.index.to_numpy(dtype=np.int64)] = med.to_numpy(dtype=np.float64)
    cancel_rate = _ratio(count(new_row[cancelled]), orders_count, 0.0)
    replace_rate = _ratio(replaces, orders_count, 0.0)
    order_to_trade = messages / np.maximum(trades_count, 1.0)

    # --- ADV per row. -------------------------------------------------------------------------
    adv = _adv(data, inst_ids, row_inst, day, adv_days=adv_days)
    adv_or_zero = np.where(np.isfinite(adv), adv, 0.0)
    mean_order_size = _ratio(count(new_row, orders.order_quantity[is_new]), orders_count, 0.0)
    mean_order_size_vs_adv = _ratio(mean_order_size, adv_or_zero, 0.0)

    # --- Executions. --------------------------------------------------------------------------
    qty = trades.quantity
    bought = count(row_t, np.where(trades.side > 0, qty, 0.0))
    sold = count(row_t, np.where(trades.side < 0, qty, 0.0))
    gross = bought + sold
    net_gross = _ratio(np.abs(bought - sold), gross, 1.0)
    traded_vs_adv = _ratio(gross, adv_or_zero, 0.0)
    time_of_day = trades.ts_us - t_day * US_PER_DAY
    window_us = round(closing_window_min * US_PER_MINUTE)
    in_window = (time_of_day >= data.close_offset_us - window_us) & (time_of_day <= data.close_offset_us)
    closing_share = _ratio(count(row_t, np.where(in_window, qty, 0.0)), gross, 0.0)

    # Tape quantity per (instrument, day) for the share of volume.
    tape = data.tape
    tp_code, tp_known = _lookup(inst_ids, tape.instrument)
    tp_day_off = tape.ts_us // US_PER_DAY - day0
    tp_keep = tp_known & (tp_day_off >= 0) & (tp_day_off < n_days)
    tape_keys, tape_qty = _sum_by_key(tp_code[tp_keep] * n_days + tp_day_off[tp_keep], tape.quantity[tp_keep])
    tpos, tfound = _lookup(tape_keys, row_inst * n_days + row_day_off)
    tape_day_qty = np.where(tfound, tape_qty[tpos] if tape_qty.size else 0.0, 0.0)
    share_of_volume = np.minimum(_ratio(gross, tape_day_qty, 0.0), 1.0)

    pre_event = _pre_event_position(
        data, inst_ids, acc_code[n_o:], inst_code[n_o:], row_acc, row_inst, day, pre_event_days=pre_event_days
    )
    pre_event_position = _ratio(pre_event, adv_or_zero, 0.0)

    X = np.column_stack(
        (
            orders_count,
            trades_count,
            order_to_trade,
            cancel_rate,
            replace_rate,
            median_life,
            mean_order_size_vs_adv,
            share_of_volume,
            traded_vs_adv,
            closing_share,
            net_gross,
            pre_event_position,
        )
    ).astype(np.float64)
    if not np.isfinite(X).all():
        raise SurveillanceInputError("Order or trade quantities contain NaN or infinite values.")
    return FeatureTable(acc_ids[row_acc], inst_ids[row_inst], day.astype(np.int64), FEATURE_NAMES, X)


def _pre_event_position(
    data: SurveillanceData,
    inst_ids: IntArray,
    t_acc: IntArray,
    t_inst: IntArray,
    row_acc: IntArray,
    row_inst: IntArray,
    day: IntArray,
    *,
    pre_event_days: float,
) -> FloatArray:
    """Net executed quantity (shares, + = bought) of each row's account in the look-back before
    the row's price-sensitive event (see the module docstring); 0 when there is none."""
    out = np.zeros(row_acc.size)
    news, trades = data.news, data.trades
    e_code, e_known = _lookup(inst_ids, news.instrument)
    keep = e_known & news.price_sensitive
    if not keep.any() or len(trades) == 0:
        return out
    e_code, e_ts = e_code[keep], news.ts_us[keep]
    lookback_us = round(pre_event_days * US_PER_DAY)
    # Times relative to the earliest moment involved, so (instrument, time) packs into one int64.
    t0 = int(min(e_ts.min(), trades.ts_us.min(), int(day.min()) * US_PER_DAY))
    span = int(max(e_ts.max(), trades.ts_us.max(), (int(day.max()) + 1) * US_PER_DAY)) - t0 + lookback_us + 2
    if span * (inst_ids.size + 1) >= 2**62:
        raise SurveillanceInputError("The time span of the data is too long for the pre-event feature.")
    e_key = e_code * span + (e_ts - t0)
    srt = np.argsort(e_key, kind="stable")
    e_key, e_code, e_ts = e_key[srt], e_code[srt], e_ts[srt]
    n_ev = e_key.size

    # Each execution belongs to the first event after it on its instrument, within the look-back.
    j = np.searchsorted(e_key, t_inst * span + (trades.ts_us - t0), side="right")
    jc = np.minimum(j, n_ev - 1)
    hit = (j < n_ev) & (e_code[jc] == t_inst) & (e_ts[jc] - trades.ts_us <= lookback_us)
    signed = trades.side[hit].astype(np.float64) * trades.quantity[hit]
    pos_keys, pos_qty = _sum_by_key(t_acc[hit] * n_ev + jc[hit], signed)

    # Each row looks at the first event after its day starts, up to the look-back after it ends.
    day_start = day * US_PER_DAY
    r = np.searchsorted(e_key, row_inst * span + (day_start - t0), side="right")
    rc = np.minimum(r, n_ev - 1)
    ok = (r < n_ev) & (e_code[rc] == row_inst) & (e_ts[rc] <= day_start + US_PER_DAY + lookback_us)
    ppos, pfound = _lookup(pos_keys, row_acc * n_ev + rc)
    use = ok & pfound
    out[use] = pos_qty[ppos[use]]
    return out
