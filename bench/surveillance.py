"""Surveillance benchmark: all detectors over ~1,000,000 order events, in memory and from PostgreSQL.

    python -m bench.surveillance [--days 20] [--instruments 10] [--seed 7] [--no-docs] [--keep-database]

1. Generate a seeded market with the scenario generator (``surveillance.engine.scenarios``):
   background flow of ordinary clients, a market maker, proprietary traders and employees, with
   labelled abuse episodes, about 5,000 order events per instrument-session.
2. Engine: the seven rule detectors (``detect_all``) over the whole market in memory, best of
   three; events/s against the target of 1,000,000 events/s. Each detector is timed on its own.
3. Anomalies: behavioural features, the PyOD ranking and SHAP (TreeExplainer on the Isolation
   Forest) for the top 100 rows, timed on its own (target under 1 s).
4. End to end: the market is written into the ``vigil_surveillance_bench`` database (COPY, not
   timed), then one sweep ``CalculationRun`` is executed in-process — load from PostgreSQL,
   detectors, anomalies, alerts stored, action ranking, audit — and timed (target ≥ 200,000
   events/s).
Figures go to the "surveillance" section of ``docs/benchmarks.md``.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from bench import common

SECTION = "surveillance"
ENGINE_TARGET_EPS = 1_000_000
E2E_TARGET_EPS = 200_000
SHAP_TARGET_S = 1.0
SHAP_TOP_K = 100
T = TypeVar("T")


def timed(fn: Callable[[], T], repeats: int = 1) -> tuple[float, T]:
    """Best wall time of ``repeats`` calls and the last result."""
    best, out = float("inf"), None
    for _ in range(repeats):
        began = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - began)
    return best, out  # type: ignore[return-value]


def _copy(cursor: Any, table: str, frame: pd.DataFrame) -> None:
    common.copy_rows(cursor, table, {c: frame[c] for c in frame.columns})


def market_write(gen: Any) -> None:
    """Write a generated market into the (empty, migrated) database with the generator's ids."""
    from django.db import connection

    from portfolios.models import Desk

    d = gen.data
    kinds = np.array(["client", "proprietary", "market_maker"])
    event_names = np.array(["new", "replace", "cancel", "partial_fill", "fill", "reject"])
    desk = Desk.objects.create(code="SURV", name="Surveillance benchmark desk")
    acc = d.accounts
    owners = pd.DataFrame({"owner": acc.owner, "employee": acc.is_employee}).groupby("owner")["employee"].any()
    o = d.orders
    first = pd.DataFrame(
        {
            "order_id": o.order_id,
            "account": o.account,
            "instrument": o.instrument,
            "side": o.side,
            "ts": o.ts_us,
            "price": o.price,
            "qty": o.order_quantity,
            "kind": o.kind,
        }
    )
    new = first[first["kind"] == 0].drop_duplicates("order_id")
    seq = pd.Series(np.arange(len(o)), dtype="int64").groupby(o.order_id).cumcount().to_numpy() + 1
    quantity = np.where(o.kind == 2, np.nan, o.quantity)
    price = np.where(np.isin(o.kind, [0, 1, 3, 4]), o.price, np.nan)
    t, q, tape, news, bars = d.trades, d.quotes, d.tape, d.news, d.bars
    instruments = sorted(set(o.instrument.tolist()) | set(q.instrument.tolist()) | set(bars.instrument.tolist()))
    with connection.cursor() as c:
        raw = c.cursor
        common.equities_copy(
            raw, [i + 1 for i in instruments], [gen.instrument_symbols.get(i, f"S{i}") for i in instruments]
        )
        _copy(
            raw,
            "portfolios_beneficialowner",
            pd.DataFrame(
                {
                    "id": owners.index + 1,
                    "code": [f"BO{k}" for k in owners.index],
                    "name": [f"Owner {k}" for k in owners.index],
                    "kind": "person",
                    "is_employee": owners.to_numpy(),
                }
            ),
        )
        _copy(
            raw,
            "portfolios_account",
            pd.DataFrame(
                {
                    "id": acc.account_id + 1,
                    "code": [gen.account_codes.get(int(a), f"A{a}") for a in acc.account_id],
                    "name": "",
                    "kind": kinds[acc.kind],
                    "owner_id": acc.owner + 1,
                    "desk_id": desk.pk,
                }
            ),
        )
        head = pd.Series(acc.account_id).groupby(acc.group).transform("min").to_numpy()
        linked = (head != acc.account_id) & (acc.owner != acc.owner[np.searchsorted(acc.account_id, head)])
        pairs = np.concatenate(
            [np.c_[acc.account_id[linked], head[linked]], np.c_[head[linked], acc.account_id[linked]]]
        )
        _copy(
            raw,
            "portfolios_account_linked_accounts",
            pd.DataFrame({"from_account_id": pairs[:, 0] + 1, "to_account_id": pairs[:, 1] + 1}),
        )
        _copy(
            raw,
            "portfolios_order",
            pd.DataFrame(
                {
                    "id": new["order_id"] + 1,
                    "client_order_id": "O" + new["order_id"].astype(str),
                    "side": np.where(new["side"] > 0, "buy", "sell"),
                    "order_type": np.where(new["price"].notna(), "limit", "market"),
                    "limit_price": new["price"],
                    "quantity": new["qty"],
                    "time_in_force": "day",
                    "venue": "XNAS",
                    "broker": "",
                    "arrival_ts": common.ts_text(new["ts"].to_numpy()),
                    "account_id": new["account"] + 1,
                    "instrument_id": new["instrument"] + 1,
                }
            ),
        )
        _copy(
            raw,
            "portfolios_orderevent",
            pd.DataFrame(
                {
                    "order_id": o.order_id + 1,
                    "sequence": seq,
                    "event_type": event_names[o.kind],
                    "ts": common.ts_text(o.ts_us),
                    "price": price,
                    "quantity": quantity,
                    "reason": "",
                }
            ),
        )
        _copy(
            raw,
            "portfolios_trade",
            pd.DataFrame(
                {
                    "id": t.trade_id + 1,
                    "trade_id": "T" + pd.Series(t.trade_id).astype(str),
                    "order_id": pd.Series(t.order_id + 1, dtype="Int64").where(t.order_id >= 0),
                    "account_id": t.account + 1,
                    "counterparty_account_id": pd.Series(t.counterparty + 1, dtype="Int64").where(t.counterparty >= 0),
                    "instrument_id": t.instrument + 1,
                    "side": np.where(t.side > 0, "buy", "sell"),
                    "price": t.price,
                    "quantity": t.quantity,
                    "venue": "XNAS",
                    "broker": "",
                    "commission": 0,
                    "ts": common.ts_text(t.ts_us),
                }
            ),
        )
        _copy(
            raw,
            "portfolios_quote",
            pd.DataFrame(
                {
                    "instrument_id": q.instrument + 1,
                    "ts": common.ts_text(q.ts_us),
                    "venue": "NBBO",
                    "bid": q.bid,
                    "ask": q.ask,
                    "bid_size": q.bid_size,
                    "ask_size": q.ask_size,
                }
            ),
        )
        _copy(
            raw,
            "portfolios_markettrade",
            pd.DataFrame(
                {
                    "instrument_id": tape.instrument + 1,
                    "ts": common.ts_text(tape.ts_us),
                    "venue": "XNAS",
                    "tape_id": "P" + pd.Series(np.arange(len(tape))).astype(str),
                    "price": tape.price,
                    "quantity": tape.quantity,
                }
            ),
        )
        _copy(
            raw,
            "portfolios_marketevent",
            pd.DataFrame(
                {
                    "instrument_id": news.instrument + 1,
                    "ts": common.ts_text(news.ts_us),
                    "event_type": "news",
                    "headline": "[synthetic] news",
                    "price_sensitive": news.price_sensitive,
                }
            ),
        )
        _copy(
            raw,
            "portfolios_pricebar",
            pd.DataFrame(
                {
                    "instrument_id": bars.instrument + 1,
                    "date": np.datetime_as_string(bars.day.astype("datetime64[D]")),
                    "close": bars.close,
                    "adj_close": bars.close,
                    "volume": pd.array(np.nan_to_num(bars.volume).astype(np.int64), dtype="Int64"),
                    "source": "synthetic",
                }
            ),
        )
        common.sequences_reset(
            c,
            [
                f"portfolios_{t}"
                for t in (
                    "instrument",
                    "beneficialowner",
                    "account",
                    "order",
                    "orderevent",
                    "trade",
                    "quote",
                    "markettrade",
                    "marketevent",
                    "pricebar",
                )
            ],
        )
        # Fresh statistics, as autovacuum would give a table after a bulk load: without them the
        # planner expects a few hundred events and nests loops over a million.
        c.execute("ANALYZE")


