"""TCA benchmark: 100,000 parent orders against 10,000,000 ticks, in memory and from PostgreSQL.

    python -m bench.tca [--orders 100000] [--ticks 10000000] [--seed 7]
                        [--e2e-orders N] [--e2e-ticks N] [--no-docs] [--keep-database]

1. Engine: ``tca_speed_measure`` (``execution_quality.engine.synthetic``) generates the seeded
   market (quotes and prints on a random-walk mid, parent orders, child fills) and times
   ``tca_compute`` and the plain-pandas ``baseline_compute`` on the same inputs, best of three
   each, wall clock and process CPU; it also reports how far apart their answers are. Target:
   the engine under 3 s.
2. End to end: the market (``--e2e-orders`` × ``--e2e-ticks``, the engine's sizes by default)
   is written into the ``vigil_tca_bench`` database with COPY (not timed): instruments, a desk,
   one beneficial owner and its accounts, parent orders with their "new" and (when they stop
   before being filled) "cancel" events, one child order per child id of the fills, the fills
   as trades of the child orders, NBBO quotes, tape prints and daily bars. Then one TCA
   ``CalculationRun`` over every parent order (a window of arrival times) is executed in-process
   through the run body, ``tca_run_execute``: load from PostgreSQL, engine, expected costs,
   upsert of the order and execution results, poor executions raised into the surveillance
   queue, audit. The run body does not report its phases, so the benchmark wraps the run
   module's calls for the duration of the run to time them. The stored benchmarks are checked
   against the engine's on the in-memory market.
Figures go to the "tca" section of ``docs/benchmarks.md``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from bench import common

SECTION = "tca"
ENGINE_TARGET_S = 3.0
ACCOUNTS = 20
VENUES = np.array(["XNAS", "XNYS", "ARCX", "BATS", "IEXG", "EDGX"])  # engine venue codes 1..6
BROKERS = np.array(["BRK-ALPHA", "BRK-BETA", "BRK-GAMMA"])  # engine broker codes 1..3
#: Rows per COPY chunk: one chunk of 5·10⁵ quotes is ~40 MB of CSV text, so 10⁷ ticks stream
#: without holding the whole text in memory.


# ---------------------------------------------------------------------------- writing the market


def _whole_shares(order_id: np.ndarray, quantity: np.ndarray) -> np.ndarray:
    """Fill quantities rounded to whole shares, cumulatively within each order (fills grouped by
    order), so an order's fills still add up to its rounded total; some fills round to 0."""
    start = np.r_[True, order_id[1:] != order_id[:-1]]
    total = np.cumsum(quantity)
    seg = np.cumsum(start) - 1
    cum = np.round(total - (total - quantity)[start][seg])
    prev = np.r_[0.0, cum[:-1]]
    prev[start] = 0.0
    return (cum - prev).astype(np.int64)


