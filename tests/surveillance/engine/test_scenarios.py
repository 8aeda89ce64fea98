"""The scenario generator: reproducible, coherent tables, every abuse injected as asked, severity
that scales the abuse. Pure numpy, no database."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import fields

import numpy as np
import pytest

from surveillance.engine.scenario_background import quotes_tape_build
from surveillance.engine.scenario_market import Market, PriceEffect
from surveillance.engine.scenarios import HISTORY_DAYS, SCENARIOS, SEVERITY_KNOBS, GeneratedMarket, market_generate
from surveillance.engine.types import AccountKind, EventKind, SurveillanceData, SurveillanceInputError

DAY_US = 86_400_000_000


@pytest.fixture(scope="module")
def market() -> GeneratedMarket:
    return market_generate(seed=11, days=4, instruments=3, episodes_per_scenario=3)


def _tables(data: SurveillanceData):
    for f in fields(data):
        table = getattr(data, f.name)
        if hasattr(table, "__dataclass_fields__"):
            yield f.name, table


def test_given_a_seed_when_generated_twice_then_every_table_and_episode_is_identical():
    a = market_generate(seed=5, days=2, instruments=2, episodes_per_scenario=1)
    b = market_generate(seed=5, days=2, instruments=2, episodes_per_scenario=1)
    for (name, ta), (_, tb) in zip(_tables(a.data), _tables(b.data), strict=True):
        for f in fields(ta):
            assert np.array_equal(getattr(ta, f.name), getattr(tb, f.name), equal_nan=True), (name, f.name)
    assert a.episodes == b.episodes


def test_given_another_seed_when_generated_then_the_flow_differs():
    a = market_generate(seed=5, days=2, instruments=2, episodes_per_scenario=1)
    b = market_generate(seed=6, days=2, instruments=2, episodes_per_scenario=1)
    assert len(a.data.orders) != len(b.data.orders) or not np.array_equal(a.data.orders.ts_us, b.data.orders.ts_us)


def test_given_a_market_then_time_tables_are_sorted_and_bars_by_instrument_then_day(market):
    d = market.data
    o = d.orders
    assert np.all(np.diff(o.ts_us) >= 0)
    same_ts = np.diff(o.ts_us) == 0
    assert np.all(np.diff(o.order_id)[same_ts] >= 0)  # ties broken by order id
    for table in (d.trades, d.quotes, d.tape, d.news):
        assert np.all(np.diff(table.ts_us) >= 0)
    key = d.bars.instrument * 10**6 + d.bars.day
    assert np.all(np.diff(key) > 0)
    assert np.array_equal(d.trades.trade_id, np.arange(1, len(d.trades) + 1))


def test_given_a_market_then_every_order_history_is_coherent(market):
    """new first; strictly increasing times; fills never above the quantity; filled + cancelled
    = the order's quantity; nothing after a fill or cancel; all inside the regular session."""
    o = market.data.orders
    k = np.lexsort((o.ts_us, o.order_id))
    oid, kind, ts, qty, total = o.order_id[k], o.kind[k], o.ts_us[k], o.quantity[k], o.order_quantity[k]
    first = np.r_[True, oid[1:] != oid[:-1]]
    last = np.r_[oid[1:] != oid[:-1], True]
    assert np.all(kind[first] == EventKind.NEW) and not np.any(kind[~first] == EventKind.NEW)
    assert np.all(np.diff(ts)[~first[1:]] > 0)
    assert np.all(np.isin(kind[last], [EventKind.FILL, EventKind.CANCEL]))
    assert not np.any(np.isin(kind[~last], [EventKind.FILL, EventKind.CANCEL]))
    starts = np.flatnonzero(first)
    is_fill = np.isin(kind, [EventKind.FILL, EventKind.PARTIAL_FILL])
    filled = np.add.reduceat(np.where(is_fill, qty, 0.0), starts)
    cancelled = np.add.reduceat(np.where(kind == EventKind.CANCEL, qty, 0.0), starts)
    assert np.allclose(filled + cancelled, total[first])
    tod = o.ts_us % DAY_US
    assert np.all((tod > market.data.open_offset_us) & (tod < market.data.close_offset_us))


