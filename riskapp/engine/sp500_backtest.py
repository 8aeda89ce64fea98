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
#: GARCH estimation window: 1,000 days as in McNeil & Frey (2000); 250-day fits often degenerate.
GARCH_WINDOW = 1000


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
    garch_window: int = GARCH_WINDOW,
    garch_refit_days: int = DEFAULT_GARCH_REFIT_DAYS,
) -> Sp500Backtest:
    """Backtest a long position over [start, end]; forecasts use the ``window`` days before each
    date (and the ``garch_window`` days before it for the GARCH estimate)."""
    returns = sp500_returns()
    first = int(returns.index.searchsorted(pd.Timestamp(start)))
    last = int(returns.index.searchsorted(pd.Timestamp(end), side="right"))
    history = max(window, garch_window if "fhs_garch" in methods else 0)
    if first < history:
        raise ValueError(f"Not enough history before {start} for a {history}-day window.")
    sample = returns.iloc[first - history : last]
    paths = rolling_var_backtest(
        sample.to_numpy()[:, None],
        np.array([1.0]),
        window=window,
        confidence=confidence,
        methods=methods,
        garch_window=garch_window,
        garch_refit_days=garch_refit_days,
        start=history,
    )
    summaries = {m: backtest_summary(p.hits, confidence=confidence) for m, p in paths.items()}
    return Sp500Backtest(pd.DatetimeIndex(sample.index[history:]), paths, summaries)


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


def garch_sensitivity_table(
    *, garch_windows: Sequence[int] = (250, GARCH_WINDOW), refit_days: Sequence[int] = (1, DEFAULT_GARCH_REFIT_DAYS)
) -> str:
    """FHS-GARCH exceptions for each estimation window × refit interval (~25 s for the defaults)."""
    lines = [
        "| GARCH estimation window | Refit every | Exceptions | Kupiec p | Zone |",
        "|---:|---:|---:|---:|---|",
    ]
    for gw in garch_windows:
        for k in refit_days:
            s = sp500_backtest(methods=("fhs_garch",), garch_window=gw, garch_refit_days=k).summaries["fhs_garch"]
            lines.append(
                f"| {gw} days | {k} day{'s' if k > 1 else ''} | {s.exceptions} | {s.kupiec_p:.3g} | {s.zone} |"
            )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    """Print the tables; ``--garch-sensitivity`` adds the GARCH window/refit comparison."""
    args = list(sys.argv[1:] if argv is None else argv)
    print(markdown_tables(sp500_backtest()))
    if "--garch-sensitivity" in args:
        print()
        print(garch_sensitivity_table())


if __name__ == "__main__":
    main()
