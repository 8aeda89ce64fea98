"""VaR backtesting: exceptions, Kupiec, Christoffersen, the Basel traffic light, rolling backtests.

An *exception* (a "hit") is a day whose realised loss exceeded that day's 1-day VaR forecast:
``-pnl_t > VaR_t``. Over ``n`` days at confidence ``c`` a correct model has exceptions that are
i.i.d. Bernoulli(p = 1 − c).

- Kupiec (1995) proportion of failures: ``LR_pof = −2 ln[(1−p)^(n−x) p^x] + 2 ln[(1−x/n)^(n−x) (x/n)^x]``
  ~ χ²(1) under the null (correct unconditional coverage).
- Christoffersen (1998) independence: from the transition counts n_ij (state i yesterday,
  j today), ``π01 = n01/(n00+n01)``, ``π11 = n11/(n10+n11)``, ``π = (n01+n11)/(n00+n01+n10+n11)``,
  ``LR_ind = −2 ln[(1−π)^(n00+n10) π^(n01+n11)] + 2 ln[(1−π01)^n00 π01^n01 (1−π11)^n10 π11^n11]``
  ~ χ²(1) under the null (exceptions do not cluster).
- Conditional coverage: ``LR_cc = LR_pof + LR_ind`` ~ χ²(2) (Christoffersen 1998; the usual
  practice, e.g. Jorion, *Value at Risk*, 3rd ed., §6.2, of adding the two statistics with
  ``LR_pof`` on all n days and ``LR_ind`` on the n − 1 transitions).
- In every likelihood ``0 · ln 0 = 0`` (``scipy.special.xlogy``), so zero exceptions, all
  exceptions or a state never visited give finite statistics, never NaN.
- Basel Committee on Banking Supervision (1996), *Supervisory framework for the use of
  "backtesting" in conjunction with the internal models approach to market risk capital*,
  Table 2: 250 days at 99% → green 0–4 exceptions (plus factor 0), yellow 5/6/7/8/9 (0.40, 0.50,
  0.65, 0.75, 0.85), red ≥ 10 (1.00). The zones are defined by the binomial cumulative
  probability of the observed count: green below 95%, red at or above 99.99%. For other sample
  sizes or confidences we apply the same probability boundaries to Binomial(n, 1 − c), and in the
  yellow zone take the plus factor of the 250-day/99% count with the largest cumulative
  probability not above the observed one (so n = 250, c = 0.99 reproduces Table 2 exactly).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, NamedTuple

import numpy as np
import numpy.typing as npt
from numpy.lib.stride_tricks import sliding_window_view
from scipy import stats
from scipy.special import xlogy

from riskapp.engine import evt, fhs
from riskapp.engine.tail import var_es_columns
from riskapp.engine.types import (
    FloatArray,
    RiskInputError,
    check_confidence,
    check_returns,
    check_values,
)

BoolArray = npt.NDArray[np.bool_]
Zone = Literal["green", "yellow", "red"]
#: (window returns W × N, position values N) → 1-day VaR (positive loss) for the next day.
VarFunction = Callable[[FloatArray, FloatArray], float]

#: Basel (1996) Table 2, 250 observations at 99%: exceptions → plus factor in the yellow zone.
BASEL_YELLOW_PLUS_FACTORS: dict[int, float] = {5: 0.40, 6: 0.50, 7: 0.65, 8: 0.75, 9: 0.85}
BASEL_RED_PLUS_FACTOR = 1.00
BASEL_GREEN_LIMIT = 0.95  # cumulative probability at which the yellow zone begins
BASEL_RED_LIMIT = 0.9999  # cumulative probability at which the red zone begins

BUILTIN_METHODS: tuple[str, ...] = ("historical", "parametric_normal", "fhs_ewma", "fhs_garch", "evt", "evt_ewma")
DEFAULT_METHODS: tuple[str, ...] = ("historical", "parametric_normal", "fhs_ewma", "fhs_garch")
#: GARCH(1,1) is refitted every this many days and only filtered in between (see rolling_var_backtest).
DEFAULT_GARCH_REFIT_DAYS = 20


class BacktestPath(NamedTuple):
    """Aligned daily series of one method: the VaR forecast, realised P&L and exceptions."""

    var: FloatArray
    pnl: FloatArray
    hits: BoolArray


@dataclass(frozen=True)
class BacktestSummary:
    """The statistics a risk officer reads off one method's backtest."""

    n: int
    exceptions: int
    expected: float
    kupiec_lr: float
    kupiec_p: float
    independence_lr: float
    independence_p: float
    cc_lr: float
    cc_p: float
    zone: Zone
    plus_factor: float


