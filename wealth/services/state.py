"""A client's holdings as the engines see them: lots, cash per account, prices, weights, and the
target the holdings are measured against. Read-only.

Target (docs/wealth-methodology.md, "Services"): the active model portfolio of the client's
current risk profile, unless the client accepted an allocation proposal after that model was
published, in which case the accepted allocation's weights are the target. A client without a
profile is measured against profile 3 (Balanced) and the target says so.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from wealth.engine.rebalance import Lot
from wealth.models import Client, ModelPortfolio, Recommendation, TaxLot, WealthAccount
from wealth.selectors import profile_current
from wealth.services._common import fail
from wealth.services.market import latest_prices, price_date_latest

CASH = "CASH"
DEFAULT_PROFILE = 3


@dataclass(frozen=True)
class Target:
    """Target weights by symbol and where they come from."""

    weights: dict[str, float]
    source: str  # "model" | "allocation"
    profile: int
    profile_assumed: bool
    model: ModelPortfolio | None = None
    recommendation_id: int | None = None

    def describe(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "profile": self.profile,
            "profile_assumed": self.profile_assumed,
            "model": self.model.name if self.model else None,
            "model_version": self.model.version if self.model else None,
            "recommendation": self.recommendation_id,
        }


@dataclass
class ClientState:
    """Open lots (engine ``Lot``s keyed by ``TaxLot.pk``), cash and market value per symbol."""

    as_of: dt.date
    lots: list[Lot]
    accounts: dict[str, WealthAccount]
    cash: dict[str, float]
    prices: dict[str, float]
    values: dict[str, float] = field(default_factory=dict)

    @property
    def invested(self) -> float:
        return sum(self.values.values())

    @property
    def total(self) -> float:
        return self.invested + sum(self.cash.values())

    def weights(self, *, with_cash: bool = True) -> dict[str, float]:
        """Weights of the whole (with ``CASH``) or of the invested part."""
        total = self.total if with_cash else self.invested
        if total <= 0:
            return {}
        out = {s: v / total for s, v in self.values.items() if v}
        if with_cash and sum(self.cash.values()) > 0:
            out[CASH] = sum(self.cash.values()) / total
        return out


def model_active(profile: int) -> ModelPortfolio | None:
    return ModelPortfolio.objects.filter(profile=profile, is_active=True).order_by("-version", "-id").first()


def model_weights(model: ModelPortfolio) -> dict[str, float]:
    return {w.instrument.symbol: float(w.weight) for w in model.weights.select_related("instrument")}


def client_profile(client: Client) -> tuple[int, bool]:
    """The client's current profile, or (3, True) when the questionnaire is not answered yet."""
    current = profile_current(client)
    return (current.profile, False) if current else (DEFAULT_PROFILE, True)


def target_for(client: Client) -> Target:
    profile, assumed = client_profile(client)
    model = model_active(profile)
    accepted = (
        client.recommendations.filter(kind=Recommendation.Kind.ALLOCATION, status=Recommendation.Status.ACCEPTED)
        .order_by("-decided_at", "-id")
        .first()
    )
    if accepted is not None and accepted.explanation.get("weights"):
        newer = model is None or (accepted.decided_at is not None and accepted.decided_at > model.created_at)
        if newer:
            weights = {str(k): float(v) for k, v in accepted.explanation["weights"].items() if float(v) > 0}
            return Target(weights, "allocation", profile, assumed, model, accepted.pk)
    if model is None:
        raise fail(
            f"There is no active model portfolio for risk profile {profile}.",
            {"profile": f"No active model portfolio for profile {profile}."},
        )
    return Target(model_weights(model), "model", profile, assumed, model)


def as_of_default() -> dt.date:
    """The newest price date of the wealth universe (today when there are no prices): the day
    proposals are priced and trades booked."""
    return price_date_latest() or dt.date.today()


def client_state(
    client: Client, *, as_of: dt.date | None = None, extra_symbols: list[str] | None = None
) -> ClientState:
    """Lots and cash as of now, priced at the latest close on or before ``as_of``."""
    as_of = as_of or as_of_default()
    accounts = {a.code: a for a in client.accounts.all()}
    rows = list(TaxLot.objects.filter(account__client=client, quantity__gt=0).select_related("account", "instrument"))
    symbols = sorted({r.instrument.symbol for r in rows} | set(extra_symbols or []))
    prices = {s: p for s, (p, _) in latest_prices(symbols, as_of).items()}
    missing = sorted({r.instrument.symbol for r in rows} - set(prices))
    if missing:
        raise fail(
            f"No price for held instruments: {', '.join(missing)}.", {"prices": f"Missing: {', '.join(missing)}"}
        )
    lots = [
        Lot(
            lot_id=r.pk,
            account=r.account.code,
            taxable=r.account.is_taxable,
            symbol=r.instrument.symbol,
            quantity=float(r.quantity),
            cost_basis=float(r.cost_basis),
            holding_start=r.holding_start,
        )
        for r in rows
    ]
    values: dict[str, float] = {}
    for lot in lots:
        values[lot.symbol] = values.get(lot.symbol, 0.0) + lot.quantity * prices[lot.symbol]
    cash = {code: float(a.cash) for code, a in accounts.items()}
    return ClientState(as_of=as_of, lots=lots, accounts=accounts, cash=cash, prices=prices, values=values)
