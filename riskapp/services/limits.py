"""Limits: editing them, checking them, recording breaches, and the kill switch."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import Group, User
from django.db import transaction
from django.forms.models import model_to_dict
from django.urls import reverse

from audit.services import audit_record
from core.errors import ValidationFailed
from core.roles import Role
from core.services import notify
from portfolios.models import Portfolio
from riskapp.engine import limits as engine
from riskapp.models import Limit, LimitBreach, RiskRun
from riskapp.selectors import Valuation, portfolio_valuation

DEFAULT_POSITION_LIMIT = Decimal("0.02")  # 2 % of NAV per name, the product default


def _as_spec(limit: Limit) -> engine.LimitSpec:
    return engine.LimitSpec(
        id=limit.pk,
        kind=limit.kind,
        threshold=float(limit.threshold),
        warning_ratio=float(limit.warning_ratio),
        sector=limit.sector,
    )


def limit_save(*, user: User, limit: Limit, data: dict[str, Any]) -> Limit:
    """Create or change a limit (validated by the form or serializer) and audit before/after."""
    before = model_to_dict(limit) if limit.pk else None
    for name, value in data.items():
        setattr(limit, name, value)
    if limit.kind in engine.EXPOSURE_KINDS and limit.threshold is not None and limit.threshold > 100:
        raise ValidationFailed(
            "Exposure limits are fractions of NAV (0.02 = 2 %).", extra={"fields": {"threshold": ["Too large."]}}
        )
    with transaction.atomic():
        limit.save()
        audit_record(
            action="limit.update" if before else "limit.create",
            actor=user,
            obj=limit,
            before=before,
            after=model_to_dict(limit),
        )
        from riskapp.services.pretrade import risk_state_invalidate

        transaction.on_commit(lambda: risk_state_invalidate(portfolio_id=limit.portfolio_id))
    return limit


def limit_delete(*, user: User, limit: Limit) -> None:
    with transaction.atomic():
        audit_record(action="limit.delete", actor=user, obj=limit, before=model_to_dict(limit))
        portfolio_id = limit.portfolio_id
        limit.delete()
        from riskapp.services.pretrade import risk_state_invalidate

        transaction.on_commit(lambda: risk_state_invalidate(portfolio_id=portfolio_id))


def _risk_officers(portfolio: Portfolio) -> list[User]:
    group = Group.objects.filter(name=Role.RISK_OFFICER.value).first()
    members = portfolio.desk.members.filter(is_active=True)
    return list(members.filter(groups=group)) if group else []


def _record(
    *, portfolio: Portfolio, limit: Limit, check: engine.LimitCheck, run: RiskRun | None, critical: bool = False
) -> LimitBreach:
    severity = LimitBreach.Severity.CRITICAL if critical else LimitBreach.Severity(check.severity)
    measured = Decimal(repr(round(check.measured, 6)))
    ongoing = (
        LimitBreach.objects.select_for_update()
        .filter(limit=limit, subject=check.subject[:100], severity=severity, status=LimitBreach.Status.OPEN)
        .first()
    )
    if ongoing is not None:
        # The same open breach seen again (another run, another batch): refresh the figures, keep
        # one row and do not notify again. The audit trail still records each observation.
        ongoing.measured, ongoing.utilisation, ongoing.run = measured, check.utilisation, run or ongoing.run
        ongoing.recommended_action = check.recommended_action[:300]
        ongoing.save(update_fields=["measured", "utilisation", "run", "recommended_action"])
        audit_record(
            action=f"limit.{severity}.seen_again",
            obj=ongoing,
            after={"measured": check.measured, "threshold": check.threshold, "run": run.pk if run else None},
        )
        return ongoing
    breach = LimitBreach.objects.create(
        limit=limit,
        portfolio=portfolio,
        run=run,
        severity=severity,
        measured=measured,
        limit_value=limit.threshold,
        utilisation=check.utilisation,
        subject=check.subject[:100],
        recommended_action=check.recommended_action[:300],
    )
    audit_record(
        action=f"limit.{severity}",
        obj=breach,
        object_repr=f"{portfolio.code} {limit.get_kind_display()} {check.utilisation:.0%}",
        after={
            "portfolio": portfolio.code,
            "limit": limit.kind,
            "measured": check.measured,
            "threshold": check.threshold,
            "subject": check.subject,
            "action": check.recommended_action,
            "run": run.pk if run else None,
        },
    )
    if severity != LimitBreach.Severity.WARNING:
        url = reverse("riskapp:portfolio", args=[portfolio.code])
        notify(
            users=_risk_officers(portfolio),
            title=f"{portfolio.code}: {limit.get_kind_display()} {severity} ({check.utilisation:.0%})",
            body=check.recommended_action,
            url=url,
            level="critical" if severity == LimitBreach.Severity.CRITICAL else "warning",
        )
    return breach


def _halt(*, portfolio: Portfolio, reason: str) -> None:
    """Trip the kill switch: the portfolio refuses every new order until a person resumes it."""
    if portfolio.halted:
        return
    Portfolio.objects.filter(pk=portfolio.pk).update(halted=True)
    portfolio.halted = True
    audit_record(
        action="portfolio.halt",
        obj=portfolio,
        before={"halted": False},
        after={"halted": True},
        parameters={"reason": reason},
    )


def limits_check(
    *,
    portfolio: Portfolio,
    as_of: date,
    run: RiskRun | None = None,
    amounts: dict[str, dict[tuple[str, float, int], float]] | None = None,
    stress_loss: float | None = None,
    valuation: Valuation | None = None,
    kinds: Iterable[str] | None = None,
) -> list[LimitBreach]:
    """Check the portfolio's active limits and record a breach row for each warning or breach.

    ``amounts`` gives VaR/ES by kind then (method, confidence, horizon); ``stress_loss`` the
    worst stress loss. Exposure and daily-loss limits are measured from the valuation. A daily
    loss beyond its limit trips the kill switch. Returns the rows created (audited, notified).
    """
    limits = list(portfolio.limits.filter(is_active=True))
    if kinds is not None:
        wanted = set(kinds)
        limits = [lim for lim in limits if lim.kind in wanted]
    if not limits:
        return []
    val = valuation or portfolio_valuation(portfolio=portfolio, as_of=as_of)
    created: list[LimitBreach] = []
    with transaction.atomic():
        exp = engine.exposures(val.values, val.sectors, val.nav) if val.nav > 0 else None
        for limit in limits:
            spec = _as_spec(limit)
            check: engine.LimitCheck | None = None
            if limit.kind in engine.EXPOSURE_KINDS and exp is not None:
                check = engine.check_exposure_limit(spec, exp)
            elif limit.kind in {"var", "es"} and amounts:
                key = (limit.method or "historical", float(limit.confidence or 0.99), int(limit.horizon_days or 1))
                measured = amounts.get(limit.kind, {}).get(key)
                if measured is not None:
                    check = engine.check_amount_limit(spec, measured)
            elif limit.kind == "stress_loss" and stress_loss is not None:
                check = engine.check_amount_limit(spec, stress_loss)
            elif limit.kind == "daily_loss":
                check = engine.check_amount_limit(spec, -val.day_pnl)
            if check is None or check.severity == "ok":
                continue
            critical = limit.kind == "daily_loss" and check.severity == "breach"
            created.append(_record(portfolio=portfolio, limit=limit, check=check, run=run, critical=critical))
            if critical:
                _halt(portfolio=portfolio, reason=f"daily loss {check.measured:,.0f} > {check.threshold:,.0f}")
    return created


def portfolio_resume(*, user: User, portfolio: Portfolio, rationale: str) -> Portfolio:
    """Lift a tripped kill switch; a rationale is mandatory and audited."""
    if not rationale.strip():
        raise ValidationFailed("Say why trading may resume.", extra={"fields": {"rationale": ["Required."]}})
    if "\x00" in rationale:
        # PostgreSQL refuses NUL in the audit event's JSON: a clear error, not a failed transaction.
        raise ValidationFailed(
            "The rationale may not contain NUL characters.", extra={"fields": {"rationale": ["NUL."]}}
        )
    with transaction.atomic():
        Portfolio.objects.filter(pk=portfolio.pk).update(halted=False)
        portfolio.halted = False
        audit_record(
            action="portfolio.resume",
            actor=user,
            obj=portfolio,
            before={"halted": True},
            after={"halted": False},
            parameters={"rationale": rationale},
        )
        from riskapp.services.pretrade import risk_state_invalidate

        transaction.on_commit(lambda: risk_state_invalidate(portfolio_id=portfolio.pk))
    return portfolio
