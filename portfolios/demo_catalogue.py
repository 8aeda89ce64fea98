"""What the demo firm is made of: instruments (real names and GICS sectors), desks, owners,
accounts, and the opening books (portfolios, positions, equity options).

The people and companies of the firm are fictitious; instrument names and sectors are facts.
Rows are built exactly as an OMS would send them to the ingestion API (see portfolios.demo).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from portfolios.engine.synthetic import black_scholes_price, realised_volatility, stream_rng

if TYPE_CHECKING:
    from portfolios.demo import DemoConfig

# The 20 stocks of skfolio's S&P 500 data set: name and GICS sector.
STOCKS: dict[str, tuple[str, str]] = {
    "AAPL": ("Apple Inc.", "Information Technology"),
    "AMD": ("Advanced Micro Devices, Inc.", "Information Technology"),
    "BAC": ("Bank of America Corporation", "Financials"),
    "BBY": ("Best Buy Co., Inc.", "Consumer Discretionary"),
    "CVX": ("Chevron Corporation", "Energy"),
    "GE": ("General Electric Company", "Industrials"),
    "HD": ("The Home Depot, Inc.", "Consumer Discretionary"),
    "JNJ": ("Johnson & Johnson", "Health Care"),
    "JPM": ("JPMorgan Chase & Co.", "Financials"),
    "KO": ("The Coca-Cola Company", "Consumer Staples"),
    "LLY": ("Eli Lilly and Company", "Health Care"),
    "MRK": ("Merck & Co., Inc.", "Health Care"),
    "MSFT": ("Microsoft Corporation", "Information Technology"),
    "PEP": ("PepsiCo, Inc.", "Consumer Staples"),
    "PFE": ("Pfizer Inc.", "Health Care"),
    "PG": ("The Procter & Gamble Company", "Consumer Staples"),
    "RRC": ("Range Resources Corporation", "Energy"),
    "UNH": ("UnitedHealth Group Incorporated", "Health Care"),
    "WMT": ("Walmart Inc.", "Consumer Staples"),
    "XOM": ("Exxon Mobil Corporation", "Energy"),
}
# skfolio's factor data set: iShares MSCI USA factor ETFs.
ETFS: dict[str, str] = {
    "MTUM": "iShares MSCI USA Momentum Factor ETF",
    "QUAL": "iShares MSCI USA Quality Factor ETF",
    "SIZE": "iShares MSCI USA Size Factor ETF",
    "USMV": "iShares MSCI USA Min Vol Factor ETF",
    "VLUE": "iShares MSCI USA Value Factor ETF",
}
# Index series: skfolio's S&P 500 closes (1990–2022) and arch's OHLCV series (1999–2018).
INDICES: dict[str, str] = {
    "SPX": "S&P 500 Index (daily close, skfolio)",
    "^GSPC": "S&P 500 Index (daily OHLCV, arch)",
    "^IXIC": "NASDAQ Composite Index (daily OHLCV, arch)",
}

DESKS = [
    ("FUND", "Long-only funds"),
    ("LS", "Long/short equity"),
    ("DERIV", "Equity derivatives"),
    ("MM", "Market making"),
    ("WEALTH", "Wealth management"),
]
# code, name, kind, is_employee
OWNERS = [
    ("E-VIGILCAP", "Vigil Capital Markets LLC (the firm)", "entity", False),
    ("E-USLCFUND", "Vigil US Large Cap Equity Fund", "entity", False),
    ("E-NORTHBRIDGE", "Northbridge Teachers' Pension Plan", "entity", False),
    ("P-AMARTIN", "Alice Martin", "person", False),
    ("P-BMARTIN", "Benjamin Martin", "person", False),
    ("P-CCHEN", "Chloe Chen", "person", False),
    # A trader on the long/short desk holding a personal account with the wealth desk.
    ("P-DORTIZ", "Daniel Ortiz", "person", True),
]


@dataclass(frozen=True)
class AccountDef:
    """An account of the demo firm, its broker and its commission (USD per share filled)."""

    code: str
    name: str
    kind: str
    owner: str
    desk: str
    portfolio: str | None
    broker: str
    commission_per_share: float
    linked: tuple[str, ...] = ()


ACCOUNTS = [
    AccountDef("ACC-FUND-LC", "US Large Cap Fund", "client", "E-USLCFUND", "FUND", "LO-FUND", "BRKA", 0.005),
    AccountDef("ACC-INST-NPF", "Northbridge agency", "client", "E-NORTHBRIDGE", "FUND", None, "BRKB", 0.005),
    AccountDef("ACC-LS-PROP", "Long/short book", "proprietary", "E-VIGILCAP", "LS", "LS-ALPHA", "BRKC", 0.002),
    AccountDef("ACC-DERIV-PROP", "Derivatives book", "proprietary", "E-VIGILCAP", "DERIV", "DERIV-BOOK", "BRKC", 0.002),
    AccountDef("ACC-MM-01", "Market making", "market_maker", "E-VIGILCAP", "MM", "MM-BOOK", "", 0.0),
    AccountDef("ACC-WM-AMARTIN", "Alice Martin", "client", "P-AMARTIN", "WEALTH", "WM-AMARTIN", "BRKA", 0.005),
    # Spouses advised together: linked, so wash-trade rules treat them as acting together.
    AccountDef(
        "ACC-WM-BMARTIN",
        "Benjamin Martin",
        "client",
        "P-BMARTIN",
        "WEALTH",
        "WM-BMARTIN",
        "BRKA",
        0.005,
        linked=("ACC-WM-AMARTIN",),
    ),
    AccountDef("ACC-WM-CCHEN", "Chloe Chen", "client", "P-CCHEN", "WEALTH", "WM-CCHEN", "BRKA", 0.005),
    AccountDef("ACC-EMP-DORTIZ", "Daniel Ortiz (staff)", "client", "P-DORTIZ", "WEALTH", "WM-DORTIZ", "BRKA", 0.005),
]
ACCOUNTS_BY_CODE = {a.code: a for a in ACCOUNTS}

# code, name, desk
PORTFOLIOS = [
    ("LO-FUND", "US Large Cap Equity Fund (long only)", "FUND"),
    ("LS-ALPHA", "Long/Short Alpha (net long)", "LS"),
    ("DERIV-BOOK", "Equity options book", "DERIV"),
    ("MM-BOOK", "Market-making inventory", "MM"),
    ("WM-AMARTIN", "Alice Martin – balanced", "WEALTH"),
    ("WM-BMARTIN", "Benjamin Martin – growth", "WEALTH"),
    ("WM-CCHEN", "Chloe Chen – conservative", "WEALTH"),
    ("WM-DORTIZ", "Daniel Ortiz – personal account", "WEALTH"),
]
# Wealth portfolios: (target NAV in USD, share in ETFs, number of single stocks).
WEALTH_MANDATES = {
    "WM-AMARTIN": (2_000_000, 0.6, 4),
    "WM-BMARTIN": (1_200_000, 0.4, 6),
    "WM-CCHEN": (3_500_000, 0.8, 3),
    "WM-DORTIZ": (400_000, 0.0, 3),
}
OPTION_RATE = 0.04  # flat risk-free rate for option prices (3-month T-bills were ~4% in Dec 2022)
OPTION_MULTIPLIER = 100
# underlying, expiry, strike offset from the at-the-money strike, right, contracts (short < 0)
OPTION_BOOK = [
    ("AAPL", date(2023, 1, 20), 0, "call", 300),
    ("AAPL", date(2023, 1, 20), 0, "put", -200),
    ("AAPL", date(2023, 3, 17), 10, "call", 150),
    ("MSFT", date(2023, 1, 20), 0, "call", -250),
    ("MSFT", date(2023, 3, 17), -10, "put", 200),
]
OPTION_HEDGES = {"AAPL": -15_000, "MSFT": 8_000}  # delta hedges in shares


def instrument_rows(stocks: tuple[str, ...], etfs: tuple[str, ...]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for sym in stocks:
        name, sector = STOCKS[sym]
        rows.append({"symbol": sym, "name": name, "kind": "equity", "sector": sector, "country": "US"})
    rows += [{"symbol": s, "name": ETFS[s], "kind": "etf", "country": "US"} for s in etfs]
    rows += [{"symbol": s, "name": n, "kind": "index", "country": "US"} for s, n in INDICES.items()]
    return rows


def desk_rows() -> list[dict[str, Any]]:
    return [{"code": c, "name": n} for c, n in DESKS]


def owner_rows() -> list[dict[str, Any]]:
    return [{"code": c, "name": n, "kind": k, "is_employee": e} for c, n, k, e in OWNERS]


def account_rows() -> list[dict[str, Any]]:
    rows = []
    for a in ACCOUNTS:
        row: dict[str, Any] = {"code": a.code, "name": a.name, "kind": a.kind, "owner": a.owner, "desk": a.desk}
        if a.portfolio:
            row["portfolio"] = a.portfolio
        if a.linked:
            row["linked_accounts"] = list(a.linked)
        rows.append(row)
    return rows


# ---------------------------------------------------------------------------- books


@dataclass(frozen=True)
class OptionDef:
    symbol: str
    underlying: str
    strike: float
    expiry: date
    right: str

    def price(self, spot: float, day: date, daily_vol: float) -> float:
        """Black–Scholes value per share with the underlying's trailing realised volatility."""
        years = (self.expiry - day).days / 365.0
        value = black_scholes_price(
            spot=spot,
            strike=self.strike,
            years=years,
            vol=daily_vol * np.sqrt(252.0),
            rate=OPTION_RATE,
            right=self.right,
        )
        return max(round(value, 4), 0.01)


