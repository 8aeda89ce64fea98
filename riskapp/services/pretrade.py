"""The pre-trade check: may this order go out? Answered from cached state in milliseconds.

State per portfolio (book values, sectors, NAV, halted flag, exposure limits) is built from the
database on a cache miss and dropped whenever it changes: a trade batch for the portfolio, a
limit edit, a halt or resume. Restricted instruments are cached as one set. The cache is the
configured Django cache (Redis in production, shared by every web process).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import User
from django.core.cache import cache
from django.utils import timezone

from audit.services import audit_record
from core.errors import NotFound
from portfolios import selectors as book_selectors
from portfolios.models import Instrument, Portfolio, PriceBar
from riskapp.engine import limits as engine
from riskapp.models import Limit, RestrictedInstrument
from riskapp.selectors import latest_price_date, portfolio_valuation

STATE_TTL_SECONDS = 600
_RESTRICTED_KEY = "risk:restricted:v1"


def _state_key(portfolio_id: int) -> str:
    return f"risk:state:v1:{portfolio_id}"


def _instrument_key(symbol: str) -> str:
    return f"risk:instrument:v1:{symbol}"


def risk_state_build(*, portfolio: Portfolio, as_of: date | None = None) -> dict[str, Any]:
    """Value the book and gather what the pre-trade check needs, as JSON-safe data."""
    day = as_of or latest_price_date() or timezone.now().date()
    val = portfolio_valuation(portfolio=portfolio, as_of=day)
    limits = [
        {
            "id": lim.pk,
            "kind": lim.kind,
            "threshold": float(lim.threshold),
            "warning_ratio": float(lim.warning_ratio),
            "sector": lim.sector,
        }
        for lim in Limit.objects.filter(portfolio=portfolio, is_active=True, kind__in=engine.EXPOSURE_KINDS)
    ]
    return {
        "portfolio_id": portfolio.pk,
        "code": portfolio.code,
        "halted": portfolio.halted,
        "nav": float(portfolio.nav),
        "as_of": day.isoformat(),
        "values": val.values,
        "sectors": val.sectors,
        "limits": limits,
        "built_at": timezone.now().isoformat(),
    }


def risk_state_get(*, portfolio: Portfolio) -> dict[str, Any]:
    state: dict[str, Any] | None = cache.get(_state_key(portfolio.pk))
    if state is None:
        state = risk_state_build(portfolio=portfolio)
        cache.set(_state_key(portfolio.pk), state, STATE_TTL_SECONDS)
    return state


def risk_state_invalidate(*, portfolio_id: int) -> None:
    cache.delete(_state_key(portfolio_id))


def restricted_invalidate() -> None:
    cache.delete(_RESTRICTED_KEY)


def _restricted() -> set[str]:
    symbols: list[str] | None = cache.get(_RESTRICTED_KEY)
    if symbols is None:
        symbols = list(RestrictedInstrument.objects.values_list("instrument__symbol", flat=True))
        cache.set(_RESTRICTED_KEY, symbols, STATE_TTL_SECONDS)
    return set(symbols)


def _instrument(symbol: str) -> dict[str, Any] | None:
    info: dict[str, Any] | None = cache.get(_instrument_key(symbol))
    if info is None:
        inst = Instrument.objects.select_related("underlying").filter(symbol=symbol).first()
        if inst is None:
            return None
        close = PriceBar.objects.filter(instrument=inst).order_by("-date").values_list("close", flat=True).first()
        sector = inst.sector or (inst.underlying.sector if inst.underlying else "")
        info = {"sector": sector, "multiplier": float(inst.multiplier), "close": float(close) if close else None}
        cache.set(_instrument_key(symbol), info, STATE_TTL_SECONDS)
    return info


@dataclass
class PretradeDecision:
    decision: str  # "allow" | "deny"
    reasons: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[dict[str, Any]] = field(default_factory=list)
    state_built_at: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "decision": self.decision,
            "reasons": self.reasons,
            "warnings": self.warnings,
            "state_built_at": self.state_built_at,
        }


def pretrade_check(
    *, user: User, portfolio_code: str, symbol: str, side: str, quantity: Decimal, price: Decimal | None
) -> PretradeDecision:
    """Allow or deny an order, with every reason: restricted instrument, halted portfolio, and
    each exposure limit (position, sector, gross, net) the book would breach after the order.

    The decision is audited (who asked, what, the answer).
    """
    portfolio = book_selectors.portfolio_list(user=user).filter(code=portfolio_code).first()
    if portfolio is None:
        raise NotFound(f"Unknown portfolio '{portfolio_code}'.")
    # One cache round trip for the three pieces of state; misses are rebuilt one by one.
    cached = cache.get_many([_state_key(portfolio.pk), _instrument_key(symbol), _RESTRICTED_KEY])
    info = cached.get(_instrument_key(symbol)) or _instrument(symbol)
    if info is None:
        raise NotFound(f"Unknown instrument '{symbol}'.")
    state = cached.get(_state_key(portfolio.pk)) or risk_state_get(portfolio=portfolio)
    restricted = set(cached[_RESTRICTED_KEY]) if _RESTRICTED_KEY in cached else _restricted()
    reasons: list[dict[str, Any]] = []
    warnings: list[dict[str, Any]] = []
    if symbol in restricted:
        reasons.append({"code": "restricted_instrument", "message": f"{symbol} is on the restricted list."})
    if state["halted"]:
        reasons.append({"code": "portfolio_halted", "message": f"{portfolio.code} is halted by its kill switch."})
    unit = float(price) if price is not None else info["close"]
    if unit is None:
        reasons.append({"code": "no_price", "message": f"No price for {symbol}: send a limit price."})
    elif state["nav"] > 0 and state["limits"]:
        signed = float(quantity) * (1 if side == "buy" else -1)
        values = engine.after_trade(state["values"], symbol, signed * unit * info["multiplier"])
        sectors = {**state["sectors"], symbol: info["sector"]}
        exp = engine.exposures(values, sectors, state["nav"])
        exp_before = engine.exposures(state["values"], state["sectors"], state["nav"])
        for raw in state["limits"]:
            spec = engine.LimitSpec(**raw)
            check = engine.check_exposure_limit(spec, exp)
            item = {
                "code": "limit",
                "limit_id": check.limit_id,
                "kind": check.kind,
                "subject": check.subject,
                "measured": round(check.measured, 6),
                "limit": check.threshold,
                "message": f"{check.kind} would be {check.measured:.2%} of NAV against {check.threshold:.2%}"
                + (f" ({check.subject})" if check.subject else "")
                + ".",
            }
            # Only an order that makes things worse is stopped; one that reduces a breach passes.
            before = engine.check_exposure_limit(spec, exp_before)
            if check.severity == "breach" and check.measured > before.measured + 1e-12:
                reasons.append(item)
            elif check.severity in {"warning", "breach"}:
                warnings.append(item)
    decision = PretradeDecision(
        decision="deny" if reasons else "allow", reasons=reasons, warnings=warnings, state_built_at=state["built_at"]
    )
    audit_record(
        action=f"pretrade.{decision.decision}",
        actor=user,
        obj=portfolio,
        parameters={
            "instrument": symbol,
            "side": side,
            "quantity": str(quantity),
            "price": str(price) if price is not None else None,
        },
        after={"reasons": [r["code"] for r in reasons], "warnings": len(warnings)},
    )
    return decision
