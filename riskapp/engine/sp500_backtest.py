"""Evidence: rolling 1-day 99% VaR backtest of a long S&P 500 position over 2007–2009.

Data: the S&P 500 daily history shipped with the ``arch`` package (``arch.data.sp500``, Yahoo
Finance, 1999–2018); returns are simple daily returns of the adjusted close. Every trading day
from 2007-01-03 to 2009-12-31 gets a VaR forecast from the previous ``window`` (250) trading
days only, for a position worth 1 (so VaR is a fraction of the position), and is compared with
that day's return. Run ``python -m riskapp.engine.sp500_backtest`` to print the Markdown
tables reproduced in ``docs/risk-methodology.md``.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from riskapp.engine.backtest import (
    BUILTIN_METHODS,
    DEFAULT_GARCH_REFIT_DAYS,
    BacktestPath,
    BacktestSummary,
    backtest_summary,
    rolling_var_backtest,
)

START = "2007-01-01"
END = "2009-12-31"


@dataclass(frozen=True)
class Sp500Backtest:
    """Per-method daily paths and summaries, plus the forecast dates they align with."""

    dates: pd.DatetimeIndex
    paths: dict[str, BacktestPath]
    summaries: dict[str, BacktestSummary]


def sp500_returns() -> pd.Series:
    """Simple daily returns of the S&P 500 adjusted close from ``arch.data.sp500``."""
    from arch.data import sp500

    close = sp500.load()["Adj Close"].astype("float64")
    return close.pct_change().dropna()


def sp500_backtest(
    *,
    start: str = START,
    end: str = END,
    window: int = 250,
    confidence: float = 0.99,
    methods: Sequence[str] = BUILTIN_METHODS,
    garch_refit_days: int = DEFAULT_GARCH_REFIT_DAYS,
) -> Sp500Backtest:
    """Backtest a long position over [start, end]; forecasts use the ``window`` days before each date."""
    returns = sp500_returns()
    first = int(returns.index.searchsorted(pd.Timestamp(start)))
    last = int(returns.index.searchsorted(pd.Timestamp(end), side="right"))
    if first < window:
        raise ValueError(f"Not enough history before {start} for a {window}-day window.")
    sample = returns.iloc[first - window : last]
    paths = rolling_var_backtest(
        sample.to_numpy()[:, None],
        np.array([1.0]),
        window=window,
        confidence=confidence,
        methods=methods,
        garch_refit_days=garch_refit_days,
    )
    summaries = {m: backtest_summary(p.hits, confidence=confidence) for m, p in paths.items()}
    return Sp500Backtest(pd.DatetimeIndex(sample.index[window:]), paths, summaries)


def markdown_tables(result: Sp500Backtest, *, confidence: float = 0.99) -> str:
    """The whole-period summary table and the per-calendar-year exception/zone table."""
    lines = [
        "| Method | Days | Exceptions | Expected | Kupiec LR (p) | Christoffersen ind. LR (p) | "
        "Cond. coverage LR (p) | Basel zone (plus factor) |",
        "|---|---:|---:|---:|---|---|---|---|",
    ]
    for method, s in result.summaries.items():
        lines.append(
            f"| {method} | {s.n} | {s.exceptions} | {s.expected:.1f} | {s.kupiec_lr:.2f} ({s.kupiec_p:.3g}) | "
            f"{s.independence_lr:.2f} ({s.independence_p:.3g}) | {s.cc_lr:.2f} ({s.cc_p:.3g}) | "
            f"{s.zone} (+{s.plus_factor:.2f}) |"
        )
    years = sorted(set(result.dates.year))
    lines += ["", "| Method | " + " | ".join(f"{y}: exceptions / days (zone)" for y in years) + " |"]
    lines.append("|---|" + "---|" * len(years))
    for method, path in result.paths.items():
        cells = []
        for y in years:
            mask = np.asarray(result.dates.year == y)
            s = backtest_summary(path.hits[mask], confidence=confidence)
            cells.append(f"{s.exceptions} / {s.n} ({s.zone})")
        lines.append(f"| {method} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    """Print the tables; ``--daily-garch`` adds FHS-GARCH refitted every day for comparison."""
    args = list(sys.argv[1:] if argv is None else argv)
    result = sp500_backtest()
    print(markdown_tables(result))
    if "--daily-garch" in args:
        daily = sp500_backtest(methods=("fhs_garch",), garch_refit_days=1)
        s = daily.summaries["fhs_garch"]
        print(f"\nfhs_garch refitted daily: {s.exceptions} exceptions in {s.n} days, zone {s.zone}")


if __name__ == "__main__":
    main()
