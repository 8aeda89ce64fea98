"""The client page and the risk questionnaire.

The client page gathers what an advisor needs before talking to the client: the risk profile
(willingness against capacity), accounts with their tax lots, goals with their fan charts, the
proposed allocation on the efficient frontier, proposed trades with their tax effect, harvest
opportunities, coaching nudges and every recommendation with its decision. Reads only: every
button posts to ``wealth.views.actions``.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone

from core.errors import ApplicationError, NotFound
from core.permissions import area_required, deny_record
from core.roles import Area
from wealth import charts, selectors, services
from wealth.engine.profiling import PROFILE_NAMES
from wealth.engine.rebalance import is_short_term
from wealth.forms import AcceptForm, AllocationForm, DeclineForm, QuestionnaireForm, RebalanceForm, field_errors
from wealth.models import Client, ClientReview, Goal, ModelPortfolio, Recommendation, TaxLot
from wealth.services.profiling import questionnaire_shown
from wealth.services.rebalancing import harvest_scan
from wealth.views.common import can_act, can_act_on, client_or_404, latest_prices, reason_text

RECENT_DECISIONS = 20


# ---------------------------------------------------------------------------- holdings


@dataclass
class LotRow:
    lot: TaxLot
    price: Decimal | None
    market_value: Decimal | None
    unrealised: Decimal | None
    short_term: bool


@dataclass
class AccountBlock:
    account: Any
    lots: list[LotRow] = field(default_factory=list)
    market_value: Decimal = Decimal(0)
    unrealised: Decimal = Decimal(0)


@dataclass
class HoldingRow:
    symbol: str
    name: str
    quantity: Decimal
    price: Decimal | None
    market_value: Decimal
    weight: float
    target_weight: float | None
    unrealised: Decimal


def holdings_build(client: Client, *, today: date | None = None) -> dict[str, Any]:
    """Accounts with their lots valued at the latest close, and the holdings by symbol with
    their weight of the client's total (positions plus cash) and the model portfolio's target."""
    today = today or timezone.localdate()
    accounts = list(client.accounts.order_by("code"))
    lots = list(
        TaxLot.objects.filter(account__client=client, quantity__gt=0)
        .select_related("account", "instrument")
        .order_by("account__code", "instrument__symbol", "acquired_on", "id")
    )
    prices = latest_prices(lot.instrument_id for lot in lots)
    blocks = {a.pk: AccountBlock(account=a) for a in accounts}
    by_symbol: dict[str, dict[str, Any]] = defaultdict(
        lambda: {"quantity": Decimal(0), "value": Decimal(0), "unrealised": Decimal(0)}
    )
    for lot in lots:
        price = prices.get(lot.instrument_id)
        value = lot.quantity * price if price is not None else None
        unrealised = value - lot.cost_basis if value is not None else None
        row = LotRow(lot, price, value, unrealised, is_short_term(lot.holding_start, today))
        block = blocks[lot.account_id]
        block.lots.append(row)
        agg = by_symbol[lot.instrument.symbol]
        agg.update(name=lot.instrument.name, price=price)
        agg["quantity"] += lot.quantity
        if value is not None:
            block.market_value += value
            block.unrealised += unrealised or 0
            agg["value"] += value
            agg["unrealised"] += unrealised or 0
    cash = sum((a.cash for a in accounts), Decimal(0))
    total = sum((a["value"] for a in by_symbol.values()), Decimal(0)) + cash
    targets = _targets(client)
    rows = [
        HoldingRow(
            symbol=s,
            name=a.get("name", ""),
            quantity=a["quantity"],
            price=a.get("price"),
            market_value=a["value"],
            weight=float(a["value"] / total) if total else 0.0,
            target_weight=targets.get(s) if targets else None,
            unrealised=a["unrealised"],
        )
        for s, a in sorted(by_symbol.items(), key=lambda kv: -kv[1]["value"])
    ]
    for s, w in (targets or {}).items():
        if s not in by_symbol and w > 0:
            rows.append(HoldingRow(s, "", Decimal(0), None, Decimal(0), 0.0, w, Decimal(0)))
    for block in blocks.values():
        block.market_value += block.account.cash
    return {
        "accounts": list(blocks.values()),
        "holdings": rows,
        "cash": cash,
        "cash_weight": float(cash / total) if total else 0.0,
        "total": total,
        "unrealised": sum((r.unrealised for r in rows), Decimal(0)),
        "target_model": targets and _model_for(client),
    }


def _model_for(client: Client) -> ModelPortfolio | None:
    profile = selectors.profile_current(client)
    if profile is None:
        return None
    return (
        ModelPortfolio.objects.filter(profile=profile.profile, is_active=True)
        .order_by("-version")
        .prefetch_related("weights__instrument")
        .first()
    )


def _targets(client: Client) -> dict[str, float]:
    model = _model_for(client)
    if model is None:
        return {}
    return {w.instrument.symbol: float(w.weight) for w in model.weights.all()}


# ---------------------------------------------------------------------------- recommendations


def _explanation(rec: Recommendation | None) -> dict[str, Any]:
    return rec.explanation if rec is not None and isinstance(rec.explanation, dict) else {}


def _latest(recs: list[Recommendation], kind: str) -> Recommendation | None:
    """The open recommendation of ``kind`` if there is one, else the newest decided one."""
    of_kind = [r for r in recs if r.kind == kind and r.status != Recommendation.Status.SUPERSEDED]
    return next((r for r in of_kind if r.status == Recommendation.Status.PROPOSED), of_kind[0] if of_kind else None)


def _weights(value: Any) -> dict[str, float]:
    if isinstance(value, dict):
        return {str(k): float(v) for k, v in value.items() if isinstance(v, int | float)}
    if isinstance(value, list):  # [{"symbol", "weight"}, ...]
        return {str(r.get("symbol")): float(r.get("weight") or 0) for r in value if isinstance(r, dict)}
    return {}


def _moments(point: Any) -> dict[str, float | None]:
    """A stored (volatility, return) point as the template reads it; the explanation stores
    ``{"vol", "ret"}`` (annual fractions)."""
    if not isinstance(point, dict):
        return {"expected_return": None, "volatility": None}
    return {"expected_return": point.get("ret"), "volatility": point.get("vol")}


def allocation_view(rec: Recommendation | None) -> dict[str, Any]:
    """The frontier chart and the weights table of an allocation proposal, from its explanation
    (``frontier``, ``current``, ``model``, ``proposed`` points; ``weights`` proposed and
    ``current_weights`` held, cash left out)."""
    ex = _explanation(rec)
    if not ex:
        return {}
    w_now, w_new = _weights(ex.get("current_weights")), _weights(ex.get("weights"))
    symbols = sorted(set(w_now) | set(w_new), key=lambda s: -max(w_now.get(s, 0.0), w_new.get(s, 0.0)))
    source = ex.get("returns_source")
    return {
        "frontier_chart": charts.frontier_chart(
            ex.get("frontier") or [], current=ex.get("current"), proposed=ex.get("proposed"), model=ex.get("model")
        ),
        "weights_rows": [
            {"symbol": s, "current": now, "proposed": new, "change": new - now}
            for s in symbols
            for now, new in [(w_now.get(s, 0.0), w_new.get(s, 0.0))]
            if now > 1e-6 or new > 1e-6
        ],
        "current": _moments(ex.get("current")),
        "proposed": {
            **_moments(ex.get("proposed")),
            **{k: (ex.get("proposed") or {}).get(k) for k in ("sharpe", "turnover", "esg")},
        },
        "returns_source": str((source.get("source") if isinstance(source, dict) else source) or "").replace("_", " "),
    }


def _opportunities(client: Client, rec: Recommendation | None) -> list[dict[str, Any]]:
    """Harvest candidates (blocked ones included): the open harvest proposal's, else today's."""
    if rec is not None and rec.status == Recommendation.Status.PROPOSED:
        rows = _explanation(rec).get("candidates") or []
        return [r for r in rows if isinstance(r, dict)]
    try:
        found, _ = harvest_scan(client)
    except ApplicationError:
        return []
    return [vars(c) for c in found]


def _nudges(client: Client, recs: list[Recommendation]) -> list[dict[str, Any]]:
    """Coaching nudges: the open coaching recommendation's, else what the check finds today."""
    rec = _latest(recs, Recommendation.Kind.COACHING)
    if rec is not None and rec.status == Recommendation.Status.PROPOSED:
        rows = _explanation(rec).get("nudges") or []
        if rows:
            return [{**r, "kind_label": str(r.get("kind", "")).replace("_", " ")} for r in rows if isinstance(r, dict)]
    try:
        found = services.coaching_check(client=client)
    except (ApplicationError, AttributeError):
        return []
    return [
        {
            "kind": n.kind,
            "kind_label": n.kind.replace("_", " "),
            "severity": n.severity,
            "message": n.message,
            "reason": n.reason,
            "evidence": n.evidence,
        }
        for n in found
    ]