@dataclass
class Books:
    """Opening books at the close of ``opening``: NAV = Σ quantity × price × multiplier + cash."""

    opening: date
    options: list[OptionDef] = field(default_factory=list)
    holdings: dict[str, dict[str, int]] = field(default_factory=dict)  # portfolio -> symbol -> quantity
    cost_basis: dict[tuple[str, str], float] = field(default_factory=dict)
    nav: dict[str, float] = field(default_factory=dict)

    @property
    def option_instruments(self) -> list[dict[str, Any]]:
        return [
            {
                "symbol": o.symbol,
                "name": f"{o.underlying} {o.expiry:%Y-%m-%d} {o.strike:g} {o.right}",
                "kind": "option",
                "country": "US",
                "sector": STOCKS[o.underlying][1],
                "lot_size": 1,
                "multiplier": OPTION_MULTIPLIER,
                "underlying": o.underlying,
                "strike": o.strike,
                "expiry": o.expiry.isoformat(),
                "option_right": o.right,
            }
            for o in self.options
        ]

    def option_bars(self, stocks: pd.DataFrame, days: list[date]) -> list[dict[str, Any]]:
        """Theoretical daily closes (source ``synthetic``, Black–Scholes) from the opening day to the end."""
        rows = []
        for day in [self.opening, *days]:
            pos = stocks.index.get_loc(pd.Timestamp(day))
            for o in self.options:
                series = stocks[o.underlying].to_numpy()
                vol = realised_volatility(series[:pos])
                price = o.price(float(series[pos]), day, vol)
                rows.append(
                    {
                        "instrument": o.symbol,
                        "date": day.isoformat(),
                        "close": price,
                        "adj_close": price,
                        "source": "synthetic",
                    }
                )
        return rows

    @property
    def portfolio_rows(self) -> list[dict[str, Any]]:
        return [{"code": c, "name": n, "desk": d, "nav": round(self.nav[c], 2)} for c, n, d in PORTFOLIOS]

    @property
    def position_rows(self) -> list[dict[str, Any]]:
        rows = []
        for code, book in self.holdings.items():
            for sym, qty in book.items():
                row: dict[str, Any] = {
                    "portfolio": code,
                    "instrument": sym,
                    "as_of": self.opening.isoformat(),
                    "quantity": qty,
                    "kind": "opening",
                }
                if (code, sym) in self.cost_basis:
                    row["cost_basis"] = self.cost_basis[(code, sym)]
                rows.append(row)
        return rows