@dataclass
class Results:
    events: int
    orders: int
    trades: int
    generate_s: float
    engine_s: float
    per_detector_s: dict[str, float]
    detections: int
    features_s: float
    anomaly_s: float
    shap_s: float
    feature_rows: int
    write_s: float
    e2e_s: float
    e2e_result: dict[str, Any]

    def summary(self) -> str:
        lines = [
            f"market: {self.events:,} order events, {self.orders:,} orders, {self.trades:,} trades "
            f"(generated in {self.generate_s:.1f} s)",
            f"engine, 7 detectors: {self.engine_s:.3f} s = {self.events / self.engine_s:,.0f} events/s "
            f"(target {ENGINE_TARGET_EPS:,}); {self.detections} detections",
        ]
        lines += [f"  {name:<16} {s:.3f} s" for name, s in self.per_detector_s.items()]
        lines += [
            f"anomalies: features {self.features_s:.2f} s over {self.feature_rows:,} account-days, "
            f"ranking {self.anomaly_s:.2f} s, SHAP top {SHAP_TOP_K} {self.shap_s:.3f} s (target < {SHAP_TARGET_S} s)",
            f"end to end from PostgreSQL: {self.e2e_s:.2f} s = {self.events / self.e2e_s:,.0f} events/s "
            f"(target {E2E_TARGET_EPS:,}); written in {self.write_s:.1f} s (not timed)",
        ]
        return "\n".join(lines)


