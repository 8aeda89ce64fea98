"""The seven abuses the scenario generator injects, each described by what the abuse is.

Each ``*_plan`` draws one episode's accounts, instrument, timing and magnitudes from the
severity's ``Knobs`` (ranges, drawn uniformly), registers what must exist before quotes are
drawn (price moves, volume, announcements) and returns a builder that places the episode's
orders once the quotes exist. Magnitudes are stated in market terms — multiples of the size
shown at the touch, shares of average daily volume (ADV), multiples of the daily volatility σ,
seconds — following the definitions in EU MAR Annex I, Delegated Regulation 2016/522 Annex II,
FINRA Rules 5210 and 5270 and the CFTC's 2013 guidance on spoofing. They were set from those
descriptions of blatant and borderline conduct, never from any detector's thresholds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from surveillance.engine.scenario_background import Population, block_plan, lots
from surveillance.engine.scenario_flow import aggressive_orders, block_orders
from surveillance.engine.scenario_knobs import Knobs, Range
from surveillance.engine.scenario_market import LOT, TICK, Market, OrderSink, PriceEffect, VolumeSurge
from surveillance.engine.types import US_PER_MINUTE, US_PER_SECOND


@dataclass
class Draft:
    """An episode before final ids exist: temporary order ids from the ``OrderSink``."""

    scenario: str
    account: int
    instrument: int
    start_us: int
    end_us: int
    tmp_ids: list[int] = field(default_factory=list)
    knobs: dict[str, float] = field(default_factory=dict)


Builder = Callable[[OrderSink], Draft]

# Sessions after a price-moving episode kept free of announcements on its instrument: the
# episode's position is still held, and an unrelated announcement would make it look like
# insider dealing (a week is longer than the lookback of positioning before news).
QUIET_AFTER = 5


@dataclass
class Ctx:
    """What every planner needs: the market, the accounts, the severity and a random stream."""

    rng: np.random.Generator
    mk: Market
    pop: Population
    kn: Knobs
    used: set[tuple[int, int]]
    news_days: set[tuple[int, int]] = field(default_factory=set)
    quiet: set[tuple[int, int]] = field(default_factory=set)
    busy: dict[int, list[tuple[int, int]]] = field(default_factory=dict)

    def draw(self, r: Range) -> float:
        return float(self.rng.uniform(r[0], r[1]))

    def draw_int(self, r: Range) -> int:
        return int(self.rng.integers(int(r[0]), int(r[1]) + 1))

    def slot(
        self,
        *,
        min_day: int = 0,
        exclusive: bool = False,
        back: int = 0,
        after: int = 0,
        before: int = 0,
        news: bool = False,
    ) -> tuple[int, int]:
        """An (instrument, day) pair. An exclusive episode reserves its footprint (the day and the
        ``back`` sessions before it) against other price-moving episodes and background
        announcements and surges, and wants no announcement in the ``after`` sessions that
        follow (its position is still held) nor in the ``before`` sessions that precede its
        footprint; an episode that makes ``news`` keeps out of others' quiet sessions. Without
        that, ground truth blurs: a marked close followed days later by someone else's
        announcement looks like insider dealing. When the market is too small, the least
        crowded candidate is taken (a clash inside a footprint counts ten times one outside)."""
        n_days = self.mk.n_days
        lo = min(max(min_day, back), n_days - 1) if exclusive else min(min_day, n_days - 1)
        best, best_clash = (0, lo), 10**9
        for _ in range(300):
            i, d = int(self.rng.integers(self.mk.n_instruments)), int(self.rng.integers(lo, n_days))
            if not exclusive:
                return i, d
            # A clash inside the footprint blurs the ground truth most: it weighs ten.
            clash = 10 * sum((i, x) in self.used for x in range(max(0, d - back), d + 1))
            clash += sum((i, x) in self.news_days for x in range(d + 1, min(d + after, n_days - 1) + 1))
            clash += sum((i, x) in self.news_days for x in range(max(0, d - back - before), max(0, d - back)))
            clash += int(news and (i, d) in self.quiet)
            if clash < best_clash:
                best, best_clash = (i, d), clash
            if clash == 0:
                break
        i, d = best
        self.used.update((i, x) for x in range(max(0, d - back), d + 1))
        self.quiet.update((i, x) for x in range(d + 1, min(d + after, n_days - 1) + 1))
        self.quiet.update((i, x) for x in range(max(0, d - back - before), max(0, d - back)))
        if news:
            self.news_days.add((i, d))
        return best

    def time(self, day: int, lo: float, hi: float) -> int:
        o, c = int(self.mk.open_us[day]), int(self.mk.close_us[day])
        return int(o + (c - o) * self.rng.uniform(lo, hi))

    def account(self, weights: dict[str, float], sessions: tuple[int, int] | None = None) -> int:
        """An account from the named pools (``prop``, ``client``, ``employee``, ``mm``, ``inst``).

        With ``sessions`` (first, last) the account is one not already carrying another episode
        over those sessions (an insider or a pump is one person's conduct, not the same few
        accounts every week); the sessions are then booked for it. When every draw is busy the
        last one is kept."""
        names = list(weights)
        p = np.array([weights[n] for n in names], dtype=np.float64)
        arrays = {
            "prop": self.pop.prop,
            "client": self.pop.clients,
            "employee": self.pop.employees,
            "mm": self.pop.market_makers,
            "inst": self.pop.institutions,
        }
        acct = 0
        for _ in range(50):
            pool = names[int(self.rng.choice(len(names), p=p / p.sum()))]
            acct = int(self.rng.choice(arrays[pool]))
            if sessions is None or not any(
                lo <= sessions[1] and sessions[0] <= hi for lo, hi in self.busy.get(acct, [])
            ):
                break
        if sessions is not None:
            self.busy.setdefault(acct, []).append(sessions)
        return acct

    def partner(self, account: int, prob: float) -> int:
        """A linked account of ``account`` with probability ``prob`` (when it has one), else itself."""
        linked = self.pop.linked(account)
        if linked.size and self.rng.random() < prob:
            return int(self.rng.choice(linked))
        return account

    def touch_size(self, instrument: int, ts: int, side: int) -> float:
        qi = int(self.mk.quote_index(instrument, np.array([ts]))[0])
        return float(self.mk.q_bid_size[instrument][qi] if side > 0 else self.mk.q_ask_size[instrument][qi])

    def near_far(self, instrument: int, ts: int, side: int) -> tuple[float, float]:
        near, far, _ = self.mk.touch(instrument, np.array([ts]), np.array([side], dtype=np.int8))
        return float(near[0]), float(far[0])


def _round_lots(q: float) -> float:
    return float(max(LOT, round(q / LOT) * LOT))


def spoofing_plan(c: Ctx) -> Builder:
    """A large order at the touch, cancelled within seconds with little or nothing filled, while
    the group's genuine order on the other side is executed during its life (CFTC 2013; MAR
    Annex I 1(a); 2016/522 Annex II 1.3)."""
    i, d = c.slot()
    acct = c.account({"prop": 0.55, "client": 0.3, "mm": 0.15})
    other = c.partner(acct, 0.4)
    reps = c.draw_int(c.kn.spoof_repeats)
    side = int(c.rng.choice([-1, 1]))
    t0 = c.time(d, 0.03, 0.85)
    plans = [
        (c.draw(c.kn.spoof_size_x), c.draw(c.kn.spoof_life_s), c.draw(c.kn.spoof_filled_share), c.draw((20, 240)))
        for _ in range(reps)
    ]

    def build(sink: OrderSink) -> Draft:
        ids: list[int] = []
        t = t0
        start, end = t0, t0
        for size_x, life_s, filled_share, pause_s in plans:
            near, _ = c.near_far(i, t, side)
            # "At or near the touch": three times in ten one tick behind it.
            near = round(near - side * TICK, 2) if c.rng.random() < 0.3 else near
            qty = _round_lots(size_x * c.touch_size(i, t, side))
            life = int(life_s * US_PER_SECOND)
            g_at = t - int(c.rng.uniform(0.0, 2.0) * US_PER_SECOND) - 1
            start = min(start, g_at)
            g_near, _ = c.near_far(i, g_at, -side)
            # The genuine order executes during the spoof's life, or right after the cancel.
            if c.rng.random() < 0.8:
                g_fill = t + int(life * c.rng.uniform(0.3, 0.9))
            else:
                g_fill = t + life + int(c.rng.uniform(0.05, 2.0) * US_PER_SECOND)
            g_qty = lots(c.rng, 1, 2.0, 0.5)[0]
            ids.append(
                sink.add_one(
                    account=other,
                    instrument=i,
                    side=-side,
                    arrival_us=g_at,
                    qty=g_qty,
                    limit=g_near,
                    fills=[(g_fill, g_near, g_qty, -1)],
                )
            )
            filled = float(np.floor(qty * filled_share / LOT) * LOT)
            fills = [(t + life // 2, near, filled, -1)] if filled > 0 else []
            ids.append(
                sink.add_one(
                    account=acct,
                    instrument=i,
                    side=side,
                    arrival_us=t,
                    qty=qty,
                    limit=near,
                    fills=fills,
                    cancel_us=t + life,
                )
            )
            end = t + life
            t = end + int(pause_s * US_PER_SECOND)
        return Draft(
            "spoofing",
            acct,
            i,
            start,
            end,
            ids,
            {"spoof_size_x": plans[0][0], "spoof_life_s": plans[0][1], "repeats": float(reps)},
        )

    return build


def layering_plan(c: Ctx) -> Builder:
    """Several same-side orders over successive price levels in a burst, an execution on the
    other side by the group, then the layers cancelled (MAR Annex I 1(a); 2016/522 Annex II
    1.3; FINRA 5210.03)."""
    i, d = c.slot()
    acct = c.account({"prop": 0.6, "client": 0.3, "mm": 0.1})
    other = c.partner(acct, 0.4)
    n = c.draw_int(c.kn.layer_orders)
    size_x, burst_s, cancel_s = c.draw(c.kn.layer_size_x), c.draw(c.kn.layer_burst_s), c.draw(c.kn.layer_cancel_after_s)
    side = int(c.rng.choice([-1, 1]))
    t0 = c.time(d, 0.03, 0.9)
    first_level = int(c.rng.integers(0, 2))

    def build(sink: OrderSink) -> Draft:
        ids: list[int] = []
        g_at = t0 - int(c.rng.uniform(0.0, 5.0) * US_PER_SECOND) - 1
        g_near, _ = c.near_far(i, g_at, -side)
        t_exec = t0 + int((burst_s + c.rng.uniform(0.5, 5.0)) * US_PER_SECOND)
        g_qty = lots(c.rng, 1, 3.0, 0.5)[0]
        ids.append(
            sink.add_one(
                account=other,
                instrument=i,
                side=-side,
                arrival_us=g_at,
                qty=g_qty,
                limit=g_near,
                fills=[(t_exec, g_near, g_qty, -1)],
            )
        )
        near, _ = c.near_far(i, t0, side)
        touch = c.touch_size(i, t0, side)
        end = t_exec
        for k in range(n):
            at = t0 + int(k * burst_s / max(n - 1, 1) * US_PER_SECOND)
            price = round(near - side * TICK * (first_level + k), 2)
            cancel = t_exec + int(cancel_s * US_PER_SECOND) + int(c.rng.integers(0, 200_000))
            end = max(end, cancel)
            ids.append(
                sink.add_one(
                    account=acct,
                    instrument=i,
                    side=side,
                    arrival_us=at,
                    qty=_round_lots(size_x * touch),
                    limit=price,
                    cancel_us=cancel,
                )
            )
        return Draft(
            "layering",
            acct,
            i,
            g_at,
            end,
            ids,
            {"layer_orders": float(n), "layer_size_x": size_x, "layer_cancel_after_s": cancel_s},
        )

    return build


def wash_trades_plan(c: Ctx) -> Builder:
    """Buys and sells between accounts of one beneficial owner: exact internal crosses or
    matching orders close in time, price and size (MAR Annex I 1(a); 2016/522 Annex II 1.1)."""
    groups = c.pop.accounts.group
    counts = np.bincount(groups)
    multi = np.flatnonzero(counts >= 2)
    g = int(c.rng.choice(multi))
    members = c.pop.accounts.account_id[groups == g]
    a, b = (int(x) for x in c.rng.choice(members, 2, replace=False))
    i, d = c.slot()
    pairs = c.draw_int(c.kn.wash_pairs)
    t0 = c.time(d, 0.02, 0.7)
    specs = [
        (
            c.draw(c.kn.wash_gap_s),
            c.rng.random() < c.kn.wash_cross_share,
            c.rng.uniform(-1, 1) * c.kn.wash_qty_mismatch,
            c.rng.uniform(60, 600),
        )
        for _ in range(pairs)
    ]

    def build(sink: OrderSink) -> Draft:
        ids: list[int] = []
        t, end, start = t0, t0, t0
        qty = _round_lots(lots(c.rng, 1, 10.0, 0.6)[0])
        for k, (gap_s, cross, mismatch, pause_s) in enumerate(specs):
            buyer, seller = (a, b) if k % 2 == 0 else (b, a)
            px = round(c.mk.mid_at(i, t), 2)
            if cross:
                at_b, at_s = (
                    t - int(c.rng.uniform(0.1, 2.0) * US_PER_SECOND),
                    t - int(c.rng.uniform(0.0, 0.1) * US_PER_SECOND) - 1,
                )
                ids.append(
                    sink.add_one(
                        account=buyer,
                        instrument=i,
                        side=1,
                        arrival_us=at_b,
                        qty=qty,
                        limit=px,
                        fills=[(t, px, qty, seller)],
                    )
                )
                ids.append(
                    sink.add_one(
                        account=seller,
                        instrument=i,
                        side=-1,
                        arrival_us=at_s,
                        qty=qty,
                        limit=px,
                        fills=[(t, px, qty, buyer)],
                    )
                )
                start, end = min(start, at_b), t
            else:
                t2 = t + int(gap_s * US_PER_SECOND) + 1
                px2 = round(c.mk.mid_at(i, t2), 2)
                q2 = _round_lots(qty * (1 + mismatch))
                ids.append(
                    sink.add_one(
                        account=buyer,
                        instrument=i,
                        side=1,
                        arrival_us=t - 1_000,
                        qty=qty,
                        limit=px,
                        fills=[(t, px, qty, -1)],
                    )
                )
                ids.append(
                    sink.add_one(
                        account=seller,
                        instrument=i,
                        side=-1,
                        arrival_us=t2 - 1_000,
                        qty=q2,
                        limit=px2,
                        fills=[(t2, px2, q2, -1)],
                    )
                )
                start, end = min(start, t - 1_000), t2
            t = end + int(pause_s * US_PER_SECOND)
        return Draft("wash_trades", a, i, start, end, ids, {"wash_pairs": float(pairs)})

    return build


def marking_close_plan(c: Ctx) -> Builder:
    """Heavy one-way trading in the last minutes that moves the close in the account's favour
    (MAR Annex I 1(a); 2016/522 Annex II 1.4 "marking the close")."""
    i, d = c.slot(exclusive=True, after=QUIET_AFTER)
    acct = c.account({"client": 0.4, "inst": 0.3, "prop": 0.3})
    side = int(c.rng.choice([-1, 1]))
    window_min, share, push = (
        c.draw(c.kn.close_window_min),
        c.draw(c.kn.close_volume_share),
        c.draw(c.kn.close_push_sigma),
    )
    close = int(c.mk.close_us[d])
    start = close - int(window_min * US_PER_MINUTE)
    # The push is a price change like any other: the close and the sessions after carry it.
    c.mk.effects.append(PriceEffect(i, d, start, close, side * push * float(c.mk.vol[i]), True))

    def build(sink: OrderSink) -> Draft:
        volume = c.mk.tape_volume(i, start, close)
        qty = share / (1.0 - share) * volume
        n = int(c.rng.integers(3, 9))
        times = np.sort(c.rng.integers(start, close - 3 * US_PER_SECOND, n))
        ids = aggressive_orders(c.rng, c.mk, sink, account=acct, instrument=i, side=side, times=times, total_qty=qty)
        return Draft(
            "marking_close",
            acct,
            i,
            int(times[0]),
            close,
            [int(x) for x in ids],
            {"close_volume_share": share, "close_push_sigma": push, "close_window_min": window_min},
        )

    return build


def insider_dealing_plan(c: Ctx) -> Builder:
    """Positioning ahead of a price-sensitive announcement that then moves the price in the
    position's favour (MAR Art. 8 and 14; 2016/522 Annex II section 2)."""
    share, lead_h, move = c.draw(c.kn.insider_adv_share), c.draw(c.kn.insider_lead_h), c.draw(c.kn.insider_move_sigma)
    # A quarter of announcements come before the open (the position is then built by the
    # previous close); the others during the session.
    pre_open = c.mk.n_days >= 2 and c.rng.random() < 0.25
    sessions_back = int(np.ceil(lead_h / 6.5)) + int(pre_open)
    i, d = c.slot(min_day=min(1, c.mk.n_days - 1), exclusive=True, back=sessions_back, after=QUIET_AFTER, news=True)
    pre_open = pre_open and d >= 1
    acct = c.account({"employee": 0.4, "client": 0.5, "prop": 0.1}, (d - sessions_back, d + QUIET_AFTER))
    side = int(c.rng.choice([-1, 1]))
    open_d = int(c.mk.open_us[d])
    tn = open_d - int(c.rng.uniform(5, 120) * US_PER_MINUTE) if pre_open else c.time(d, 0.1, 0.85)
    sigma = float(c.mk.vol[i])
    c.mk.news.append((i, tn, True))
    c.mk.effects.append(PriceEffect(i, d, tn, tn, side * move * sigma, True))
    surge_at = max(tn, open_d + 1)
    c.mk.surges.append(VolumeSurge(i, surge_at, min(surge_at + 45 * US_PER_MINUTE, int(c.mk.close_us[d]) - 1), 0.2))
    anchor = max(tn, open_d)
    last_gap_s = c.rng.uniform(60.0, min(1800.0, max(61.0, lead_h * 3600.0 * 0.5)))
    lead_s = max(lead_h * 3600.0, last_gap_s + 1.0)
    n = int(c.rng.integers(1, 5))

    def build(sink: OrderSink) -> Draft:
        # Session-time offsets before the announcement: the first trade ``lead_s`` ahead, the
        # last at least a minute ahead.
        offsets = np.sort(c.rng.uniform(last_gap_s, lead_s, n))
        offsets[-1] = lead_s
        times = np.sort(np.array([c.mk.session_shift(d, anchor, -float(o))[1] for o in offsets], dtype=np.int64))
        qty = share * float(c.mk.adv[i])
        ids = aggressive_orders(c.rng, c.mk, sink, account=acct, instrument=i, side=side, times=times, total_qty=qty)
        return Draft(
            "insider_dealing",
            acct,
            i,
            int(times.min()),
            tn,
            [int(x) for x in ids],
            {"insider_adv_share": share, "insider_lead_h": lead_h, "insider_move_sigma": move},
        )

    return build