def _shares(value: float, price: float) -> int:
    return int(value // price)


def books(config: DemoConfig, stocks: pd.DataFrame, etfs: pd.DataFrame, opening: date) -> Books:
    """Opening positions and NAVs, seeded; every price is the real close of ``opening``."""
    rng = stream_rng(config.seed, "books")
    at = pd.Timestamp(opening)
    price = {**stocks.loc[at].to_dict(), **etfs.loc[at].to_dict()}
    names = list(config.stocks)
    out = Books(opening=opening)

    def book(code: str, positions: dict[str, int], cash: float, extra_value: float = 0.0) -> None:
        positions = {s: q for s, q in positions.items() if q != 0}
        out.holdings[code] = positions
        value = sum(q * price[s] for s, q in positions.items() if s in price) + extra_value
        out.nav[code] = value + cash

    # Long only: Dirichlet weights over every stock, 97% invested.
    weights = rng.dirichlet(np.full(len(names), 5.0))
    book("LO-FUND", {s: _shares(250e6 * 0.97 * w, price[s]) for s, w in zip(names, weights, strict=True)}, 250e6 * 0.03)

    # Long/short: 120m long, 80m short, 60m cash (NAV ≈ 100m).
    order = rng.permutation(names)
    longs, shorts = order[: (len(order) + 1) // 2], order[(len(order) + 1) // 2 :]
    ls = {s: _shares(120e6 / len(longs), price[s]) for s in longs}
    ls |= {s: -_shares(80e6 / len(shorts), price[s]) for s in shorts} if len(shorts) else {}
    book("LS-ALPHA", ls, 60e6)

    # Options on AAPL/MSFT with strikes on a 5-dollar grid near the last close of the data.
    options_value = 0.0
    deriv: dict[str, int] = {}
    pos = stocks.index.get_loc(at)
    for underlying, expiry, offset, right, contracts in OPTION_BOOK:
        if underlying not in names:
            continue
        strike = float(5 * round(stocks[underlying].iloc[-1] / 5) + offset)
        symbol = f"{underlying}{expiry:%y%m%d}{right[0].upper()}{int(strike * 1000):08d}"  # OCC style, no padding
        option = OptionDef(symbol, underlying, strike, expiry, right)
        out.options.append(option)
        series = stocks[underlying].to_numpy()
        unit = option.price(float(series[pos]), opening, realised_volatility(series[:pos]))
        options_value += contracts * unit * OPTION_MULTIPLIER
        deriv[symbol] = contracts
    deriv |= {s: q for s, q in OPTION_HEDGES.items() if s in names}
    book("DERIV-BOOK", deriv, 25e6, extra_value=options_value)

    mm = {s: int(rng.integers(-50, 51)) * 100 for s in config.mm_symbols if s in names}
    book("MM-BOOK", mm, 15e6)

    for code, (target, etf_share, n_stocks) in WEALTH_MANDATES.items():
        chosen = list(rng.choice(names, size=min(n_stocks, len(names)), replace=False))
        holdings: dict[str, int] = {}
        if etfs.shape[1] and etf_share > 0:
            for s in etfs.columns:
                holdings[s] = _shares(target * etf_share / etfs.shape[1], price[s])
        stock_share = 0.95 - (etf_share if etfs.shape[1] else 0.0)
        for s in chosen:
            holdings[s] = _shares(target * stock_share / len(chosen), price[s])
        invested = sum(q * price[s] for s, q in holdings.items())
        book(code, holdings, target - invested)
        # Bought at various times: cost within ±25% of today's value, so some lots show losses
        # (tax-loss harvesting candidates).
        for s, q in holdings.items():
            out.cost_basis[(code, s)] = round(q * price[s] * float(rng.uniform(0.75, 1.25)), 2)
    return out