def _bernoulli_loglik(failures: float, successes: float) -> float:
    """Maximised Bernoulli log-likelihood (π̂ = successes / total), with 0·ln 0 = 0."""
    total = failures + successes
    if total == 0:
        return 0.0
    pi = successes / total
    return float(xlogy(successes, pi) + xlogy(failures, 1.0 - pi))


def _check_counts(exceptions: int, n: int) -> tuple[int, int]:
    if isinstance(n, bool) or int(n) != n or n < 1:
        raise RiskInputError(f"The number of backtest days must be a positive whole number; got {n!r}.")
    if isinstance(exceptions, bool) or int(exceptions) != exceptions or not (0 <= exceptions <= n):
        raise RiskInputError(f"Exceptions must be a whole number between 0 and {n}; got {exceptions!r}.")
    return int(exceptions), int(n)


def _check_hits(hits: npt.ArrayLike) -> BoolArray:
    arr = np.asarray(hits)
    if arr.ndim != 1 or arr.size < 2:
        raise RiskInputError("The exception series needs at least 2 days.")
    if arr.dtype != np.bool_:
        if not np.all(np.isin(arr, (0, 1))):
            raise RiskInputError("The exception series must contain only True/False (1/0).")
        arr = arr.astype(np.bool_)
    out: BoolArray = arr
    return out


def kupiec_pof(exceptions: int, n: int, *, confidence: float) -> tuple[float, float]:
    """Kupiec (1995) proportion-of-failures test: (LR, p-value) with LR ~ χ²(1)."""
    x, n = _check_counts(exceptions, n)
    p = 1.0 - check_confidence(confidence)
    null = float(xlogy(x, p) + xlogy(n - x, 1.0 - p))
    lr = max(2.0 * (_bernoulli_loglik(n - x, x) - null), 0.0)  # max: rounding can give −1e−13
    return lr, float(stats.chi2.sf(lr, 1))


def transition_counts(hits: npt.ArrayLike) -> tuple[int, int, int, int]:
    """(n00, n01, n10, n11): day-to-day transitions between no-exception (0) and exception (1)."""
    h = _check_hits(hits).astype(np.int64)
    pairs = 2 * h[:-1] + h[1:]
    n00, n01, n10, n11 = (int(k) for k in np.bincount(pairs, minlength=4))
    return n00, n01, n10, n11


def christoffersen_independence(hits: npt.ArrayLike) -> tuple[float, float]:
    """Christoffersen (1998) independence test: (LR, p-value) with LR ~ χ²(1)."""
    n00, n01, n10, n11 = transition_counts(hits)
    restricted = _bernoulli_loglik(n00 + n10, n01 + n11)
    unrestricted = _bernoulli_loglik(n00, n01) + _bernoulli_loglik(n10, n11)
    lr = max(2.0 * (unrestricted - restricted), 0.0)
    return lr, float(stats.chi2.sf(lr, 1))


def conditional_coverage(hits: npt.ArrayLike, *, confidence: float) -> tuple[float, float]:
    """Christoffersen (1998) conditional coverage: LR_pof + LR_ind ~ χ²(2); (LR, p-value)."""
    h = _check_hits(hits)
    lr_pof, _ = kupiec_pof(int(h.sum()), int(h.size), confidence=confidence)
    lr_ind, _ = christoffersen_independence(h)
    lr = lr_pof + lr_ind
    return lr, float(stats.chi2.sf(lr, 2))


