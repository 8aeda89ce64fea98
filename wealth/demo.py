"""The wealth demo: an advisor's book of ~120 generated clients on top of the ``load_demo`` market.

What is real: the prices (skfolio/arch via ``load_demo``), the instruments' names and sectors, the
factor ETFs' expense ratios (issuer's published figures) and the monthly Fama–French risk-free
rate behind the cash instrument ``USD-TBILL``. What is illustrative: the ESG scores and every
client, household, account, lot, transaction and goal (a seeded generator). See
docs/demo-data.md. Idempotent: a second run finds the demo clients and changes nothing.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
from django.contrib.auth.models import Group, User
from django.db import transaction

from audit.services import audit_record
from core.roles import Role
from portfolios import demo_catalogue as cat
from portfolios.models import FactorReturn, Instrument, PriceBar
from wealth.engine.optimize import Constraints, GroupBound, Objective, efficient_frontier, optimize
from wealth.engine.profiling import PROFILE_NAMES
from wealth.models import (
    AssetProfile,
    Client,
    Household,
    ModelPortfolio,
    ModelWeight,
    Substitute,
    TaxLot,
    WealthAccount,
    WealthTransaction,
)
from wealth.services._common import money, price, qty
from wealth.services.clients import goal_create
from wealth.services.market import MarketInputs, market_inputs, price_date_latest, price_history
from wealth.services.planning import goal_plan
from wealth.services.profiling import profile_submit, questionnaire_active
from wealth.services.review import wealth_scan_queue

Log = Callable[[str], None]
DEMO_SEED = 20221229
ADVISOR = Role.WEALTH_ADVISOR.value
CODE_PREFIX = "WD-"
CASH_SYMBOL = "USD-TBILL"
CASH_SOURCE = "arch.frenchdata"
CASH_FLAT_SOURCE = "demo.flat"
CASH_HISTORY_YEARS = 8
LOT_YEARS = 3

# Illustrative ESG scores (0–10), NOT vendor ratings: chosen by hand so that the ESG constraint
# has something to bite on (energy lowest, the low-volatility and quality ETFs above average).
ESG_SCORES: dict[str, float] = {
    "AAPL": 7.2, "AMD": 6.8, "BAC": 5.6, "BBY": 6.4, "CVX": 3.1, "GE": 5.2, "HD": 6.6, "JNJ": 6.9,
    "JPM": 5.4, "KO": 6.7, "LLY": 6.5, "MRK": 6.8, "MSFT": 7.8, "PEP": 7.0, "PFE": 6.3, "PG": 7.4,
    "RRC": 2.4, "UNH": 6.0, "WMT": 5.9, "XOM": 2.9,
    "MTUM": 6.2, "QUAL": 6.9, "SIZE": 6.0, "USMV": 6.8, "VLUE": 5.5,
    CASH_SYMBOL: 7.0,
}  # fmt: skip
# Expense ratios of the iShares MSCI USA factor ETFs as published by the issuer (0.15 % a year each).
EXPENSE_RATIOS: dict[str, Decimal] = {s: Decimal("0.0015") for s in ("MTUM", "QUAL", "SIZE", "USMV", "VLUE")}
# Model portfolios: the cash instrument may take up to this much (the conservative end needs it).
MODEL_CASH_UPPER = 0.70
MODEL_UPPER = 0.25
MODEL_SECTOR_UPPER = 0.35
# Target volatility of profile k's model: min-vol + share_k × (max-return vol − min-vol).
MODEL_RISK_SHARES = (0.04, 0.18, 0.36, 0.58, 0.85)

FIRST = (
    "Ava",
    "Ben",
    "Chloe",
    "Daniel",
    "Emma",
    "Felix",
    "Grace",
    "Henry",
    "Isla",
    "Jack",
    "Kate",
    "Liam",
    "Mia",
    "Noah",
    "Olivia",
    "Paul",
    "Quinn",
    "Ruby",
    "Sam",
    "Tara",
    "Uma",
    "Victor",
    "Wendy",
    "Yara",
    "Zoe",
)
LAST = ("Abbott", "Baker", "Carter", "Dalton", "Ellis", "Foster", "Garcia", "Hughes", "Iverson", "Jensen", "Keller",
        "Lopez", "Morgan", "Nolan", "Ortiz", "Patel", "Reyes", "Shaw", "Turner", "Vance", "Walsh", "Young")  # fmt: skip


# Goal kinds: name, priority, horizon range in years (retirement: until retirement age), target range.
GOAL_KINDS: dict[str, tuple[str, str, tuple[int, int], tuple[float, float]]] = {
    "retirement": ("Retirement", "essential", (1, 46), (600_000.0, 2_500_000.0)),
    "home": ("Home deposit", "important", (2, 9), (60_000.0, 250_000.0)),
    "education": ("Children's education", "important", (4, 17), (80_000.0, 220_000.0)),
    "custom": ("Sabbatical", "aspirational", (2, 7), (30_000.0, 120_000.0)),
}


@dataclass(frozen=True)
class WealthDemoConfig:
    clients: int
    seed: int = DEMO_SEED

    @classmethod
    def full(cls, *, seed: int = DEMO_SEED) -> WealthDemoConfig:
        return cls(clients=120, seed=seed)

    @classmethod
    def small(cls, *, seed: int = DEMO_SEED) -> WealthDemoConfig:
        return cls(clients=6, seed=seed)


@dataclass
class WealthDemoResult:
    already_loaded: bool = False
    clients: int = 0
    goals: int = 0
    plans: int = 0
    lots: int = 0
    models: dict[int, dict[str, float]] = field(default_factory=dict)
    scan_run_id: int | None = None
    as_of: dt.date | None = None


# ---------------------------------------------------------------------------- universe


def _universe() -> list[str]:
    """The demo stocks and ETFs that ``load_demo`` loaded (with prices)."""
    wanted = [*cat.STOCKS, *cat.ETFS]
    have = set(Instrument.objects.filter(symbol__in=wanted, bars__isnull=False).values_list("symbol", flat=True))
    return [s for s in wanted if s in have]


def _risk_free_monthly() -> dict[str, float]:
    """Fama–French monthly risk-free rate by "YYYY-MM" (FactorReturn rows from ``load_demo``, else
    arch's copy of the series directly)."""
    rows = FactorReturn.objects.filter(factor="RF", frequency=FactorReturn.Frequency.MONTHLY)
    rates = {end.strftime("%Y-%m"): float(v) for end, v in rows.values_list("period_end", "value")}
    if rates:
        return rates
    import arch.data.frenchdata

    frame = arch.data.frenchdata.load()
    months = [str(v) for v in frame.index.asi8]
    return {f"{m[:4]}-{m[4:6]}": float(v) / 100.0 for m, v in zip(months, frame["RF"].tolist(), strict=True)}


def cash_instrument_ensure(as_of: dt.date) -> Instrument:
    """``USD-TBILL``: daily bars compounding the monthly risk-free rate evenly over each month's
    trading days (the S&P 500 calendar). Months after the packaged series ends are held flat
    (0 %) and marked with source ``demo.flat``."""
    inst, _ = Instrument.objects.get_or_create(
        symbol=CASH_SYMBOL,
        defaults={
            "name": "US Treasury bills (1-month T-bill rate, cash)",
            "kind": Instrument.Kind.BOND,
            "country": "US",
        },
    )
    if inst.bars.exists():
        return inst
    start = as_of - dt.timedelta(days=int(365.25 * CASH_HISTORY_YEARS))
    calendar = list(
        PriceBar.objects.filter(instrument__symbol="SPX", date__gte=start, date__lte=as_of)
        .order_by("date")
        .values_list("date", flat=True)
    ) or list(
        PriceBar.objects.filter(instrument__symbol__in=_universe()[:1], date__gte=start, date__lte=as_of)
        .order_by("date")
        .values_list("date", flat=True)
    )
    rates = _risk_free_monthly()
    by_month: dict[str, list[dt.date]] = {}
    for day in calendar:
        by_month.setdefault(day.strftime("%Y-%m"), []).append(day)
    level, bars = 100.0, []
    for month, days in by_month.items():
        rate = rates.get(month)
        daily = (1.0 + rate) ** (1.0 / len(days)) if rate is not None else 1.0
        for day in days:
            level *= daily
            bars.append(
                PriceBar(
                    instrument=inst,
                    date=day,
                    close=price(round(level, 8)),
                    adj_close=price(round(level, 8)),
                    source=CASH_SOURCE if rate is not None else CASH_FLAT_SOURCE,
                )
            )
    PriceBar.objects.bulk_create(bars, ignore_conflicts=True, batch_size=5000)
    return inst


def asset_profiles_ensure(symbols: list[str]) -> None:
    for sym in symbols:
        inst = Instrument.objects.get(symbol=sym)
        AssetProfile.objects.update_or_create(
            instrument=inst,
            defaults={
                "asset_class": AssetProfile.AssetClass.CASH if sym == CASH_SYMBOL else AssetProfile.AssetClass.EQUITY,
                "esg_score": Decimal(str(ESG_SCORES.get(sym, 5.0))),
                "expense_ratio": EXPENSE_RATIOS.get(sym, Decimal(0)),
                "trading_cost": Decimal("0.0001") if sym == CASH_SYMBOL else Decimal("0.0005"),
            },
        )


def substitutes_ensure(symbols: list[str]) -> int:
    """Stocks of the same sector substitute each other (lone stocks: the quality and min-vol ETFs);
    the factor ETFs substitute each other. None is substantially identical to what it replaces."""
    insts = {i.symbol: i for i in Instrument.objects.filter(symbol__in=symbols)}
    pairs: list[tuple[str, str]] = []
    stocks = [s for s in symbols if s in cat.STOCKS]
    etfs = [s for s in symbols if s in cat.ETFS]
    for s in stocks:
        peers = [p for p in stocks if p != s and cat.STOCKS[p][1] == cat.STOCKS[s][1]]
        pairs += [(s, p) for p in (peers or [e for e in ("QUAL", "USMV") if e in etfs])]
    pairs += [(e, f) for e in etfs for f in etfs if e != f]
    made = 0
    rank: dict[str, int] = {}
    for a, b in pairs:
        rank[a] = rank.get(a, 0) + 1
        _, created = Substitute.objects.get_or_create(
            instrument=insts[a], substitute=insts[b], defaults={"priority": rank[a]}
        )
        made += created
    return made


def _model_constraints(market: MarketInputs) -> Constraints:
    upper = np.array([MODEL_CASH_UPPER if s == CASH_SYMBOL else MODEL_UPPER for s in market.symbols])
    if upper.sum() < 1.0:
        upper = np.ones(len(market.symbols))
    sectors = sorted({market.sectors[s] for s in market.symbols if market.sectors[s]})
    groups = tuple(
        GroupBound(sector, np.array([market.sectors[s] == sector for s in market.symbols]), 0.0, MODEL_SECTOR_UPPER)
        for sector in sectors
    )
    return Constraints(upper=upper, groups=groups)


def model_portfolios_ensure(market: MarketInputs) -> dict[int, dict[str, float]]:
    """Five model portfolios, target volatility rising from profile 1 to 5 (module constants)."""
    existing = {m.profile: m for m in ModelPortfolio.objects.filter(is_active=True)}
    if len(existing) == 5:
        return {
            p: {w.instrument.symbol: float(w.weight) for w in m.weights.select_related("instrument")}
            for p, m in existing.items()
        }
    constraints = _model_constraints(market)
    ends = efficient_frontier(market.mu, market.cov, constraints, points=2, risk_free=market.risk_free)
    low_vol, high_vol = ends[0].volatility, ends[-1].volatility
    out: dict[int, dict[str, float]] = {}
    for profile, share in enumerate(MODEL_RISK_SHARES, start=1):
        target = low_vol + share * (high_vol - low_vol)
        pf = optimize(
            market.mu, market.cov, Objective.TARGET_RISK, constraints, risk_free=market.risk_free, target=target
        )
        weights = {s: float(w) for s, w in zip(market.symbols, pf.weights, strict=True) if w > 1e-4}
        total = sum(weights.values())
        weights = {s: w / total for s, w in weights.items()}
        model = ModelPortfolio.objects.create(
            profile=profile,
            version=1,
            name=f"{PROFILE_NAMES[profile]} model",
            description=(
                f"Highest expected return at {pf.volatility:.1%} volatility ({market.start} to {market.as_of}, "
                "shrunk means, Ledoit–Wolf covariance); at most 25 % per stock or ETF, 70 % in T-bills, "
                "35 % per sector."
            ),
        )
        ModelWeight.objects.bulk_create(
            [
                ModelWeight(model=model, instrument=Instrument.objects.get(symbol=s), weight=Decimal(f"{w:.8f}"))
                for s, w in weights.items()
            ]
        )
        out[profile] = weights
    return out


# ---------------------------------------------------------------------------- clients


def _advisor() -> User:
    user, _ = User.objects.get_or_create(username=ADVISOR, defaults={"email": f"{ADVISOR}@demo.vigil.invalid"})
    user.groups.add(Group.objects.get_or_create(name=Role.WEALTH_ADVISOR.value)[0])
    return user


def _answers(
    rng: np.random.Generator, questions: list[dict[str, Any]], appetite: float, capacity: float
) -> dict[str, str]:
    """Answers drawn around a latent appetite (willingness) and capacity, both in [0, 1]."""
    out = {}
    for q in questions:
        choices = sorted(q["choices"], key=lambda c: float(c["points"]))
        level = appetite if q["dimension"] == "willingness" else capacity
        k = int(np.clip(round(level * (len(choices) - 1) + rng.normal(0, 0.6)), 0, len(choices) - 1))
        out[q["code"]] = str(choices[k]["value"])
    return out


def _trading_days(wide: pd.DataFrame, start: dt.date, end: dt.date) -> list[dt.date]:
    return [d.date() for d in wide.index if start <= d.date() <= end]


class _Book:
    """Lots and transactions of one account, written in bulk at the end."""

    def __init__(self) -> None:
        self.lots: list[TaxLot] = []
        self.txns: list[WealthTransaction] = []


def _buy(book: _Book, account: WealthAccount, inst: Instrument, day: dt.date, quantity: int, close: float) -> TaxLot:
    lot = TaxLot(
        account=account,
        instrument=inst,
        acquired_on=day,
        holding_start=day,
        quantity=qty(quantity),
        cost_basis=money(quantity * close),
    )
    book.lots.append(lot)
    book.txns.append(
        WealthTransaction(
            account=account,
            instrument=inst,
            trade_date=day,
            side=WealthTransaction.Side.BUY,
            quantity=qty(quantity),
            price=price(close),
            lot=lot,
        )
    )
    return lot


def _client_make(
    *,
    k: int,
    rng: np.random.Generator,
    advisor: User,
    household: Household | None,
    as_of: dt.date,
    wide: pd.DataFrame,
    insts: dict[str, Instrument],
    models: dict[int, dict[str, float]],
    questions: list[dict[str, Any]],
) -> tuple[Client, int]:
    age = int(rng.integers(26, 72))
    birth = dt.date(as_of.year - age, int(rng.integers(1, 13)), int(rng.integers(1, 29)))
    income = float(np.round(rng.lognormal(11.6, 0.5), -3))
    wealth = float(np.round(rng.lognormal(12.6, 0.9), -3))
    short, long_ = [(0.22, 0.15), (0.24, 0.15), (0.32, 0.15), (0.35, 0.20), (0.37, 0.20)][int(rng.integers(0, 5))]
    esg_min, excluded = None, []
    if rng.random() < 0.12:
        esg_min = Decimal(str(round(float(rng.uniform(5.8, 6.5)), 1)))
    if rng.random() < 0.10:
        excluded = ["Energy"]
    surname = household.name.split()[0] if household else LAST[int(rng.integers(0, len(LAST)))]
    client = Client.objects.create(
        code=f"{CODE_PREFIX}{k:04d}",
        name=f"{FIRST[int(rng.integers(0, len(FIRST)))]} {surname}",
        household=household,
        advisor=advisor,
        birth_date=birth,
        annual_income=money(income),
        net_worth=money(wealth * 1.6),
        tax_rate_short=Decimal(str(short)),
        tax_rate_long=Decimal(str(long_)),
        esg_min_score=esg_min,
        esg_excluded_sectors=excluded,
    )
    appetite = float(np.clip(rng.beta(2.2, 2.0), 0, 1))
    capacity = float(np.clip(1.0 - (age - 25) / 55 + rng.normal(0, 0.15), 0, 1))
    profile = profile_submit(actor=advisor, client=client, answers=_answers(rng, questions, appetite, capacity))
    target = models[profile.profile]
    taxable = WealthAccount.objects.create(
        client=client,
        code=f"{client.code}-TAX",
        name="Individual taxable",
        kind=WealthAccount.Kind.TAXABLE,
        opened_on=as_of - dt.timedelta(days=365 * LOT_YEARS + 30),
    )
    accounts = [taxable]
    if rng.random() < 0.7:
        kind = WealthAccount.Kind.ROTH_IRA if rng.random() < 0.4 else WealthAccount.Kind.TRADITIONAL_IRA
        accounts.append(
            WealthAccount.objects.create(
                client=client,
                code=f"{client.code}-IRA",
                name=kind.label,
                kind=kind,
                opened_on=taxable.opened_on,
            )
        )
    book = _Book()
    days = _trading_days(wide, as_of - dt.timedelta(days=365 * LOT_YEARS), as_of - dt.timedelta(days=35))
    # Lots are sized so that today's values follow the model (as if the client had been kept
    # rebalanced), at the historical closes of their purchase days; one client in five tilts
    # toward a favourite stock (drift and concentration).
    favourite = str(rng.choice([s for s in target if s in cat.STOCKS] or list(target)))
    tilt = dict(target)
    if rng.random() < 0.2:
        tilt[favourite] = tilt.get(favourite, 0.0) + float(rng.uniform(0.12, 0.3))
    total = sum(tilt.values())
    now = {s: float(wide[s].iloc[-1]) for s in tilt if s in wide}
    for account in accounts:
        share = 0.7 if account.is_taxable else 0.3
        budget = wealth * (share if len(accounts) > 1 else 1.0)
        tranches = int(rng.integers(2, 6))
        for day in sorted(rng.choice(len(days), size=tranches, replace=False)):
            when = days[int(day)]
            for sym, w in tilt.items():
                close = float(wide.at[pd.Timestamp(when), sym]) if sym in now else math.nan
                quantity = int(budget / tranches * w / total / now[sym]) if close == close and close > 0 else 0
                if quantity > 0:
                    _buy(book, account, insts[sym], when, quantity, close)
        account.cash = money(budget * float(rng.uniform(0.005, 0.025)))
        account.save(update_fields=["cash"])
    _recent_and_panic(rng=rng, book=book, accounts=accounts, as_of=as_of, wide=wide, insts=insts)
    TaxLot.objects.bulk_create([lot for lot in book.lots if lot.quantity > 0])
    for txn in book.txns:
        if txn.lot is not None and txn.lot.pk is None:  # a lot sold out is not stored
            txn.lot = None
    WealthTransaction.objects.bulk_create(book.txns)
    return client, len(book.lots)


def _recent_and_panic(
    *,
    rng: np.random.Generator,
    book: _Book,
    accounts: list[WealthAccount],
    as_of: dt.date,
    wide: pd.DataFrame,
    insts: dict[str, Instrument],
) -> None:
    """A few clients buy recently in the IRA what they hold at a loss in the taxable account (the
    wash-sale rule then blocks harvesting it); a few sold in a panic during the 2022 drawdown."""
    last = pd.Timestamp(as_of)
    taxable = accounts[0]
    if len(accounts) > 1 and rng.random() < 0.2:
        losers = [
            lot
            for lot in book.lots
            if lot.account is taxable
            and lot.instrument.symbol in wide
            and float(wide[lot.instrument.symbol].asof(last)) < float(lot.cost_basis / lot.quantity)
        ]
        if losers:
            lot = losers[int(rng.integers(0, len(losers)))]
            days = _trading_days(wide, as_of - dt.timedelta(days=20), as_of - dt.timedelta(days=3))
            when = days[int(rng.integers(0, len(days)))]
            close = float(wide.at[pd.Timestamp(when), lot.instrument.symbol])
            quantity = max(1, int(2000 / close))  # paid by a contribution of the same amount
            _buy(book, accounts[1], lot.instrument, when, quantity, close)
    if rng.random() < 0.1:
        window = _trading_days(wide, dt.date(2022, 6, 6), dt.date(2022, 6, 24))
        if not window:
            return
        sold_on = window[int(rng.integers(0, len(window)))]
        for lot in [lt for lt in book.lots if lt.account is taxable and lt.acquired_on < sold_on]:
            if rng.random() < 0.6:
                continue
            sym = lot.instrument.symbol
            close = float(wide.at[pd.Timestamp(sold_on), sym]) if sym in wide else math.nan
            sold = lot.quantity * Decimal("0.6")
            sold = sold.quantize(Decimal(1))
            if math.isnan(close) or sold <= 0:
                continue
            basis = (lot.cost_basis * sold / lot.quantity).quantize(Decimal("0.0001"))
            proceeds = money(float(sold) * close)
            lot.quantity -= sold
            lot.cost_basis -= basis
            taxable.cash += proceeds
            book.txns.append(
                WealthTransaction(
                    account=taxable,
                    instrument=lot.instrument,
                    trade_date=sold_on,
                    side=WealthTransaction.Side.SELL,
                    quantity=sold,
                    price=price(close),
                    realized_gain=proceeds - basis,
                    short_term=(sold_on - lot.holding_start).days <= 365,
                    lot=lot,
                    holding_start=lot.holding_start,
                )
            )
        taxable.save(update_fields=["cash"])


def _goals(rng: np.random.Generator, client: Client, advisor: User, as_of: dt.date) -> int:
    age = as_of.year - client.birth_date.year
    made = 0
    extra = [str(x) for x in rng.permutation(["home", "education", "custom"])][: int(rng.integers(0, 3))]
    for kind in ["retirement", *extra]:
        name, priority, years, (low, high) = GOAL_KINDS[kind]
        horizon = max(1, min(45, client.retirement_age - age)) if kind == "retirement" else int(rng.integers(*years))
        data: dict[str, Any] = {
            "kind": kind,
            "name": name,
            "priority": priority,
            "horizon_years": horizon,
        }
        initial = float(np.round(rng.uniform(low, high) * rng.uniform(0.25, 0.8), -2))
        monthly = float(np.round(float(client.annual_income) * rng.uniform(0.04, 0.15) / 12, -1))
        # The target is what the savings add up to in today's money (no real growth), times
        # 0.6–1.3: most goals are on track, some are stretched, a few are out of reach.
        reachable = initial + monthly * 12 * horizon
        data["target_amount"] = float(max(np.round(reachable * rng.uniform(0.6, 1.3), -3), 1_000.0))
        data["initial_amount"] = initial
        data["monthly_contribution"] = monthly
        data["glide_path"] = kind != "custom"
        goal_create(actor=advisor, client=client, data=data)
        made += 1
    return made


def wealth_demo_load(*, config: WealthDemoConfig, log: Log = print) -> WealthDemoResult:
    """Load the wealth demo (module docstring); safe to run any number of times."""
    result = WealthDemoResult()
    universe = _universe()
    if len(universe) < 3:
        raise ValueError("The demo market is missing: run load_demo first.")
    as_of = price_date_latest(universe)
    assert as_of is not None
    result.as_of = as_of
    advisor = _advisor()
    if Client.objects.filter(code__startswith=CODE_PREFIX).exists():
        result.already_loaded = True
        result.clients = Client.objects.filter(code__startswith=CODE_PREFIX).count()
        return result
    log(f"Universe: {len(universe)} instruments and {CASH_SYMBOL}, prices up to {as_of}.")
    with transaction.atomic():
        cash_instrument_ensure(as_of)
        symbols = [*universe, CASH_SYMBOL]
        asset_profiles_ensure(symbols)
        substitutes_ensure(universe)
        questionnaire = questionnaire_active()
        market = market_inputs(symbols=symbols, as_of=as_of)
        result.models = model_portfolios_ensure(market)
    for p, weights in result.models.items():
        mu, vol = market.moments(weights)
        log(
            f"  model {p} ({PROFILE_NAMES[p]}): expected return {mu:.1%}, volatility {vol:.1%}, {len(weights)} holdings"
        )
    rng = np.random.default_rng(config.seed)
    wide = price_history(symbols, as_of - dt.timedelta(days=365 * LOT_YEARS + 10), as_of).ffill()
    insts = {i.symbol: i for i in Instrument.objects.filter(symbol__in=symbols)}
    log(f"Clients ({config.clients}, seed {config.seed}):")
    k = 0
    goals = []
    while k < config.clients:
        size = 2 if rng.random() < 0.4 and k + 1 < config.clients else 1
        with transaction.atomic():
            household = (
                Household.objects.create(name=f"{LAST[int(rng.integers(0, len(LAST)))]} household", advisor=advisor)
                if size == 2
                else None
            )
            for _ in range(size):
                k += 1
                client, lots = _client_make(
                    k=k,
                    rng=rng,
                    advisor=advisor,
                    household=household,
                    as_of=as_of,
                    wide=wide,
                    insts=insts,
                    models=result.models,
                    questions=questionnaire.questions,
                )
                result.lots += lots
                result.goals += _goals(rng, client, advisor, as_of)
                goals += list(client.goals.all())
    result.clients = k
    log(f"  {result.clients} clients, {result.lots} lots, {result.goals} goals")
    for goal in goals:
        goal_plan(actor=advisor, goal=goal, market=market)
        result.plans += 1
    log(f"  {result.plans} goal plans (10,000 paths each)")
    with transaction.atomic():
        audit_record(
            action="wealth.demo.load",
            actor=advisor,
            object_repr="wealth demo",
            parameters={"clients": config.clients, "seed": config.seed, "as_of": as_of.isoformat()},
        )
    result.scan_run_id = wealth_scan_queue(actor=advisor).pk
    return result