def pump_dump_plan(c: Ctx) -> Builder:
    """Accumulation over days, then a price and volume surge and selling into it (MAR Annex I
    1(a)–(c); 2016/522 Annex II 1.7 "pump and dump")."""
    days_back = c.draw_int(c.kn.pump_accum_days)
    # No announcement in the footprint nor in the week around it: a pump is its own abuse, not a
    # position that happens to meet news.
    i, d = c.slot(
        min_day=min(3, c.mk.n_days - 1), exclusive=True, back=days_back, after=QUIET_AFTER, before=QUIET_AFTER
    )
    days_back = min(days_back, d)
    acct = c.account({"client": 0.6, "prop": 0.2, "employee": 0.2}, (d - days_back, d + QUIET_AFTER))
    accum = c.draw(c.kn.pump_accum_adv)
    move, vol_x, sold = c.draw(c.kn.pump_move_sigma), c.draw(c.kn.pump_volume_x), c.draw(c.kn.pump_sold_share)
    s0 = c.time(d, 0.3 if days_back == 0 else 0.05, 0.5)
    close = int(c.mk.close_us[d])
    dur = min(int(c.rng.uniform(60, 180) * US_PER_MINUTE), close - s0 - 5 * US_PER_MINUTE)
    c.mk.effects.append(PriceEffect(i, d, s0, s0 + int(0.7 * dur), move * float(c.mk.vol[i]), False))
    normal = dur / float(close - int(c.mk.open_us[d]))
    c.mk.surges.append(VolumeSurge(i, s0, s0 + dur, (vol_x - 1.0) * normal))

    def build(sink: OrderSink) -> Draft:
        if days_back == 0:
            times = np.sort(c.rng.integers(int(c.mk.open_us[d]) + 1, s0 - US_PER_MINUTE, 3))
        else:
            buy_days = np.arange(d - days_back, d)
            times = np.array(
                [c.time(int(x), 0.02, 0.95) for x in buy_days for _ in range(int(c.rng.integers(1, 3)))], dtype=np.int64
            )
        qty = accum * float(c.mk.adv[i])
        buys = aggressive_orders(c.rng, c.mk, sink, account=acct, instrument=i, side=1, times=times, total_qty=qty)
        sell_t = np.sort(c.rng.integers(s0 + int(0.3 * dur), s0 + dur, int(c.rng.integers(2, 6))))
        sells = aggressive_orders(
            c.rng, c.mk, sink, account=acct, instrument=i, side=-1, times=sell_t, total_qty=qty * sold
        )
        return Draft(
            "pump_dump",
            acct,
            i,
            int(times.min()),
            int(sell_t.max()),
            [int(x) for x in (*buys, *sells)],
            {"pump_accum_adv": accum, "pump_move_sigma": move, "pump_volume_x": vol_x, "pump_sold_share": sold},
        )

    return build


