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

import json
from collections.abc import Callable, Sequence
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
from django.conf import settings
from django.contrib.auth.models import User
from django.db import connection, transaction
from django.db.models import JSONField, Model, Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from audit.services import audit_record, inputs_hash_of
from core.errors import ValidationFailed
from core.models import CalculationRun
from core.services import calculation_run_create
from execution_quality.engine.compute import TcaResult, tca_compute
from execution_quality.engine.types import TcaParams
from execution_quality.models import TcaExecutionResult, TcaOrderResult
from execution_quality.selectors import flag_names
from execution_quality.services.alerts import poor_executions_alerts_raise
from execution_quality.services.inputs import TcaInputs, tca_inputs_load
from execution_quality.services.model import (
    ActiveModel,
    Expected,
    cost_model_active,
    cost_rows,
    expected_costs,
    json_safe,
)
from portfolios.models import Account, Instrument, Order, Trade
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

Columns = dict[str, list[Any]]  # attname -> one value per row, as stored (None for SQL NULL)


def _col(values: Any) -> list[float | None]:
    """Floats as Python floats, NaN and infinities as None (stored as NULL)."""
    a = np.asarray(values, dtype=np.float64)
    out: list[float | None] = list(a.tolist())
    for i in np.flatnonzero(~np.isfinite(a)).tolist():
        out[i] = None
    return out


def _dec_col(values: Any, q: Decimal, *, where: Any = None) -> list[Decimal | None]:
    """Each value as a Decimal quantized to ``q`` (None where ``where`` is False), rounding its
    shortest repr half-even (not binary float rounding; PostgreSQL's numeric would round half up)."""
    a = np.asarray(values, dtype=np.float64).tolist()
    keep = [True] * len(a) if where is None else np.asarray(where, dtype=bool).tolist()
    return [Decimal(repr(x)).quantize(q) if k else None for x, k in zip(a, keep, strict=True)]


def _dt_col(us: Any) -> list[datetime]:
    return [_EPOCH + timedelta(microseconds=u) for u in np.asarray(us, dtype=np.int64).tolist()]


def _order_columns(
    run: CalculationRun, inputs: TcaInputs, result: TcaResult, expected: Expected, margin_bps: float
) -> Columns:
    """The batch's ``TcaOrderResult`` rows as columns keyed by attname (``id`` aside)."""
    o, b, s, f = result.orders, result.orders.benchmarks, result.orders.shortfall, result.orders.features
    # Plain lists: indexing pandas columns row by row costs more than the rest of the loop.
    meta = {c: inputs.order_meta[c].tolist() for c in inputs.order_meta.columns}
    n = len(inputs.orders)
    cost = o.cost_bps("arrival")
    poor = np.isfinite(cost) & np.isfinite(expected.cost_bps) & (cost > expected.cost_bps + margin_bps)
    flags = [int(x) for x in np.asarray(o.flags).tolist()]
    filled = np.asarray(o.filled_quantity, dtype=np.float64)
    avg = np.asarray(o.avg_price, dtype=np.float64)
    n_fills = [int(x) for x in np.asarray(o.n_fills).tolist()]
    notional = _dec_col(filled * avg, _Q4, where=np.asarray(o.n_fills) != 0)
    shortfall = {
        k: _col(getattr(s, k))
        for k in ("delay", "trading", "opportunity", "fees", "total", "paper_value", "decision_price", "final_price")
    }
    shortfall["unfilled_quantity"] = _col(s.unfilled_quantity)
    extra = {
        "arrival_bid": _col(b.arrival_bid),
        "arrival_ask": _col(b.arrival_ask),
        "end_mid": _col(b.end_mid),
        "tape_volume": _col(b.tape_volume),
        "adv": _col(f.adv),
        "limit_aggressiveness_bps": _col(f.limit_aggressiveness_bps),
    }
    # The same JSON as json_safe of the float64 values: floats, NaN as null.
    details = [
        {
            "shortfall": {k: v[i] for k, v in shortfall.items()},
            **{k: v[i] for k, v in extra.items()},
            "flag_names": flag_names(flags[i]),
            "margin_bps": margin_bps,
        }
        for i in range(n)
    ]
    return {
        "order_id": [int(x) for x in meta["order_id"]],
        "run_id": [run.pk] * n,
        "account_id": [int(x) for x in meta["account_id"]],
        "desk_id": [int(x) for x in meta["desk_id"]],
        "instrument_id": [int(x) for x in meta["instrument_id"]],
        "side": [str(x) for x in meta["side"]],
        "order_type": [str(x) for x in meta["order_type"]],
        "venue": [inputs.venues.label(int(c)) for c in np.asarray(f.venue).tolist()],
        "broker": [inputs.brokers.label(int(c)) for c in np.asarray(f.broker).tolist()],
        "arrival_ts": _dt_col(inputs.orders.arrival_us),
        "end_ts": _dt_col(inputs.orders.end_us),
        "quantity": [Decimal(str(x)) for x in meta["quantity"]],
        "filled_quantity": _dec_col(filled, _Q6),
        "n_fills": n_fills,
        "avg_price": _dec_col(avg, _Q8, where=np.isfinite(avg)),
        "notional": [Decimal(0) if x is None else x for x in notional],
        "fees": _dec_col(o.fees, _Q4),
        "arrival_price": _col(b.arrival_price),
        "vwap": _col(b.vwap),
        "twap": _col(b.twap),
        "pwp": _col(b.pwp),
        "prev_close": _col(b.prev_close),
        "open_price": _col(b.open),
        "close_price": _col(b.close),
        "cost_arrival_bps": _col(cost),
        "cost_vwap_bps": _col(o.cost_bps("vwap")),
        "cost_twap_bps": _col(o.cost_bps("twap")),
        "cost_pwp_bps": _col(o.cost_bps("pwp")),
        "cost_prev_close_bps": _col(o.cost_bps("prev_close")),
        "cost_open_bps": _col(o.cost_bps("open")),
        "cost_close_bps": _col(o.cost_bps("close")),
        "shortfall_bps": _col(s.total_bps),
        "shortfall_delay_bps": _col(s.delay_bps),
        "shortfall_trading_bps": _col(s.trading_bps),
        "shortfall_opportunity_bps": _col(s.opportunity_bps),
        "shortfall_fees_bps": _col(s.fees_bps),
        "size_adv": _col(f.size_adv),
        "volatility_daily_bps": _col(f.volatility_daily_bps),
        "arrival_spread_bps": _col(f.arrival_spread_bps),
        "minutes_since_open": _col(f.minutes_since_open),
        "duration_s": _col(f.duration_s),
        "pov": _col(f.pov),
        "pretrade_sqrt_bps": _col(o.pretrade_sqrt_bps),
        "pretrade_istar_bps": _col(o.pretrade_istar_bps),
        "predicted_cost_bps": _col(expected.cost_bps),
        "explanation": [json_safe(e) for e in expected.explanations],
        "model_version": [expected.model_version] * n,
        "poor_execution": [bool(x) for x in poor.tolist()],
        "flags": flags,
        "details": details,
    }


