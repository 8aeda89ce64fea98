"""The synthetic generators: reproducible, coherent quotes and order histories, calibrated
volatility. Pure numpy, no database."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import UTC, date, datetime

import numpy as np
import pytest

from portfolios.engine import synthetic as syn

DAY = date(2022, 12, 28)
OPEN_US, CLOSE_US = syn.session_bounds_us(DAY)


def _market(seed: int = 7, *, n_quotes: int = 900, n_prints: int = 300, vol: float = 0.02):
    rng = syn.stream_rng(seed, "test")
    quotes = syn.quote_day(
        rng, prev_close=100.0, close=101.5, daily_vol=vol, open_us=OPEN_US, close_us=CLOSE_US, n_quotes=n_quotes
    )
    return quotes, syn.tape_day(rng, quotes, n_prints=n_prints)


def _assert_same(a: object, b: object) -> None:
    for name in a.__dataclass_fields__:  # type: ignore[attr-defined]
        x, y = getattr(a, name), getattr(b, name)
        assert np.array_equal(x, y) if isinstance(x, np.ndarray) else x == y, name


# ---------------------------------------------------------------------------- reproducibility


def test_given_the_same_seed_when_generating_twice_then_the_output_is_identical():
    q1, t1 = _market(3)
    q2, t2 = _market(3)
    _assert_same(q1, q2)
    _assert_same(t1, t2)
    kwargs = {"order_id": "P1", "side": "buy", "quantity": 5_000, "n_children": 5, "venues": ("XNAS", "ARCX")}
    args = {"arrival_us": OPEN_US + 3_600_000_000, "end_us": OPEN_US + 10_800_000_000}
    p1 = syn.simulate_parent_order(np.random.default_rng(1), q1, t1, **kwargs, **args)
    p2 = syn.simulate_parent_order(np.random.default_rng(1), q2, t2, **kwargs, **args)
    assert p1 == p2


def test_given_another_seed_then_the_path_differs_but_its_endpoints_do_not():
    q1, _ = _market(3)
    q2, _ = _market(4)
    assert not np.array_equal(q1.mid, q2.mid)
    assert (q1.mid[0], q1.mid[-1]) == (q2.mid[0], q2.mid[-1])


def test_stream_rng_depends_on_names_not_on_call_order():
    first = syn.stream_rng(1, "quotes", "AAPL", DAY).uniform()
    syn.stream_rng(1, "quotes", "MSFT", DAY).uniform()
    assert syn.stream_rng(1, "quotes", "AAPL", DAY).uniform() == first
    assert syn.stream_rng(2, "quotes", "AAPL", DAY).uniform() != first


# ---------------------------------------------------------------------------- quotes and tape


def test_session_is_1430_to_2100_utc_and_timestamps_print_as_iso_with_microseconds():
    assert datetime.fromtimestamp(OPEN_US / 1e6, UTC) == datetime(2022, 12, 28, 14, 30, tzinfo=UTC)
    assert datetime.fromtimestamp(CLOSE_US / 1e6, UTC) == datetime(2022, 12, 28, 21, 0, tzinfo=UTC)
    assert syn.iso_utc([OPEN_US, OPEN_US + 7]) == ["2022-12-28T14:30:00.000000Z", "2022-12-28T14:30:00.000007Z"]


def test_quotes_start_at_previous_close_end_at_close_and_are_never_crossed():
    quotes, _ = _market()
    assert quotes.mid[0] == 100.0
    assert quotes.mid[-1] == 101.5
    assert quotes.ts_us[0] == OPEN_US and quotes.ts_us[-1] == CLOSE_US
    assert np.all(np.diff(quotes.ts_us) > 0)
    assert np.all(quotes.bid < quotes.ask)
    assert np.all((quotes.bid <= quotes.mid) & (quotes.mid <= quotes.ask))
    assert np.allclose(np.round(quotes.bid * 100), quotes.bid * 100)  # on the one-cent grid
    assert np.all(quotes.bid_size % 100 == 0) and np.all(quotes.bid_size > 0)


def test_spread_is_a_few_bps_and_wider_for_more_volatile_names():
    calm, _ = _market(vol=0.01)
    wild, _ = _market(vol=0.04)
    bps = [float(np.mean((q.ask - q.bid) / q.mid)) * 1e4 for q in (calm, wild)]
    assert 1.0 < bps[0] < bps[1] < 10.0
    assert syn.calibrated_spread_bps(0.0) == syn.SPREAD_BPS_MIN
    assert syn.calibrated_spread_bps(1.0) == syn.SPREAD_BPS_MAX


def test_tape_prints_sit_at_the_prevailing_bid_ask_or_midpoint():
    quotes, tape = _market()
    idx = np.searchsorted(quotes.ts_us, tape.ts_us, side="right") - 1
    assert np.all((tape.price >= quotes.bid[idx]) & (tape.price <= quotes.ask[idx]))
    assert np.all(tape.quantity > 0)
    assert np.all((tape.ts_us > OPEN_US) & (tape.ts_us < CLOSE_US))


def test_jump_puts_most_of_the_days_move_at_the_news_time():
    t = np.linspace(0.0, 1.0, 1001)
    path = syn.brownian_bridge(
        np.random.default_rng(0), start=100.0, end=110.0, t=t, sigma=0.001, jump_at=0.5, jump_share=0.6
    )
    assert path[0] == 100.0 and path[-1] == 110.0
    jump = math.log(path[500] / path[499])
    assert jump > 0.5 * math.log(1.1)


# ---------------------------------------------------------------------------- calibration


def test_bridge_volatility_matches_the_calibrated_daily_volatility():
    """Quadratic variation of the log mid over a day ≈ sigma², to within sampling error."""
    sigma = 0.025
    estimates = []
    for seed in range(5):
        quotes, _ = _market(seed, n_quotes=2_000, vol=sigma)
        estimates.append(math.sqrt(float(np.sum(np.diff(np.log(quotes.mid)) ** 2))))
    assert np.mean(estimates) == pytest.approx(sigma, rel=0.05)


def test_realised_volatility_recovers_the_volatility_of_a_random_walk():
    rng = np.random.default_rng(11)
    closes = 50.0 * np.exp(np.cumsum(rng.normal(0.0, 0.018, 3_001)))
    assert syn.realised_volatility(closes, window=3_000) == pytest.approx(0.018, rel=0.05)
    assert syn.realised_volatility(closes, window=60) == pytest.approx(0.018, rel=0.35)
    with pytest.raises(ValueError):
        syn.realised_volatility(np.array([1.0, 2.0]))


def test_black_scholes_satisfies_put_call_parity():
    kw = {"spot": 125.0, "strike": 130.0, "years": 0.25, "vol": 0.35, "rate": 0.04}
    call = syn.black_scholes_price(**kw, right="call")
    put = syn.black_scholes_price(**kw, right="put")
    assert call - put == pytest.approx(125.0 - 130.0 * math.exp(-0.04 * 0.25), abs=1e-9)
    assert syn.black_scholes_price(**{**kw, "years": 0.0}, right="put") == 5.0


# ---------------------------------------------------------------------------- orders


def _all_orders(seed: int) -> list[syn.SimOrder]:
    quotes, tape = _market(seed)
    rng = np.random.default_rng(seed)
    noon = OPEN_US + 3 * 3_600_000_000
    orders = syn.simulate_parent_order(
        rng,
        quotes,
        tape,
        order_id="P",
        side="sell",
        quantity=12_300,
        arrival_us=noon,
        end_us=noon + 7_200_000_000,
        n_children=6,
        venues=("XNAS",),
    )
    orders += syn.simulate_market_maker(rng, quotes, tape, id_prefix="MM", n_orders=80, venue="XNAS")
    for k in range(20):
        i = quotes.at(noon + k * 60_000_000)
        side = "buy" if k % 2 else "sell"
        limit = None if k % 3 == 0 else float(quotes.bid[i] if side == "buy" else quotes.ask[i])
        orders.append(
            syn.simulate_order(
                rng,
                quotes,
                tape,
                order_id=f"S{k}",
                side=side,
                quantity=100 * (k + 1),
                arrival_us=noon + k * 60_000_000,
                end_us=noon + k * 60_000_000 + 1_800_000_000,
                limit_price=limit,
                replace_at_us=noon + k * 60_000_000 + 120_000_000 if k % 4 == 1 else None,
                reject_reason="price collar" if k == 5 else None,
            )
        )
    return orders


@pytest.mark.parametrize("seed", range(6))
def test_every_generated_history_is_valid_and_never_overfills(seed):
    for order in _all_orders(seed):
        assert syn.events_valid(order), order.events
        assert order.filled_quantity <= order.quantity
        assert all(e.ts_us >= order.arrival_us for e in order.events)
        assert all(OPEN_US < e.ts_us < CLOSE_US + 3_600_000_000 for e in order.events)


def test_market_orders_fill_completely_and_limits_are_respected():
    orders = _all_orders(1)
    market = [o for o in orders if o.order_type == "market" and o.executes and o.events[-1].event_type != "reject"]
    assert market and all(o.filled_quantity == o.quantity for o in market)
    for o in orders:
        limit = o.limit_price
        for e in o.events:
            if e.event_type == "replace":
                limit = e.price
            if e.event_type in syn.FILL_EVENTS and limit is not None:
                assert (e.price <= limit) if o.side == "buy" else (e.price >= limit)


def test_parent_fills_mirror_its_childrens_fills():
    orders = _all_orders(2)
    parent, children = orders[0], [o for o in orders if o.parent_id == "P"]
    assert not parent.executes and parent.order_type == "market"
    assert len(children) >= 3
    filled = 0
    for child in children:  # a slice re-posts what earlier slices missed, never more than is left
        assert child.quantity <= parent.quantity - filled
        filled += child.filled_quantity
    assert parent.filled_quantity == sum(c.filled_quantity for c in children)
    assert all(c.side == parent.side and c.arrival_us > parent.arrival_us for c in children)


def test_rejects_replaces_and_market_maker_cancels_appear():
    orders = _all_orders(3)
    kinds = [e.event_type for o in orders for e in o.events]
    assert "reject" in kinds and "replace" in kinds
    mm = [o for o in orders if o.order_id.startswith("MM")]
    cancelled = sum(o.events[-1].event_type == "cancel" for o in mm)
    assert cancelled > 0.6 * len(mm)


def test_events_valid_refuses_broken_histories():
    order = syn.SimOrder("X", "buy", "limit", 10.0, 100, 1_000)
    good = (syn.SimEvent("new", 1_000, 10.0, 100), syn.SimEvent("partial_fill", 1_005, 10.0, 40))
    assert syn.events_valid(replace(order, events=good))
    broken = [
        (syn.SimEvent("partial_fill", 1_000, 10.0, 40),),  # not new first
        (*good, syn.SimEvent("partial_fill", 1_006, 10.0, 70)),  # overfill
        (*good, syn.SimEvent("cancel", 1_006, None, 60), syn.SimEvent("partial_fill", 1_007, 10.0, 10)),
        (*good, syn.SimEvent("partial_fill", 1_004, 10.0, 10)),  # time goes backwards
        (*good, syn.SimEvent("partial_fill", 1_006, 10.0, 60)),  # completes but is not a "fill"
    ]
    for events in broken:
        assert not syn.events_valid(replace(order, events=events)), events
