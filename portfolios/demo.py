"""Load the demo data set: real daily prices from package data, a small firm (desks, owners,
accounts, portfolios with opening positions) and seeded synthetic intraday data on top.

Everything is written through the ingestion pipeline (``validate_rows`` + ``write_batch``)
with the rows an OMS would send, so natural keys make a second run a no-op and PostgreSQL
COPY keeps it fast. The demo users' passwords are reset on every run. See docs/demo-data.md.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import date
from itertools import islice
from time import perf_counter
from typing import Any

import orjson
import pandas as pd
from django.contrib.auth.models import Group, User
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction

from audit.models import AuditEvent
from audit.services import audit_record, inputs_hash_of
from core.errors import ValidationFailed
from core.ingest.pipeline import validate_rows, write_batch
from core.roles import Role
from core.services import api_key_create, api_key_revoke
from portfolios import demo_catalogue as cat
from portfolios.demo_intraday import intraday_load
from portfolios.ingest import SPECS
from portfolios.models import Desk

DEMO_SEED = 20221228
CHUNK_ROWS = 10_000  # the API's batch limit; ~10 MB of row dicts per chunk at most
API_KEY_NAME = "load_demo"
DEMO_AUDIT_ACTION = "demo.load"
MIN_CALIBRATION_DAYS = 61  # 60 daily returns of history before the first synthetic day
Log = Callable[[str], None]


@dataclass(frozen=True)
class DemoConfig:
    """What to load. ``full`` is the default demo; ``small`` is for tests and smoke runs."""

    stocks: tuple[str, ...]
    etfs: tuple[str, ...]
    history_start: date | None  # first daily bar of the skfolio series (None: all)
    arch_start: date | None  # first daily bar of the arch index series (None: all)
    days: int  # synthetic intraday trading days ending at the last real close
    quotes_per_day: int
    prints_per_day: int
    mm_symbols: tuple[str, ...]
    mm_orders_per_day: int
    parent_orders_per_day: int
    single_orders_per_day: int
    seed: int = DEMO_SEED

    @classmethod
    def full(cls, *, days: int = 12, seed: int = DEMO_SEED) -> DemoConfig:
        return cls(
            stocks=tuple(cat.STOCKS),
            etfs=tuple(cat.ETFS),
            history_start=None,
            arch_start=None,
            days=days,
            quotes_per_day=900,
            prints_per_day=250,
            mm_symbols=("AAPL", "MSFT", "JPM", "XOM"),
            mm_orders_per_day=120,
            parent_orders_per_day=6,
            single_orders_per_day=16,
            seed=seed,
        )

    @classmethod
    def small(cls, *, days: int = 2, seed: int = DEMO_SEED) -> DemoConfig:
        return cls(
            stocks=("AAPL", "MSFT", "JPM", "RRC"),
            etfs=("MTUM", "USMV"),
            history_start=date(2021, 12, 1),  # > 250 trading days: enough for a risk run
            arch_start=date(2018, 10, 1),
            days=days,
            quotes_per_day=120,
            prints_per_day=40,
            mm_symbols=("AAPL",),
            mm_orders_per_day=20,
            parent_orders_per_day=2,
            single_orders_per_day=4,
            seed=seed,
        )


@dataclass
class DemoResult:
    """Rows received/created per entity, the demo logins and the OMS API key (shown once)."""

    counts: dict[str, tuple[int, int]] = field(default_factory=dict)
    credentials: list[tuple[str, str, str]] = field(default_factory=list)  # username, role, password
    api_key: str = ""


# ---------------------------------------------------------------------------- plumbing


def _chunks(rows: Iterable[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    it = iter(rows)
    while chunk := list(islice(it, size)):
        yield chunk


class _Loader:
    """Sends rows entity by entity through the pipeline, in chunks of at most CHUNK_ROWS,
    each chunk in its own transaction (an interrupted load resumes where it stopped)."""

    def __init__(self, user: User, log: Log, result: DemoResult) -> None:
        self.user, self.log, self.result = user, log, result

    def send(self, entity: str, rows: Iterable[dict[str, Any]], label: str = "") -> None:
        spec = SPECS[entity]
        started = perf_counter()
        received = created = 0
        for chunk in _chunks(rows, CHUNK_ROWS):
            try:
                with transaction.atomic():
                    batch = validate_rows(spec, self.user, chunk)
                    outcome = write_batch(
                        batch, inputs_hash=inputs_hash_of(orjson.dumps({"rows": chunk})), idempotency_key=None
                    )
            except ValidationFailed as exc:
                self.log(f"  {entity}: refused: {exc.message} {str(exc.extra)[:1000]}")
                raise
            received += outcome.received
            created += outcome.created
        before = self.result.counts.get(entity, (0, 0))
        self.result.counts[entity] = (before[0] + received, before[1] + created)
        name = f"{entity} ({label})" if label else entity
        self.log(f"  {name:<28} {received:>9,} rows {created:>9,} new  ({perf_counter() - started:.1f} s)")


def _options_check(*, config: DemoConfig, admin: User) -> None:
    """Refuse to lay a demo with other options over an existing one, and record this load.

    Another seed, day count or size generates other orders under the same client order ids
    and other opening books; mixing two would leave a book nobody could explain. The options
    of each load are kept in the audit trail (action ``demo.load``), which is where we look.
    """
    options = json.loads(json.dumps(asdict(config), cls=DjangoJSONEncoder))
    previous = AuditEvent.objects.filter(action=DEMO_AUDIT_ACTION).order_by("-id").values_list("parameters", flat=True)
    loaded = (previous.first() or {}).get("options")
    if loaded is not None and loaded != options:
        raise ValidationFailed(
            "This database already holds the demo loaded with other options "
            f"({_describe(loaded)}); run load_demo with those options, or load into an empty database.",
            extra={"loaded": loaded, "requested": options},
        )
    audit_record(action=DEMO_AUDIT_ACTION, actor=admin, object_repr="demo data set", parameters={"options": options})


def _describe(options: dict[str, Any]) -> str:
    stocks = len(options.get("stocks") or [])
    return f"{stocks} stocks, {options.get('days')} days, seed {options.get('seed')}"


# ---------------------------------------------------------------------------- users


def _users_ensure(password: str | None) -> tuple[User, list[tuple[str, str, str]]]:
    """The admin superuser and one user per role, with fresh passwords (or ``password``)."""
    credentials = []
    admin = None
    for username, role in [("admin", "superuser"), *[(r.value, r.value) for r in Role]]:
        user, _ = User.objects.get_or_create(username=username)
        secret = password or secrets.token_urlsafe(15)
        user.set_password(secret)
        user.is_active = True
        user.email = user.email or f"{username}@demo.vigil.invalid"
        if role == "superuser":
            user.is_superuser = user.is_staff = True
            admin = user
        user.save()
        if role != "superuser":
            user.groups.add(Group.objects.get_or_create(name=role)[0])
        credentials.append((username, role, secret))
    assert admin is not None
    return admin, credentials


def _desks_assign() -> None:
    """Staff roles and the OMS client see every demo desk; the wealth advisor the wealth desk."""
    desks = {d.code: d for d in Desk.objects.filter(code__in=[code for code, _ in cat.DESKS])}
    for user in User.objects.filter(username__in=[r.value for r in Role]):
        codes = ["WEALTH"] if user.username == Role.WEALTH_ADVISOR else list(desks)
        user.desks.add(*[desks[c] for c in codes])


def _api_key_rotate(*, admin: User) -> str:
    """Revoke the previous demo key of the OMS user and issue a new one (shown once)."""
    oms = User.objects.get(username=Role.OMS_CLIENT.value)
    for key in oms.api_keys.filter(name=API_KEY_NAME, revoked_at__isnull=True):
        api_key_revoke(key=key, actor=admin)
    _, raw = api_key_create(user=oms, name=API_KEY_NAME, actor=admin)
    return raw


# ---------------------------------------------------------------------------- real data


@dataclass(frozen=True)
class _Prices:
    """Daily closes of the demo stocks and ETFs (adjusted, from skfolio), one column each."""

    stocks: pd.DataFrame
    etfs: pd.DataFrame


def _since(frame: pd.DataFrame, start: date | None) -> pd.DataFrame:
    return frame if start is None else frame.loc[pd.Timestamp(start) :]


def _bars_close_only(frame: pd.DataFrame, symbols: Iterable[str], source: str) -> Iterator[dict[str, Any]]:
    """skfolio gives one (adjusted) price a day: close = adj_close = it, no OHLC/volume."""
    days = frame.index.strftime("%Y-%m-%d").tolist()
    for sym in symbols:
        column = frame[sym]
        for day, price in zip(days, column.round(8).tolist(), strict=True):
            if price == price and price > 0:  # NaN-safe: a missing day is not sent
                yield {"instrument": sym, "date": day, "close": price, "adj_close": price, "source": source}


def _bars_ohlcv(frame: pd.DataFrame, symbol: str, source: str) -> Iterator[dict[str, Any]]:
    days = frame.index.strftime("%Y-%m-%d").tolist()
    cols = [frame[c].round(8).tolist() for c in ("Open", "High", "Low", "Close", "Adj Close")]
    volume = frame["Volume"].astype("int64").tolist()
    for day, o, h, lo, c, a, v in zip(days, *cols, volume, strict=True):
        yield {
            "instrument": symbol,
            "date": day,
            **{"open": o, "high": h, "low": lo, "close": c, "adj_close": a, "volume": v},
            "source": source,
        }


def _fama_french_rows(frame: pd.DataFrame) -> Iterator[dict[str, Any]]:
    """arch's Fama–French index stores YYYYMM as int64 nanoseconds (192607 -> July 1926);
    the period end is that month's last day. Values are percent; we store fractions."""
    yyyymm = frame.index.asi8
    ends = (pd.to_datetime([str(v) for v in yyyymm], format="%Y%m") + pd.offsets.MonthEnd(0)).strftime("%Y-%m-%d")
    for column in frame.columns:
        for end, pct in zip(ends, frame[column].tolist(), strict=True):
            yield {
                "factor": column,
                "frequency": "M",
                "period_end": end,
                "value": round(pct / 100.0, 10),
                "source": "arch.frenchdata",
            }


