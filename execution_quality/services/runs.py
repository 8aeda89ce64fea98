"""TCA runs: compute and store the transaction cost analysis of parent orders.

A run is a ``CalculationRun`` (kind ``tca.run``, queue ``tca``) naming its orders one of three
ways: explicit parent order ids, a window of arrival times, or "pending" (every parent order with
fills and no result yet). Its body loads the orders in batches (``execution_quality.services.
inputs``), runs ``tca_compute``, upserts one ``TcaOrderResult`` per parent order and one
``TcaExecutionResult`` per fill (recomputed in place, so re-running changes nothing), adds the
expected cost with its explanation (``expected_costs``), flags poor executions and raises each
once into the surveillance queue, then writes one audit event for the run.

After every ingested trade batch, ``tca_after_trades`` queues a run for the parent orders the
trades belong to (when ``TCA_INCREMENTAL`` is on).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Q
from django.db.models.functions import Coalesce

from audit.services import audit_record, inputs_hash_of
from core.errors import ValidationFailed
from core.models import CalculationRun
from core.services import calculation_run_create
from execution_quality.engine.compute import TcaResult, tca_compute
from execution_quality.engine.types import TcaParams
from execution_quality.models import TcaExecutionResult, TcaOrderResult
from execution_quality.selectors import flag_names
from execution_quality.services.alerts import poor_execution_alert_raise
from execution_quality.services.inputs import TcaInputs, tca_inputs_load
from execution_quality.services.model import (
    ActiveModel,
    Expected,
    cost_model_active,
    cost_rows,
    expected_costs,
    json_safe,
)
from portfolios.models import Order, Trade
from portfolios.selectors import desk_ids as user_desk_ids

Progress = Callable[[int, str], None]

KIND = "tca.run"
QUEUE = "tca"
#: Parent orders per engine pass. Memory is dominated by the quotes and prints of the batch's
#: instrument-days (orders are batched by day, then instrument, to keep those few): 5,000 orders
#: over ~100 instrument-days of 50k ticks each is ~5M ticks, about 200 MB of columns.
BATCH_ORDERS = 5_000
#: Order ids one run may name explicitly (a larger set is a window or a pending run).
MAX_RUN_ORDER_IDS = 100_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_Q6, _Q4, _Q8 = Decimal("0.000001"), Decimal("0.0001"), Decimal("0.00000001")


def _task() -> Any:
    from execution_quality.tasks import tca_run_task

    return tca_run_task


def _iso(dt: datetime) -> str:
    return dt.astimezone(UTC).isoformat()


def _scope(user: User | None) -> list[int] | None:
    """Desks a run may touch: None (all) for the system and superusers."""
    if user is None or user.is_superuser:
        return None
    return user_desk_ids(user)


# ---------------------------------------------------------------------------- creating runs


def tca_run_create(
    *,
    user: User | None,
    order_ids: Sequence[int] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> CalculationRun:
    """Queue a TCA run over ``order_ids`` (parent orders), or the parent orders arriving in
    ``[since, until)`` (``until`` defaults to now), or, with neither, every parent order with
    fills and no TCA yet. A user's run covers the orders of their desks only.
    """
    desk_ids = _scope(user)
    if order_ids is not None and (since is not None or until is not None):
        raise ValidationFailed(
            "Give order ids or a time window, not both.", extra={"fields": {"order_ids": "Not with since/until."}}
        )
    parameters: dict[str, Any] = {"desk_ids": desk_ids}
    if order_ids is not None:
        ids = sorted({int(i) for i in order_ids})
        if not ids or len(ids) > MAX_RUN_ORDER_IDS or ids[0] <= 0:
            raise ValidationFailed(
                "Give between 1 and 100,000 order ids.", extra={"fields": {"order_ids": "1 to 100,000 positive ids."}}
            )
        qs = Order.objects.filter(pk__in=ids)
        if desk_ids is not None:
            qs = qs.filter(account__desk_id__in=desk_ids)
        found = set(qs.values_list("id", flat=True))
        missing = [i for i in ids if i not in found]
        if missing:
            raise ValidationFailed(
                "Some orders do not exist or are not on your desks.",
                extra={"fields": {"order_ids": f"Unknown: {', '.join(map(str, missing[:10]))}"}},
            )
        parameters.update(mode="orders", order_ids=ids)
    elif since is not None or until is not None:
        if since is None:
            raise ValidationFailed("Give since with until.", extra={"fields": {"since": "Required with until."}})
        until = until or datetime.now(tz=UTC)
        for name, value in (("since", since), ("until", until)):
            if value.tzinfo is None:
                raise ValidationFailed(f"{name} must carry a time zone.", extra={"fields": {name: "Naive date-time."}})
        if since >= until:
            raise ValidationFailed("The window is empty.", extra={"fields": {"since": "Must be before until."}})
        parameters.update(mode="window", since=_iso(since), until=_iso(until))
    else:
        parameters.update(mode="pending")
    return calculation_run_create(kind=KIND, task=_task(), parameters=parameters, user=user, queue=QUEUE)


def tca_after_trades(*, trade_ids: Sequence[int]) -> CalculationRun | None:
    """Queue TCA of the parent orders of newly ingested trades (the ingestion follow-up)."""
    parents = (
        Trade.objects.filter(pk__in=list(trade_ids), order__isnull=False)
        .annotate(parent_id=Coalesce("order__parent_id", "order_id"))
        .values_list("parent_id", flat=True)
        .distinct()
    )
    ids = sorted(set(parents))
    if not ids:
        return None
    return calculation_run_create(
        kind=KIND,
        task=_task(),
        parameters={"desk_ids": None, "mode": "orders", "order_ids": ids},
        user=None,
        queue=QUEUE,
    )


# ---------------------------------------------------------------------------- executing runs


def _parent_ids(parameters: dict[str, Any]) -> list[int]:
    """The run's parent orders, sorted by arrival day, then instrument, then id (see BATCH_ORDERS)."""
    qs = Order.objects.filter(parent__isnull=True)
    if parameters.get("desk_ids") is not None:
        qs = qs.filter(account__desk_id__in=parameters["desk_ids"])
    mode = parameters.get("mode")
    if mode == "orders":
        qs = qs.filter(pk__in=parameters["order_ids"])
    elif mode == "window":
        since = datetime.fromisoformat(parameters["since"])
        until = datetime.fromisoformat(parameters["until"])
        qs = qs.filter(arrival_ts__gte=since, arrival_ts__lt=until)
    elif mode == "pending":
        has_fills = Q(trades__isnull=False) | Q(children__trades__isnull=False)
        qs = qs.filter(has_fills, tca__isnull=True).distinct()
    else:
        raise ValidationFailed(f"Unknown run mode {mode!r}.")
    rows = qs.order_by().values_list("id", "arrival_ts", "instrument_id")
    return [r[0] for r in sorted(rows, key=lambda r: (r[1].date(), r[2], r[0]))]


