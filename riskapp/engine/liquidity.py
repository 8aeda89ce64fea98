"""Liquidity risk: days to liquidate, square-root market impact, liquidity-adjusted VaR (Bangia et al.).

- Days to liquidate a position of quantity Q trading at most a fraction p of the average daily
  volume (ADV): |Q| / (p · ADV). A position in an instrument that does not trade (ADV = 0) cannot
  be liquidated: ``inf`` days.
- Square-root impact law: the cost of executing Q is Y · σ_daily · (|Q|/ADV)^½ as a fraction of
  price, times the traded value |Q|·price, with Y of order 1 (Almgren, Thum, Hauptmann & Li 2005,
  "Direct estimation of equity market impact", *Risk*; Tóth et al. 2011, "Anomalous price impact
  and the critical nature of liquidity in financial markets", *Phys. Rev. X* 1, 021006; Bouchaud,
  Bonart, Donier & Gould, *Trades, Quotes and Prices*, 2018). Almgren et al. fit an exponent near
  0.6; ``exponent`` lets the caller use theirs.
- Liquidity-adjusted VaR (Bangia, Diebold, Schuermann & Stroughair 1999, "Modeling liquidity risk,
  with implications for traditional market risk measurement and management"): the exogenous
  cost of crossing half the bid–ask spread at a stressed spread is added to the market VaR,
  LVaR = VaR + ½ · Σ |vᵢ| · (μᵢ + a · σᵢ), with μ, σ the mean and standard deviation of the relative
  spread (spread / mid). Bangia et al. take a = 3 to cover the fat tail of spreads; the empirical
  alternative (:func:`empirical_spread_factor`) sets a from the observed spread quantile. The
  spread cost is a one-off, so it is added unscaled to VaR at any horizon.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from riskapp.engine.types import FloatArray, RiskInputError, check_confidence, check_values

DEFAULT_PARTICIPATION = 0.10
BANGIA_SPREAD_FACTOR = 3.0


def _nonneg(name: str, x: npt.ArrayLike) -> FloatArray:
    arr = np.asarray(x, dtype=np.float64)
    if not np.all(np.isfinite(arr)) or np.any(arr < 0):
        raise RiskInputError(f"{name} must be finite and not negative.")
    return arr


def _participation(participation: float) -> float:
    p = float(participation)
    if not (0.0 < p <= 1.0):
        raise RiskInputError(f"The participation rate must be in (0, 1]; got {participation!r}.")
    return p


def days_to_liquidate(
    quantities: npt.ArrayLike, adv: npt.ArrayLike, *, participation: float = DEFAULT_PARTICIPATION
) -> FloatArray:
    """Trading days to unwind each position at ``participation`` of ADV (same units as quantities).

    Zero quantity → 0 days; ADV of zero with a non-zero quantity → ``inf``.
    """
    q = np.abs(check_values(quantities))
    a = np.broadcast_to(_nonneg("ADV", adv), q.shape) if np.ndim(adv) == 0 else _nonneg("ADV", adv).reshape(-1)
    if a.shape != q.shape:
        raise RiskInputError(f"{a.size} ADV figures for {q.size} positions.")
    p = _participation(participation)
    with np.errstate(divide="ignore", invalid="ignore"):
        days = np.where(q == 0, 0.0, q / (p * a))
    return np.asarray(days, dtype=np.float64)


def liquidity_profile(
    quantities: npt.ArrayLike,
    adv: npt.ArrayLike,
    prices: npt.ArrayLike,
    *,
    participation: float = DEFAULT_PARTICIPATION,
    days: tuple[int, ...] = (1, 2, 5, 10, 20),
) -> dict[int, float]:
    """Fraction of the book's gross value that can be sold within each number of days, trading
    ``participation`` of ADV per day in every name at once."""
    q = np.abs(check_values(quantities))
    px = _nonneg("Prices", prices)
    px = np.broadcast_to(px, q.shape) if px.ndim == 0 else px.reshape(-1)
    if px.shape != q.shape:
        raise RiskInputError(f"{px.size} prices for {q.size} positions.")
    dtl = days_to_liquidate(q, adv, participation=participation)
    gross = q * px
    total = float(gross.sum())
    if total <= 0:
        raise RiskInputError("The book has no exposure: every position value is zero.")
    out: dict[int, float] = {}
    for d in days:
        if d <= 0:
            raise RiskInputError("Liquidity profile horizons must be positive numbers of days.")
        # Within d days each position sells min(1, d / days_to_liquidate) of itself.
        with np.errstate(divide="ignore", invalid="ignore"):
            share = np.where(dtl <= d, 1.0, d / dtl)
        out[d] = float((gross * share).sum() / total)
    return out


def sqrt_impact_cost(
    quantity: npt.ArrayLike,
    adv: npt.ArrayLike,
    daily_vol: npt.ArrayLike,
    price: npt.ArrayLike,
    *,
    coefficient: float = 1.0,
    exponent: float = 0.5,
) -> FloatArray | float:
    """Expected impact cost in currency of trading ``quantity`` at once: Y·σ·(|Q|/ADV)^exponent·|Q|·price.

    ``daily_vol`` is the daily return volatility (0.02 = 2%); inputs broadcast; a float is returned
    for scalar inputs. ADV of zero with a non-zero quantity gives ``inf``.
    """
    q = np.abs(np.asarray(quantity, dtype=np.float64))
    if not np.all(np.isfinite(q)):
        raise RiskInputError("Quantities must be finite numbers.")
    a = _nonneg("ADV", adv)
    vol = _nonneg("Daily volatility", daily_vol)
    px = _nonneg("Prices", price)
    y = float(coefficient)
    if not (np.isfinite(y) and y >= 0 and 0 < exponent <= 1):
        raise RiskInputError("The impact coefficient must be ≥ 0 and the exponent in (0, 1].")
    try:
        q, a, vol, px = np.broadcast_arrays(q, a, vol, px)
    except ValueError as exc:
        raise RiskInputError(f"Impact inputs have incompatible shapes: {exc}") from exc
    with np.errstate(divide="ignore", invalid="ignore"):
        frac = np.where(q == 0, 0.0, (q / a) ** exponent)
    cost = np.asarray(y * vol * frac * q * px, dtype=np.float64)
    return float(cost) if cost.ndim == 0 else cost


def empirical_spread_factor(spread_history: npt.ArrayLike, *, confidence: float = 0.99) -> FloatArray:
    """Per asset, a = (q_c − μ)/σ from a T × N history of relative spreads: the number of standard
    deviations that reaches the empirical c-quantile of the spread (Bangia et al.'s fat-tail factor).
    Assets whose spread never varies get a = 0."""
    c = check_confidence(confidence)
    s = np.asarray(spread_history, dtype=np.float64)
    if s.ndim == 1:
        s = s[:, None]
    if s.ndim != 2 or s.shape[0] < 2:
        raise RiskInputError("Need at least two observations of each spread.")
    if not np.all(np.isfinite(s)) or np.any(s < 0):
        raise RiskInputError("Spreads must be finite and not negative.")
    mu = s.mean(axis=0)
    sd = s.std(axis=0, ddof=1)
    q = np.quantile(s, c, axis=0)
    varies = np.ptp(s, axis=0) > 0  # a constant column's std is rounding noise, not zero
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.asarray(np.where(varies & (sd > 0), (q - mu) / sd, 0.0), dtype=np.float64)


def lvar_bangia(
    var: float,
    values: npt.ArrayLike,
    spreads_mean: npt.ArrayLike,
    spreads_std: npt.ArrayLike,
    *,
    z: npt.ArrayLike = BANGIA_SPREAD_FACTOR,
) -> float:
    """Liquidity-adjusted VaR: ``var`` + ½·Σ|vᵢ|·(μᵢ + z·σᵢ) (Bangia et al. 1999).

    ``spreads_mean``/``spreads_std`` are relative spreads (0.001 = 10 bp of mid), one per position
    or one for all; ``z`` is the spread scaling factor a (3 by default, or per asset from
    :func:`empirical_spread_factor`).
    """
    base = float(var)
    if not (np.isfinite(base) and base >= 0):
        raise RiskInputError("VaR must be a non-negative amount.")
    v = np.abs(check_values(values))
    n = v.size
    shaped = []
    for name, x in (("Spread means", spreads_mean), ("Spread volatilities", spreads_std), ("Spread factor", z)):
        arr = _nonneg(name, x)
        try:
            shaped.append(np.broadcast_to(arr.reshape(-1) if arr.ndim else arr, (n,)))
        except ValueError as exc:
            raise RiskInputError(f"{name} needs one value per position ({n}) or one for all.") from exc
    mu, sd, a = shaped
    return base + 0.5 * float(v @ (mu + a * sd))
