"""Limit arithmetic: exposures of a book, limit utilisation, and what to do about a breach.

Pure functions over plain numbers so the same code serves end-of-run checks, the incremental
check after each trade batch and the pre-trade check (which must answer in milliseconds).

Conventions: position values are signed, in base currency; ``nav`` > 0. Exposure limits
(position, sector, leverage) are fractions of NAV; VaR, ES, stress and daily-loss limits are
amounts in base currency. Utilisation = measured / threshold; a warning from
``warning_ratio`` × threshold, a breach above the threshold.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

EXPOSURE_KINDS = frozenset({"position_pct_nav", "sector_exposure", "gross_leverage", "net_leverage"})
AMOUNT_KINDS = frozenset({"var", "es", "stress_loss", "daily_loss"})


@dataclass(frozen=True)
class LimitSpec:
    """A limit as the checks see it (``sector`` only for sector limits)."""

    id: int
    kind: str
    threshold: float
    warning_ratio: float = 0.8
    sector: str = ""


@dataclass(frozen=True)
class LimitCheck:
    """The outcome of checking one limit (for position and sector limits: the worst subject)."""

    limit_id: int
    kind: str
    measured: float
    threshold: float
    utilisation: float
    severity: str  # "ok" | "warning" | "breach"
    subject: str = ""
    recommended_action: str = ""


@dataclass(frozen=True)
class Exposures:
    """A book's exposures as fractions of NAV."""

    nav: float
    gross: float
    net: float
    by_instrument: dict[str, float]
    by_sector: dict[str, float]


def exposures(values: Mapping[str, float], sectors: Mapping[str, str], nav: float) -> Exposures:
    """Exposures of ``values`` (subject → signed value) with ``sectors`` (subject → sector).

    Sector exposure is the net value of the sector's positions over NAV, by absolute value
    (a sector limit bounds the bet on the sector, long or short).
    """
    if nav <= 0:
        raise ValueError("NAV must be positive to express exposures as a fraction of it.")
    by_sector: dict[str, float] = defaultdict(float)
    for subject, value in values.items():
        by_sector[sectors.get(subject) or "Unclassified"] += value
    return Exposures(
        nav=nav,
        gross=sum(abs(v) for v in values.values()) / nav,
        net=sum(values.values()) / nav,
        by_instrument={k: abs(v) / nav for k, v in values.items()},
        by_sector={k: abs(v) / nav for k, v in by_sector.items()},
    )


def _severity(measured: float, limit: LimitSpec) -> str:
    if measured > limit.threshold:
        return "breach"
    if measured >= limit.warning_ratio * limit.threshold:
        return "warning"
    return "ok"


def _check(limit: LimitSpec, measured: float, subject: str, action: str) -> LimitCheck:
    utilisation = measured / limit.threshold if limit.threshold > 0 else float("inf")
    severity = _severity(measured, limit)
    return LimitCheck(
        limit_id=limit.id,
        kind=limit.kind,
        measured=measured,
        threshold=limit.threshold,
        utilisation=utilisation,
        severity=severity,
        subject=subject,
        recommended_action=action if severity != "ok" else "",
    )


def check_exposure_limit(limit: LimitSpec, exp: Exposures) -> LimitCheck:
    """Check one exposure limit; position and sector limits report their worst subject."""
    if limit.kind == "position_pct_nav":
        subject, measured = max(exp.by_instrument.items(), key=lambda kv: kv[1], default=("", 0.0))
        excess = max(0.0, measured - limit.threshold) * exp.nav
        action = (
            f"Reduce {subject} by about {excess:,.0f} to bring it within {limit.threshold:.2%} of NAV."
            if excess > 0
            else f"{subject} is close to its {limit.threshold:.2%} of NAV limit: avoid adding to it."
        )
        return _check(limit, measured, subject, action)
    if limit.kind == "sector_exposure":
        sectors = {limit.sector: exp.by_sector.get(limit.sector, 0.0)} if limit.sector else exp.by_sector
        subject, measured = max(sectors.items(), key=lambda kv: kv[1], default=("", 0.0))
        excess = max(0.0, measured - limit.threshold) * exp.nav
        action = (
            f"Cut the {subject} exposure by about {excess:,.0f} or hedge it."
            if excess > 0
            else f"The {subject} exposure is close to its limit: avoid adding to it."
        )
        return _check(limit, measured, subject, action)
    if limit.kind == "gross_leverage":
        excess = max(0.0, exp.gross - limit.threshold) * exp.nav
        action = (
            f"Reduce gross exposure by about {excess:,.0f}."
            if excess > 0
            else "Gross exposure is close to its limit: avoid adding to it."
        )
        return _check(limit, exp.gross, "", action)
    if limit.kind == "net_leverage":
        excess = max(0.0, abs(exp.net) - limit.threshold) * exp.nav
        side = "long" if exp.net > 0 else "short"
        action = (
            f"Reduce the net {side} exposure by about {excess:,.0f}."
            if excess > 0
            else f"The net {side} exposure is close to its limit: avoid adding to it."
        )
        return _check(limit, abs(exp.net), "", action)
    raise ValueError(f"{limit.kind!r} is not an exposure limit.")


_AMOUNT_ACTIONS = {
    "var": "Reduce the largest VaR contributors or hedge; see the component VaR chart.",
    "es": "Reduce tail exposure (largest ES contributors) or buy protection.",
    "stress_loss": "Hedge the worst scenario's exposures; see the stress results.",
    "daily_loss": "Kill switch: trading is halted; close or hedge positions and review with the desk head.",
}


def check_amount_limit(limit: LimitSpec, measured: float) -> LimitCheck:
    """Check a VaR, ES, stress-loss or daily-loss limit against a measured loss amount."""
    if limit.kind not in AMOUNT_KINDS:
        raise ValueError(f"{limit.kind!r} is not an amount limit.")
    return _check(limit, max(measured, 0.0), "", _AMOUNT_ACTIONS[limit.kind])


def check_exposure_limits(limits: Iterable[LimitSpec], exp: Exposures) -> list[LimitCheck]:
    return [check_exposure_limit(limit, exp) for limit in limits if limit.kind in EXPOSURE_KINDS]


def after_trade(values: Mapping[str, float], subject: str, delta_value: float) -> dict[str, float]:
    """The book's values once a trade adding ``delta_value`` to ``subject`` is done."""
    new = dict(values)
    new[subject] = new.get(subject, 0.0) + delta_value
    return new