def _dt(us: int) -> datetime:
    return _EPOCH + timedelta(microseconds=int(us))


def _n(x: float) -> float | None:
    return float(x) if np.isfinite(x) else None


def _dec(x: float, q: Decimal) -> Decimal:
    return Decimal(repr(float(x))).quantize(q)


def _expected(inputs: TcaInputs, result: TcaResult, model: ActiveModel | None) -> Expected:
    f = result.orders.features
    rows = cost_rows(
        size_adv=f.size_adv,
        volatility_daily_bps=f.volatility_daily_bps,
        arrival_spread_bps=f.arrival_spread_bps,
        minutes_since_open=f.minutes_since_open,
        duration_s=f.duration_s,
        pov=f.pov,
        side_buy=(inputs.orders.side == 1).astype(np.float64),
        order_type=list(inputs.order_meta["order_type"]),
        venue=[inputs.venues.label(int(c)) for c in f.venue],
        broker=[inputs.brokers.label(int(c)) for c in f.broker],
    )
    return expected_costs(
        rows=rows,
        half_spread_bps=f.arrival_spread_bps / 2.0,
        sqrt_impact_bps=result.orders.pretrade_sqrt_bps,
        model=model,
    )


# Every column but the keys is rewritten on conflict (``computed_at`` included: auto_now is set on insert).
_ORDER_FIELDS = [f.name for f in TcaOrderResult._meta.concrete_fields if f.name not in {"id", "order"}]
_EXEC_FIELDS = [f.name for f in TcaExecutionResult._meta.concrete_fields if f.name not in {"id", "trade"}]