def test_given_a_market_then_fills_have_prices_and_every_account_exists(market):
    d = market.data
    o, t = d.orders, d.trades
    is_fill = np.isin(o.kind, [EventKind.FILL, EventKind.PARTIAL_FILL])
    assert np.all(np.isfinite(o.price[is_fill]) & (o.price[is_fill] > 0))
    assert np.all(np.isfinite(t.price) & (t.price > 0) & (t.quantity > 0))
    assert is_fill.sum() == len(t)
    assert np.all(np.isin(o.account, d.accounts.account_id))
    assert np.all(np.isin(t.account, d.accounts.account_id))
    assert np.all(np.isin(t.order_id, o.order_id))
    assert set(np.unique(d.accounts.kind)) == {AccountKind.CLIENT, AccountKind.PROPRIETARY, AccountKind.MARKET_MAKER}
    assert d.accounts.is_employee.any()


def test_given_a_market_then_each_internal_cross_has_its_mirror_in_a_real_account(market):
    t = market.data.trades
    cp = t.counterparty >= 0
    assert cp.sum() > 0
    assert np.all(np.isin(t.counterparty[cp], market.data.accounts.account_id))
    rows = set(
        zip(t.account[cp], t.counterparty[cp], t.ts_us[cp], t.side[cp], t.price[cp], t.quantity[cp], strict=True)
    )
    for a, b, ts, side, px, q in rows:
        assert (b, a, ts, -side, px, q) in rows


def test_given_a_market_then_our_executions_are_on_the_tape(market):
    d = market.data
    printed = (d.trades.counterparty < 0) | (d.trades.side > 0)
    tape = set(zip(d.tape.instrument, d.tape.ts_us, d.tape.quantity, strict=True))
    for i, ts, q in zip(d.trades.instrument[printed], d.trades.ts_us[printed], d.trades.quantity[printed], strict=True):
        assert (i, ts, q) in tape


def test_given_a_market_then_bars_cover_the_history_and_the_window(market):
    b = market.data.bars
    assert len(b) == 3 * (HISTORY_DAYS + 4)
    last_day = b.day.max()
    assert np.all(np.isfinite(b.close) & (b.close > 0) & (b.volume > 0))
    # The window's last bar is the session's last quote mid (rounded to 4 dp).
    q = market.data.quotes
    for i in range(3):
        last_quote = np.flatnonzero(q.instrument == i)[-1]
        bar = b.close[(b.instrument == i) & (b.day == last_day)][0]
        assert bar == pytest.approx((q.bid[last_quote] + q.ask[last_quote]) / 2, rel=2e-3)


def test_given_three_per_scenario_then_every_scenario_is_injected_three_times_with_its_evidence(market):
    assert Counter(e.scenario for e in market.episodes) == dict.fromkeys(SCENARIOS, 3)
    d = market.data
    for e in market.episodes:
        assert e.severity == "default" and e.start_us <= e.end_us
        assert e.order_ids and np.all(np.isin(e.order_ids, d.orders.order_id))
        own = np.isin(d.orders.order_id, e.order_ids)
        assert e.start_us <= d.orders.ts_us[own].min() and d.orders.ts_us[own].max() <= e.end_us
        traded = d.trades.order_id[np.isin(d.trades.trade_id, e.trade_ids)]
        assert np.all(np.isin(traded, e.order_ids))
        accounts = np.unique(d.orders.account[np.isin(d.orders.order_id, e.order_ids)])
        if e.scenario != "front_running":  # there the client's order is not the abuser's
            assert set(d.accounts.group_of(accounts)) == {d.accounts.group_of(np.array([e.account]))[0]}


def test_given_an_insider_episode_then_a_price_sensitive_announcement_follows_the_trades(market):
    news = market.data.news
    for e in (e for e in market.episodes if e.scenario == "insider_dealing"):
        at = (news.instrument == e.instrument) & (news.ts_us == e.end_us) & news.price_sensitive
        assert at.sum() == 1


def test_given_a_wash_episode_then_both_sides_belong_to_one_group(market):
    d = market.data
    for e in (e for e in market.episodes if e.scenario == "wash_trades"):
        rows = np.isin(d.trades.trade_id, e.trade_ids)
        assert set(d.trades.side[rows]) == {-1, 1}
        assert len(set(d.accounts.group_of(d.trades.account[rows]))) == 1


