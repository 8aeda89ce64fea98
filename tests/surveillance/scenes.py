"""Small, seeded market scenes for the surveillance page tests: one spoofing episode with its
quotes, tape, orders, events and fills, and a busy queue of alerts in every state.

The spoofing episode (a textbook pattern, FCA Market Watch 50 / ESMA MAR guidelines): an account
rests five large sell orders one to five ticks above the ask, the price dips, it buys at the ask
and cancels the sells within seconds; twice. Prices in dollars, sizes in shares, times UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import numpy as np
from django.utils import timezone

from portfolios.models import MarketTrade, Order, OrderEvent, Quote, Trade
from surveillance.models import Alert, AlertTransition, Case
from tests.factories import AccountFactory, AlertFactory, InstrumentFactory, OwnerFactory

T0 = datetime(2024, 3, 14, 14, 30, tzinfo=UTC)  # alert window start
TICK = Decimal("0.01")


def _d(x: float) -> Decimal:
    return Decimal(f"{x:.2f}")


def _market(instrument, rng: np.random.Generator) -> list[Decimal]:
    """One quote a second from T0 − 6 min to T0 + 9 min on one venue (bid/ask two ticks apart),
    dipping three cents while the spoof rests; a print every ~3 s at the bid or the ask."""
    start = T0 - timedelta(minutes=6)
    n = 15 * 60
    mid = 50.0 + np.cumsum(rng.normal(0, 0.004, n))
    for burst in (5, 65):  # seconds after T0 the spoof goes in; it comes out 20 s later
        i = 360 + burst
        mid[i : i + 20] -= np.linspace(0.0, 0.03, 20)
    quotes, prints = [], []
    for k in range(n):
        ts = start + timedelta(seconds=k, milliseconds=int(rng.integers(0, 900)))
        bid = _d(mid[k] - 0.01)
        quotes.append(
            Quote(instrument=instrument, ts=ts, venue="XNAS", bid=bid, ask=bid + 2 * TICK, bid_size=500, ask_size=400)
        )
        if k % 3 == 0:
            at_ask = rng.random() < 0.5
            prints.append(
                MarketTrade(
                    instrument=instrument,
                    ts=ts + timedelta(milliseconds=40),
                    venue="XNAS",
                    tape_id=f"{instrument.symbol}-{k}",
                    price=bid + 2 * TICK if at_ask else bid,
                    quantity=int(rng.integers(1, 20)) * 100,
                )
            )
    Quote.objects.bulk_create(quotes)
    MarketTrade.objects.bulk_create(prints)
    return [q.ask for q in quotes]


def spoofing_alert(desk, *, score: float = 86.0, symbol: str = "ACME", account_code: str = "ACC-SPOOF") -> Alert:
    """The episode and its alert (evidence: 12 orders, 2 trades), with an action likelihood."""
    rng = np.random.default_rng(20240314)
    instrument = InstrumentFactory(symbol=symbol, name="Acme Industries")
    owner = OwnerFactory(code="BO-SPOOF", name="Jordan Pike", is_employee=True)
    account = AccountFactory(code=account_code, owner=owner, desk=desk, name="Pike prop account")
    asks = _market(instrument, rng)
    order_ids, trade_ids = [], []
    seq = 0
    for rep, burst in enumerate((5, 65)):
        at = T0 + timedelta(seconds=burst)
        ask = asks[360 + burst]
        spoofs = []
        for level in range(1, 6):
            seq += 1
            o = Order.objects.create(
                client_order_id=f"SP-{rep}-{level}", account=account, instrument=instrument, side="sell",
                order_type="limit", limit_price=ask + level * TICK, quantity=5000, venue="XNAS",
                arrival_ts=at + timedelta(milliseconds=120 * level),
            )  # fmt: skip
            OrderEvent.objects.create(
                order=o, sequence=0, event_type="new", ts=o.arrival_ts, price=o.limit_price, quantity=5000
            )
            spoofs.append(o)
        buy_at = at + timedelta(seconds=14, milliseconds=250)
        fill_price = asks[360 + burst + 14]
        buy = Order.objects.create(
            client_order_id=f"BUY-{rep}", account=account, instrument=instrument, side="buy", order_type="limit",
            limit_price=fill_price, quantity=600, venue="XNAS", arrival_ts=buy_at,
        )  # fmt: skip
        OrderEvent.objects.create(order=buy, sequence=0, event_type="new", ts=buy_at, price=fill_price, quantity=600)
        fill_ts = buy_at + timedelta(milliseconds=7)
        OrderEvent.objects.create(order=buy, sequence=1, event_type="fill", ts=fill_ts, price=fill_price, quantity=600)
        trade = Trade.objects.create(
            trade_id=f"T-SPOOF-{rep}", order=buy, account=account, instrument=instrument, side="buy",
            price=fill_price, quantity=600, venue="XNAS", ts=fill_ts,
        )  # fmt: skip
        for k, o in enumerate(spoofs):
            OrderEvent.objects.create(
                order=o, sequence=1, event_type="cancel", quantity=5000,
                ts=at + timedelta(seconds=20, milliseconds=35 * k),
            )  # fmt: skip
        order_ids += [o.pk for o in spoofs] + [buy.pk]
        trade_ids.append(trade.pk)
    return AlertFactory(
        scenario="spoofing", account=account, desk=desk, instrument=instrument,
        window_start=T0, window_end=T0 + timedelta(seconds=90), score=score, occurrences=2,
        summary=(
            f"{account_code} rested 25,000 shares of {symbol} on the offer over five levels, bought 600 at the ask "
            "and cancelled the offers within 6 s; twice in 90 s."
        ),
        order_ids=order_ids, trade_ids=trade_ids,
        features={"spoof_to_fill_qty_ratio": 41.7, "cancel_ratio": 1.0, "median_cancel_s": 5.9, "levels": 5.0,
                  "price_move_bps": -6.0, "opposite_fill_qty": 1200.0},
        parameters={"min_spoof_ratio": 5, "max_cancel_s": 30},
        action_probability=0.74,
        action_explanation={
            "values": {"score": 0.82, "owner_is_employee": 0.41, "prior_alerts_90d": 0.23, "occurrences": 0.12,
                       "desk_action_rate": -0.18, "hour_of_day": -0.05},
            "base": -0.31, "units": "log-odds of being actioned",
        },
    )  # fmt: skip


def anomaly_alert(desk, account=None) -> Alert:
    """A behavioural-anomaly alert with SHAP values (signed) and no instrument-specific replay."""
    return AlertFactory(
        scenario="anomaly", source="model", desk=desk, score=64.0, model_version="iforest-2024.03",
        account=account or AccountFactory(code="ACC-ANOM", desk=desk),
        summary="Order-to-trade ratio and after-hours activity far from the account's own history.",
        explanation={
            "values": {"order_to_trade_ratio": 0.31, "after_hours_share": 0.22, "cancel_ratio": 0.09,
                       "avg_order_size_z": -0.04, "distinct_instruments": -0.12},
            "base": 0.42, "units": "anomaly score",
        },
        features={"order_to_trade_ratio": 38.5, "after_hours_share": 0.41},
    )  # fmt: skip


SCENARIOS = ["spoofing", "layering", "wash_trades", "marking_close", "insider_dealing", "pump_dump", "front_running"]


def busy_queue(desk, *, users, n: int = 24) -> list[Alert]:
    """``n`` alerts over the last three weeks in every state (some closed after a few hours, one
    with a pending four-eyes proposal), assigned among ``users``; seeded."""
    rng = np.random.default_rng(7)
    now = timezone.now()
    accounts = [AccountFactory(code=f"ACC-Q{i}", desk=desk) for i in range(5)]
    out = []
    for i in range(n):
        scenario = SCENARIOS[i % len(SCENARIOS)]
        state = ["new", "new", "in_review", "escalated", "closed"][i % 5]
        created = now - timedelta(hours=float(rng.uniform(1, 21 * 24)))
        closing = {}
        if state == "closed":
            closing = {
                "outcome": "no_action" if i % 3 else "informal_action",
                "closing_rationale": "Reviewed: explained by the client's hedging.",
                "closed_at": created + timedelta(hours=float(rng.uniform(2, 120))),
                "closed_by": users[0],
            }
        alert = AlertFactory(
            scenario=scenario, account=accounts[i % 5], desk=desk, score=float(np.round(rng.uniform(12, 97), 1)),
            action_probability=None if i % 4 == 0 else float(np.round(rng.uniform(0.05, 0.9), 2)),
            assignee=None if state == "new" and i % 2 else users[i % len(users)],
            state=state, occurrences=int(rng.integers(1, 4)),
            summary=f"{scenario.replace('_', ' ').capitalize()} pattern on {accounts[i % 5].code}, episode {i}.",
            **closing,
        )  # fmt: skip
        Alert.objects.filter(pk=alert.pk).update(created_at=created)
        out.append(alert)
    pending = next(a for a in out if a.state == "in_review")
    Alert.objects.filter(pk=pending.pk).update(
        proposed_outcome="no_action", proposed_rationale="Liquidity provision.", proposed_by=users[0], proposed_at=now
    )
    AlertTransition.objects.create(
        alert=pending, action="propose_close", from_state="in_review", to_state="in_review", actor=users[0],
        actor_name=users[0].username, rationale="Liquidity provision.", details={"outcome": "no_action"},
    )  # fmt: skip
    return out


def open_case(desk, alerts, *, user) -> Case:
    """A case on the alerts (reference CASE-T00001), draft STOR."""
    case = Case.objects.create(
        reference="CASE-T00001",
        title="Pike: repeated spoofing in ACME",
        desk=desk,
        created_by=user,
        description="Two spoofing bursts within 90 s; employee account.",
    )
    Alert.objects.filter(pk__in=[a.pk for a in alerts]).update(case=case)
    return case
