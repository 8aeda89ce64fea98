"""Marking the close: a large share of the closing minutes' volume that moves the close.

Definition: EU MAR Art. 12(2)(b) and Annex I A(g). The expected move z is computed by hand from
the documented formula ``z = sign(net)·ln(P_close/P_ref) / (σ_daily·√(T/session))``, with
σ_daily the sample standard deviation of alternating ±ln(1.01) daily returns, which is
``ln(1.01)·√(n/(n−1))`` for an even number n of them (their mean is exactly zero).
"""

from __future__ import annotations

import math
from typing import Any

import pytest

from surveillance.engine import marking_close
from surveillance.engine.params import ParameterError, params_clean
from tests.surveillance.engine import builders as b

SESSION_S = 6.5 * 3600  # 14:30–21:00 UTC, the default session offsets
WINDOW_START_S = SESSION_S - 300  # the last five minutes
# 21 closes alternating 100/101 before the day: 20 returns of ±ln(1.01).
BARS = [{"day": d, "close": 100.0 if d % 2 == 0 else 101.0} for d in range(-21, 0)]
SIGMA_DAILY = math.log(1.01) * math.sqrt(20 / 19)


def _background(price: float = 50.0, last_price: float | None = None) -> list[dict[str, Any]]:
    """Public prints of 100 shares every 10 s over the last half hour; the closing print at
    ``last_price`` (default ``price``)."""
    rows = [{"t": t, "price": price, "quantity": 100.0} for t in range(int(SESSION_S) - 1_800, int(SESSION_S), 10)]
    rows.append({"t": SESSION_S, "price": price if last_price is None else last_price, "quantity": 100.0})
    return rows