def _load_market_data(config: DemoConfig, loader: _Loader) -> _Prices:
    """Instruments and daily bars from skfolio and arch, factor returns from arch."""
    import arch.data.frenchdata
    import arch.data.nasdaq
    import arch.data.sp500
    from skfolio.datasets import load_factors_dataset, load_sp500_dataset, load_sp500_index

    stocks = load_sp500_dataset()[list(config.stocks)]
    etfs = load_factors_dataset()[list(config.etfs)]
    index = load_sp500_index()
    loader.send("instruments", cat.instrument_rows(config.stocks, config.etfs))
    start = config.history_start
    loader.send("price_bars", _bars_close_only(_since(stocks, start), config.stocks, "skfolio"), "stocks")
    loader.send("price_bars", _bars_close_only(_since(etfs, start), config.etfs, "skfolio"), "factor ETFs")
    index = index.rename(columns={"SP500": "SPX"})
    loader.send("price_bars", _bars_close_only(_since(index, start), ["SPX"], "skfolio"), "SPX")
    for symbol, module in (("^GSPC", arch.data.sp500), ("^IXIC", arch.data.nasdaq)):
        loader.send("price_bars", _bars_ohlcv(_since(module.load(), config.arch_start), symbol, "arch"), symbol)
    loader.send("factor_returns", _fama_french_rows(arch.data.frenchdata.load()))
    return _Prices(stocks=_since(stocks, config.history_start), etfs=_since(etfs, config.history_start))