def _order_results(
    run: CalculationRun, inputs: TcaInputs, result: TcaResult, expected: Expected, margin_bps: float
) -> list[TcaOrderResult]:
    o, b, s, f = result.orders, result.orders.benchmarks, result.orders.shortfall, result.orders.features
    # Plain lists: indexing pandas columns row by row costs more than the rest of the loop.
    meta = {c: inputs.order_meta[c].tolist() for c in inputs.order_meta.columns}
    cost = o.cost_bps("arrival")
    poor = np.isfinite(cost) & np.isfinite(expected.cost_bps) & (cost > expected.cost_bps + margin_bps)
    out = []
    for i in range(len(inputs.orders)):
        bits = int(o.flags[i])
        out.append(
            TcaOrderResult(
                order_id=int(meta["order_id"][i]),
                run=run,
                account_id=int(meta["account_id"][i]),
                desk_id=int(meta["desk_id"][i]),
                instrument_id=int(meta["instrument_id"][i]),
                side=str(meta["side"][i]),
                order_type=str(meta["order_type"][i]),
                venue=inputs.venues.label(int(f.venue[i])),
                broker=inputs.brokers.label(int(f.broker[i])),
                arrival_ts=_dt(inputs.orders.arrival_us[i]),
                end_ts=_dt(inputs.orders.end_us[i]),
                quantity=Decimal(str(meta["quantity"][i])),
                filled_quantity=_dec(o.filled_quantity[i], _Q6),
                n_fills=int(o.n_fills[i]),
                avg_price=_dec(o.avg_price[i], _Q8) if np.isfinite(o.avg_price[i]) else None,
                notional=_dec(o.filled_quantity[i] * o.avg_price[i], _Q4) if o.n_fills[i] else Decimal(0),
                fees=_dec(o.fees[i], _Q4),
                arrival_price=_n(b.arrival_price[i]),
                vwap=_n(b.vwap[i]),
                twap=_n(b.twap[i]),
                pwp=_n(b.pwp[i]),
                prev_close=_n(b.prev_close[i]),
                open_price=_n(b.open[i]),
                close_price=_n(b.close[i]),
                cost_arrival_bps=_n(cost[i]),
                cost_vwap_bps=_n(o.cost_bps("vwap")[i]),
                cost_twap_bps=_n(o.cost_bps("twap")[i]),
                cost_pwp_bps=_n(o.cost_bps("pwp")[i]),
                cost_prev_close_bps=_n(o.cost_bps("prev_close")[i]),
                cost_open_bps=_n(o.cost_bps("open")[i]),
                cost_close_bps=_n(o.cost_bps("close")[i]),
                shortfall_bps=_n(s.total_bps[i]),
                shortfall_delay_bps=_n(s.delay_bps[i]),
                shortfall_trading_bps=_n(s.trading_bps[i]),
                shortfall_opportunity_bps=_n(s.opportunity_bps[i]),
                shortfall_fees_bps=_n(s.fees_bps[i]),
                size_adv=_n(f.size_adv[i]),
                volatility_daily_bps=_n(f.volatility_daily_bps[i]),
                arrival_spread_bps=_n(f.arrival_spread_bps[i]),
                minutes_since_open=_n(f.minutes_since_open[i]),
                duration_s=_n(f.duration_s[i]),
                pov=_n(f.pov[i]),
                pretrade_sqrt_bps=_n(o.pretrade_sqrt_bps[i]),
                pretrade_istar_bps=_n(o.pretrade_istar_bps[i]),
                predicted_cost_bps=_n(expected.cost_bps[i]),
                explanation=json_safe(expected.explanations[i]),
                model_version=expected.model_version,
                poor_execution=bool(poor[i]),
                flags=bits,
                details=json_safe(
                    {
                        "shortfall": {
                            "delay": s.delay[i],
                            "trading": s.trading[i],
                            "opportunity": s.opportunity[i],
                            "fees": s.fees[i],
                            "total": s.total[i],
                            "paper_value": s.paper_value[i],
                            "decision_price": s.decision_price[i],
                            "final_price": s.final_price[i],
                            "unfilled_quantity": s.unfilled_quantity[i],
                        },
                        "arrival_bid": b.arrival_bid[i],
                        "arrival_ask": b.arrival_ask[i],
                        "end_mid": b.end_mid[i],
                        "tape_volume": b.tape_volume[i],
                        "adv": f.adv[i],
                        "limit_aggressiveness_bps": f.limit_aggressiveness_bps[i],
                        "flag_names": flag_names(bits),
                        "margin_bps": margin_bps,
                    }
                ),
            )
        )
    return out


