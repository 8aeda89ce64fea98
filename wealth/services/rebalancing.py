"""Rebalancing, tax-loss harvesting and behavioural coaching proposals for one client.

Holdings come from the client's open tax lots and account cash, priced at the latest close on or
before the price date (``state.as_of_default``); the target is described in ``wealth.services.
state``. Proposals are stored as recommendations (superseding the open one of the same kind) with
their trades as JSON numbers; ``None`` means there is nothing to do.

Rebalancing passes the client's purchases of the last 30 days (all accounts) so that the engine
counts a loss sale they would wash (wash-sale rule) at its true tax cost.

Harvesting: engine ``harvest_candidates`` over the taxable lots with the substitute map and the
client's purchases in all accounts in the last 30 days; each actionable candidate becomes a sale
of the lot and a purchase of its substitute for the same amount (whole shares, the rest stays in
cash). Coaching: panic selling is measured against the S&P 500 index bars (``SPX``), or the
current holdings valued at past prices when there are none; concentration creep compares the
invested weights now with the weights 90 days ago (lots then held, sales since then added back,
priced at that day's closes).
"""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal
from typing import Any

import numpy as np
from django.contrib.auth.models import User

from wealth.engine.coaching import CoachingError, Nudge, concentration_creep, panic_selling
from wealth.engine.harvest import HarvestError, HarvestOpportunity, Purchase, harvest_candidates
from wealth.engine.rebalance import RebalanceError, rebalance
from wealth.models import AssetProfile, Client, Recommendation, Substitute, TaxLot, WealthTransaction
from wealth.services._common import engine_failed, fail, json_safe
from wealth.services._proposals import proposal_store, trade_dict
from wealth.services.market import latest_prices, price_history
from wealth.services.state import CASH, ClientState, client_state, target_for

BAND = 0.05
ASSET_BAND = 0.03
WASH_WINDOW_DAYS = 30
COACHING_LOOKBACK_DAYS = 365
CREEP_LOOKBACK_DAYS = 90
MARKET_SYMBOL = "SPX"
DEFAULT_TRADING_COST = 0.0005


def _rates(client: Client) -> dict[str, float]:
    return {"tax_rate_short": float(client.tax_rate_short), "tax_rate_long": float(client.tax_rate_long)}


def rebalance_propose(*, actor: User | None, client: Client, cash_flow: Decimal | float = 0) -> Recommendation | None:
    """Trades back to the target at the least tax when drift exceeds 5 % (or to invest a deposit /
    raise a withdrawal of ``cash_flow``); None when no trade is needed."""
    try:
        flow = float(cash_flow)
    except (TypeError, ValueError):
        raise fail("The cash flow must be a number.", {"cash_flow": "A number."}) from None
    if not math.isfinite(flow):
        raise fail("The cash flow must be a finite number.", {"cash_flow": "A finite number."})
    target = target_for(client)
    state = client_state(client, extra_symbols=sorted(s for s in target.weights if s != CASH))
    unpriced = sorted(s for s in target.weights if s != CASH and s not in state.prices)
    if unpriced:
        raise fail(f"No price for target instruments: {', '.join(unpriced)}.", {"target": f"Unpriced: {unpriced}"})
    if not state.accounts:
        raise fail("The client has no account to trade in.", {"accounts": "No account."})
    if state.total <= 0 and flow == 0:
        return None
    try:
        plan = rebalance(
            state.lots,
            state.cash,
            state.prices,
            target.weights,
            state.as_of,
            band=BAND,
            asset_band=ASSET_BAND,
            cash_flow=flow,
            account_taxable={code: a.is_taxable for code, a in state.accounts.items()},
            tax_rate_short=float(client.tax_rate_short),
            tax_rate_long=float(client.tax_rate_long),
            purchases=recent_purchases(client, state.as_of),
        )
    except RebalanceError as exc:
        raise engine_failed(exc) from exc
    if not plan.trades:
        return None
    trades = [trade_dict(t) for t in plan.trades]
    explanation = {
        "as_of": state.as_of,
        "target": target.describe(),
        "target_weights": target.weights,
        "drift_before": plan.drift_before,
        "drift_after": plan.drift_after,
        "weights_before": plan.weights_before,
        "weights_after": plan.weights_after,
        "cash_after": plan.cash_after,
        "reasons": list(plan.reasons),
        "band": BAND,
        "asset_band": ASSET_BAND,
        "cash_flow": flow,
        "cash_flow_account": plan.cash_flow_account,
    }
    reason = " ".join(plan.reasons) or (
        f"Drift {plan.drift_before:.1%} is above the {BAND:.0%} band; after these trades it is {plan.drift_after:.1%}."
    )
    return proposal_store(
        actor=actor,
        client=client,
        kind=Recommendation.Kind.REBALANCE,
        title=f"Rebalance: drift {plan.drift_before:.1%} → {plan.drift_after:.1%}",
        reason=reason,
        explanation=explanation,
        trades=trades,
        tax_effect=plan.tax,
        parameters={"cash_flow": flow, **_rates(client)},
    )