def _spoof_size_x(g: GeneratedMarket) -> float:
    """Measured: the spoof order's quantity ÷ the touch size shown on its side when placed."""
    d = g.data
    ratios = []
    for e in (e for e in g.episodes if e.scenario == "spoofing"):
        cancelled = d.orders.order_id[(d.orders.kind == EventKind.CANCEL) & np.isin(d.orders.order_id, e.order_ids)]
        new = np.isin(d.orders.order_id, cancelled) & (d.orders.kind == EventKind.NEW)  # the spoofs, not the genuine
        for ts, inst, side, q in zip(
            d.orders.ts_us[new], d.orders.instrument[new], d.orders.side[new], d.orders.quantity[new], strict=True
        ):
            rows = np.flatnonzero((d.quotes.instrument == inst) & (d.quotes.ts_us <= ts))
            touch = d.quotes.bid_size[rows[-1]] if side > 0 else d.quotes.ask_size[rows[-1]]
            ratios.append(q / touch)
    return float(np.median(ratios))


def _insider_adv_share(g: GeneratedMarket) -> float:
    """Measured: the insider's traded shares ÷ the instrument's mean history volume."""
    d = g.data
    shares = []
    for e in (e for e in g.episodes if e.scenario == "insider_dealing"):
        q = d.trades.quantity[np.isin(d.trades.trade_id, e.trade_ids)].sum()
        hist = d.bars.volume[d.bars.instrument == e.instrument][:HISTORY_DAYS]
        shares.append(q / hist.mean())
    return float(np.median(shares))


def test_given_higher_severity_then_the_measured_abuse_is_larger():
    markets = {
        s: market_generate(seed=3, days=6, instruments=3, severity=s, episodes_per_scenario=6) for s in SEVERITY_KNOBS
    }
    spoof = [_spoof_size_x(markets[s]) for s in ("low", "default", "high")]
    insider = [_insider_adv_share(markets[s]) for s in ("low", "default", "high")]
    assert spoof[0] < spoof[1] < spoof[2]
    assert insider[0] < insider[1] < insider[2]
    # Each measured value lies in its severity's range (rounding to lots allowed for).
    for s, x in zip(("low", "default", "high"), spoof, strict=True):
        lo, hi = SEVERITY_KNOBS[s].spoof_size_x
        assert 0.8 * lo <= x <= 1.2 * hi
    # The background is the same whatever the severity: the market makers' own quoting (orders
    # outside the episodes) arrives at the same times.
    arrivals = []
    for m in markets.values():
        o, a = m.data.orders, m.data.accounts
        episode_orders = np.concatenate([e.order_ids for e in m.episodes])
        mm = np.isin(o.account, a.account_id[a.kind == AccountKind.MARKET_MAKER]) & (o.kind == EventKind.NEW)
        arrivals.append(np.sort(o.ts_us[mm & ~np.isin(o.order_id, episode_orders)]))
    assert all(np.array_equal(arrivals[0], x) for x in arrivals[1:])


def test_given_a_market_then_market_makers_quote_both_sides_with_short_lives_and_high_cancel_rates(market):
    d = market.data
    mm = d.accounts.account_id[d.accounts.kind == AccountKind.MARKET_MAKER]
    o = d.orders
    m = np.isin(o.account, mm)
    new = m & (o.kind == EventKind.NEW)
    assert (o.side[new] > 0).mean() == pytest.approx(0.5, abs=0.02)
    assert (m & (o.kind == EventKind.CANCEL)).sum() / new.sum() > 0.9
    cancel = m & (o.kind == EventKind.CANCEL)
    born = dict(zip(o.order_id[new], o.ts_us[new], strict=True))
    lives_s = np.array([(t - born[i]) / 1e6 for i, t in zip(o.order_id[cancel], o.ts_us[cancel], strict=True)])
    assert np.median(lives_s) < 10.0