def _with_forms(rec: Recommendation, bound: dict[str, forms.Form], acting: bool) -> Recommendation:
    """Attach the accept/decline forms of an open recommendation (ids unique per recommendation)."""
    if rec.status == Recommendation.Status.PROPOSED and acting:
        auto = f"id_r{rec.pk}_%s"
        rec.accept_form = bound.get(f"accept-{rec.pk}") or AcceptForm(auto_id=auto + "_accept")  # type: ignore[attr-defined]
        rec.decline_form = bound.get(f"decline-{rec.pk}") or DeclineForm(auto_id=auto + "_decline")  # type: ignore[attr-defined]
    return rec


# ---------------------------------------------------------------------------- the page


def goal_rows(goals: list[Goal]) -> list[dict[str, Any]]:
    """Each goal with its newest plan and fan chart."""
    rows = []
    for goal in goals:
        plan = goal.plans.order_by("-created_at", "-id").first()
        start = timezone.localdate(plan.created_at) if plan is not None else timezone.localdate()
        rows.append(
            {
                "goal": goal,
                "plan": plan,
                "chart_id": f"fan-{goal.pk}",
                "fan_chart": charts.fan_chart(plan.fan, target=float(goal.target_amount), start=start)
                if plan is not None
                else "",
            }
        )
    return rows