def engine_measure(gen: Any) -> tuple[float, dict[str, float], int]:
    from surveillance.engine.detectors import DETECTORS, detect_all
    from surveillance.engine.params import params_clean

    engine_s, detections = timed(lambda: detect_all(gen.data), repeats=3)
    per = {}
    for name, spec in DETECTORS.items():
        params = params_clean(spec, None)
        per[name], _ = timed(lambda spec=spec, params=params: spec.run(gen.data, params), repeats=3)
    return engine_s, per, len(detections)


def anomaly_measure(gen: Any) -> tuple[float, float, float, int]:
    from surveillance.engine.anomaly import anomalies_rank, iforest_shap
    from surveillance.engine.features import behaviour_features

    features_s, table = timed(lambda: behaviour_features(gen.data))
    anomaly_s, result = timed(lambda: anomalies_rank(table, top_k=SHAP_TOP_K, seed=7))
    rows = result.model_input[result.top_rows]
    shap_s, _ = timed(lambda: iforest_shap(result.iforest, rows), repeats=3)
    return features_s, anomaly_s, shap_s, len(table.account)


def e2e_measure(gen: Any) -> tuple[float, dict[str, Any]]:
    from datetime import UTC, datetime

    from django.contrib.auth.models import User

    from core.models import CalculationRun
    from surveillance.services.runs import KIND_SWEEP, surveillance_run_execute

    o = gen.data.orders
    since = datetime.fromtimestamp(int(o.ts_us.min()) / 1e6, tz=UTC)
    until = datetime.fromtimestamp((int(o.ts_us.max()) + 1) / 1e6, tz=UTC)
    user = User.objects.create_superuser("bench", "bench@example.org", None)
    run = CalculationRun.objects.create(
        kind=KIND_SWEEP,
        user=user,
        parameters={"since": since.isoformat(), "until": until.isoformat(), "instrument_ids": None},
    )
    return timed(lambda: surveillance_run_execute(run=run, progress=lambda pct, msg: None))