def test_given_real_closes_then_history_bars_follow_a_stretch_of_them():
    rng = np.random.default_rng(0)
    closes = 50.0 * np.exp(np.cumsum(rng.normal(0, 0.02, (400, 2)), axis=0))
    g = market_generate(seed=1, days=2, instruments=2, episodes_per_scenario=0, closes=closes)
    hist = g.data.bars.close[g.data.bars.instrument == 0][:HISTORY_DAYS]
    col = closes[:, 0]
    # Some stretch of the source column, up to one scale factor (a price floor may rescale it).
    ratios = [hist / col[s : s + HISTORY_DAYS] for s in range(col.size - HISTORY_DAYS)]
    assert any(np.allclose(r, r[0], rtol=1e-3) for r in ratios)
    assert g.episodes == []


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"days": 0}, "days"),
        ({"instruments": 0}, "instruments"),
        ({"severity": "extreme"}, "severity"),
        ({"episodes_per_scenario": -1}, "episodes_per_scenario"),
        ({"scenarios": ["churning"]}, "Unknown scenarios"),
    ],
)
def test_given_bad_options_when_generating_then_a_clear_error_names_them(kwargs, message):
    options = {"seed": 1, "days": 1, "instruments": 1, **kwargs}
    with pytest.raises(SurveillanceInputError, match=message):
        market_generate(**options)


@pytest.mark.slow
def test_given_a_million_order_events_when_generated_then_it_takes_well_under_a_minute():
    t0 = time.perf_counter()
    g = market_generate(seed=7, days=20, instruments=10)
    elapsed = time.perf_counter() - t0
    assert len(g.data.orders) >= 1_000_000
    assert elapsed < 30.0


def test_given_the_knob_table_then_every_knob_has_a_row_with_three_severities():
    from surveillance.engine.scenario_knobs import Knobs, knobs_markdown

    rows = knobs_markdown().splitlines()[2:]
    assert [r.split("`")[1] for r in rows] == [f.name for f in fields(Knobs)]
    assert all(r.count("|") == 6 for r in rows)
    assert "| `spoof_size_x` | spoof order ÷ size shown at the touch | 3–6 | 5–15 | 15–40 |" in rows