def traffic_light(exceptions: int, n: int = 250, *, confidence: float = 0.99) -> tuple[Zone, float]:
    """Basel (1996) traffic-light zone and capital plus factor (see the module docstring)."""
    x, n = _check_counts(exceptions, n)
    p = 1.0 - check_confidence(confidence)
    cumulative = float(stats.binom.cdf(x, n, p))
    if cumulative < BASEL_GREEN_LIMIT:
        return "green", 0.0
    if cumulative >= BASEL_RED_LIMIT:
        return "red", BASEL_RED_PLUS_FACTOR
    # The 250-day/99% equivalent count: the largest yellow count whose cumulative probability
    # does not exceed the observed one (at least the first yellow row, 5 exceptions). The 1e-12
    # slack absorbs 1 − 0.99 ≠ 0.01 in floating point, so n = 250, c = 0.99 maps onto itself.
    equivalent = max(
        (k for k in BASEL_YELLOW_PLUS_FACTORS if float(stats.binom.cdf(k, 250, 0.01)) <= cumulative + 1e-12),
        default=min(BASEL_YELLOW_PLUS_FACTORS),
    )
    return "yellow", BASEL_YELLOW_PLUS_FACTORS[equivalent]


def exceptions(var_series: npt.ArrayLike, pnl_series: npt.ArrayLike) -> BoolArray:
    """Exception flags: True where the realised loss ``−pnl`` exceeds the VaR forecast."""
    var = np.asarray(var_series, dtype=np.float64).reshape(-1)
    pnl = np.asarray(pnl_series, dtype=np.float64).reshape(-1)
    if var.shape != pnl.shape:
        raise RiskInputError(f"{var.size} VaR figures for {pnl.size} P&L days.")
    if not (np.all(np.isfinite(var)) and np.all(np.isfinite(pnl))):
        raise RiskInputError("VaR and P&L series must be finite (no missing days).")
    hits: BoolArray = -pnl > var
    return hits


def backtest_summary(hits: npt.ArrayLike, *, confidence: float) -> BacktestSummary:
    """Every statistic of one exception series: counts, Kupiec, Christoffersen, Basel zone."""
    h = _check_hits(hits)
    c = check_confidence(confidence)
    n, x = int(h.size), int(h.sum())
    pof = kupiec_pof(x, n, confidence=c)
    ind = christoffersen_independence(h)
    cc = conditional_coverage(h, confidence=c)
    zone, plus = traffic_light(x, n, confidence=c)
    return BacktestSummary(n, x, n * (1.0 - c), *pof, *ind, *cc, zone, plus)


def _historical_path(pnl: FloatArray, window: int, start: int, c: float) -> FloatArray:
    windows = sliding_window_view(pnl[start - window : -1], window)  # row k: the window before day start+k
    var, _ = var_es_columns(-windows.T, c)
    return var


def _parametric_path(pnl: FloatArray, window: int, start: int, c: float) -> FloatArray:
    # Zero-mean normal with the sample volatility of the window (ddof = 1), the same figure as
    # the parametric method with mean=False for a single portfolio.
    sd = sliding_window_view(pnl[start - window : -1], window).std(axis=1, ddof=1)
    out: FloatArray = np.maximum(float(stats.norm.ppf(c)) * sd, 0.0)
    return out


@dataclass(frozen=True)
class _Settings:
    window: int
    start: int
    confidence: float
    lam: float
    garch_window: int
    garch_refit_days: int
    evt_threshold_quantile: float


def _filtered_path(r: FloatArray, v: FloatArray, method: str, s: _Settings) -> FloatArray:
    c, q = s.confidence, s.evt_threshold_quantile
    out = np.empty(r.shape[0] - s.start)
    params: fhs.GarchParams | None = None
    for k, t in enumerate(range(s.start, r.shape[0])):
        win = r[t - s.window : t]
        if method == "fhs_ewma":
            out[k] = fhs.filtered_historical(win, v, confidence=c, vol_model="ewma", lam=s.lam).var
        elif method == "fhs_garch":
            if k % s.garch_refit_days == 0:
                # Refit on the estimation window before day t; in between, the last fit filters the
                # newer windows. Only past data is ever used, so there is no look-ahead. No warm
                # start from the previous fit: on short windows it tends to stay stuck in the
                # degenerate α = 0, β ≈ 1 corner.
                gross = float(np.sum(np.abs(v)))
                params = fhs.garch_fit(r[t - s.garch_window : t] @ v, scale=100.0 / gross)
            out[k] = fhs.filtered_historical(win, v, confidence=c, vol_model="garch", garch_params=params).var
        elif method == "evt":
            out[k] = evt.pot_var(win, v, confidence=c, threshold_quantile=q)
        else:  # "evt_ewma": McNeil & Frey's conditional EVT on EWMA-filtered shocks
            out[k] = evt.pot_var(win, v, confidence=c, threshold_quantile=q, vol_model="ewma", lam=s.lam)
    return out


