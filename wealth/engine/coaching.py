"""Behavioural coaching: nudges when a client sells into a fall or lets one position grow too big.

Panic selling: the market (or the portfolio's value excluding flows) is at least
``drawdown_threshold`` below its running peak on a sale's date (the last observation on or
before it), and such sales within ``window_days`` add up to at least ``sale_share_threshold`` of
``holdings_value``. Sales over overlapping windows form one episode and give one nudge (the
window that sold most).

Concentration creep (positions other than ``"CASH"``): a position above ``single_limit`` whose
target is not itself above the limit gives a warning; a position that has grown at least
``creep`` above both its earlier weight and its target gives an info nudge; and when no
position is flagged, a rise of the Herfindahl–Hirschman index HHI = Σw² by at least ``creep``
(0.05 = 500 points on the 0–10,000 scale) gives an info nudge.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Literal, TypeGuard

import numpy as np
from numpy.typing import NDArray

CASH = "CASH"


class CoachingError(ValueError):
    """Inputs the coaching checks cannot use; ``fields`` maps each offending argument to messages."""

    def __init__(self, fields: Mapping[str, list[str]]) -> None:
        self.fields: dict[str, list[str]] = {key: list(messages) for key, messages in fields.items()}
        super().__init__("; ".join(f"{key}: {' '.join(msgs)}" for key, msgs in self.fields.items()))


@dataclass(frozen=True)
class Nudge:
    """``message`` is written for the client, ``reason`` (with the numbers) for the advisor."""

    kind: Literal["panic_selling", "concentration_creep"]
    severity: Literal["info", "warning"]
    message: str
    reason: str
    evidence: dict[str, float | str] = field(default_factory=dict)


def _pct(x: float) -> str:
    return f"{x * 100:.1f} %"


def _finite(x: object) -> TypeGuard[float]:
    """A real number (not a bool) that is neither NaN nor infinite."""
    return isinstance(x, numbers.Real) and not isinstance(x, bool) and math.isfinite(x)


def _fraction(name: str, value: float, errors: dict[str, list[str]]) -> None:
    if not (_finite(value) and 0 < value < 1):
        errors.setdefault(name, []).append(f"{name} must be between 0 and 1 (exclusive).")


def _running_drawdown(values: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.intp]]:
    """Drawdown from the running peak at each point, and the index of that peak."""
    peaks = np.maximum.accumulate(values)
    idx = np.arange(values.size)
    peak_index = np.maximum.accumulate(np.where(values >= peaks, idx, 0))
    return 1.0 - values / peaks, peak_index


def panic_selling(
    dates: NDArray[np.datetime64],
    values: NDArray[np.float64],
    sales: Sequence[tuple[date, float]],
    holdings_value: float,
    *,
    drawdown_threshold: float = 0.10,
    sale_share_threshold: float = 0.10,
    window_days: int = 30,
    series_label: str = "the market",
    series_in_money: bool = False,
) -> list[Nudge]:
    """Nudges for selling after a fall: see the module docstring for the rule. ``series_label``
    names what ``values`` measure in the reason ("the S&P 500", "the portfolio"); with
    ``series_in_money`` its peak is shown as a dollar amount, otherwise as an index level."""
    errors: dict[str, list[str]] = {}
    try:
        d = np.asarray(dates).astype("datetime64[D]")
    except (TypeError, ValueError):
        errors.setdefault("dates", []).append("dates must be dates.")
        d = np.zeros(0, dtype="datetime64[D]")
    try:
        v = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        errors.setdefault("values", []).append("values must be positive finite numbers.")
        v = np.zeros(0)
    if errors:
        raise CoachingError(errors)
    if d.ndim != 1 or v.shape != d.shape:
        errors.setdefault("values", []).append("dates and values must be vectors of one length.")
    elif d.size and not np.all(np.diff(d) > np.timedelta64(0, "D")):
        errors.setdefault("dates", []).append("dates must be strictly increasing.")
    if v.size and not (np.all(np.isfinite(v)) and np.all(v > 0)):
        errors.setdefault("values", []).append("values must be positive finite numbers.")
    if not (_finite(holdings_value) and holdings_value > 0):
        errors.setdefault("holdings_value", []).append("holdings_value must be positive.")
    _fraction("drawdown_threshold", drawdown_threshold, errors)
    _fraction("sale_share_threshold", sale_share_threshold, errors)
    if not _finite(window_days) or window_days < 1:
        errors.setdefault("window_days", []).append("window_days must be at least 1.")
    if any(
        not (isinstance(sale, tuple | list) and len(sale) == 2 and isinstance(sale[0], date) and _finite(sale[1]))
        or sale[1] < 0
        for sale in sales
    ):
        errors.setdefault("sales", []).append("Sales must be (date, amount) pairs with amounts ≥ 0.")
    if errors:
        raise CoachingError(errors)
    if v.size == 0 or not sales:
        return []

    drawdown, peak_index = _running_drawdown(v)
    # Sales made while the market stood at least drawdown_threshold below its peak.
    stressed: list[tuple[date, float, float, int]] = []
    for when, amount in sorted(sales):
        i = int(np.searchsorted(d, np.datetime64(when, "D"), side="right")) - 1
        if i >= 0 and drawdown[i] >= drawdown_threshold and amount > 0:
            stressed.append((when, amount, float(drawdown[i]), i))

    window = timedelta(days=window_days - 1)
    # Episodes: (first, last) of the window that sold most, its total, and the last window end seen.
    episodes: list[tuple[int, int, float, int]] = []
    for j, (when, _, _, _) in enumerate(stressed):
        start = next(k for k in range(j + 1) if stressed[k][0] >= when - window)
        total = sum(s[1] for s in stressed[start : j + 1])
        if total / holdings_value < sale_share_threshold:
            continue
        if episodes and start <= episodes[-1][3]:
            first, last, best, _ = episodes[-1]
            episodes[-1] = (start, j, total, j) if total > best else (first, last, best, j)
        else:
            episodes.append((start, j, total, j))

    nudges: list[Nudge] = []
    for first, last, _, _ in episodes:
        chunk = stressed[first : last + 1]
        sold = sum(s[1] for s in chunk)
        share = sold / holdings_value
        worst = max(chunk, key=lambda s: s[2])
        peak_i = int(peak_index[worst[3]])
        peak_day = str(d[peak_i])
        first_day, last_day = chunk[0][0].isoformat(), chunk[-1][0].isoformat()
        when_text = f"on {first_day}" if first_day == last_day else f"between {first_day} and {last_day}"
        nudges.append(
            Nudge(
                kind="panic_selling",
                severity="warning",
                message=(
                    f"You sold about {share * 100:.0f} % of your investments while markets were "
                    f"{worst[2] * 100:.0f} % below their recent high. Selling after a fall turns a paper loss into "
                    "a real one; let's talk before making further changes."
                ),
                reason=(
                    f"Sales of ${sold:,.0f} ({_pct(share)} of ${holdings_value:,.0f} holdings) {when_text} while "
                    f"{series_label} was up to {_pct(worst[2])} below its {peak_day} peak of "
                    f"{'$' if series_in_money else ''}{v[peak_i]:,.0f} (thresholds: drawdown "
                    f"{_pct(drawdown_threshold)}, sales {_pct(sale_share_threshold)} within {window_days} days)."
                ),
                evidence={
                    "amount_sold": sold,
                    "sale_share": share,
                    "drawdown": worst[2],
                    "peak_date": peak_day,
                    "peak_value": float(v[peak_i]),
                    "first_sale": chunk[0][0].isoformat(),
                    "last_sale": chunk[-1][0].isoformat(),
                    "holdings_value": holdings_value,
                },
            )
        )
    return nudges


def _hhi(weights: Mapping[str, float]) -> float:
    return sum(w * w for s, w in weights.items() if s != CASH)


def concentration_creep(
    weights_now: Mapping[str, float],
    weights_then: Mapping[str, float],
    target: Mapping[str, float],
    *,
    single_limit: float = 0.20,
    creep: float = 0.05,
) -> list[Nudge]:
    """Nudges for positions that have grown too big: see the module docstring for the rules."""
    errors: dict[str, list[str]] = {}
    for name, weights in (("weights_now", weights_now), ("weights_then", weights_then), ("target", target)):
        if not isinstance(weights, Mapping) or any(not (_finite(w) and 0 <= w <= 1) for w in weights.values()):
            errors.setdefault(name, []).append(f"Every weight in {name} must be between 0 and 1.")
        elif sum(weights.values()) > 1 + 1e-6:
            errors.setdefault(name, []).append(f"Weights in {name} add up to more than 100 %.")
    _fraction("single_limit", single_limit, errors)
    _fraction("creep", creep, errors)
    if errors:
        raise CoachingError(errors)

    hhi_now, hhi_then = _hhi(weights_now), _hhi(weights_then)
    nudges: list[Nudge] = []
    for symbol in sorted(weights_now, key=lambda s: (-weights_now[s], s)):
        if symbol == CASH:
            continue
        now, then, goal = weights_now[symbol], weights_then.get(symbol, 0.0), target.get(symbol, 0.0)
        evidence: dict[str, float | str] = {
            "symbol": symbol,
            "weight_now": now,
            "weight_then": then,
            "target": goal,
            "hhi_now": hhi_now,
            "hhi_then": hhi_then,
        }
        if now > single_limit and goal <= single_limit:
            nudges.append(
                Nudge(
                    kind="concentration_creep",
                    severity="warning",
                    message=(
                        f"{symbol} is now {now * 100:.0f} % of your portfolio (it was {then * 100:.0f} %). So much "
                        "in one holding ties your savings to how that one investment does."
                    ),
                    reason=(
                        f"{symbol} weight {_pct(now)} is above the {_pct(single_limit)} single-position limit "
                        f"(was {_pct(then)}, target {_pct(goal)})."
                    ),
                    evidence={**evidence, "single_limit": single_limit},
                )
            )
        elif now - then >= creep and now - goal >= creep:
            nudges.append(
                Nudge(
                    kind="concentration_creep",
                    severity="info",
                    message=(
                        f"{symbol} has grown to {now * 100:.0f} % of your portfolio, more than the "
                        f"{goal * 100:.0f} % your plan holds."
                    ),
                    reason=(
                        f"{symbol} grew from {_pct(then)} to {_pct(now)}, {_pct(now - goal)} above its "
                        f"{_pct(goal)} target (creep threshold {_pct(creep)})."
                    ),
                    evidence={**evidence, "creep": creep},
                )
            )
    if not nudges and hhi_now - hhi_then >= creep:
        nudges.append(
            Nudge(
                kind="concentration_creep",
                severity="info",
                message="Your portfolio has become more concentrated in fewer holdings than before.",
                reason=(
                    f"Herfindahl index rose from {hhi_then:.3f} to {hhi_now:.3f} (effective number of holdings "
                    f"{1 / hhi_then if hhi_then else math.inf:.1f} → {1 / hhi_now:.1f}; threshold {creep:.3f})."
                ),
                evidence={"hhi_now": hhi_now, "hhi_then": hhi_then, "creep": creep},
            )
        )
    return nudges