# ---------------------------------------------------------------------------- demo entry point


def demo_load(*, config: DemoConfig, password: str | None = None, log: Log = print) -> DemoResult:
    """Load (or complete) the demo data set; safe to run any number of times.

    Users are created or updated first (the admin superuser is the acting user of every
    batch, superusers being exempt from desk scoping); then reference and market data, the
    firm and its books, and the synthetic intraday day by day. Returns counts, the demo
    logins (passwords reset on every run unless ``password`` is given) and a fresh API key.
    """
    result = DemoResult()
    with transaction.atomic():
        admin, result.credentials = _users_ensure(password)
        _options_check(config=config, admin=admin)
    loader = _Loader(admin, log, result)
    log("Market data (skfolio, arch):")
    prices = _load_market_data(config, loader)
    if config.days > len(prices.stocks.index) - MIN_CALIBRATION_DAYS:
        raise ValidationFailed(
            f"--days {config.days} leaves fewer than {MIN_CALIBRATION_DAYS} real days to calibrate volatility on."
        )
    window = prices.stocks.index[-config.days :]
    opening = prices.stocks.index[-config.days - 1].date()
    log(f"Firm and books (opening positions at the close of {opening}):")
    loader.send("desks", cat.desk_rows())
    _desks_assign()
    loader.send("beneficial_owners", cat.owner_rows())
    books = cat.books(config, prices.stocks, prices.etfs, opening)
    loader.send("instruments", books.option_instruments)
    loader.send("price_bars", books.option_bars(prices.stocks, [d.date() for d in window]), "options")
    loader.send("portfolios", books.portfolio_rows)
    loader.send("accounts", cat.account_rows())
    loader.send("positions", books.position_rows)
    log(f"Synthetic intraday ({len(window)} days, {window[0].date()} to {window[-1].date()}, seed {config.seed}):")
    intraday_load(config=config, stocks=prices.stocks, books=books, send=loader.send)
    with transaction.atomic():
        result.api_key = _api_key_rotate(admin=admin)
    return result