# ---------------------------------------------------------------------------- harvesting


def substitutes_map(symbols: list[str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    rows = (
        Substitute.objects.filter(instrument__symbol__in=symbols)
        .order_by("instrument__symbol", "priority", "substitute__symbol")
        .values_list("instrument__symbol", "substitute__symbol")
    )
    for sym, sub in rows:
        out.setdefault(sym, []).append(sub)
    return out


def recent_purchases(client: Client, as_of: dt.date, days: int = WASH_WINDOW_DAYS) -> list[Purchase]:
    """Buys in any of the client's accounts in the ``days`` before ``as_of`` (inclusive), each with
    the shares not yet used as replacement shares of an earlier loss sale (Treas. Reg.
    §1.1091-1(e)): the matched shares of the lots bought that day in that account and symbol
    (a washed part may have been split into its own lot), set against the day's buys in order."""
    start = as_of - dt.timedelta(days=days)
    txns = (
        WealthTransaction.objects.filter(
            account__client=client,
            side=WealthTransaction.Side.BUY,
            trade_date__gte=start,
            trade_date__lte=as_of,
        )
        .select_related("account", "instrument")
        .order_by("trade_date", "id")
    )
    lots: dict[tuple[int, int, dt.date], int] = {}
    used: dict[tuple[int, int, dt.date], Decimal] = {}
    for lot in TaxLot.objects.filter(account__client=client, acquired_on__gte=start, acquired_on__lte=as_of):
        key = (lot.account_id, lot.instrument_id, lot.acquired_on)
        lots.setdefault(key, lot.pk)
        used[key] = used.get(key, Decimal(0)) + lot.wash_matched_quantity
    out = []
    for t in txns:
        key = (t.account_id, t.instrument_id, t.trade_date)
        taken = min(used.get(key, Decimal(0)), t.quantity)
        used[key] = used.get(key, Decimal(0)) - taken
        out.append(
            Purchase(
                account=t.account.code,
                taxable=t.account.is_taxable,
                symbol=t.instrument.symbol,
                trade_date=t.trade_date,
                quantity=float(t.quantity),
                price=float(t.price),
                lot_id=t.lot_id if t.lot_id is not None else lots.get(key),
                available=float(t.quantity - taken),
            )
        )
    return out


def harvest_scan(client: Client, state: ClientState | None = None) -> tuple[list[HarvestOpportunity], ClientState]:
    """All harvest candidates of the client (blocked ones included) and the state they were priced on."""
    held = sorted({lot.symbol for lot in (state.lots if state else [])}) or sorted(
        TaxLot.objects.filter(account__client=client, quantity__gt=0)
        .values_list("instrument__symbol", flat=True)
        .distinct()
    )
    subs = substitutes_map(held)
    wanted = sorted({s for alternatives in subs.values() for s in alternatives})
    if state is None or not set(wanted) <= set(state.prices):
        state = client_state(client, as_of=state.as_of if state else None, extra_symbols=wanted)
    costs = {
        p.instrument.symbol: float(p.trading_cost)
        for p in AssetProfile.objects.filter(instrument__symbol__in=held + wanted).select_related("instrument")
    }
    costs.update({s: DEFAULT_TRADING_COST for s in held + wanted if s not in costs})
    try:
        found = harvest_candidates(
            state.lots,
            state.prices,
            state.as_of,
            purchases=recent_purchases(client, state.as_of),
            substitutes=subs,
            trading_cost=costs,
            **_rates(client),
        )
    except HarvestError as exc:
        raise engine_failed(exc) from exc
    return found, state


def actionable(candidates: list[HarvestOpportunity]) -> list[HarvestOpportunity]:
    return [c for c in candidates if c.blocked_by is None and c.substitute and c.net_benefit > 0]


def harvest_propose(*, actor: User | None, client: Client) -> Recommendation | None:
    """Sell the actionable loss lots and buy their substitutes; None when there is none."""
    candidates, state = harvest_scan(client)
    chosen = actionable(candidates)
    if not chosen:
        return None
    trades: list[dict[str, Any]] = []
    for c in chosen:
        amount = c.quantity * c.price
        trades.append(
            {
                "account": c.account,
                "symbol": c.symbol,
                "side": "sell",
                "quantity": round(c.quantity, 6),
                "price": round(c.price, 8),
                "amount": round(amount, 2),
                "lot_id": c.lot_id,
                "realized_gain": round(-c.loss, 2),
                "short_term": c.short_term,
                "tax": round(-c.tax_saving, 2),
            }
        )
        sub = str(c.substitute)
        sub_price = state.prices[sub]
        quantity = math.floor(amount / sub_price)
        if quantity > 0:
            trades.append(
                {
                    "account": c.account,
                    "symbol": sub,
                    "side": "buy",
                    "quantity": float(quantity),
                    "price": round(sub_price, 8),
                    "amount": round(quantity * sub_price, 2),
                    "lot_id": None,
                    "realized_gain": 0.0,
                    "short_term": None,
                    "tax": 0.0,
                }
            )
    saving = sum(c.tax_saving for c in chosen)
    net = sum(c.net_benefit for c in chosen)
    explanation = {
        "as_of": state.as_of,
        "candidates": [json_safe(vars(c)) for c in candidates],
        "chosen": [c.lot_id for c in chosen],
        "tax_saving": saving,
        "net_benefit": net,
    }
    reason = " ".join(c.reason for c in chosen)
    return proposal_store(
        actor=actor,
        client=client,
        kind=Recommendation.Kind.HARVEST,
        title=f"Harvest {len(chosen)} loss{'es' if len(chosen) > 1 else ''}: save about ${net:,.0f}",
        reason=reason,
        explanation=explanation,
        trades=trades,
        tax_effect=-saving,
        parameters=_rates(client),
    )


# ---------------------------------------------------------------------------- coaching


def _valued(state: ClientState, start: dt.date) -> tuple[np.ndarray, np.ndarray]:
    """The current holdings valued at past adjusted closes (the fallback market series)."""
    qty: dict[str, float] = {}
    for lot in state.lots:
        qty[lot.symbol] = qty.get(lot.symbol, 0.0) + lot.quantity
    wide = price_history(sorted(qty), start, state.as_of)
    if wide.empty:
        return np.array([], dtype="datetime64[D]"), np.array([], dtype=np.float64)
    wide = wide.ffill().dropna()
    values = sum(wide[s] * q for s, q in qty.items() if s in wide)
    return wide.index.to_numpy().astype("datetime64[D]"), np.asarray(values, dtype=np.float64)


def _weights_then(client: Client, state: ClientState, then: dt.date) -> dict[str, float]:
    qty: dict[str, float] = {}
    for lot in TaxLot.objects.filter(account__client=client, acquired_on__lte=then).select_related("instrument"):
        qty[lot.instrument.symbol] = qty.get(lot.instrument.symbol, 0.0) + float(lot.quantity)
    sold = WealthTransaction.objects.filter(
        account__client=client, side=WealthTransaction.Side.SELL, trade_date__gt=then
    ).select_related("instrument")
    for t in sold:
        qty[t.instrument.symbol] = qty.get(t.instrument.symbol, 0.0) + float(t.quantity)
    prices = latest_prices(list(qty), then)
    values = {s: q * prices[s][0] for s, q in qty.items() if q > 0 and s in prices}
    total = sum(values.values())
    return {s: v / total for s, v in values.items()} if total > 0 else {}


def coaching_check(*, client: Client, as_of: dt.date | None = None) -> list[Nudge]:
    """Panic-selling and concentration-creep nudges (module docstring); nothing is written."""
    state = client_state(client, as_of=as_of)
    start = state.as_of - dt.timedelta(days=COACHING_LOOKBACK_DAYS)
    sales = [
        (t.trade_date, float(t.quantity * t.price))
        for t in WealthTransaction.objects.filter(
            account__client=client, side=WealthTransaction.Side.SELL, trade_date__gte=start, trade_date__lte=state.as_of
        )
    ]
    nudges: list[Nudge] = []
    try:
        if sales and state.total > 0:
            history_start = start - dt.timedelta(days=COACHING_LOOKBACK_DAYS)
            wide = price_history([MARKET_SYMBOL], history_start, state.as_of)
            label, in_money = "the S&P 500", False
            if not wide.empty:
                series = wide[MARKET_SYMBOL].dropna()
                dates, values = series.index.to_numpy().astype("datetime64[D]"), series.to_numpy(dtype=np.float64)
            else:
                dates, values = _valued(state, history_start)
                label, in_money = "the portfolio", True
            if values.size >= 2:
                nudges += panic_selling(dates, values, sales, state.total, series_label=label, series_in_money=in_money)
        now = state.weights(with_cash=False)
        if now:
            then = _weights_then(client, state, state.as_of - dt.timedelta(days=CREEP_LOOKBACK_DAYS))
            target = {s: w for s, w in target_for(client).weights.items() if s != CASH}
            total = sum(target.values())
            target = {s: w / total for s, w in target.items()} if total > 0 else {}
            nudges += concentration_creep(now, then, target)
    except CoachingError as exc:
        raise engine_failed(exc) from exc
    return nudges


def coaching_propose(*, actor: User | None, client: Client) -> Recommendation | None:
    """Store the coaching nudges as one recommendation (no trades); None when there are none."""
    nudges = coaching_check(client=client)
    if not nudges:
        return None
    return proposal_store(
        actor=actor,
        client=client,
        kind=Recommendation.Kind.COACHING,
        title="; ".join(sorted({n.kind.replace("_", " ").capitalize() for n in nudges})),
        reason=" ".join(n.reason for n in nudges),
        explanation={"nudges": [json_safe(vars(n)) for n in nudges]},
    )