def test_given_room_then_price_moving_episodes_keep_other_announcements_out_of_their_footprint():
    """A marked close, a pump or an insider position followed within five sessions by another
    announcement on the same instrument would be mislabelled ground truth (it looks like
    insider dealing); with room in the market none is."""
    g = market_generate(seed=4, days=12, instruments=8, episodes_per_scenario=2)
    session = {int(day): k for k, day in enumerate(np.unique(g.data.orders.ts_us // DAY_US))}
    news = g.data.news

    def session_of(ts: int) -> int:  # an announcement before the open belongs to that session
        day = int(ts // DAY_US)
        return session.get(day, min((k for d, k in session.items() if d >= day), default=len(session)))

    for e in (e for e in g.episodes if e.scenario in ("marking_close", "pump_dump", "insider_dealing")):
        first, last = session_of(e.start_us), session_of(e.end_us)
        for i, ts in zip(news.instrument[news.price_sensitive], news.ts_us[news.price_sensitive], strict=True):
            if i != e.instrument or (e.scenario == "insider_dealing" and ts == e.end_us):
                continue  # another instrument, or the insider's own announcement
            assert not first <= session_of(ts) <= last + 5, (e.scenario, e.instrument, first, last)


def _still_market(day_return: float, effects: list[PriceEffect]) -> Market:
    """One instrument, one session, a planned close ``day_return`` (log) from the previous one
    and a near-zero volatility, so the path is its drift plus the effects and nothing else."""
    day = 19_724  # 2024-01-02
    open_us, close_us = day * DAY_US + 52_200_000_000, day * DAY_US + 75_600_000_000
    mk = Market(
        seed=3,
        hist_days=np.array([day - 1], dtype=np.int64),
        days=np.array([day], dtype=np.int64),
        open_us=np.array([open_us], dtype=np.int64),
        close_us=np.array([close_us], dtype=np.int64),
        hist_close=np.array([[100.0]]),
        base_close=np.array([[100.0 * np.exp(day_return)]]),
        vol=np.array([1e-9]),
        adv=np.array([1e5]),
        activity=0.05,
    )
    mk.effects.extend(effects)
    quotes_tape_build(mk)
    return mk


def test_given_news_on_a_falling_day_when_quotes_are_built_then_the_jump_is_all_in_the_close():
    """A price-sensitive announcement is a permanent price change: after it the price is a
    martingale, so (volatility ≈ 0) the close sits exactly the jump above the pre-news price.
    A path pinned to the planned close (−15% on the day) would keep sliding after the jump
    and give back 7.5 points of the 10-point jump by the close."""
    day = 19_724
    t_news = day * DAY_US + 52_200_000_000 + 11_700_000_000  # mid-session
    mk = _still_market(-0.15, [PriceEffect(0, 0, t_news, t_news, 0.10, True)])
    before = mk.mid_at(0, t_news - 1)
    assert np.log(mk.day_close[0, 0] / before) == pytest.approx(0.10, abs=2e-3)
    after = int(mk.q_ts[0][np.searchsorted(mk.q_ts[0], t_news)])  # the first quote after the news
    assert mk.mid_at(0, after) == pytest.approx(before * np.exp(0.10), rel=2e-3)


def test_given_a_closing_push_against_the_day_when_quotes_are_built_then_the_close_carries_it():
    """A marking-the-close push over the last five minutes ends in the close in full, even on a
    day whose planned close lies 15% the other way (no pull back to a pre-drawn close)."""
    day = 19_724
    close_us = day * DAY_US + 75_600_000_000
    start = close_us - 300_000_000
    mk = _still_market(-0.15, [PriceEffect(0, 0, start, close_us, 0.01, True)])
    assert np.log(mk.day_close[0, 0] / mk.mid_at(0, start - 1)) == pytest.approx(0.01, abs=1e-3)


def test_given_a_marking_close_episode_then_the_close_moved_in_the_markers_favour(market):
    """Marking the close (2016/522 Annex II 1.4): the day's close bar is beyond the mid in force
    before the episode's window, in the direction the account traded."""
    d = market.data
    episodes = [e for e in market.episodes if e.scenario == "marking_close"]
    assert episodes
    for e in episodes:
        side = int(d.orders.side[np.isin(d.orders.order_id, e.order_ids)][0])
        q = np.flatnonzero((d.quotes.instrument == e.instrument) & (d.quotes.ts_us < e.start_us))[-1]
        ref = 0.5 * (d.quotes.bid[q] + d.quotes.ask[q])
        bar = (d.bars.instrument == e.instrument) & (d.bars.day == e.start_us // DAY_US)
        assert side * (float(d.bars.close[bar][0]) - ref) > 0, (e.instrument, side, ref, d.bars.close[bar])


def test_given_pump_episodes_then_no_announcement_falls_in_or_just_before_their_footprint():
    """A pump and dump is its own abuse: no price-sensitive news on its instrument from five
    sessions before the accumulation to the dump (nor in the five after, the test above)."""
    g = market_generate(seed=8, days=20, instruments=12, episodes_per_scenario=3, activity=0.03)
    sessions = np.unique(g.data.bars.day[g.data.bars.day >= g.data.orders.ts_us.min() // DAY_US])
    news = g.data.news
    ps_session = np.searchsorted(sessions, news.ts_us // DAY_US)  # pre-open news: that session
    for e in (e for e in g.episodes if e.scenario == "pump_dump"):
        first = int(np.searchsorted(sessions, e.start_us // DAY_US))
        last = int(np.searchsorted(sessions, e.end_us // DAY_US))
        hit = news.price_sensitive & (news.instrument == e.instrument)
        hit &= (ps_session >= first - 5) & (ps_session <= last)
        assert not hit.any(), (e.instrument, first, last)


def test_given_insider_and_pump_episodes_then_no_account_carries_two_at_once():
    """Each insider or pump episode is one person's conduct: the same account never carries two
    overlapping ones (employees stay the natural insiders, spread over more accounts)."""
    scenarios = ["insider_dealing", "pump_dump"]
    g = market_generate(seed=7, days=20, instruments=12, episodes_per_scenario=10, activity=0.03, scenarios=scenarios)
    eps = g.episodes
    for k, a in enumerate(eps):
        for b in eps[k + 1 :]:
            assert a.account != b.account or a.end_us < b.start_us or b.end_us < a.start_us
    assert any(g.data.accounts.is_employee[e.account - 1] for e in eps if e.scenario == "insider_dealing")