def _marker(
    prices: list[float], *, side: str = "buy", qty: float = 1_000.0, start_s: float = 23_105.0, account: int = 10
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The account's trades (one per price, 100 s apart from ``start_s``) and their prints."""
    trades, prints = [], []
    for k, px in enumerate(prices):
        t = start_s + 100.0 * k + 5.0  # off the background's 10 s grid
        trades.append(
            {
                "trade_id": k + 1,
                "order_id": 50 + k,
                "account": account,
                "side": side,
                "t": t,
                "price": px,
                "quantity": qty,
            }
        )
        prints.append({"t": t, "price": px, "quantity": qty})
    return trades, prints


def _run(trades: list[dict], prints: list[dict], **params: float) -> list[Any]:
    data = b.market(trades_rows=trades, tape_rows=prints, bar_rows=BARS, account_rows=[{"account_id": 10}])
    return marking_close.detect(data, params_clean(marking_close.SPEC, params))


def test_given_a_buyer_dominating_the_close_and_lifting_it_then_detected_with_the_hand_computed_move():
    trades, prints = _marker([50.10, 50.20, 50.30])
    found = _run(trades, prints + _background(last_price=50.30))
    assert len(found) == 1
    d = found[0]
    # Window (23,100 s, 23,400 s]: 29 background prints of 100, the closing print and our 3,000.
    share = 3_000 / 6_000
    # Reference: the last print before our first trade (t = 23,110 s) is the background 50.00;
    # the close is 50.30; T = 23,400 − 23,110 = 290 s.
    z = math.log(50.30 / 50.00) / (SIGMA_DAILY * math.sqrt(290 / SESSION_S))
    assert d.features["window_net_share_pct"] == pytest.approx(100 * share, abs=1e-3)
    assert d.features["close_move_sigma"] == pytest.approx(z, abs=1e-3)
    odds = (share / 0.20) * (d.features["close_move_sigma"] / 1.75)
    assert d.score == pytest.approx(100 * odds / (1 + odds), abs=0.01)
    assert d.trade_ids == (1, 2, 3) and d.order_ids == (50, 51, 52)
    assert d.account == 10 and d.end_us == b.at(SESSION_S)
    assert "Bought a net 3,000 shares" in d.summary


def test_given_a_seller_pushing_the_close_down_then_detected():
    trades, prints = _marker([49.90, 49.80, 49.70], side="sell")
    (d,) = _run(trades, prints + _background(last_price=49.70))
    assert d.features["window_net_quantity_shares"] == -3_000 and d.features["close_move_sigma"] > 0


def test_given_heavy_closing_volume_that_leaves_the_close_where_it_was_then_nothing():
    trades, prints = _marker([50.0, 50.0, 50.0], qty=5_000.0)
    assert _run(trades, prints + _background()) == []


def test_given_heavy_buying_while_the_close_falls_then_nothing():
    trades, prints = _marker([49.90, 49.80, 49.70], side="buy", qty=5_000.0)
    assert _run(trades, prints + _background(last_price=49.70)) == []


def test_given_a_small_share_of_the_closing_volume_then_nothing_even_with_a_big_move():
    # 300 shares of 3,300: 9.1%, under half the 20% threshold.
    trades, prints = _marker([50.50, 50.80, 51.00], qty=100.0)
    assert _run(trades, prints + _background(last_price=51.00)) == []


def test_given_trading_before_the_closing_window_then_nothing():
    trades, prints = _marker([50.10, 50.20, 50.30], start_s=WINDOW_START_S - 1_000.0)
    assert _run(trades, prints + _background(last_price=50.30)) == []


def test_given_share_below_threshold_but_a_strong_move_then_the_evidence_trades_off():
    # 15% of the window's volume (ratio 0.75 ≥ ½) with a many-σ move: reported.
    trades, prints = _marker([50.30, 50.40, 50.60], qty=176.0)
    (d,) = _run(trades, prints + _background(last_price=50.60))
    assert 0.5 * 20 <= d.features["window_net_share_pct"] < 20


def test_given_a_bigger_move_or_share_then_a_higher_score_within_bounds():
    scores = []
    for last, qty in ((50.10, 1_000.0), (50.30, 1_000.0), (50.30, 3_000.0)):
        trades, prints = _marker([last] * 3, qty=qty)
        (d,) = _run(trades, prints + _background(last_price=last))
        scores.append(d.score)
    assert scores == sorted(scores) and len(set(scores)) == 3
    assert all(0.0 <= s <= 100.0 for s in scores)


def test_given_no_bars_then_the_fallback_volatility_is_used():
    trades, prints = _marker([50.10, 50.20, 50.30])
    data = b.market(trades_rows=trades, tape_rows=prints + _background(last_price=50.30))
    (d,) = marking_close.detect(data, params_clean(marking_close.SPEC, {"fallback_daily_vol_pct": 2.0}))
    z = math.log(50.30 / 50.00) / (0.02 * math.sqrt(290 / SESSION_S))
    assert d.features["close_move_sigma"] == pytest.approx(z, abs=1e-3)


def test_given_bad_parameters_then_they_are_rejected_by_name():
    with pytest.raises(ParameterError) as bad:
        params_clean(marking_close.SPEC, {"window_min": 0, "vol_window_days": 20.5})
    assert set(bad.value.errors) == {"window_min", "vol_window_days"}


def test_given_only_the_spread_crossed_at_the_close_then_the_half_spread_is_not_a_move():
    # Quotes stay 49.95 / 50.05 (mid 50.00) all session: the buyer lifts the offer and leaves a
    # closing print on the ask, 10 bps above the reference print, but the price level (the mid)
    # never moved. Without quotes the same prints would read as a move of 0.9σ.
    trades, prints = _marker([50.05, 50.05, 50.05])
    quotes = b.flat_quotes(bid=49.95, ask=50.05, until_s=SESSION_S, every_s=10.0)
    data = b.market(
        trades_rows=trades,
        tape_rows=prints + _background(last_price=50.05),
        quote_rows=quotes,
        bar_rows=BARS,
        account_rows=[{"account_id": 10}],
    )
    assert marking_close.detect(data, params_clean(marking_close.SPEC, {})) == []


def test_given_a_full_session_of_prints_then_sigma_is_the_realised_one_minute_volatility():
    # Prints alternate 50.00 / 50.10 on every minute from the open to the window's start
    # (23,100 s): 385 one-minute log returns of ±ln(50.1/50), whose root mean square is
    # ln(50.1/50) exactly. The window holds 30 prints of 100 at 50.00 from 23,101 s, the
    # account's 3,000 and a closing print at 50.30; the reference is the 50.00 print at
    # 23,101 s and T = 23,400 − 23,110 = 290 s, so z = ln(50.30/50.00) / (ln(50.1/50)·√(290/60)).
    session = [{"t": 60.0 * k, "price": 50.0 if k % 2 == 0 else 50.1, "quantity": 100.0} for k in range(386)]
    window = [{"t": 23_101.0 + 10.0 * j, "price": 50.0, "quantity": 100.0} for j in range(30)]
    closing = [{"t": SESSION_S, "price": 50.30, "quantity": 100.0}]
    trades, prints = _marker([50.10, 50.20, 50.30])
    (d,) = _run(trades, prints + session + window + closing)
    z = math.log(50.30 / 50.00) / (math.log(50.1 / 50.0) * math.sqrt(290 / 60))
    assert d.features["close_move_sigma"] == pytest.approx(z, abs=1e-3)