def _execution_columns(inputs: TcaInputs, result: TcaResult, result_pk: dict[int, int]) -> Columns:
    """The batch's ``TcaExecutionResult`` rows as columns keyed by attname (``id`` aside)."""
    e = result.executions
    fm = {c: inputs.fill_meta[c].tolist() for c in ("trade_id", "order_id", "venue", "broker", "price", "quantity")}
    sp = e.spreads
    n = len(inputs.fills)
    horizons = {int(h): k for k, h in enumerate(e.markout_horizons_s)}

    def markout(h: int) -> list[float | None]:
        return _col(e.markouts_bps[:, horizons[h]]) if h in horizons else [None] * n

    return {
        "trade_id": [int(x) for x in fm["trade_id"]],
        "order_result_id": [result_pk[int(x)] for x in fm["order_id"]],
        "venue": [str(x) for x in fm["venue"]],
        "broker": [str(x) for x in fm["broker"]],
        "ts": _dt_col(inputs.fills.ts_us),
        "price": [Decimal(str(x)) for x in fm["price"]],
        "quantity": [Decimal(str(x)) for x in fm["quantity"]],
        "mid": _col(sp.mid),
        "bid": _col(sp.bid),
        "ask": _col(sp.ask),
        "effective_spread_bps": _col(sp.effective_spread_bps),
        "realised_spread_bps": _col(sp.realised_spread_bps),
        "spread_capture": _col(sp.spread_capture),
        "outside_quote": [bool(x) for x in np.asarray(sp.outside_quote).tolist()],
        "markout_1s_bps": markout(1),
        "markout_5s_bps": markout(5),
        "markout_60s_bps": markout(60),
        "markout_300s_bps": markout(300),
        "cost_arrival_bps": _col(e.cost_bps("arrival")),
        "cost_vwap_bps": _col(e.cost_bps("vwap")),
        "flags": [int(x) for x in np.asarray(e.flags).tolist()],
    }


def _copy_supported() -> bool:
    return connection.vendor == "postgresql"


