"""The load test's database: the demo, a million trades and ten thousand alerts, and its people.

The database (``vigil_load`` by default) is kept between runs: seeding it takes minutes, a
load run five. Each demo step is recorded in a table of its own (``bench_load_setup``, outside
Django's models) once it succeeded, and the bulk rows are topped up to their target counts, so
a second run only migrates and refreshes the people; an interrupted first run resumes.

Bulk rows are written with PostgreSQL COPY, with consistent foreign keys:

- **Trades** are fills of **orders** (``FILLS_PER_ORDER`` each) in the demo's 20 stocks, in the
  demo firm's accounts, on real trading days before the demo's intraday window, at the day's
  real close with a little noise, inside the regular session. Codes ``LOAD-O<id>`` and
  ``LOAD-T<id>``. The demo's intraday generator is calibrated for a dozen days of ~300 fills;
  a million fills need this simpler, vectorised draw.
- **Alerts** each point at one of those orders: its account, desk, instrument and time window,
  with the order and its trades as evidence; most open, some closed with an outcome.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import numpy as np
import pandas as pd
import psycopg

from bench import common

SETUP_TABLE = "bench_load_setup"
DEMO_STEPS: tuple[tuple[str, ...], ...] = (
    ("load_demo",),
    ("risk_demo_setup",),
    ("surveillance_demo_setup",),
    ("wealth_demo_setup",),
)
FILLS_PER_ORDER = 4
HISTORY_FROM = "2021-01-01"  # bulk fills are spread over the real trading days from here ...
SESSION_OPEN_US = int(14.5 * 3600 * 1e6)  # 09:30 New York in winter, as the demo's session
SESSION_US = int(6.5 * 3600 * 1e6)
VENUES = np.array(["XNAS", "XNYS", "ARCX", "BATS", "IEXG"])
BROKERS = np.array(["BRKA", "BRKB", "BRKC"])
COMMISSION_PER_SHARE = {"client": 0.005, "proprietary": 0.002, "market_maker": 0.0}  # as the demo
ALERT_SCENARIOS = np.array(
    ["spoofing", "layering", "wash_trades", "marking_close", "insider_dealing", "pump_dump", "front_running", "anomaly"]
)
ALERT_STATES = np.array(["new", "in_review", "escalated", "closed"])
ALERT_STATE_SHARES = (0.6, 0.15, 0.05, 0.2)
BROWSER_ROLES = ("risk_officer", "compliance_analyst", "compliance_supervisor", "wealth_advisor", "auditor")
PEOPLE_PER_ROLE = 12  # distinct logins per role; locust users beyond that share one
OMS_CLIENTS = 16  # one API key each: DRF's per-user throttle is per key's user


@dataclass
class SeedReport:
    """What the set-up did and how long each part took (seconds); skipped parts are absent."""

    steps_s: dict[str, float] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)

    @property
    def total_s(self) -> float:
        return sum(self.steps_s.values())


# ---------------------------------------------------------------------------- database


def database_ensure(url: str) -> bool:
    """Create the database of ``url`` if it does not exist (never drops one); True if created."""
    name = urlsplit(url).path.lstrip("/")
    if not re.fullmatch(r"[A-Za-z0-9_]+", name):
        raise ValueError(f"Unexpected database name {name!r}.")
    admin = urlunsplit(urlsplit(url)._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            return False
        conn.execute(f'CREATE DATABASE "{name}"')
    return True


def _steps_done(url: str) -> set[str]:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            f"CREATE TABLE IF NOT EXISTS {SETUP_TABLE} "
            "(step text PRIMARY KEY, seconds double precision NOT NULL, done_at timestamptz NOT NULL DEFAULT now())"
        )
        return {r[0] for r in conn.execute(f"SELECT step FROM {SETUP_TABLE}").fetchall()}


def _step_record(url: str, step: str, seconds: float) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            f"INSERT INTO {SETUP_TABLE} (step, seconds) VALUES (%s, %s) "
            "ON CONFLICT (step) DO UPDATE SET seconds = EXCLUDED.seconds, done_at = now()",
            (step, seconds),
        )


def steps_recorded(url: str) -> dict[str, tuple[float, str]]:
    """Every set-up step recorded so far: name → (seconds, UTC date it finished)."""
    _steps_done(url)
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            f"SELECT step, seconds, to_char(done_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') FROM {SETUP_TABLE}"
        ).fetchall()
    return {str(step): (float(seconds), str(day)) for step, seconds, day in rows}


def _timed(report: SeedReport, name: str, fn: Callable[[], Any]) -> Any:
    print(f"  {name} ...", flush=True)
    began = time.perf_counter()
    out = fn()
    report.steps_s[name] = time.perf_counter() - began
    print(f"  {name}: {report.steps_s[name]:.1f} s", flush=True)
    return out


def seed(*, url: str, env: Mapping[str, str], trades: int, alerts: int, seed_value: int = 20240) -> SeedReport:
    """Migrate, run the demo steps not yet done, and top trades and alerts up to their targets."""
    report = SeedReport()
    if database_ensure(url):
        print(f"created database {urlsplit(url).path.lstrip('/')}", flush=True)
    _timed(report, "migrate", lambda: common.manage("migrate", "--noinput", env=env))
    done = _steps_done(url)
    for step in DEMO_STEPS:
        name = step[0]
        if name in done:
            report.skipped.append(name)
            continue
        _timed(report, name, lambda step=step: common.manage(*step, env=env))
        _step_record(url, name, report.steps_s[name])
    with psycopg.connect(url) as conn:
        have = _count(conn, "portfolios_trade")
    if have < trades:
        report.rows["trades"] = _timed(
            report, "trades", lambda: trades_seed(url=url, n=trades - have, seed_value=seed_value + have)
        )
        _step_record(url, "trades", report.steps_s["trades"])
    else:
        report.skipped.append(f"trades ({have:,} present)")
    with psycopg.connect(url) as conn:
        have_alerts = _count(conn, "surveillance_alert")
    if have_alerts < alerts:
        report.rows["alerts"] = _timed(
            report, "alerts", lambda: alerts_seed(url=url, n=alerts - have_alerts, seed_value=seed_value + have_alerts)
        )
        _step_record(url, "alerts", report.steps_s["alerts"])
    else:
        report.skipped.append(f"alerts ({have_alerts:,} present)")
    if report.rows:
        _timed(report, "analyze", lambda: _analyze(url))
    return report


def _count(conn: psycopg.Connection[Any], table: str) -> int:
    row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
    return int(row[0]) if row else 0


def _analyze(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        for table in ("portfolios_order", "portfolios_trade", "surveillance_alert"):
            conn.execute(f"ANALYZE {table}")


# ---------------------------------------------------------------------------- trades


def book_generate(
    n_trades: int,
    *,
    accounts: pd.DataFrame,
    bars: pd.DataFrame,
    first_order_id: int,
    first_trade_id: int,
    seed_value: int,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Orders and their fills: ``n_trades`` fills of ``ceil(n / FILLS_PER_ORDER)`` orders.

    ``accounts``: ``id``, ``kind``; ``bars``: ``instrument_id``, ``day`` (datetime64[D]), ``close``.
    Each order is in one account and one instrument on one day of ``bars``, arrives in the
    regular session and is filled in equal parts at the close ± 0.3% (σ), one to two minutes
    apart; limit orders (60%) are never filled through their limit. Ids are consecutive from
    the given first ids; timestamps are int64 epoch µs.
    """
    rng = np.random.default_rng(seed_value)
    n_orders = -(-n_trades // FILLS_PER_ORDER)
    pick = rng.integers(0, len(bars), n_orders)
    instrument = bars["instrument_id"].to_numpy()[pick]
    day_us = bars["day"].to_numpy().astype("datetime64[D]")[pick].astype("datetime64[us]").astype(np.int64)
    close = bars["close"].to_numpy(dtype=float)[pick]
    which = rng.integers(0, len(accounts), n_orders)
    account = accounts["id"].to_numpy()[which]
    commission_rate = accounts["kind"].map(COMMISSION_PER_SHARE).fillna(0.005).to_numpy()[which]
    buy = rng.random(n_orders) < 0.5
    arrival = day_us + SESSION_OPEN_US + rng.integers(0, SESSION_US - 15 * 60 * 1_000_000, n_orders)
    lots = rng.integers(1, 26, n_orders) * FILLS_PER_ORDER  # whole lots of 100 shares, split evenly
    is_limit = rng.random(n_orders) < 0.6
    limit = np.round(close * np.where(buy, 1.004, 0.996), 2)
    orders = pd.DataFrame(
        {
            "id": first_order_id + np.arange(n_orders),
            "side": np.where(buy, "buy", "sell"),
            "order_type": np.where(is_limit, "limit", "market"),
            "limit_price": np.where(is_limit, limit, np.nan),
            "quantity": lots * 100,
            "venue": VENUES[rng.integers(0, len(VENUES), n_orders)],
            "broker": BROKERS[rng.integers(0, len(BROKERS), n_orders)],
            "arrival_ts": arrival,
            "account_id": account,
            "instrument_id": instrument,
        }
    )
    orders["client_order_id"] = "LOAD-O" + orders["id"].astype(str)

    of = np.repeat(np.arange(n_orders), FILLS_PER_ORDER)[:n_trades]
    step_us = rng.integers(60_000_000, 120_000_000, n_trades)
    nth = np.tile(np.arange(1, FILLS_PER_ORDER + 1), n_orders)[:n_trades]
    ts = arrival[of] + pd.Series(step_us).groupby(of).cumsum().to_numpy()
    price = np.round(close[of] * (1 + rng.normal(0, 0.003, n_trades)), 2)
    # A limit order never fills through its limit: buys at or below, sells at or above.
    price = np.where(is_limit[of] & buy[of], np.minimum(price, limit[of]), price)
    price = np.where(is_limit[of] & ~buy[of], np.maximum(price, limit[of]), price)
    quantity = lots[of] * 100 // FILLS_PER_ORDER
    trades = pd.DataFrame(
        {
            "id": first_trade_id + np.arange(n_trades),
            "order_id": orders["id"].to_numpy()[of],
            "account_id": account[of],
            "instrument_id": instrument[of],
            "side": orders["side"].to_numpy()[of],
            "price": np.maximum(price, 0.01),
            "quantity": quantity,
            "venue": orders["venue"].to_numpy()[of],
            "broker": orders["broker"].to_numpy()[of],
            "commission": np.round(quantity * commission_rate[of], 4),
            "ts": ts,
        }
    )
    trades["trade_id"] = "LOAD-O" + trades["order_id"].astype(str) + "-X" + nth.astype(str)
    return orders, trades


def _book_inputs(conn: psycopg.Connection[Any]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The demo firm's accounts and its stocks' real closes before the intraday window."""
    accounts = pd.DataFrame(
        conn.execute(
            "SELECT a.id, a.kind FROM portfolios_account a JOIN portfolios_desk d ON d.id = a.desk_id "
            "WHERE d.code <> 'SIM' ORDER BY a.id"
        ).fetchall(),
        columns=["id", "kind"],
    )
    first_intraday = conn.execute("SELECT min(ts)::date FROM portfolios_quote").fetchone()
    until = first_intraday[0] if first_intraday and first_intraday[0] else "2022-12-01"
    bars = pd.DataFrame(
        conn.execute(
            "SELECT b.instrument_id, b.date, b.close FROM portfolios_pricebar b "
            "JOIN portfolios_instrument i ON i.id = b.instrument_id "
            "WHERE i.kind = 'equity' AND i.sector <> '' AND i.symbol NOT LIKE 'SIM-%%' "
            "AND b.date >= %s AND b.date < %s ORDER BY b.date, b.instrument_id",
            (HISTORY_FROM, until),
        ).fetchall(),
        columns=["instrument_id", "day", "close"],
    )
    if accounts.empty or bars.empty:
        raise RuntimeError("The demo firm is missing: load_demo must run before the bulk trades.")
    bars["day"] = pd.to_datetime(bars["day"]).to_numpy().astype("datetime64[D]")
    bars["close"] = bars["close"].astype(float)
    return accounts, bars


def trades_seed(*, url: str, n: int, seed_value: int) -> int:
    """COPY ``n`` more trades (and their orders) in one transaction; returns ``n``."""
    with psycopg.connect(url) as conn:
        accounts, bars = _book_inputs(conn)
        first_order = int(conn.execute("SELECT COALESCE(max(id), 0) + 1 FROM portfolios_order").fetchone()[0])  # type: ignore[index]
        first_trade = int(conn.execute("SELECT COALESCE(max(id), 0) + 1 FROM portfolios_trade").fetchone()[0])  # type: ignore[index]
        orders, trades = book_generate(
            n,
            accounts=accounts,
            bars=bars,
            first_order_id=first_order,
            first_trade_id=first_trade,
            seed_value=seed_value,
        )
        with conn.cursor() as cur:
            common.copy_rows(
                cur,
                "portfolios_order",
                {**{c: orders[c] for c in orders.columns}, "time_in_force": "day"},
                ts=("arrival_ts",),
            )
            common.copy_rows(cur, "portfolios_trade", {c: trades[c] for c in trades.columns}, ts=("ts",))
            common.sequences_reset(cur, ["portfolios_order", "portfolios_trade"])
    return n


# ---------------------------------------------------------------------------- alerts


def alerts_generate(
    anchors: pd.DataFrame, fills: Mapping[int, list[int]], *, seed_value: int, now_us: int
) -> pd.DataFrame:
    """One alert per row of ``anchors`` (``order_id``, ``account_id``, ``desk_id``,
    ``instrument_id``, ``arrival_ts`` in epoch µs); ``fills`` maps an order to its trade ids.

    Scores are Beta(2, 3)·100; 60% new, 15% in review, 5% escalated, 20% closed with "no
    action"; created within the last 180 days (a back-testing sweep over old episodes).
    """
    rng = np.random.default_rng(seed_value)
    n = len(anchors)
    start = anchors["arrival_ts"].to_numpy() - rng.integers(0, 30 * 60 * 1_000_000, n)
    end = anchors["arrival_ts"].to_numpy() + rng.integers(60_000_000, 60 * 60 * 1_000_000, n)
    state = ALERT_STATES[rng.choice(len(ALERT_STATES), n, p=ALERT_STATE_SHARES)]
    closed = state == "closed"
    created = now_us - rng.integers(0, 180 * 86_400 * 1_000_000, n)
    scenario = ALERT_SCENARIOS[rng.integers(0, len(ALERT_SCENARIOS), n)]
    score = np.round(rng.beta(2, 3, n) * 100, 1)
    order_ids = anchors["order_id"].to_numpy()
    return pd.DataFrame(
        {
            "scenario": scenario,
            "source": np.where(scenario == "anomaly", "model", "rule"),
            "account_id": anchors["account_id"].to_numpy(),
            "desk_id": anchors["desk_id"].to_numpy(),
            "instrument_id": anchors["instrument_id"].to_numpy(),
            "window_start": start,
            "window_end": end,
            "score": score,
            "occurrences": rng.integers(1, 4, n),
            "summary": [
                f"Load-test seed: {s.replace('_', ' ')} pattern around order LOAD-O{o}"
                for s, o in zip(scenario, order_ids, strict=True)
            ],
            "order_ids": [json.dumps([int(o)]) for o in order_ids],
            "trade_ids": [json.dumps(fills.get(int(o), [])) for o in order_ids],
            "features": [json.dumps({"score": float(s)}) for s in score],
            "explanation": "{}",
            "parameters": "{}",
            "model_version": "",
            "action_explanation": "{}",
            "state": state,
            "outcome": np.where(closed, "no_action", ""),
            "proposed_outcome": "",
            "proposed_rationale": "",
            "closing_rationale": np.where(closed, "Reviewed during the load-test seed: ordinary trading.", ""),
            # Text, not µs: open alerts have no closing time (NULL).
            "closed_at": pd.Series(common.ts_text(created + 3_600_000_000)).where(closed),
            "created_at": created,
            "updated_at": created,
        }
    )


def alerts_seed(*, url: str, n: int, seed_value: int) -> int:
    """COPY ``n`` more alerts anchored on seeded orders; returns ``n``."""
    with psycopg.connect(url) as conn:
        conn.execute("SELECT setseed(%s)", ((seed_value % 1000) / 1000,))  # a reproducible sample
        rows = conn.execute(
            "SELECT o.id, o.account_id, a.desk_id, o.instrument_id, "
            "(extract(epoch FROM o.arrival_ts) * 1000000)::bigint FROM portfolios_order o "
            "JOIN portfolios_account a ON a.id = o.account_id WHERE o.client_order_id LIKE 'LOAD-O%%' "
            "ORDER BY random() LIMIT %s",
            (n,),
        ).fetchall()
        if len(rows) < n:
            raise RuntimeError(f"Only {len(rows)} seeded orders to anchor {n} alerts on: seed the trades first.")
        anchors = pd.DataFrame(rows, columns=["order_id", "account_id", "desk_id", "instrument_id", "arrival_ts"])
        fills: dict[int, list[int]] = {}
        for order_id, ids in conn.execute(
            "SELECT order_id, array_agg(id ORDER BY id) FROM portfolios_trade WHERE order_id = ANY(%s) GROUP BY 1",
            (anchors["order_id"].tolist(),),
        ).fetchall():
            fills[int(order_id)] = [int(i) for i in ids]
        frame = alerts_generate(anchors, fills, seed_value=seed_value, now_us=int(time.time() * 1e6))
        with conn.cursor() as cur:
            common.copy_rows(
                cur,
                "surveillance_alert",
                {c: frame[c] for c in frame.columns},
                ts=("window_start", "window_end", "created_at", "updated_at"),
            )
    return n


# ---------------------------------------------------------------------------- people and what they open


def people_and_targets(*, url: str, env: Mapping[str, str], password: str) -> dict[str, Any]:
    """Refresh the load test's logins and OMS keys and list what the simulated users open.

    Runs ``python -m bench.load_seed people`` in a child process (Django configures itself for
    one database per process) and returns its JSON: ``logins`` per role, ``api_keys``,
    ``portfolios``, ``instruments`` (symbol → last close), ``accounts``, ``ingest_day``,
    ``alert_ids``, ``risk_portfolios``, ``wealth_clients``.
    """
    done = subprocess.run(
        [sys.executable, "-m", "bench.load_seed", "people"],
        env={**env, "BENCH_LOAD_PASSWORD": password},
        cwd=common.REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"setting up the load test's people failed:\n{done.stdout}\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _people_main() -> None:
    """In a Django process: users per role (one password hash for all), OMS users with fresh
    one-day keys, and the ids the simulated users visit; prints them as one JSON line."""
    import django

    django.setup()
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import Group, User

    from core.services import api_key_create
    from portfolios.models import Account, Desk, Instrument, Portfolio, PriceBar
    from surveillance.selectors import alert_list
    from wealth.selectors import client_scope

    password_hash = make_password(os.environ["BENCH_LOAD_PASSWORD"])  # hashed once: PBKDF2 is slow on purpose
    logins: dict[str, list[str]] = {}
    for role in (*BROWSER_ROLES, "oms_client"):
        group = Group.objects.get(name=role)
        template = User.objects.get(username=role)  # the demo's user of this role: copy its desks
        desks = list(Desk.objects.filter(members=template))
        count = OMS_CLIENTS if role == "oms_client" else PEOPLE_PER_ROLE
        names = [f"load_{role}_{i:02d}" for i in range(count)]
        for name in names:
            user, _ = User.objects.get_or_create(username=name)
            user.groups.set([group])
            user.desks.set(desks)  # type: ignore[attr-defined]
        User.objects.filter(username__in=names).update(password=password_hash, is_active=True)
        logins[role] = names
    keys = [
        api_key_create(user=User.objects.get(username=name), name="load test", expires_in_days=1)[1]
        for name in logins.pop("oms_client")
    ]
    oms = User.objects.get(username="load_oms_client_00")
    analyst = User.objects.get(username="load_compliance_analyst_00")
    advisor = User.objects.get(username="load_wealth_advisor_00")
    day = PriceBar.objects.filter(instrument__symbol="AAPL").order_by("-date").values_list("date", flat=True).first()
    stocks = Instrument.objects.filter(kind="equity").exclude(sector="").exclude(symbol__startswith="SIM-")
    closes = {
        b.instrument.symbol: float(b.close)
        for b in PriceBar.objects.filter(date=day, instrument__in=stocks).select_related("instrument")
    }
    desk_codes = [d.code for d in Desk.objects.filter(members=oms).exclude(code="SIM")]
    out = {
        "logins": logins,
        "api_keys": keys,
        "ingest_day": day.isoformat() if day else "",
        "instruments": closes,
        "accounts": list(
            Account.objects.filter(desk__code__in=desk_codes)
            .exclude(kind="market_maker")
            .values_list("code", flat=True)
        ),
        "portfolios": list(Portfolio.objects.filter(code__in=["LO-FUND", "LS-ALPHA"]).values_list("code", flat=True)),
        "risk_portfolios": list(Portfolio.objects.exclude(desk__code="SIM").values_list("code", flat=True)),
        "alert_ids": list(alert_list(user=analyst).exclude(state="closed").values_list("pk", flat=True)[:500]),
        "wealth_clients": list(client_scope(advisor).values_list("pk", flat=True)[:50]),
    }
    print(json.dumps(out))


if __name__ == "__main__":
    if sys.argv[1:] == ["people"]:
        _people_main()
    else:
        sys.exit("usage: python -m bench.load_seed people  (run by bench.load)")