def client_context(request: HttpRequest, client: Client, bound: dict[str, forms.Form] | None = None) -> dict[str, Any]:
    bound = bound or {}
    acting = can_act_on(request, client)
    profile = selectors.profile_current(client)
    recs = list(client.recommendations.select_related("decided_by").order_by("-created_at", "-id"))
    for rec in recs:
        _with_forms(rec, bound, acting)
    allocation = _latest(recs, Recommendation.Kind.ALLOCATION)
    rebalance = _latest(recs, Recommendation.Kind.REBALANCE)
    harvest = _latest(recs, Recommendation.Kind.HARVEST)
    review = ClientReview.objects.filter(client=client).order_by("-as_of").first()
    return {
        "client": client,
        "profile": profile,
        "profile_name": PROFILE_NAMES.get(profile.profile, "") if profile is not None else "",
        "profile_reasons": [reason_text(r) for r in (profile.explanation or [])] if profile is not None else [],
        "governed_by": (
            ("capacity" if profile.capacity < profile.willingness else "willingness") if profile is not None else ""
        ),
        "review": review,
        "review_reasons": [reason_text(r) for r in (review.reasons or [])] if review is not None else [],
        **holdings_build(client),
        "goals": goal_rows(list(client.goals.all())),
        "allocation": allocation,
        "allocation_view": allocation_view(allocation),
        "rebalance": rebalance,
        "harvest": harvest,
        "coaching": _latest(recs, Recommendation.Kind.COACHING),
        "opportunities": _opportunities(client, harvest),
        "nudges": _nudges(client, recs),
        "open_recs": [r for r in recs if r.status == Recommendation.Status.PROPOSED],
        "decided_recs": [r for r in recs if r.status in ("accepted", "declined")][:RECENT_DECISIONS],
        "can_act": acting,
        "allocation_form": bound.get("allocation") or (AllocationForm(auto_id="id_alloc_%s") if acting else None),
        "rebalance_form": bound.get("rebalance") or (RebalanceForm(auto_id="id_rebal_%s") if acting else None),
        "failed": next(iter(bound), ""),
    }


@area_required(Area.WEALTH)
def client_detail(request: HttpRequest, pk: int) -> HttpResponse:
    client = client_or_404(request, pk)
    return render(request, "wealth/client_detail.html", client_context(request, client))


# ---------------------------------------------------------------------------- questionnaire


@area_required(Area.WEALTH)
def questionnaire(request: HttpRequest, pk: int) -> HttpResponse:
    """The active questionnaire as radio groups; a complete answer is scored and becomes the
    client's new profile. Auditors see the questions (and the last answers) but cannot submit."""
    if request.method == "POST" and not can_act(request):
        client_or_404(request, pk)
        deny_record(request, Area.WEALTH)
        raise PermissionDenied
    # Answering needs a client the user may change; reading needs one the user may see.
    client = client_or_404(request, pk, write=request.method == "POST")
    acting = can_act_on(request, client)
    try:
        version = questionnaire_shown(create=acting)
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("wealth:client_detail", pk=client.pk)
    last = client.responses.filter(questionnaire=version).order_by("-submitted_at", "-id").first() if version else None
    questions = list(version.questions) if version is not None else []
    status = 200
    if request.method == "POST":
        form = QuestionnaireForm(request.POST, questions=questions)
        if form.is_valid():
            try:
                result = services.profile_submit(
                    actor=request.user, client=client, answers=form.answers(), questionnaire=version
                )
            except NotFound:
                return redirect("wealth:client_detail", pk=client.pk)
            except ApplicationError as exc:
                field_errors(form, exc)
            else:
                name = PROFILE_NAMES.get(result.profile, str(result.profile))
                messages.success(request, f"Risk profile saved: {name} (score {result.score:.0f} of 100).")
                return redirect(f"{client_url(client)}#profile")
        status = 400
    else:
        form = QuestionnaireForm(initial=dict(last.answers) if last else None, questions=questions)
    ctx = {"client": client, "version": version, "form": form, "can_act": acting, "last": last}
    return render(request, "wealth/questionnaire.html", ctx, status=status)


def client_url(client: Client) -> str:
    return reverse("wealth:client_detail", args=[client.pk])
