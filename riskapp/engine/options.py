"""European equity options: Black–Scholes–Merton prices and Greeks, delta-gamma VaR, full revaluation.

Model: Black–Scholes–Merton with a continuous dividend yield ``q`` (Hull, *Options, Futures and
Other Derivatives*, chapters on the Black–Scholes–Merton model and on the Greek letters).
Rates and yields are continuously compounded per year; ``t_years`` is the time to expiry in
years (calendar days / 365).

Units of the Greeks (per option, one unit of the underlying):

- ``delta``: change in price per 1.00 change of the spot; ``gamma``: change of delta per 1.00 of spot.
- ``vega``: change in price per 1.00 (=100 vol points) change in volatility; ``vega_per_point`` is per
  1 vol point (0.01), i.e. ``vega / 100`` — the figure traders quote.
- ``theta``: change in price per year of calendar time passing (negative for a long call);
  ``theta_per_day`` is per calendar day, ``theta / 365``.
- ``rho``: change in price per 1.00 (=10,000 bp) change in the rate.

Degenerate cases never crash: an expired option (``t_years <= 0``) is worth its intrinsic value at
the current spot with zero gamma, vega and theta; a zero volatility prices the option on the
deterministic forward (discounted intrinsic value of the forward); a zero spot (a −100% return)
makes a call worthless and a put worth the discounted strike.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
from scipy.stats import norm

from riskapp.engine.types import FloatArray, RiskInputError, VarResult, check_confidence, check_horizon

BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.intp]
Scalar = float | FloatArray

DAYS_PER_YEAR = 365.0
# Largest number of scenario × option cells revalued at once: 2M float64 cells ≈ 16 MB per temporary
# array, and the pricing formula holds about a dozen of them — bounded memory whatever the book size.
_CELLS_PER_CHUNK = 2_000_000

# spot, strike, t_years, vol, rate, div_yield (float arrays) and is_call, broadcast to one shape.
_BsmArgs = tuple[FloatArray, FloatArray, FloatArray, FloatArray, FloatArray, FloatArray, BoolArray]


def _is_call(right: npt.ArrayLike) -> BoolArray:
    """``True`` for calls. Accepts "call"/"put" (or "c"/"p", any case), arrays of them, or booleans."""
    arr = np.asarray(right)
    if arr.dtype == np.bool_:
        return arr
    if arr.dtype.kind not in "UO":
        raise RiskInputError("Option right must be 'call' or 'put'.")
    lowered = np.char.lower(arr.astype(str))
    calls = np.isin(lowered, ("call", "c"))
    puts = np.isin(lowered, ("put", "p"))
    if not np.all(calls | puts):
        bad = sorted({str(x) for x in np.atleast_1d(arr)[~np.atleast_1d(calls | puts)]})
        raise RiskInputError(f"Option right must be 'call' or 'put'; got {bad}.")
    return np.asarray(calls, dtype=np.bool_)


def _as_float(name: str, x: npt.ArrayLike) -> FloatArray:
    arr = np.asarray(x, dtype=np.float64)
    if not np.all(np.isfinite(arr)):
        raise RiskInputError(f"{name} must be finite numbers.")
    return arr


def _prepare(
    spot: npt.ArrayLike,
    strike: npt.ArrayLike,
    t_years: npt.ArrayLike,
    vol: npt.ArrayLike,
    rate: npt.ArrayLike,
    right: npt.ArrayLike,
    div_yield: npt.ArrayLike,
) -> tuple[_BsmArgs, bool]:
    """Validate and broadcast the pricing inputs; the flag says whether every input was a scalar."""
    named = {"Spot": spot, "Strike": strike, "Time to expiry": t_years, "Volatility": vol, "Rate": rate}
    arrays = [_as_float(name, x) for name, x in named.items()]
    q = _as_float("Dividend yield", div_yield)
    is_call = _is_call(right)
    scalar = all(a.ndim == 0 for a in (*arrays, q, is_call))
    try:
        *floats, calls = np.broadcast_arrays(*arrays, q, is_call)
    except ValueError as exc:
        raise RiskInputError(f"Option inputs have incompatible shapes: {exc}") from exc
    s, k, _t, v = floats[:4]
    if np.any(s < 0):
        raise RiskInputError("Spot prices must not be negative.")
    if np.any(k <= 0):
        raise RiskInputError("Strikes must be positive.")
    if np.any(v < 0):
        raise RiskInputError("Volatilities must not be negative.")
    s_, k_, t_, v_, r_, q_ = (np.asarray(f, dtype=np.float64) for f in floats)
    return (s_, k_, t_, v_, r_, q_, np.asarray(calls, dtype=np.bool_)), scalar


def _bsm(
    s: FloatArray, k: FloatArray, t: FloatArray, vol: FloatArray, r: FloatArray, q: FloatArray, is_call: BoolArray
) -> dict[str, FloatArray]:
    """Price and Greeks on broadcast arrays (validated inputs). See the module docstring for units."""
    tt = np.maximum(t, 0.0)
    live = (t > 0) & (vol > 0) & (s > 0)
    df_r = np.exp(-r * tt)
    df_q = np.exp(-q * tt)
    fwd_s = s * df_q  # spot discounted by the dividend yield
    pv_k = k * df_r  # present value of the strike
    sqrt_t = np.sqrt(tt)
    # Placeholders outside the live set keep log/divide away from zeros; those cells are overwritten.
    sig_t = np.where(live, vol * sqrt_t, 1.0)
    s_safe = np.where(live, s, k)
    d1 = (np.log(s_safe / k) + (r - q + 0.5 * vol * vol) * tt) / sig_t
    d2 = d1 - sig_t
    pdf_d1 = norm.pdf(d1)
    sign = np.where(is_call, 1.0, -1.0)
    n1 = norm.cdf(sign * d1)  # N(d1) for calls, N(-d1) for puts
    n2 = norm.cdf(sign * d2)
    price = sign * (fwd_s * n1 - pv_k * n2)
    delta = sign * df_q * n1
    gamma = df_q * pdf_d1 / (s_safe * sig_t)
    vega = fwd_s * pdf_d1 * sqrt_t
    theta = -fwd_s * pdf_d1 * vol / (2.0 * np.where(live, sqrt_t, 1.0)) + sign * (q * fwd_s * n1 - r * pv_k * n2)
    rho = sign * k * tt * df_r * n2

    # Dead cells (expired, zero vol or zero spot): the option is the deterministic payoff of the forward.
    itm = np.where(is_call, fwd_s > pv_k, fwd_s < pv_k)
    dead_price = np.maximum(sign * (fwd_s - pv_k), 0.0)
    dead_delta = np.where(itm, sign * df_q, 0.0)
    running = t > 0  # an expired option no longer decays
    dead_theta = np.where(itm & running, sign * (q * fwd_s - r * pv_k), 0.0)
    dead_rho = np.where(itm & running, sign * k * tt * df_r, 0.0)
    zero = np.zeros_like(price)
    return {
        "price": np.where(live, price, dead_price),
        "delta": np.where(live, delta, dead_delta),
        "gamma": np.where(live, gamma, zero),
        "vega": np.where(live, vega, zero),
        "theta": np.where(live, theta, dead_theta),
        "rho": np.where(live, rho, dead_rho),
    }


def _out(x: FloatArray, scalar: bool) -> Scalar:
    return float(x) if scalar else x


def bs_price(
    spot: npt.ArrayLike,
    strike: npt.ArrayLike,
    t_years: npt.ArrayLike,
    vol: npt.ArrayLike,
    rate: npt.ArrayLike,
    *,
    right: npt.ArrayLike = "call",
    div_yield: npt.ArrayLike = 0.0,
) -> Scalar:
    """Black–Scholes–Merton price of a European option (per unit of underlying).

    Every input broadcasts (numpy rules); a float is returned when all inputs are scalars.
    ``right`` is "call"/"put" or an array of them; ``vol``, ``rate`` and ``div_yield`` are per year.
    """
    args, scalar = _prepare(spot, strike, t_years, vol, rate, right, div_yield)
    return _out(_bsm(*args)["price"], scalar)


def bs_greeks(
    spot: npt.ArrayLike,
    strike: npt.ArrayLike,
    t_years: npt.ArrayLike,
    vol: npt.ArrayLike,
    rate: npt.ArrayLike,
    *,
    right: npt.ArrayLike = "call",
    div_yield: npt.ArrayLike = 0.0,
) -> dict[str, Scalar]:
    """Price and Greeks: keys price, delta, gamma, vega (per 1.00 vol), vega_per_point (per vol point),
    theta (per year), theta_per_day (per calendar day), rho (per 1.00 of rate)."""
    args, scalar = _prepare(spot, strike, t_years, vol, rate, right, div_yield)
    raw = _bsm(*args)
    raw["vega_per_point"] = raw["vega"] / 100.0
    raw["theta_per_day"] = raw["theta"] / DAYS_PER_YEAR
    return {name: _out(arr, scalar) for name, arr in raw.items()}


# ---------------------------------------------------------------------------------------------------
# Delta-gamma VaR
# ---------------------------------------------------------------------------------------------------


def _cornish_fisher_z(z: FloatArray, skew: float, exkurt: float) -> FloatArray:
    return z + (z**2 - 1.0) * skew / 6.0 + (z**3 - 3.0 * z) * exkurt / 24.0 - (2.0 * z**3 - 5.0 * z) * skew**2 / 36.0


def delta_gamma_moments(delta: npt.ArrayLike, gamma: npt.ArrayLike, cov: npt.ArrayLike) -> tuple[float, ...]:
    """Mean, standard deviation, skewness and excess kurtosis of ΔP = δᵀr + ½ rᵀΓr for r ~ N(0, Σ).

    Cumulants of the quadratic form (Mina & Ulmer 1999; Jorion, *Value at Risk*, ch. on options):
    κ₁ = ½ tr(ΓΣ), and for n ≥ 2  κₙ = ½ (n−1)! tr((ΓΣ)ⁿ) + (n!/2) δᵀΣ(ΓΣ)ⁿ⁻²δ.
    """
    d, g, s = _check_delta_gamma(delta, gamma, cov)
    a = g @ s
    a2 = a @ a
    mean = 0.5 * float(np.trace(a))
    var = float(d @ s @ d) + 0.5 * float(np.trace(a2))
    k3 = float(np.trace(a2 @ a)) + 3.0 * float(d @ s @ g @ s @ d)
    k4 = 3.0 * float(np.trace(a2 @ a2)) + 12.0 * float(d @ s @ g @ s @ g @ s @ d)
    if var <= 0:
        return mean, 0.0, 0.0, 0.0
    sd = float(np.sqrt(var))
    return mean, sd, k3 / sd**3, k4 / var**2


def _check_delta_gamma(
    delta: npt.ArrayLike, gamma: npt.ArrayLike, cov: npt.ArrayLike
) -> tuple[FloatArray, FloatArray, FloatArray]:
    d = _as_float("Delta", delta).reshape(-1)
    n = d.size
    if n == 0:
        raise RiskInputError("The book has no delta exposures.")
    g = _as_float("Gamma", gamma)
    if g.ndim <= 1:
        g = np.diag(np.broadcast_to(g, (n,)).astype(np.float64))
    s = _as_float("Covariance", cov)
    if s.ndim == 0 and n == 1:
        s = s.reshape(1, 1)
    if g.shape != (n, n) or s.shape != (n, n):
        raise RiskInputError(f"Gamma and covariance must be {n}×{n} to match {n} delta exposures.")
    if not np.allclose(s, s.T):
        raise RiskInputError("The covariance matrix is not symmetric.")
    return d, 0.5 * (g + g.T), s


def delta_gamma_var(
    delta: npt.ArrayLike,
    gamma: npt.ArrayLike,
    cov: npt.ArrayLike,
    *,
    confidence: float,
    horizon_days: int = 1,
    method: Literal["cornish_fisher", "normal"] = "cornish_fisher",
) -> VarResult:
    """VaR and ES of a book from its dollar delta and gamma under normal returns.

    ``delta`` (N): P&L per 1.00 return of each underlying (Σ quantity·multiplier·Δ·S, plus the
    value of linear positions); ``gamma`` (N, or N×N): P&L per squared return (Σ quantity·multiplier·Γ·S²);
    ``cov``: daily return covariance. The horizon scales the covariance (Σ·h), which is exact for the
    quadratic form under i.i.d. normal returns and equals the √h rule for a linear book.

    ``method="cornish_fisher"`` (default) uses the first four cumulants of the quadratic P&L and the
    Cornish–Fisher expansion for its quantile (ES = mean of the expanded quantiles over the tail);
    ``method="normal"`` is delta-gamma-normal: a normal P&L with the exact mean and variance.
    The expansion is accurate for moderate skew; for books dominated by short gamma prefer full revaluation.
    """
    c = check_confidence(confidence)
    h = check_horizon(horizon_days)
    d, g, s = _check_delta_gamma(delta, gamma, cov)
    mean, sd, skew, exkurt = delta_gamma_moments(d, g, s * h)
    alpha = 1.0 - c
    z = float(norm.ppf(alpha))
    if method == "normal":
        var = -(mean + sd * z)
        es = -(mean - sd * float(norm.pdf(z)) / alpha)
    elif method == "cornish_fisher":
        var = -(mean + sd * float(_cornish_fisher_z(np.array([z]), skew, exkurt)[0]))
        # ES = average of the P&L quantile over the tail u ∈ (0, α), midpoint rule on 2,000 cells.
        u = (np.arange(2000, dtype=np.float64) + 0.5) / 2000.0 * alpha
        es = -(mean + sd * float(np.mean(_cornish_fisher_z(norm.ppf(u), skew, exkurt))))
    else:
        raise RiskInputError(f"Unknown delta-gamma method {method!r}; use 'cornish_fisher' or 'normal'.")
    var = max(var, 0.0)
    return VarResult(
        method=f"delta_gamma_{method}",
        confidence=c,
        horizon_days=h,
        var=var,
        es=max(es, var),
        details={"mean_pnl": mean, "sd_pnl": sd, "skew": skew, "excess_kurtosis": exkurt},
    )


# ---------------------------------------------------------------------------------------------------
# Full revaluation of a book of equities and options
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OptionBook:
    """Option positions on N underlyings, with the market data needed to value them.

    ``spots`` (N) and ``div_yields`` (N) are per underlying; the other arrays (M) are per option
    position: ``underlying`` is the index into ``spots``, ``quantity`` the signed number of contracts,
    ``multiplier`` the units of underlying per contract, ``vols`` the implied volatility. Values are
    in the underlyings' currency (the caller converts to base currency).
    """

    spots: FloatArray
    div_yields: FloatArray
    underlying: IntArray
    strike: FloatArray
    expiry_years: FloatArray
    is_call: BoolArray
    multiplier: FloatArray
    quantity: FloatArray
    vols: FloatArray
    rate: float

    @classmethod
    def create(
        cls,
        *,
        spots: npt.ArrayLike,
        underlying: npt.ArrayLike,
        strike: npt.ArrayLike,
        expiry_years: npt.ArrayLike,
        right: npt.ArrayLike,
        quantity: npt.ArrayLike,
        vols: npt.ArrayLike,
        rate: float,
        multiplier: npt.ArrayLike = 1.0,
        div_yields: npt.ArrayLike = 0.0,
    ) -> OptionBook:
        """Validate and broadcast the option terms (a book may hold no options: M = 0)."""
        s = _as_float("Spot", spots).reshape(-1)
        if s.size == 0:
            raise RiskInputError("The book has no underlyings.")
        if np.any(s <= 0):
            raise RiskInputError("Current spot prices must be positive.")
        und_raw = np.asarray(underlying).reshape(-1)
        if und_raw.size and not np.issubdtype(und_raw.dtype, np.integer):
            raise RiskInputError("Option underlyings must be integer indices into the spots.")
        und = und_raw.astype(np.intp)
        m = und.size
        if np.any((und < 0) | (und >= s.size)):
            raise RiskInputError(f"Option underlying indices must be between 0 and {s.size - 1}.")

        def per_option(name: str, x: npt.ArrayLike) -> FloatArray:
            arr = _as_float(name, x).reshape(-1) if np.ndim(x) else _as_float(name, x)
            try:
                return np.broadcast_to(arr, (m,)).astype(np.float64)
            except ValueError as exc:
                raise RiskInputError(f"{name} needs one value per option ({m}).") from exc

        k = per_option("Strike", strike)
        if np.any(k <= 0):
            raise RiskInputError("Strikes must be positive.")
        vol = per_option("Volatility", vols)
        if np.any(vol < 0):
            raise RiskInputError("Volatilities must not be negative.")
        mult = per_option("Multiplier", multiplier)
        if np.any(mult <= 0):
            raise RiskInputError("Contract multipliers must be positive.")
        calls = _is_call(right).reshape(-1) if np.ndim(right) else _is_call(right)
        try:
            calls = np.broadcast_to(calls, (m,)).copy()
        except ValueError as exc:
            raise RiskInputError(f"Option right needs one value per option ({m}).") from exc
        q = _as_float("Dividend yield", div_yields)
        try:
            q = np.broadcast_to(q.reshape(-1) if q.ndim else q, (s.size,)).astype(np.float64)
        except ValueError as exc:
            raise RiskInputError(f"Dividend yields need one value per underlying ({s.size}).") from exc
        r = float(rate)
        if not np.isfinite(r):
            raise RiskInputError("The rate must be a finite number.")
        return cls(
            spots=s,
            div_yields=q,
            underlying=und,
            strike=k,
            expiry_years=per_option("Time to expiry", expiry_years),
            is_call=calls,
            multiplier=mult,
            quantity=per_option("Quantity", quantity),
            vols=vol,
            rate=r,
        )

    @property
    def n_underlyings(self) -> int:
        return int(self.spots.size)

    def position_values(self) -> FloatArray:
        """Today's value of each option position (M): quantity · multiplier · price."""
        s = self.spots[self.underlying]
        price = _bsm(
            s,
            self.strike,
            self.expiry_years,
            self.vols,
            np.full(s.shape, self.rate),
            self.div_yields[self.underlying],
            self.is_call,
        )["price"]
        return price * self.quantity * self.multiplier

    def scenario_option_values(
        self,
        scenario_returns: FloatArray,
        *,
        vol_multiplier: float = 1.0,
        vol_shift: float = 0.0,
        elapsed_years: float = 0.0,
    ) -> FloatArray:
        """k × M values of each option position after each scenario of underlying returns (k × N)."""
        k = scenario_returns.shape[0]
        m = self.underlying.size
        out = np.empty((k, m), dtype=np.float64)
        if m == 0:
            return out
        vol = np.maximum(self.vols * vol_multiplier + vol_shift, 0.0)
        rows = max(1, _CELLS_PER_CHUNK // m)
        q = self.div_yields[self.underlying]
        t_left = self.expiry_years - elapsed_years
        units = self.quantity * self.multiplier
        for lo in range(0, k, rows):
            chunk = scenario_returns[lo : lo + rows][:, self.underlying]
            spots = self.spots[self.underlying] * (1.0 + chunk)
            shape = spots.shape
            out[lo : lo + rows] = (
                _bsm(
                    spots,
                    np.broadcast_to(self.strike, shape),
                    np.broadcast_to(t_left, shape),
                    np.broadcast_to(vol, shape),
                    np.full(shape, self.rate),
                    np.broadcast_to(q, shape),
                    np.broadcast_to(self.is_call, shape),
                )["price"]
                * units
            )
        return out

    def pnl(
        self,
        scenario_returns: npt.ArrayLike,
        *,
        equity_values: npt.ArrayLike | None = None,
        vol_multiplier: float = 1.0,
        vol_shift: float = 0.0,
        elapsed_years: float = 0.0,
    ) -> FloatArray:
        """P&L per scenario (k) of the options plus linear positions ``equity_values`` (N, base values)."""
        r = _check_scenarios(scenario_returns, self.n_underlyings)
        pnl = np.zeros(r.shape[0], dtype=np.float64)
        if equity_values is not None:
            ev = _as_float("Equity values", equity_values).reshape(-1)
            if ev.size != self.n_underlyings:
                raise RiskInputError(f"{ev.size} equity values for {self.n_underlyings} underlyings.")
            pnl += r @ ev
        if self.underlying.size:
            v0 = self.position_values()
            v1 = self.scenario_option_values(
                r, vol_multiplier=vol_multiplier, vol_shift=vol_shift, elapsed_years=elapsed_years
            )
            pnl += v1.sum(axis=1) - v0.sum()
        return pnl

    def revaluer(
        self, *, equity_values: npt.ArrayLike | None = None, elapsed_years: float = 0.0
    ) -> Callable[[FloatArray], FloatArray]:
        """A ``revalue(scenario_returns) -> pnl`` callable for Monte Carlo / historical full revaluation."""

        def revalue(scenario_returns: FloatArray) -> FloatArray:
            return self.pnl(scenario_returns, equity_values=equity_values, elapsed_years=elapsed_years)

        return revalue

    def sensitivities(self, *, equity_values: npt.ArrayLike | None = None) -> tuple[FloatArray, FloatArray]:
        """Dollar delta (N: P&L per 1.00 return) and dollar gamma (N × N diagonal: P&L per squared
        return) of the book, the inputs of :func:`delta_gamma_var`."""
        n = self.n_underlyings
        delta = np.zeros(n) if equity_values is None else _as_float("Equity values", equity_values).reshape(-1).copy()
        if delta.size != n:
            raise RiskInputError(f"{delta.size} equity values for {n} underlyings.")
        gamma = np.zeros(n)
        if self.underlying.size:
            s = self.spots[self.underlying]
            g = _bsm(
                s,
                self.strike,
                self.expiry_years,
                self.vols,
                np.full(s.shape, self.rate),
                self.div_yields[self.underlying],
                self.is_call,
            )
            units = self.quantity * self.multiplier
            delta += np.bincount(self.underlying, weights=units * g["delta"] * s, minlength=n)
            gamma += np.bincount(self.underlying, weights=units * g["gamma"] * s * s, minlength=n)
        return delta, np.diag(gamma)


def _check_scenarios(scenario_returns: npt.ArrayLike, n: int) -> FloatArray:
    r = _as_float("Scenario returns", scenario_returns)
    if r.ndim == 1:
        r = r.reshape(1, -1) if r.size == n else r.reshape(-1, 1)
    if r.ndim != 2 or r.shape[1] != n:
        raise RiskInputError(f"Scenario returns must be k × {n} (one column per underlying).")
    if np.any(r < -1.0):
        raise RiskInputError("A scenario return is below −100%; prices cannot become negative.")
    return r


def revalue_book(
    spots0: npt.ArrayLike,
    scenario_returns: npt.ArrayLike,
    *,
    underlying: npt.ArrayLike = (),
    strike: npt.ArrayLike = (),
    expiry_years: npt.ArrayLike = (),
    right: npt.ArrayLike = (),
    quantity: npt.ArrayLike = (),
    vols: npt.ArrayLike = (),
    rate: float = 0.0,
    multiplier: npt.ArrayLike = 1.0,
    div_yields: npt.ArrayLike = 0.0,
    equity_values: npt.ArrayLike | None = None,
    vol_multiplier: float = 1.0,
    vol_shift: float = 0.0,
    elapsed_years: float = 0.0,
) -> FloatArray:
    """Full revaluation: P&L per scenario (k) of equities and European options on N underlyings.

    ``spots0`` (N) are today's prices; ``scenario_returns`` (k × N) simple returns of the underlyings;
    option terms are arrays of length M (see :class:`OptionBook`); ``equity_values`` (N) are linear
    positions in base currency. Scenarios are instantaneous by default (``elapsed_years=0``: no
    time decay, like linear VaR); pass e.g. 1/365 to include one day of theta. ``vol_multiplier`` and
    ``vol_shift`` shock implied vols. Options that are (or become) expired are valued at intrinsic.
    """
    book = OptionBook.create(
        spots=spots0,
        underlying=np.asarray(underlying, dtype=np.intp) if np.size(underlying) == 0 else underlying,
        strike=strike,
        expiry_years=expiry_years,
        right=np.zeros(0, dtype=np.bool_) if np.size(right) == 0 else right,
        quantity=quantity,
        vols=vols,
        rate=rate,
        multiplier=multiplier,
        div_yields=div_yields,
    )
    return book.pnl(
        scenario_returns,
        equity_values=equity_values,
        vol_multiplier=vol_multiplier,
        vol_shift=vol_shift,
        elapsed_years=elapsed_years,
    )
