"""Implementation shortfall (Perold 1988) and its decomposition into delay, trading and opportunity costs.

Perold, A. F. (1988), "The implementation shortfall: paper versus reality", *Journal of
Portfolio Management* 14(3), 4–9: the shortfall is the return of a *paper* portfolio that
trades the whole decision quantity X at the decision price P_d for free, minus the return of the
*real* one, both marked at a final price P_N:

    paper = s · X · (P_N − P_d)
    real  = s · Σ xⱼ · (P_N − pⱼ) − fees
    IS    = paper − real

We report the split of Kissell, *The Science of Algorithmic Trading and Portfolio Management*
(2013), §3 ("expanded implementation shortfall", after Wagner 1991; also Kissell & Glantz,
*Optimal Trading Strategies*, 2003, ch. 1), with ``s`` +1 buy / −1 sell, P_0 the arrival mid,
X_f = Σ xⱼ the filled and X_u = X − X_f the unfilled quantity:

    delay       = s · X_f · (P_0 − P_d)          the price drift between decision and arrival,
                                                  on the quantity actually executed
    trading     = s · (Σ xⱼ pⱼ − X_f · P_0)      execution cost against the arrival price
    opportunity = s · X_u · (P_N − P_d)          what the unfilled quantity missed
    fees        = Σ explicit fees
    IS          = delay + trading + opportunity + fees

Every figure is in currency (positive = cost to the client) and in bps of the paper
investment X · P_d. P_N is the mid when the order ended (its cancel time; ``opportunity_price=
"end"``, the default) or the day's close (``"close"``). Without a decision price the arrival mid
stands in (delay = 0, flagged). An overfilled order is measured as if X were the filled quantity.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from execution_quality.engine.types import BPS, FloatArray, Int8Array


@dataclass(frozen=True, eq=False)
class Shortfall:
    """Implementation shortfall per order: currency amounts and bps of the paper investment."""

    decision_price: FloatArray  # P_d used (the arrival mid when the order had none)
    final_price: FloatArray  # P_N used for the unfilled quantity
    paper_quantity: FloatArray  # X (max of ordered and filled)
    unfilled_quantity: FloatArray  # X_u ≥ 0
    paper_value: FloatArray  # X · P_d, the bps denominator
    delay: FloatArray
    trading: FloatArray
    opportunity: FloatArray
    fees: FloatArray
    total: FloatArray  # paper − real, computed on its own (not as the sum of the parts)
    delay_bps: FloatArray
    trading_bps: FloatArray
    opportunity_bps: FloatArray
    fees_bps: FloatArray
    total_bps: FloatArray


def shortfall_compute(
    *,
    side: Int8Array | FloatArray,
    quantity: FloatArray,
    filled_quantity: FloatArray,
    filled_notional: FloatArray,
    fees: FloatArray,
    decision_price: FloatArray,
    arrival_price: FloatArray,
    final_price: FloatArray,
) -> Shortfall:
    """Perold's shortfall and Kissell's split for each order (arrays of one value per order).

    ``filled_notional`` is Σ xⱼ pⱼ; ``decision_price`` may hold NaN (the arrival mid is then used);
    ``final_price`` may be NaN for orders with nothing left unfilled.
    """
    s = np.asarray(side, dtype=np.float64)
    p_d = np.where(np.isnan(decision_price), arrival_price, decision_price)
    x_paper = np.maximum(quantity, filled_quantity)
    x_u = x_paper - filled_quantity
    # When nothing is left unfilled P_N multiplies zero: any finite stand-in gives the same answer.
    p_n = np.where(x_u > 0, final_price, p_d)
    delay = s * filled_quantity * (arrival_price - p_d)
    # With no fills the trading cost is zero even when the arrival price is unknown.
    trading = np.where(filled_quantity > 0, s * (filled_notional - filled_quantity * arrival_price), 0.0)
    opportunity = s * x_u * (p_n - p_d)
    delay = np.where(filled_quantity > 0, delay, 0.0)
    paper = s * x_paper * (p_n - p_d)
    real = s * (filled_quantity * p_n - filled_notional) - fees
    total = paper - real
    paper_value = x_paper * p_d

    def bps(amount: FloatArray) -> FloatArray:
        with np.errstate(invalid="ignore", divide="ignore"):
            out: FloatArray = amount / paper_value * BPS
        return out

    return Shortfall(
        decision_price=p_d,
        final_price=p_n,
        paper_quantity=x_paper,
        unfilled_quantity=x_u,
        paper_value=paper_value,
        delay=delay,
        trading=trading,
        opportunity=opportunity,
        fees=fees,
        total=total,
        delay_bps=bps(delay),
        trading_bps=bps(trading),
        opportunity_bps=bps(opportunity),
        fees_bps=bps(fees),
        total_bps=bps(total),
    )