def _execution_results(inputs: TcaInputs, result: TcaResult, result_pk: dict[int, int]) -> list[TcaExecutionResult]:
    e = result.executions
    fm = {c: inputs.fill_meta[c].tolist() for c in ("trade_id", "order_id", "venue", "broker", "price", "quantity")}
    sp = e.spreads
    horizons = {int(h): k for k, h in enumerate(e.markout_horizons_s)}
    cost_a, cost_v = e.cost_bps("arrival"), e.cost_bps("vwap")
    out = []
    for j in range(len(inputs.fills)):

        def markout(h: int, row: int = j) -> float | None:
            return _n(e.markouts_bps[row, horizons[h]]) if h in horizons else None

        out.append(
            TcaExecutionResult(
                trade_id=int(fm["trade_id"][j]),
                order_result_id=result_pk[int(fm["order_id"][j])],
                venue=str(fm["venue"][j]),
                broker=str(fm["broker"][j]),
                ts=_dt(inputs.fills.ts_us[j]),
                price=Decimal(str(fm["price"][j])),
                quantity=Decimal(str(fm["quantity"][j])),
                mid=_n(sp.mid[j]),
                bid=_n(sp.bid[j]),
                ask=_n(sp.ask[j]),
                effective_spread_bps=_n(sp.effective_spread_bps[j]),
                realised_spread_bps=_n(sp.realised_spread_bps[j]),
                spread_capture=_n(sp.spread_capture[j]),
                outside_quote=bool(sp.outside_quote[j]),
                markout_1s_bps=markout(1),
                markout_5s_bps=markout(5),
                markout_60s_bps=markout(60),
                markout_300s_bps=markout(300),
                cost_arrival_bps=_n(cost_a[j]),
                cost_vwap_bps=_n(cost_v[j]),
                flags=int(e.flags[j]),
            )
        )
    return out


def _store(
    run: CalculationRun, inputs: TcaInputs, result: TcaResult, expected: Expected, margin_bps: float
) -> dict[str, int]:
    """Upsert the batch's results and raise its poor executions, in one transaction."""
    orders = _order_results(run, inputs, result, expected, margin_bps)
    ids = [r.order_id for r in orders]
    with transaction.atomic():
        # An order keeps the alert it already raised: re-running does not raise it again.
        known_alerts = {
            oid: d.get("alert_id")
            for oid, d in TcaOrderResult.objects.filter(order_id__in=ids).values_list("order_id", "details")
            if d.get("alert_id")
        }
        for r in orders:
            if r.order_id in known_alerts:
                r.details["alert_id"] = known_alerts[r.order_id]
        TcaOrderResult.objects.bulk_create(
            orders, batch_size=1000, update_conflicts=True, unique_fields=["order"], update_fields=_ORDER_FIELDS
        )
        result_pk = dict(TcaOrderResult.objects.filter(order_id__in=ids).values_list("order_id", "id"))
        executions = _execution_results(inputs, result, result_pk)
        TcaExecutionResult.objects.bulk_create(
            executions, batch_size=2000, update_conflicts=True, unique_fields=["trade"], update_fields=_EXEC_FIELDS
        )
        raised = _raise_poor(run, inputs, [r for r in orders if r.poor_execution and r.order_id not in known_alerts])
    return {
        "orders": len(orders),
        "executions": len(executions),
        "poor": sum(r.poor_execution for r in orders),
        "alerts_raised": raised,
    }