def _whole_days(value: int, name: str, minimum: int) -> int:
    if isinstance(value, bool) or int(value) != value or value < minimum:
        raise RiskInputError(f"The {name} must be a whole number of at least {minimum} days; got {value!r}.")
    return int(value)


def rolling_var_backtest(
    returns: npt.ArrayLike,
    values: npt.ArrayLike,
    *,
    window: int = 250,
    confidence: float = 0.99,
    methods: Sequence[str] = DEFAULT_METHODS,
    custom: Mapping[str, VarFunction] | None = None,
    lam: float = fhs.DEFAULT_LAMBDA,
    garch_window: int | None = None,
    garch_refit_days: int = DEFAULT_GARCH_REFIT_DAYS,
    evt_threshold_quantile: float = 0.95,
    start: int | None = None,
) -> dict[str, BacktestPath]:
    """Rolling out-of-sample 1-day VaR backtest of a linear book with fixed position values.

    For every day t from ``start`` (default: the first day with enough history, i.e. ``window``,
    or ``garch_window`` if larger) the VaR is forecast from days t−window … t−1 only and compared
    with day t's P&L ``returns[t] @ values``: T − start aligned days per method.

    Built-in ``methods``: ``historical``, ``parametric_normal`` (zero mean, sample volatility),
    ``fhs_ewma``, ``fhs_garch``, ``evt`` (unconditional POT) and ``evt_ewma`` (POT on
    EWMA-filtered shocks, McNeil & Frey 2000). GARCH(1,1) is estimated on the ``garch_window``
    days before t (default ``window``; McNeil & Frey use 1,000 — 250 days often give the
    degenerate α̂ ≈ 0, β̂ ≈ 1), refitted every ``garch_refit_days`` days and only filtered in
    between (~20 ms per fit; the refit interval changes little, see docs/risk-methodology.md).
    The EVT methods refit the GPD every day (~15 ms a day). ``custom`` adds any other method as
    a function of (window returns, values) → VaR, e.g.
    ``lambda r, v: var.parametric_t(r, v, confidence=0.99).var``.
    """
    c = check_confidence(confidence)
    window = _whole_days(window, "backtest window", 2)
    garch_window = window if garch_window is None else _whole_days(garch_window, "GARCH window", fhs.MIN_DAYS_GARCH)
    refit = _whole_days(garch_refit_days, "GARCH refit interval", 1)
    needed = max(window, garch_window if "fhs_garch" in methods else 0)
    first = needed if start is None else _whole_days(start, "backtest start", needed)
    r = check_returns(returns, min_rows=first + 1)
    v = check_values(values, r.shape[1])
    unknown = [m for m in methods if m not in BUILTIN_METHODS]
    if unknown:
        raise RiskInputError(f"Unknown backtest method(s) {unknown}; built-in: {list(BUILTIN_METHODS)}.")
    settings = _Settings(window, first, c, lam, garch_window, refit, evt_threshold_quantile)
    pnl: FloatArray = r @ v
    realised = pnl[first:]
    paths: dict[str, BacktestPath] = {}
    for method in methods:
        if method == "historical":
            var = _historical_path(pnl, window, first, c)
        elif method == "parametric_normal":
            var = _parametric_path(pnl, window, first, c)
        else:
            var = _filtered_path(r, v, method, settings)
        paths[method] = BacktestPath(var, realised, exceptions(var, realised))
    for name, fn in (custom or {}).items():
        var = np.array([float(fn(r[t - window : t], v)) for t in range(first, r.shape[0])])
        paths[name] = BacktestPath(var, realised, exceptions(var, realised))
    return paths