def _upsert(model: type[Model], key: str, columns: Columns, update_fields: list[str]) -> dict[int, int]:
    """Insert or update the rows of ``columns`` on the unique ``key`` column; returns key -> id.

    PostgreSQL: COPY into a temporary staging table, then one ``INSERT ... SELECT ... ON CONFLICT
    (key) DO UPDATE`` (the rows of a batch are far too many for parameterised INSERTs to be quick).
    Other databases (the embedded SQLite default): ``bulk_create`` with ``update_conflicts``.
    Either way every column but the id is rewritten, ``computed_at`` (when the model has it) to now.
    """
    fields = {f.attname: f for f in model._meta.concrete_fields if f.attname != "id"}
    n = len(columns[key])
    if "computed_at" in fields:
        columns = {**columns, "computed_at": [timezone.now()] * n}
    names = list(fields)
    missing = set(names) - set(columns)
    assert not missing, f"no column for {sorted(missing)}"
    if n == 0:
        return {}
    if not _copy_supported():
        rows = [
            model(**dict(zip(names, values, strict=True))) for values in zip(*(columns[c] for c in names), strict=True)
        ]
        model._default_manager.bulk_create(
            rows, batch_size=500, update_conflicts=True, unique_fields=[fields[key].name], update_fields=update_fields
        )
        keys = columns[key]
        return dict(model._default_manager.filter(**{f"{key}__in": keys}).values_list(key, "id"))
    q = connection.ops.quote_name
    table, stage = q(model._meta.db_table), q(f"stage_{model._meta.db_table}")
    sql = {c: q(fields[c].column or c) for c in names}
    col_list = ", ".join(sql[c] for c in names)
    updates = ", ".join(f"{sql[c]} = EXCLUDED.{sql[c]}" for c in names if c != key)
    json_cols = [c for c in names if isinstance(fields[c], JSONField)]
    data = [columns[c] if c not in json_cols else [json.dumps(v) for v in columns[c]] for c in names]
    with connection.cursor() as cur:
        cur.execute(f"CREATE TEMP TABLE {stage} ON COMMIT DROP AS SELECT {col_list} FROM {table} WITH NO DATA")
        with connection.wrap_database_errors, cur.cursor.copy(f"COPY {stage} ({col_list}) FROM STDIN") as copy:
            for row in zip(*data, strict=True):
                copy.write_row(row)
        cur.execute(
            f"INSERT INTO {table} ({col_list}) SELECT {col_list} FROM {stage} "
            f"ON CONFLICT ({sql[key]}) DO UPDATE SET {updates} RETURNING {sql[key]}, id"
        )
        ids = {int(k): int(pk) for k, pk in cur.fetchall()}
        # Dropped now, not at commit: a run inside an outer transaction stores several batches.
        cur.execute(f"DROP TABLE {stage}")
    return ids


def _store(
    run: CalculationRun, inputs: TcaInputs, result: TcaResult, expected: Expected, margin_bps: float
) -> dict[str, int]:
    """Upsert the batch's results and raise its poor executions, in one transaction."""
    orders = _order_columns(run, inputs, result, expected, margin_bps)
    ids = orders["order_id"]
    with transaction.atomic():
        # An order keeps the alert it already raised: re-running does not raise it again.
        known_alerts = {
            oid: d.get("alert_id")
            for oid, d in TcaOrderResult.objects.filter(order_id__in=ids).values_list("order_id", "details")
            if d.get("alert_id")
        }
        for oid, details in zip(ids, orders["details"], strict=True):
            if oid in known_alerts:
                details["alert_id"] = known_alerts[oid]
        result_pk = _upsert(TcaOrderResult, "order_id", orders, _ORDER_FIELDS)
        executions = _execution_columns(inputs, result, result_pk)
        _upsert(TcaExecutionResult, "trade_id", executions, _EXEC_FIELDS)
        poor = [
            TcaOrderResult(id=result_pk[oid], **{c: v[i] for c, v in orders.items()})
            for i, oid in enumerate(ids)
            if orders["poor_execution"][i] and oid not in known_alerts
        ]
        raised = _raise_poor(run, inputs, poor)
    return {
        "orders": len(ids),
        "executions": len(executions["trade_id"]),
        "poor": sum(orders["poor_execution"]),
        "alerts_raised": raised,
    }


def _raise_poor(run: CalculationRun, inputs: TcaInputs, poor: list[TcaOrderResult]) -> int:
    """Raise the alerts of ``poor`` (unsaved copies of stored results, ids set) in one batch and
    record each alert's id in its result's ``details``."""
    if not poor:
        return 0
    ids = [r.order_id for r in poor]
    children: dict[int, list[int]] = {}
    for parent_id, child_id in Order.objects.filter(parent_id__in=ids).values_list("parent_id", "id"):
        children.setdefault(parent_id, []).append(child_id)
    fm = inputs.fill_meta
    trades = fm.groupby("order_id")["trade_id"].apply(list).to_dict() if len(fm) else {}
    accounts = Account.objects.in_bulk({r.account_id for r in poor})
    instruments = Instrument.objects.in_bulk({r.instrument_id for r in poor})
    for r in poor:
        r.account, r.instrument = accounts[r.account_id], instruments[r.instrument_id]
    # In the order results are listed (TcaOrderResult's ordering): alerts of one episode merge in it.
    poor.sort(key=lambda r: (r.arrival_ts, r.pk), reverse=True)
    margin = float(settings.TCA_POOR_MARGIN_BPS)
    alert_ids = poor_executions_alerts_raise(
        results=poor,
        order_ids={r.order_id: [r.order_id, *sorted(children.get(r.order_id, []))] for r in poor},
        trade_ids={r.order_id: sorted(int(t) for t in trades.get(r.order_id, [])) for r in poor},
        margin_bps=margin,
        run=run,
    )
    for r, alert_id in zip(poor, alert_ids, strict=True):
        r.details = {**r.details, "alert_id": alert_id}
    TcaOrderResult.objects.bulk_update(poor, ["details"], batch_size=1000)
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
