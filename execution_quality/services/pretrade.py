"""Pre-trade cost estimate of an order: square-root law, I-Star, the cost model and an
Almgren–Chriss schedule (docs/tca-methodology.md §Pre-trade).

Market context as of ``arrival`` (default now), with the same definitions as post-trade TCA:
ADV over the 20 daily bars before the arrival's UTC day, daily volatility over the 60 bars
before it, the spread and mid of the last quote at or before arrival (else the last close).

Almgren–Chriss (2000) in minutes over the horizon T, with its linear impact calibrated to the
square-root law the page shows (``almgren_chriss_calibrate``; docs/tca-methodology.md): with
C = Y · σ_daily · √(X/ADV) · X · P the square-root-law impact cost (currency) and φ = 1 − b1
the permanent share of impact of the I-Star model, γ = 2φC/X² and η̃ = (1 − φ)·C·T/X², so the
uniform schedule (λ = 0) costs exactly ε·X + C; ε = half the spread (currency per share) and
σ = σ_daily · P / √390 (currency per share per √minute). The horizon defaults to the time the
order needs at the I-Star participation rate, between 5 and 390 minutes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
from django.contrib.auth.models import User

from core.errors import ValidationFailed
from execution_quality.engine.benchmarks import day_prices
from execution_quality.engine.features import daily_history
from execution_quality.engine.impact import istar_bps, sqrt_impact_bps
from execution_quality.engine.schedule import almgren_chriss_schedule
from execution_quality.engine.types import BPS, US_PER_DAY, TcaInputError, TcaParams
from execution_quality.services.inputs import bars_load
from execution_quality.services.model import cost_model_active, cost_rows, expected_costs, json_safe
from portfolios.models import Instrument, Quote

SESSION_MINUTES = 390
MIN_HORIZON_MINUTES, MAX_HORIZON_MINUTES = 5.0, float(SESSION_MINUTES)
DEFAULT_RISK_AVERSION = 1e-6  # per currency unit, the paper's example value
SCHEDULE_PERIODS = 20
#: Spread assumed (bps) when the instrument has no quote at all: a liquid large cap's.
ASSUMED_SPREAD_BPS = 10.0
#: Smallest impact cost the schedule is calibrated to (bps of the order's value): a flat price
#: history (σ = 0) makes the square-root law 0, and Almgren–Chriss needs η > 0.
MIN_IMPACT_BPS = 1e-6


@dataclass(frozen=True)
class AlmgrenChrissCalibration:
    """Almgren–Chriss parameters for one order, in shares, minutes and currency.

    ``epsilon`` ε currency per share; ``eta`` η and ``eta_tilde`` η̃ = η − γτ/2 currency per share
    per (share per minute); ``gamma`` γ currency per share per share; ``sigma`` σ currency
    per share per √minute; ``impact_cost`` the square-root-law impact C (currency) that the
    uniform schedule's impact ½γX² + η̃X²/T reproduces; ``permanent_share`` φ of C.
    """

    epsilon: float
    eta: float
    eta_tilde: float
    gamma: float
    sigma: float
    impact_cost: float
    permanent_share: float


def almgren_chriss_calibrate(
    *,
    shares: float,
    price: float,
    adv: float,
    volatility_daily: float,
    spread_bps: float,
    horizon_minutes: float,
    periods: int,
    sqrt_impact_y: float,
    permanent_share: float,
) -> AlmgrenChrissCalibration:
    """Calibrate Almgren–Chriss's linear impact so the schedule agrees with the square-root law.

    The square-root law prices the order's impact at C = Y · σ_daily · √(X/ADV) · X · P
    (currency; ``volatility_daily`` a decimal, ``shares`` X, ``price`` P). Almgren–Chriss's
    uniform schedule over T in N slices of τ = T/N costs ½γX² + εX + η̃X²/T (paper §2.2), so

        γ = 2φC / X²            the permanent share φ of C (independent of the schedule)
        η̃ = (1 − φ)·C·T / X²    the rest, as temporary impact of trading at the constant rate X/T
        η = η̃ + γτ/2            the paper's η, with η̃ = η − γτ/2 > 0 by construction

    ε = half the spread (currency per share), σ = σ_daily · P / √390 (one session of 390
    minutes). A linear model can match the concave law for one order only: η and γ scale with
    the order (η̃ ∝ T/√X), so they are recalibrated for every estimate.
    """
    spread = max(spread_bps, 0.01) / BPS * price  # currency per share; a locked quote still costs a tick
    impact = max(sqrt_impact_y * volatility_daily * math.sqrt(shares / adv), MIN_IMPACT_BPS / BPS) * shares * price
    gamma = 2.0 * permanent_share * impact / shares**2
    eta_tilde = (1.0 - permanent_share) * impact * horizon_minutes / shares**2
    return AlmgrenChrissCalibration(
        epsilon=spread / 2.0,
        eta=eta_tilde + 0.5 * gamma * horizon_minutes / periods,
        eta_tilde=eta_tilde,
        gamma=gamma,
        sigma=volatility_daily * price / math.sqrt(SESSION_MINUTES),
        impact_cost=impact,
        permanent_share=permanent_share,
    )


def _fields(**errors: str) -> ValidationFailed:
    return ValidationFailed("The estimate request is invalid.", extra={"fields": errors})


def _instrument(value: Instrument | str) -> Instrument:
    if isinstance(value, Instrument):
        return value
    symbol = str(value).strip()
    found = Instrument.objects.filter(symbol=symbol).first() if symbol and "\x00" not in symbol else None
    if found is None:
        raise _fields(instrument="Unknown instrument.")
    return found


def pretrade_estimate(
    *,
    instrument: Instrument | str,
    side: str,
    quantity: Decimal | float,
    user: User | None,
    arrival: datetime | None = None,
    risk_aversion: float = DEFAULT_RISK_AVERSION,
    horizon_minutes: float | None = None,
    order_type: str = "market",
    venue: str = "",
    broker: str = "",
) -> dict[str, Any]:
    """Expected cost of buying or selling ``quantity`` of ``instrument`` (see the module docstring).

    Costs are in bps of the order's value at the arrival price and in the instrument's currency,
    positive = cost. Bad input raises ``ValidationFailed`` naming each field.
    """
    errors: dict[str, str] = {}
    if side not in ("buy", "sell"):
        errors["side"] = "Choose buy or sell."
    qty = float(quantity) if quantity is not None else float("nan")
    if not (math.isfinite(qty) and qty > 0):
        errors["quantity"] = "Must be a positive number."
    if not (math.isfinite(risk_aversion) and 0 <= risk_aversion <= 1):
        errors["risk_aversion"] = "Must be between 0 and 1 (per currency unit)."
    if horizon_minutes is not None and not (MIN_HORIZON_MINUTES <= horizon_minutes <= MAX_HORIZON_MINUTES):
        errors["horizon_minutes"] = f"Must be between {MIN_HORIZON_MINUTES:g} and {MAX_HORIZON_MINUTES:g} minutes."
    if order_type not in ("market", "limit"):
        errors["order_type"] = "Choose market or limit."
    if arrival is not None and arrival.tzinfo is None:
        errors["arrival"] = "Must carry a time zone."
    elif arrival is not None and not 1900 <= arrival.year <= 2200:
        # Market history reaches back 90 days from the arrival: keep far from the calendar's ends.
        errors["arrival"] = "Must be between the years 1900 and 2200."
    if errors:
        raise _fields(**errors)
    inst = _instrument(instrument)
    at = (arrival or datetime.now(tz=UTC)).astimezone(UTC)
    arrival_us = int((at - datetime(1970, 1, 1, tzinfo=UTC)) / timedelta(microseconds=1))
    params = TcaParams()

    # Daily history before the arrival's day, with the same windows as post-trade TCA.
    bars = bars_load(instrument_ids=[inst.pk], first_us=arrival_us, last_us=arrival_us)
    day = np.array([arrival_us // US_PER_DAY], dtype=np.int64)
    inst_col = np.array([inst.pk], dtype=np.int64)
    prices = day_prices(bars, inst_col, day)
    history = daily_history(
        bars,
        prices,
        adv_window_days=params.adv_window_days,
        volatility_window_days=params.volatility_window_days,
        min_history_days=params.min_history_days,
    )
    adv, vol_daily = float(history.adv[0]), float(history.volatility_daily[0])
    if not (math.isfinite(adv) and adv > 0 and math.isfinite(vol_daily)):
        raise _fields(instrument=f"Not enough daily history before {at.date()} for ADV and volatility.")

    quote = Quote.objects.filter(instrument=inst, ts__lte=at).order_by("-ts").first()
    assumptions: list[str] = []
    if quote is not None:
        bid, ask = float(quote.bid), float(quote.ask)
        price = (bid + ask) / 2.0
        spread_bps = (ask - bid) / price * BPS
        price_source = f"quote at {quote.ts.isoformat()}"
    else:
        last_close = float(bars.close[-1]) if len(bars) else float("nan")
        if not math.isfinite(last_close):
            raise _fields(instrument="No quote or close to price the order.")
        price, spread_bps = last_close, ASSUMED_SPREAD_BPS
        price_source = "last close"
        assumptions.append(f"No quote before arrival: spread assumed {ASSUMED_SPREAD_BPS:g} bps.")
    notional = qty * price
    size_adv = qty / adv
    sigma_bps = vol_daily * BPS
    sigma_annual = vol_daily * math.sqrt(params.trading_days_per_year)
    pov = params.pretrade_pov

    sqrt_bps = float(sqrt_impact_bps(sigma_daily_bps=sigma_bps, size_adv=size_adv, y=params.sqrt_impact_y)[0])
    instant, impact = istar_bps(size_adv=size_adv, sigma_annual=sigma_annual, pov=pov, params=params.istar)
    istar_cost = float(impact[0])

    # Time the order needs at the I-Star participation rate, within one session.
    needed_minutes = size_adv / pov * SESSION_MINUTES
    horizon = horizon_minutes or float(np.clip(needed_minutes, MIN_HORIZON_MINUTES, MAX_HORIZON_MINUTES))
    session_open_us = (arrival_us // US_PER_DAY) * US_PER_DAY + params.session_open_minute_utc * 60_000_000
    minutes_since_open = (arrival_us - session_open_us) / 60_000_000

    model = cost_model_active()
    model_out: dict[str, Any] | None = None
    if model is not None:
        rows = cost_rows(
            size_adv=[size_adv],
            volatility_daily_bps=[sigma_bps],
            arrival_spread_bps=[spread_bps],
            minutes_since_open=[minutes_since_open],
            duration_s=[horizon * 60.0],
            pov=[pov],
            side_buy=[1.0 if side == "buy" else 0.0],
            order_type=[order_type],
            venue=[venue],
            broker=[broker],
        )
        expected = expected_costs(
            rows=rows, half_spread_bps=np.array([spread_bps / 2]), sqrt_impact_bps=np.array([sqrt_bps]), model=model
        )
        cost = float(expected.cost_bps[0])
        model_out = {
            "version": model.version,
            "cost_bps": cost,
            "cost": cost * notional / BPS,
            "explanation": expected.explanations[0],
        }
        assumptions.append(
            f"Cost model inputs: duration = the horizon ({horizon:.0f} min), participation {pov:.0%}, "
            "minutes since open from the arrival time."
        )

    calibration = almgren_chriss_calibrate(
        shares=qty,
        price=price,
        adv=adv,
        volatility_daily=vol_daily,
        spread_bps=spread_bps,
        horizon_minutes=horizon,
        periods=SCHEDULE_PERIODS,
        sqrt_impact_y=params.sqrt_impact_y,
        permanent_share=1.0 - params.istar.b1,
    )
    schedule = _schedule(qty=qty, price=price, horizon=horizon, lam=risk_aversion, calibration=calibration)
    out: dict[str, Any] = json_safe(
        {
            "instrument": inst.symbol,
            "side": side,
            "quantity": qty,
            "arrival": at.isoformat(),
            "price": price,
            "price_source": price_source,
            "notional": notional,
            "market": {
                "adv": adv,
                "size_adv": size_adv,
                "volatility_daily_bps": sigma_bps,
                "volatility_annual": sigma_annual,
                "arrival_spread_bps": spread_bps,
            },
            "sqrt_law": {"cost_bps": sqrt_bps, "cost": sqrt_bps * notional / BPS, "y": params.sqrt_impact_y},
            "istar": {
                "instantaneous_bps": float(instant[0]),
                "cost_bps": istar_cost,
                "cost": istar_cost * notional / BPS,
                "pov": pov,
                "params": vars(params.istar),
            },
            "model": model_out,
            "schedule": schedule,
            "assumptions": assumptions,
        }
    )
    return out


def _schedule(
    *, qty: float, price: float, horizon: float, lam: float, calibration: AlmgrenChrissCalibration
) -> dict[str, Any]:
    """The Almgren–Chriss trajectory in minutes, its expected cost split into half spread and
    impact (currency and bps of the order's value) and its standard deviation."""
    c = calibration
    try:
        ac = almgren_chriss_schedule(
            shares=qty,
            horizon=horizon,
            periods=SCHEDULE_PERIODS,
            volatility=c.sigma,
            eta=c.eta,
            gamma=c.gamma,
            risk_aversion=lam,
            epsilon=c.epsilon,
        )
    except TcaInputError as exc:
        raise _fields(risk_aversion=str(exc)) from None
    value = qty * price
    spread_cost = c.epsilon * float(np.abs(ac.trades).sum())
    impact_cost = ac.expected_cost - spread_cost
    return {
        "risk_aversion": lam,
        "horizon_minutes": horizon,
        "periods": SCHEDULE_PERIODS,
        "times_minutes": ac.times.tolist(),
        "holdings": ac.holdings.tolist(),
        "trades": ac.trades.tolist(),
        "expected_cost": ac.expected_cost,
        "expected_cost_bps": ac.expected_cost / value * BPS,
        "impact_cost": impact_cost,
        "impact_cost_bps": impact_cost / value * BPS,
        "spread_cost_bps": spread_cost / value * BPS,
        "cost_std": math.sqrt(ac.variance),
        "cost_std_bps": math.sqrt(ac.variance) / value * BPS,
        "kappa_per_minute": ac.kappa,
        "parameters": {
            "epsilon": c.epsilon,
            "eta": c.eta,
            "eta_tilde": c.eta_tilde,
            "gamma": c.gamma,
            "sigma": c.sigma,
            "permanent_share": c.permanent_share,
            "calibrated_impact_cost": c.impact_cost,
        },
    }
