"""Reads of TCA results: scoping, dashboard aggregates and the RTS 28 passive/aggressive split.

Notional-weighted cost = Σ notionalᵢ · costᵢ / Σ notionalᵢ over orders with a cost.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from core.errors import NotFound, ValidationFailed
from core.roles import Role
from execution_quality import selectors
from execution_quality.services import tca_run_create
from tests.execution_quality.book import book_build
from tests.factories import AccountFactory, OrderFactory, TcaOrderResultFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def orders(desk):
    """Four orders: costs 10, 20, 30 bps and one without fills (no cost), on two venues and hours."""
    account = AccountFactory(code="SEL", desk=desk)
    spec = [
        ("A", 14, Decimal("1000"), 10.0, 0.001, 5.0),
        ("A", 14, Decimal("3000"), 20.0, 0.01, 30.0),
        ("B", 15, Decimal("1000"), 30.0, 0.1, 4.0),
        ("B", 15, Decimal("0"), None, None, None),
    ]
    out = []
    for k, (venue, hour, notional, cost, size, predicted) in enumerate(spec):
        ts = datetime(2024, 3, 5, hour, k, tzinfo=UTC)
        out.append(
            TcaOrderResultFactory(
                order=OrderFactory(account=account, arrival_ts=ts),
                arrival_ts=ts,
                end_ts=ts,
                venue=venue,
                notional=notional,
                cost_arrival_bps=cost,
                size_adv=size,
                predicted_cost_bps=predicted,
                poor_execution=predicted is not None and cost > predicted + 1,
            )
        )
    return out


def test_summary_and_groups(orders, make_user):
    qs = selectors.tca_order_list(user=make_user(Role.COMPLIANCE_ANALYST))
    s = selectors.tca_summary(orders=qs)
    assert (s.orders, s.poor, s.notional) == (4, 2, 5000.0)
    assert s.avg_cost_arrival_bps == pytest.approx(20.0)
    assert s.weighted_cost_arrival_bps == pytest.approx((10 * 1000 + 20 * 3000 + 30 * 1000) / 5000)

    venues = selectors.tca_cost_by(orders=qs, key="venue")
    assert [(g.key, g.orders, g.notional) for g in venues] == [("A", 2, 4000.0), ("B", 2, 1000.0)]
    assert venues[0].weighted_cost_arrival_bps == pytest.approx((10 * 1000 + 20 * 3000) / 4000)
    hours = selectors.tca_cost_by(orders=qs, key="hour")
    assert [(g.key, g.avg_cost_arrival_bps) for g in hours] == [("14", 15.0), ("15", 30.0)]
    with pytest.raises(ValidationFailed):
        selectors.tca_cost_by(orders=qs, key="desk")


def test_histogram_scatter_and_poor_list(orders, make_user):
    qs = selectors.tca_order_list(user=make_user(Role.COMPLIANCE_ANALYST))
    h = selectors.tca_cost_histogram(orders=qs, bins=4)
    # few orders: the range is min..max and every order is in a bar
    assert h.edges == [10.0, 15.0, 20.0, 25.0, 30.0] and h.counts == [1, 0, 1, 1]
    assert (h.n, h.below, h.above) == (3, 0, 0)
    points = selectors.tca_cost_vs_size(orders=qs, limit=2)
    assert [p["cost_arrival_bps"] for p in points] == [30.0, 20.0]  # the newest two with a cost and a size
    poor = selectors.tca_poor_list(orders=qs)
    assert [r.cost_arrival_bps for r in poor] == [30.0, 10.0]  # excess 26 then 5 bps
    assert selectors.tca_cost_histogram(orders=qs.none()).counts == []


def test_scoping_and_not_found(orders, other_desk, make_user):
    outsider = make_user(Role.COMPLIANCE_ANALYST, desks=[other_desk], username="outsider")
    assert not selectors.tca_order_list(user=outsider).exists()
    with pytest.raises(NotFound):
        selectors.tca_order_get(user=outsider, order_id=orders[0].order_id)
    insider = make_user(Role.COMPLIANCE_ANALYST)
    assert selectors.tca_order_get(user=insider, order_id=str(orders[0].order_id)) == orders[0]
    for bad in ("abc", -1, 2**64):
        with pytest.raises(NotFound):
            selectors.tca_order_get(user=insider, order_id=bad)
    with pytest.raises(ValidationFailed) as exc:
        selectors.tca_order_list(user=insider, filters={"side": "hold"})
    assert "side" in exc.value.extra["fields"]


def test_rts28_passive_and_aggressive_from_the_prevailing_quote(desk, make_user, django_capture_on_commit_callbacks):
    """Spread capture (ask − p)/(ask − bid) for a buy: ≥ 1 passive (near touch), ≤ 0 aggressive (far touch)."""
    book = book_build(desk)
    with django_capture_on_commit_callbacks(execute=True):
        tca_run_create(user=None, order_ids=book.parent_ids)
    report = selectors.rts28_report(user=make_user(Role.COMPLIANCE_ANALYST), year=2024)
    venues = {v.venue: v for v in report.classes[0].venues}
    # XNYS: buy1 100.06 inside 100.03/100.07 (neither), the poor fill 100.50 over the 100.12 ask (aggressive)
    assert (venues["XNYS"].pct_passive, venues["XNYS"].pct_aggressive) == (0.0, 50.0)
    # XNAS: buy2 at 100.08 over the 100.07 ask: aggressive
    assert venues["XNAS"].pct_aggressive == 100.0
    # ARCX: the sell at 100.04 against 100.03/100.07 is inside the spread
    assert (venues["ARCX"].pct_passive, venues["ARCX"].pct_aggressive) == (0.0, 0.0)
    assert venues["XNYS"].pct_orders == pytest.approx(100 * 2 / 3)
    factors = report.summary[0]
    assert "3 orders in 4 fills" in factors and "100.0 % of the ordered quantity was filled" in factors
    # the median order worked 30 s (durations 170.4 s, 30 s and 30 s): 0.5 minutes
    assert "median order worked for 0.5 minutes" in factors
    with pytest.raises(ValidationFailed):
        selectors.rts28_report(user=None, year=1800)