def front_running_plan(c: Ctx) -> Builder:
    """A proprietary or employee account trading ahead of a large client order on the same side,
    then unwinding after the order moved the price (FINRA Rule 5270; MAR Recital 30)."""
    i, d = c.slot()
    runner = c.account({"prop": 0.6, "employee": 0.4})
    client = int(c.rng.choice(c.pop.institutions))
    side = int(c.rng.choice([-1, 1]))
    client_adv, lead_s, size_share = (
        c.draw(c.kn.front_client_adv),
        c.draw(c.kn.front_lead_s),
        c.draw(c.kn.front_size_share),
    )
    tc = c.time(d, 0.1, 0.8)
    t_front = max(tc - int(lead_s * US_PER_SECOND), int(c.mk.open_us[d]) + US_PER_SECOND)
    qty_client = _round_lots(client_adv * float(c.mk.adv[i]))
    block = block_plan(
        c.mk, account=client, instrument=i, side=side, qty=qty_client, start_us=tc, minutes=float(c.rng.uniform(2, 15))
    )
    unwind = c.rng.random() < c.kn.front_unwind_prob
    t_unwind = min(block.end_us + int(c.rng.uniform(0.5, 20) * US_PER_MINUTE), int(c.mk.close_us[d]) - US_PER_MINUTE)

    def build(sink: OrderSink) -> Draft:
        block_orders(c.rng, c.mk, sink, block)
        qty = _round_lots(size_share * qty_client)
        ids = [
            int(x)
            for x in aggressive_orders(
                c.rng, c.mk, sink, account=runner, instrument=i, side=side, times=np.array([t_front]), total_qty=qty
            )
        ]
        end = block.end_us
        if unwind and t_unwind > block.end_us:
            ids += [
                int(x)
                for x in aggressive_orders(
                    c.rng,
                    c.mk,
                    sink,
                    account=runner,
                    instrument=i,
                    side=-side,
                    times=np.array([t_unwind]),
                    total_qty=qty,
                )
            ]
            end = t_unwind
        return Draft(
            "front_running",
            runner,
            i,
            t_front,
            end,
            ids,
            {"front_client_adv": client_adv, "front_lead_s": lead_s, "front_size_share": size_share},
        )

    return build


PLANNERS: dict[str, Callable[[Ctx], Builder]] = {
    "spoofing": spoofing_plan,
    "layering": layering_plan,
    "wash_trades": wash_trades_plan,
    "marking_close": marking_close_plan,
    "insider_dealing": insider_dealing_plan,
    "pump_dump": pump_dump_plan,
    "front_running": front_running_plan,
}