def report_markdown(r: Results, machine: common.Machine) -> str:
    rows = "\n".join(f"| {name} | {s * 1000:.0f} ms | {r.events / s:,.0f} |" for name, s in r.per_detector_s.items())
    e2e = r.e2e_result
    engine_eps, e2e_eps = r.events / r.engine_s, r.events / r.e2e_s
    summary = "\n".join(
        [
            f"| engine, all 7 detectors (best of 3) | {r.engine_s:.3f} s = {engine_eps:,.0f} events/s "
            f"| ≥ {ENGINE_TARGET_EPS:,} events/s | {engine_eps / ENGINE_TARGET_EPS:.2f} |",
            f"| end to end from PostgreSQL (load, detect, anomalies, store, rank, audit) | {r.e2e_s:.2f} s = "
            f"{e2e_eps:,.0f} events/s | ≥ {E2E_TARGET_EPS:,} events/s | {e2e_eps / E2E_TARGET_EPS:.2f} |",
            f"| SHAP for the top {SHAP_TOP_K} anomalies (TreeExplainer, best of 3) | {r.shap_s * 1000:.0f} ms "
            f"| < {SHAP_TARGET_S:.0f} s | {SHAP_TARGET_S / r.shap_s:.1f}× faster |",
        ]
    )
    return f"""## Surveillance ({common.now_utc()})

{machine.as_markdown()}

Market from the scenario generator (seed fixed): {r.events:,} order events of {r.orders:,} orders,
{r.trades:,} trades, with labelled abuse episodes. `python -m bench.surveillance`.

| measure | result | target | ratio to target |
| --- | --- | --- | --- |
{summary}

Per detector (best of 3):

| detector | time | events/s |
| --- | --- | --- |
{rows}

Anomaly path: behavioural features {r.features_s:.2f} s over {r.feature_rows:,} account-instrument-days; PyOD
Isolation Forest + ECOD ranking with SHAP {r.anomaly_s:.2f} s. The end-to-end run stored
{e2e.get("alerts_created", 0)} alerts from {sum(e2e.get("detections", {}).values())} detections.
"""


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.surveillance", description=__doc__.split("\n")[0])
    p.add_argument("--days", type=int, default=20)
    p.add_argument("--instruments", type=int, default=10)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--database", default="vigil_surveillance_bench")
    p.add_argument("--keep-database", action="store_true")
    p.add_argument("--no-docs", action="store_true")
    p.add_argument("--docs", type=common.Path, default=common.DOCS_PATH)
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse(argv)
    url = common.database_url(args.database)
    print(f"setting up {args.database} ...", flush=True)
    common.database_recreate(url)
    env = common.django_env(url)
    try:
        common.manage("migrate", "--noinput", env=env)
        from bench.ingest import django_setup

        django_setup(url)
        from surveillance.engine.scenarios import market_generate

        generate_s, gen = timed(lambda: market_generate(seed=args.seed, days=args.days, instruments=args.instruments))
        print(f"generated {len(gen.data.orders):,} order events in {generate_s:.1f} s", flush=True)
        engine_s, per, n_detections = engine_measure(gen)
        features_s, anomaly_s, shap_s, feature_rows = anomaly_measure(gen)
        write_s, _ = timed(lambda: market_write(gen))
        print(f"written to PostgreSQL in {write_s:.1f} s", flush=True)
        e2e_s, e2e_result = e2e_measure(gen)
        machine = common.machine_info(url)
    finally:
        if "django.db" in sys.modules:
            from django.db import connections

            connections.close_all()
        if not args.keep_database:
            common.database_drop(url)
    results = Results(
        events=len(gen.data.orders),
        orders=gen.orders_count,
        trades=len(gen.data.trades),
        generate_s=generate_s,
        engine_s=engine_s,
        per_detector_s=per,
        detections=n_detections,
        features_s=features_s,
        anomaly_s=anomaly_s,
        shap_s=shap_s,
        feature_rows=feature_rows,
        write_s=write_s,
        e2e_s=e2e_s,
        e2e_result=e2e_result,
    )
    print(results.summary())
    if not args.no_docs:
        common.section_write(name=SECTION, body=report_markdown(results, machine), path=args.docs)
        print(f"wrote section '{SECTION}' of {args.docs}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