def _raise_poor(run: CalculationRun, inputs: TcaInputs, poor: list[TcaOrderResult]) -> int:
    if not poor:
        return 0
    ids = [r.order_id for r in poor]
    children: dict[int, list[int]] = {}
    for parent_id, child_id in Order.objects.filter(parent_id__in=ids).values_list("parent_id", "id"):
        children.setdefault(parent_id, []).append(child_id)
    fm = inputs.fill_meta
    trades = fm.groupby("order_id")["trade_id"].apply(list).to_dict() if len(fm) else {}
    stored = TcaOrderResult.objects.select_related("account", "instrument").filter(order_id__in=ids)
    margin = float(settings.TCA_POOR_MARGIN_BPS)
    for r in stored:
        alert_id = poor_execution_alert_raise(
            result=r,
            order_ids=[r.order_id, *sorted(children.get(r.order_id, []))],
            trade_ids=sorted(int(t) for t in trades.get(r.order_id, [])),
            margin_bps=margin,
            run=run,
        )
        r.details = {**r.details, "alert_id": alert_id}
        r.save(update_fields=["details"])
    return len(poor)


def tca_run_execute(*, run: CalculationRun, progress: Progress) -> dict[str, Any]:
    """The body of a TCA run (see the module docstring); returns the run's result summary."""
    progress(1, "Finding the orders")
    parent_ids = _parent_ids(run.parameters)
    margin = float(settings.TCA_POOR_MARGIN_BPS)
    params = TcaParams()
    model = cost_model_active()
    totals = {"orders": 0, "executions": 0, "poor": 0, "alerts_raised": 0}
    fingerprint: list[list[int]] = []
    batches = [parent_ids[k : k + BATCH_ORDERS] for k in range(0, len(parent_ids), BATCH_ORDERS)]
    for n, batch in enumerate(batches):
        share = 95 * n // max(1, len(batches))
        progress(2 + share, f"Loading {len(batch):,} orders and their market data")
        inputs = tca_inputs_load(order_ids=batch)
        progress(2 + share + 30 // max(1, len(batches)), "Computing benchmarks, costs and markouts")
        result = tca_compute(
            fills=inputs.fills,
            orders=inputs.orders,
            quotes=inputs.quotes,
            tape=inputs.tape,
            bars=inputs.bars,
            params=params,
        )
        expected = _expected(inputs, result, model)
        counts = _store(run, inputs, result, expected, margin)
        for k, v in counts.items():
            totals[k] += v
        # Rows are immutable once ingested: ids, times and table sizes identify the inputs.
        fingerprint.append(
            [
                int(inputs.orders.order_id.sum()),
                int(inputs.fills.execution_id.sum()),
                int(inputs.fills.ts_us.sum()),
                len(inputs.quotes),
                len(inputs.tape),
                len(inputs.bars),
            ]
        )
    progress(98, "Recording the run")
    summary = {
        **totals,
        "mode": run.parameters.get("mode"),
        "model_version": model.version if model else "",
        "expected_basis": "cost model" if model else "spread/2 + square-root law",
        "margin_bps": margin,
    }
    audit_record(
        action="tca.run.compute",
        actor=run.user,
        obj=run,
        inputs_hash=inputs_hash_of({"batches": fingerprint}),
        parameters={"run": run.parameters, "engine": json_safe(asdict(params)), "margin_bps": margin},
        after=summary,
    )
    return summary
