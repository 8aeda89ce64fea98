"""The fast path after each ingested trade batch: the books it touched are re-checked."""

from __future__ import annotations

from django.utils import timezone

from portfolios.models import Portfolio, Trade
from riskapp.selectors import latest_price_date
from riskapp.services.limits import limits_check
from riskapp.services.pretrade import risk_state_invalidate

# Exposure limits move with every fill; VaR/ES/stress limits wait for the next risk run.
INCREMENTAL_KINDS = ("position_pct_nav", "sector_exposure", "gross_leverage", "net_leverage", "daily_loss")


def limits_after_trades(*, trade_ids: list[int]) -> int:
    """Drop the cached state of every portfolio the trades belong to and check its fast limits.

    Returns the number of breach rows recorded.
    """
    portfolio_ids = set(
        Trade.objects.filter(pk__in=trade_ids, account__portfolio__isnull=False)
        .values_list("account__portfolio_id", flat=True)
        .distinct()
    )
    as_of = latest_price_date() or timezone.now().date()
    created = 0
    for portfolio in Portfolio.objects.filter(pk__in=portfolio_ids, limits__is_active=True).distinct():
        risk_state_invalidate(portfolio_id=portfolio.pk)
        created += len(limits_check(portfolio=portfolio, as_of=as_of, kinds=INCREMENTAL_KINDS))
    for pid in portfolio_ids:
        risk_state_invalidate(portfolio_id=pid)
    return created