def market_write(market: Any) -> dict[str, int]:
    """Write a ``TcaMarket`` into the (empty, migrated) database; returns rows written per table.

    Instrument code ``10·k`` becomes instrument id ``k``; parent order row ``i`` becomes order id
    ``i + 1``; child orders follow. Prices are written as generated (the database keeps 8
    decimals), fill quantities as whole shares.
    """
    from django.db import connection

    from portfolios.models import BeneficialOwner, Desk

    o, f, q, t, b = market.orders, market.fills, market.quotes, market.tape, market.bars
    desk = Desk.objects.create(code="TCA", name="TCA benchmark desk")
    owner = BeneficialOwner.objects.create(code="BO-TCA", name="TCA benchmark owner", kind="entity")
    n_inst = int(b.instrument.max() // 10)
    n_orders = len(o)
    parent_row = pd.Index(o.order_id).get_indexer(f.order_id)
    account = np.arange(n_orders) % ACCOUNTS + 1

    # Fills as whole shares; a fill that rounds to nothing is dropped.
    whole = _whole_shares(f.order_id, f.quantity)
    keep = whole > 0
    f_parent, f_qty = parent_row[keep], whole[keep]
    f_ts, f_child = f.ts_us[keep], f.child_order_id[keep]
    children, f_child_row = np.unique(f_child, return_inverse=True)
    child_parent = np.zeros(children.size, dtype=np.int64)
    child_parent[f_child_row] = f_parent
    child_arrival = np.full(children.size, np.iinfo(np.int64).max)
    np.minimum.at(child_arrival, f_child_row, f_ts)
    child_qty = np.bincount(f_child_row, weights=f_qty, minlength=children.size)
    child_id = n_orders + 1 + np.arange(children.size)

    # An order that stopped before it was filled has a cancel event at its end.
    last_fill = np.full(n_orders, -1, dtype=np.int64)
    np.maximum.at(last_fill, f_parent, f_ts)
    cancelled = np.flatnonzero(o.end_us > last_fill)

    # One quote per instrument and µs (the table's key); the last one wins, as in the engine's as-of lookups.
    q_last = np.r_[(q.instrument[1:] != q.instrument[:-1]) | (q.ts_us[1:] != q.ts_us[:-1]), True]

    side = np.where(o.side > 0, "buy", "sell")
    rows: dict[str, int] = {}
    with connection.cursor() as c:
        raw = c.cursor
        rows["instruments"] = common.equities_copy(
            raw, np.arange(1, n_inst + 1), np.char.add("TCA", np.arange(1, n_inst + 1).astype(str))
        )
        common.copy_rows(
            raw,
            "portfolios_account",
            {
                "id": np.arange(1, ACCOUNTS + 1),
                "code": np.char.add("TCA-ACC", np.arange(1, ACCOUNTS + 1).astype(str)),
                "name": "",
                "kind": "client",
                "owner_id": owner.pk,
                "desk_id": desk.pk,
            },
        )
        rows["parent orders"] = common.copy_rows(
            raw,
            "portfolios_order",
            {
                "id": np.arange(1, n_orders + 1),
                "client_order_id": np.char.add("P", o.order_id.astype(str)),
                "account_id": account,
                "instrument_id": o.instrument // 10,
                "side": side,
                "order_type": np.where(o.order_type == 1, "limit", "market"),
                "limit_price": np.where(o.order_type == 1, o.limit_price, np.nan),
                "quantity": o.quantity,
                "time_in_force": "day",
                "venue": "",
                "broker": "",
                "arrival_ts": o.arrival_us,
            },
            ts=("arrival_ts",),
        )
        rows["child orders"] = common.copy_rows(
            raw,
            "portfolios_order",
            {
                "id": child_id,
                "client_order_id": np.char.add("C", children.astype(str)),
                "parent_id": child_parent + 1,
                "account_id": account[child_parent],
                "instrument_id": o.instrument[child_parent] // 10,
                "side": side[child_parent],
                "order_type": "market",
                "limit_price": np.full(children.size, np.nan),
                "quantity": child_qty,
                "time_in_force": "day",
                "venue": "",
                "broker": "",
                "arrival_ts": child_arrival,
            },
            ts=("arrival_ts",),
        )
        rows["order events"] = common.copy_rows(
            raw,
            "portfolios_orderevent",
            {
                "order_id": np.r_[np.arange(1, n_orders + 1), cancelled + 1],
                "sequence": np.r_[np.ones(n_orders, np.int64), np.full(cancelled.size, 2)],
                "event_type": np.r_[np.full(n_orders, "new"), np.full(cancelled.size, "cancel")],
                "ts": np.r_[o.arrival_us, o.end_us[cancelled]],
                "price": np.full(n_orders + cancelled.size, np.nan),
                "quantity": np.full(n_orders + cancelled.size, np.nan),
                "reason": "",
            },
            ts=("ts",),
        )
        rows["fills (trades)"] = common.copy_rows(
            raw,
            "portfolios_trade",
            {
                "trade_id": np.char.add("X", f.execution_id[keep].astype(str)),
                "order_id": child_id[f_child_row],
                "account_id": account[f_parent],
                "instrument_id": f.instrument[keep] // 10,
                "side": side[f_parent],
                "price": f.price[keep],
                "quantity": f_qty,
                "venue": VENUES[f.venue[keep] - 1],
                "broker": BROKERS[f.broker[keep] - 1],
                "commission": np.round(np.maximum(f.fee[keep], 0.0), 4),
                "ts": f_ts,
            },
            ts=("ts",),
        )
        rows["quotes"] = common.copy_rows(
            raw,
            "portfolios_quote",
            {
                "instrument_id": q.instrument[q_last] // 10,
                "ts": q.ts_us[q_last],
                "venue": "NBBO",
                "bid": q.bid[q_last],
                "ask": q.ask[q_last],
                "bid_size": 100,
                "ask_size": 100,
            },
            ts=("ts",),
        )
        rows["tape prints"] = common.copy_rows(
            raw,
            "portfolios_markettrade",
            {
                "instrument_id": t.instrument // 10,
                "ts": t.ts_us,
                "venue": VENUES[np.arange(len(t)) % VENUES.size],
                "tape_id": np.char.add("T", np.arange(len(t)).astype(str)),
                "price": t.price,
                "quantity": t.quantity,
            },
            ts=("ts",),
        )
        rows["daily bars"] = common.copy_rows(
            raw,
            "portfolios_pricebar",
            {
                "instrument_id": b.instrument // 10,
                "date": np.datetime_as_string(b.day.astype("datetime64[D]")),
                "open": b.open,
                "close": b.close,
                "adj_close": b.close,
                "volume": np.round(b.volume).astype(np.int64),
                "source": "synthetic",
            },
        )
        common.sequences_reset(c, ("portfolios_instrument", "portfolios_account", "portfolios_order"))
        c.execute("ANALYZE")  # fresh statistics, as autovacuum would give a table loaded long ago
    return rows


# ---------------------------------------------------------------------------- timing the run


@dataclass
class Phase:
    calls: int = 0
    wall_s: float = 0.0
    cpu_s: float = 0.0


@contextmanager
def phases_timed(module: Any, names: dict[str, str]) -> Iterator[dict[str, Phase]]:
    """Wrap ``module.<attr>`` for each ``attr -> label`` of ``names`` with a timer while inside.

    A nested phase (the alerts are raised inside the store) is subtracted from its parent's
    time, so the phases add up to the run's time less what they do not cover.
    """
    phases = {label: Phase() for label in names.values()}
    stack: list[list[float]] = []  # per active call: [wall, cpu] spent in nested phases
    originals = {attr: getattr(module, attr) for attr in names}

    def wrap(label: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def timed_call(*args: Any, **kwargs: Any) -> Any:
            wall, cpu = time.perf_counter(), time.process_time()
            stack.append([0.0, 0.0])
            try:
                return fn(*args, **kwargs)
            finally:
                inner = stack.pop()
                dw, dc = time.perf_counter() - wall, time.process_time() - cpu
                p = phases[label]
                p.calls += 1
                p.wall_s += dw - inner[0]
                p.cpu_s += dc - inner[1]
                if stack:
                    stack[-1][0] += dw
                    stack[-1][1] += dc

        return timed_call

    for attr, label in names.items():
        setattr(module, attr, wrap(label, originals[attr]))
    try:
        yield phases
    finally:
        for attr, fn in originals.items():
            setattr(module, attr, fn)


@dataclass
class E2E:
    orders: int
    fills: int
    ticks: int
    rows: dict[str, int]
    write_s: float
    wall_s: float
    cpu_s: float
    pg_cpu_s: float | None
    phases: dict[str, Phase]
    summary: dict[str, Any]
    max_rel_diff_price: float = float("nan")  # stored vs in-memory engine: arrival, VWAP, TWAP


def e2e_measure(market: Any, url: str) -> tuple[float, dict[str, Any], dict[str, Phase], float, float | None]:
    """Execute one TCA run over every parent order; (wall s, summary, phases, CPU s, PostgreSQL CPU s)."""
    from datetime import UTC, datetime

    from django.contrib.auth.models import User

    from core.models import CalculationRun
    from execution_quality.services import runs

    o = market.orders
    since = datetime.fromtimestamp(int(o.arrival_us.min()) / 1e6, tz=UTC)
    until = datetime.fromtimestamp((int(o.arrival_us.max()) + 1) / 1e6, tz=UTC)
    user = User.objects.create_superuser("bench", "bench@example.org", None)
    # As tca_run_create records it (superuser: every desk), without dispatching a task.
    run = CalculationRun.objects.create(
        kind=runs.KIND,
        user=user,
        queue=runs.QUEUE,
        parameters={"desk_ids": None, "mode": "window", "since": since.isoformat(), "until": until.isoformat()},
    )
    names = {
        "_parent_ids": "find orders",
        "tca_inputs_load": "load",
        "tca_compute": "compute",
        "_expected": "expected costs",
        "_store": "store results",
        "_raise_poor": "raise alerts",
        "audit_record": "audit",
    }
    pg = common.PostgresCpu(url)
    pg_before = pg()
    with phases_timed(runs, names) as phases:
        wall, cpu = time.perf_counter(), time.process_time()
        summary = runs.tca_run_execute(run=run, progress=lambda pct, msg: None)
        wall_s, cpu_s = time.perf_counter() - wall, time.process_time() - cpu
    pg_after = pg()
    pg_cpu = None if pg_before is None or pg_after is None else pg_after - pg_before
    return wall_s, summary, phases, cpu_s, pg_cpu


def e2e_check(market: Any) -> float:
    """Largest relative difference between the stored arrival/VWAP/TWAP and the engine's on the
    in-memory market (parent row ``i`` is order id ``i + 1``)."""
    from execution_quality.engine.compute import tca_compute
    from execution_quality.models import TcaOrderResult

    m = market
    b = tca_compute(fills=m.fills, orders=m.orders, quotes=m.quotes, tape=m.tape, bars=m.bars).orders.benchmarks
    stored = pd.DataFrame(
        list(TcaOrderResult.objects.values_list("order_id", "arrival_price", "vwap", "twap")),
        columns=["order_id", "arrival_price", "vwap", "twap"],
    ).set_index("order_id")
    stored = stored.reindex(np.arange(1, len(m.orders) + 1)).astype(np.float64)
    engine = np.column_stack((b.arrival_price, b.vwap, b.twap))
    with np.errstate(invalid="ignore", divide="ignore"):
        rel = np.abs(stored.to_numpy() - engine) / np.abs(engine)
    both_nan = np.isnan(stored.to_numpy()) & np.isnan(engine)
    rel[both_nan] = 0.0
    return float(np.nanmax(np.where(np.isnan(rel), np.inf, rel)))


# ---------------------------------------------------------------------------- results


@dataclass
class Results:
    speed: Any  # execution_quality.engine.synthetic.TcaSpeed
    e2e: E2E
    e2e_reduced: bool
    load_avg: float
    seed: int

    @property
    def ratio_wall(self) -> float:
        return self.speed.baseline_s / self.speed.engine_s

    @property
    def ratio_cpu(self) -> float:
        return self.speed.baseline_cpu_s / self.speed.engine_cpu_s

    def phase_rows(self) -> list[tuple[str, Phase]]:
        e = self.e2e
        covered = sum(p.wall_s for p in e.phases.values())
        covered_cpu = sum(p.cpu_s for p in e.phases.values())
        rest = Phase(calls=1, wall_s=max(0.0, e.wall_s - covered), cpu_s=max(0.0, e.cpu_s - covered_cpu))
        return [*e.phases.items(), ("other (progress, run bookkeeping)", rest)]

    def summary(self) -> str:
        s, e = self.speed, self.e2e
        lines = [
            f"market: {s.orders:,} parent orders, {s.fills:,} fills, {s.quotes:,} quotes + {s.prints:,} prints "
            f"(generated in {s.generate_s:.1f} s); load average {self.load_avg:.1f} at start",
            f"engine tca_compute, best of 3: {s.engine_s:.3f} s wall, {s.engine_cpu_s:.3f} s CPU "
            f"(target < {ENGINE_TARGET_S:.0f} s)",
            f"pandas baseline_compute, best of 3: {s.baseline_s:.3f} s wall, {s.baseline_cpu_s:.3f} s CPU",
            f"baseline / engine: {self.ratio_wall:.2f}x wall, {self.ratio_cpu:.2f}x CPU",
            f"max difference engine vs baseline: {s.max_abs_diff_bps:.2e} bps, "
            f"{s.max_rel_diff_price:.2e} relative price",
        ]
        if self.e2e_reduced:
            lines.append(
                f"NOTE: end to end at a reduced size: {e.orders:,} orders, {e.ticks:,} ticks (--e2e-orders/--e2e-ticks)"
            )
        rows = ", ".join(f"{n} {k:,}" for n, k in e.rows.items())
        lines += [
            f"written to PostgreSQL with COPY in {e.write_s:.1f} s (not timed): {rows}",
            f"end to end from PostgreSQL, one run over {e.summary.get('orders', 0):,} orders "
            f"({e.summary.get('executions', 0):,} executions): {e.wall_s:.2f} s = {e.orders / e.wall_s:,.0f} orders/s; "
            f"CPU {e.cpu_s:.2f} s Python" + (f" + {e.pg_cpu_s:.2f} s PostgreSQL" if e.pg_cpu_s is not None else ""),
        ]
        lines += [
            f"  {label:<34} {p.wall_s:8.2f} s wall {p.cpu_s:8.2f} s CPU  ({p.calls} calls)"
            for label, p in self.phase_rows()
        ]
        lines.append(
            f"stored vs in-memory engine (arrival, VWAP, TWAP): max relative difference {e.max_rel_diff_price:.2e}; "
            f"{e.summary.get('poor', 0):,} poor executions, {e.summary.get('alerts_raised', 0):,} alerts raised"
        )
        return "\n".join(lines)


def report_markdown(r: Results, machine: common.Machine, argv: str) -> str:
    s, e = r.speed, r.e2e
    phases = "\n".join(f"| {label} | {p.calls} | {p.wall_s:.2f} s | {p.cpu_s:.2f} s |" for label, p in r.phase_rows())
    met = "met" if s.engine_s < ENGINE_TARGET_S else "**not met**"
    reduced = (
        f"\n**The end-to-end run used a reduced market ({e.orders:,} orders, {e.ticks:,} ticks)**; the engine "
        "figures are at full size.\n"
        if r.e2e_reduced
        else ""
    )
    pg = f" + {e.pg_cpu_s:.1f} s PostgreSQL" if e.pg_cpu_s is not None else ""
    written = ", ".join(f"{k:,} {n}" for n, k in e.rows.items())
    table = "\n".join(
        [
            "| measure | wall clock | CPU | target | ratio |",
            "| --- | ---: | ---: | --- | --- |",
            f"| engine `tca_compute`, every order and execution figure (best of 3) | {s.engine_s:.2f} s "
            f"| {s.engine_cpu_s:.2f} s | < {ENGINE_TARGET_S:.0f} s: {met} "
            f"| {ENGINE_TARGET_S / s.engine_s:.1f}× under target |",
            f"| pandas `baseline_compute`, arrival/VWAP/TWAP and slippage only (best of 3) | {s.baseline_s:.2f} s "
            f"| {s.baseline_cpu_s:.2f} s | — "
            f"| baseline / engine: **{r.ratio_wall:.1f}×** wall, **{r.ratio_cpu:.1f}×** CPU |",
            f"| end to end from PostgreSQL, one TCA run ({e.orders:,} orders, {e.ticks:,} ticks) "
            f"| {e.wall_s:.1f} s = **{e.orders / e.wall_s:,.0f} orders/s** | {e.cpu_s:.1f} s Python{pg} | — | — |",
        ]
    )
    return f"""## TCA ({common.now_utc()})

Measured by `{argv}`.
Machine: {machine.as_markdown()} The 1-minute load average was {r.load_avg:.1f} when the run started
(other work shares the machine: CPU seconds move much less than wall-clock seconds).

Synthetic market (`tca_market_generate`, seed {r.seed}): {s.orders:,} parent orders, {s.fills:,} fills,
{s.quotes:,} quotes and {s.prints:,} prints in one session.

{table}

Engine and baseline agree to {s.max_abs_diff_bps:.1e} bps (costs against arrival, VWAP and TWAP) and
{s.max_rel_diff_price:.1e} relative (the benchmark prices).
{reduced}
End to end: the market was written with COPY in {e.write_s:.0f} s (not timed): {written}.
One `CalculationRun` (window of arrival times, every desk) executed in-process by `tca_run_execute`
stored {e.summary.get("orders", 0):,} order results and {e.summary.get("executions", 0):,} execution
results, found {e.summary.get("poor", 0):,} poor executions (expected cost: {e.summary.get("expected_basis", "")})
and raised {e.summary.get("alerts_raised", 0):,} alerts. Its stored arrival, VWAP and TWAP match the
engine on the in-memory market to {e.max_rel_diff_price:.1e} relative (quotes sharing a microsecond keep
the last; fills are whole shares). Phases (timed by wrapping the run module's calls):

| phase | calls | wall clock | CPU (Python) |
| --- | ---: | ---: | ---: |
{phases}
"""


# ---------------------------------------------------------------------------- main


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.tca", description=__doc__.split("\n")[0])
    p.add_argument("--orders", type=int, default=100_000, help="parent orders for the engine measure")
    p.add_argument("--ticks", type=int, default=10_000_000, help="quotes + prints for the engine measure")
    p.add_argument("--e2e-orders", type=int, default=None, help="parent orders in PostgreSQL (default: --orders)")
    p.add_argument("--e2e-ticks", type=int, default=None, help="ticks in PostgreSQL (default: --ticks)")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--database", default="vigil_tca_bench")
    p.add_argument("--keep-database", action="store_true")
    p.add_argument("--no-docs", action="store_true")
    p.add_argument("--docs", type=common.Path, default=common.DOCS_PATH)
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse(argv)
    e2e_orders = args.e2e_orders or args.orders
    e2e_ticks = args.e2e_ticks or args.ticks
    load_avg = os.getloadavg()[0]
    from execution_quality.engine.synthetic import tca_market_generate, tca_speed_measure

    print(f"engine: {args.orders:,} orders, {args.ticks:,} ticks, best of 3 ...", flush=True)
    speed = tca_speed_measure(seed=args.seed, orders=args.orders, ticks=args.ticks, repeats=3)
    print(f"engine {speed.engine_s:.3f} s, baseline {speed.baseline_s:.3f} s", flush=True)

    url = common.database_url(args.database)
    print(f"setting up {args.database} ...", flush=True)
    common.database_recreate(url)
    env = common.django_env(url)
    try:
        common.manage("migrate", "--noinput", env=env)
        from bench.ingest import django_setup

        django_setup(url)
        market = tca_market_generate(args.seed, e2e_orders, e2e_ticks)
        write_began = time.perf_counter()
        rows = market_write(market)
        write_s = time.perf_counter() - write_began
        print(f"written to PostgreSQL in {write_s:.1f} s", flush=True)
        wall_s, summary, phases, cpu_s, pg_cpu_s = e2e_measure(market, url)
        print(f"end to end {wall_s:.1f} s", flush=True)
        e2e = E2E(
            orders=len(market.orders),
            fills=len(market.fills),
            ticks=len(market.quotes) + len(market.tape),
            rows=rows,
            write_s=write_s,
            wall_s=wall_s,
            cpu_s=cpu_s,
            pg_cpu_s=pg_cpu_s,
            phases=phases,
            summary=summary,
        )
        e2e.max_rel_diff_price = e2e_check(market)
        machine = common.machine_info(url)
    finally:
        if "django.db" in sys.modules:
            from django.db import connections

            connections.close_all()
        if not args.keep_database:
            common.database_drop(url)
    results = Results(
        speed=speed,
        e2e=e2e,
        e2e_reduced=(e2e_orders, e2e_ticks) != (args.orders, args.ticks),
        load_avg=load_avg,
        seed=args.seed,
    )
    print(results.summary())
    if not args.no_docs:
        argv_text = " ".join(["python -m bench.tca", *(argv if argv is not None else sys.argv[1:])])
        common.section_write(name=SECTION, body=report_markdown(results, machine, argv_text), path=args.docs)
        print(f"wrote section '{SECTION}' of {args.docs}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
