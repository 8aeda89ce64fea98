"""TCA runs end to end on the hand-built book of ``tests.execution_quality.book``.

Expected figures are computed by hand from docs/tca-methodology.md: slippage
``cost_bps = s · (p̄ − B)/B · 10⁴`` (s = +1 buy, −1 sell; p̄ the quantity-weighted fill price),
the arrival price B = the mid of the last quote at or before arrival, the interval VWAP
Σpq/Σq over prints with arrival ≤ t ≤ end, and before any cost model is trained the expected
cost = half the arrival spread + the square-root law σ_daily_bps · √(Q/ADV).
"""

from __future__ import annotations

import math
from decimal import Decimal

import numpy as np
import pytest
from django.forms.models import model_to_dict

from audit.models import AuditEvent
from core.models import CalculationRun
from core.roles import Role
from execution_quality.models import TcaExecutionResult, TcaOrderResult
from execution_quality.services import tca_after_trades, tca_run_create
from execution_quality.services.alerts import poor_execution_score
from surveillance.models import Alert
from tests.execution_quality.book import at, book_build

pytestmark = pytest.mark.django_db


@pytest.fixture
def book(desk):
    return book_build(desk)


def _run(capture, **kwargs) -> CalculationRun:
    with capture(execute=True):
        run = tca_run_create(**kwargs)
    run.refresh_from_db()
    assert run.status == "succeeded", run.error
    return run


def _sigma_daily_bps() -> float:
    """Std (ddof = 1) of the 29 close-to-close log returns of the 30 history bars (100, 101, 100, ...), in bps."""
    closes = np.array([100.0 if k % 2 == 0 else 101.0 for k in range(30)])
    return float(np.std(np.diff(np.log(closes)), ddof=1) * 1e4)


def test_given_book_when_run_then_arrival_and_vwap_costs_match_the_hand_computation(
    book, django_capture_on_commit_callbacks
):
    run = _run(django_capture_on_commit_callbacks, user=None, order_ids=book.parent_ids)
    assert run.result["orders"] == 3 and run.result["executions"] == 4

    buy = TcaOrderResult.objects.get(order=book.buy)
    # p̄ = (600 · 100.06 + 400 · 100.08) / 1000 = 100.068; arrival mid (99.98 + 100.02)/2 = 100.00
    assert buy.avg_price == Decimal("100.06800000") and buy.filled_quantity == Decimal("1000")
    assert buy.arrival_price == pytest.approx(100.0)
    assert buy.cost_arrival_bps == pytest.approx((100.068 - 100.0) / 100.0 * 1e4)  # 6.8 bps
    # VWAP of the prints in [14:30:10.123456, 14:33:00.5]: (1000·100.01 + 3000·100.06 + 2000·100.04)/6000
    vwap = (1000 * 100.01 + 3000 * 100.06 + 2000 * 100.04) / 6000
    assert buy.vwap == pytest.approx(vwap)
    assert buy.cost_vwap_bps == pytest.approx((100.068 - vwap) / vwap * 1e4)
    assert buy.n_fills == 2 and buy.fees == Decimal("5") and buy.venue == "XNYS" and buy.broker == "BRK1"
    assert buy.arrival_ts == at(14, 30, 10, 123456) and buy.end_ts == at(14, 33, 0, 500000)
    assert buy.notional == Decimal("100068.0000") and buy.desk_id == book.account.desk_id

    sell = TcaOrderResult.objects.get(order=book.sell)
    # a sell below the mid is a cost: −1 · (100.04 − 100.05)/100.05 · 10⁴ ≈ +1.0 bps
    assert sell.cost_arrival_bps == pytest.approx(-(100.04 - 100.05) / 100.05 * 1e4)
    # and above the VWAP (one print 500 @ 100.03) a gain: −1 · (100.04 − 100.03)/100.03 · 10⁴
    assert sell.cost_vwap_bps == pytest.approx(-(100.04 - 100.03) / 100.03 * 1e4)

    # executions: buy1 against the quote in force just before it (100.03/100.07, mid 100.05)
    e1 = TcaExecutionResult.objects.get(trade=book.trades["buy1"])
    assert e1.order_result_id == buy.pk and e1.venue == "XNYS" and e1.price == Decimal("100.06")
    assert e1.mid == pytest.approx(100.05)
    assert e1.effective_spread_bps == pytest.approx(2 * (100.06 - 100.05) / 100.05 * 1e4)
    # markout 300 s (mid 100.10 from 14:35): + (100.10 − 100.06)/100.06 · 10⁴, positive = moved our way
    assert e1.markout_300s_bps == pytest.approx((100.10 - 100.06) / 100.06 * 1e4)
    assert e1.cost_arrival_bps == pytest.approx((100.06 - 100.0) / 100.0 * 1e4)

    # context and the expected cost before any model: spread/2 + σ·√(Q/ADV), ADV = 1,000,000
    sigma = _sigma_daily_bps()
    assert buy.volatility_daily_bps == pytest.approx(sigma)
    assert buy.size_adv == pytest.approx(1000 / 1_000_000)
    assert buy.predicted_cost_bps == pytest.approx(4.0 / 2 + sigma * math.sqrt(0.001))
    assert buy.model_version == "" and not buy.poor_execution
    values = buy.explanation["values"]
    assert buy.explanation["base"] + sum(values.values()) == pytest.approx(buy.predicted_cost_bps)


def test_given_a_poor_execution_when_run_then_exactly_one_best_execution_alert(
    book, django_capture_on_commit_callbacks, settings
):
    settings.TCA_POOR_MARGIN_BPS = 25.0
    _run(django_capture_on_commit_callbacks, user=None, order_ids=book.parent_ids)
    poor = TcaOrderResult.objects.get(order=book.poor)
    # 200 @ 100.50 against the mid 100.10: 39.96 bps; expected spread/2 (2.0 bps) + σ·√(200/10⁶)
    spread = (100.12 - 100.08) / 100.10 * 1e4
    expected = spread / 2 + _sigma_daily_bps() * math.sqrt(200 / 1_000_000)
    assert poor.cost_arrival_bps == pytest.approx((100.50 - 100.10) / 100.10 * 1e4)
    assert poor.predicted_cost_bps == pytest.approx(expected)
    assert poor.poor_execution
    assert TcaOrderResult.objects.filter(poor_execution=True).count() == 1

    alert = Alert.objects.get()
    assert alert.scenario == "best_execution" and alert.account == book.account
    assert alert.instrument == book.instrument and alert.desk_id == book.account.desk_id
    assert alert.order_ids == [book.poor.pk] and alert.trade_ids == [book.trades["poor"].pk]
    assert alert.window_start == poor.arrival_ts and alert.window_end == poor.end_ts
    # (the queue stores scores to two decimals)
    assert alert.score == pytest.approx(
        poor_execution_score(cost_bps=poor.cost_arrival_bps, expected_bps=expected, margin_bps=25.0), abs=0.005
    )
    # 50 · excess / margin: (39.96 − 3.43) / 25 · 50 ≈ 73
    assert 72 < alert.score < 74
    assert alert.summary.startswith("Cost 40 bps vs 3 bps expected for these conditions (size 0.0% ADV, spread 4 bps")
    assert alert.features["excess_bps"] == pytest.approx(poor.cost_arrival_bps - expected)
    assert poor.details["alert_id"] == alert.pk

    # when the same orders are analysed again, the alert is not raised a second time
    _run(django_capture_on_commit_callbacks, user=None, order_ids=book.parent_ids)
    assert Alert.objects.count() == 1
    assert TcaOrderResult.objects.get(order=book.poor).details["alert_id"] == alert.pk


def test_given_a_closed_alert_when_run_again_then_no_new_alert(book, django_capture_on_commit_callbacks):
    _run(django_capture_on_commit_callbacks, user=None, order_ids=book.parent_ids)
    Alert.objects.update(state=Alert.State.CLOSED, outcome=Alert.Outcome.NO_ACTION, closing_rationale="Reviewed.")
    _run(django_capture_on_commit_callbacks, user=None, order_ids=book.parent_ids)
    assert Alert.objects.count() == 1


def _snapshot() -> dict[int, dict]:
    rows = {}
    for r in TcaOrderResult.objects.all():
        d = model_to_dict(r, exclude=["run", "computed_at"])
        d["pk"] = r.pk
        rows[r.order_id] = d
    for e in TcaExecutionResult.objects.all():
        rows[-e.trade_id] = {**model_to_dict(e), "pk": e.pk}
    return rows


def test_given_a_finished_run_when_the_orders_are_run_again_then_nothing_changes(
    book, django_capture_on_commit_callbacks
):
    first = _run(django_capture_on_commit_callbacks, user=None, order_ids=book.parent_ids)
    before = _snapshot()
    # when another run covers the same orders (a window over the day)
    second = _run(django_capture_on_commit_callbacks, user=None, since=at(0, 0), until=at(23, 59))
    # then every row is updated in place with the same figures
    assert _snapshot() == before
    assert TcaOrderResult.objects.filter(run=second).count() == 3
    # and each run wrote one audit event with the same inputs hash
    events = AuditEvent.objects.filter(action="tca.run.compute").order_by("id")
    assert [e.object_id for e in events] == [str(first.pk), str(second.pk)]
    assert events[0].inputs_hash == events[1].inputs_hash and len(events[0].inputs_hash) == 64
    assert events[0].code_version
    assert events[0].after["orders"] == 3 and events[0].parameters["engine"]["participation"] == 0.1


def test_given_a_redelivered_task_then_a_finished_run_is_left_alone(book, django_capture_on_commit_callbacks):
    from execution_quality.tasks import tca_run_task

    run = _run(django_capture_on_commit_callbacks, user=None, order_ids=[book.buy.pk])
    finished = run.finished_at
    tca_run_task.apply(args=[run.pk])
    run.refresh_from_db()
    assert run.finished_at == finished and AuditEvent.objects.filter(action="tca.run.compute").count() == 1


def test_given_pending_mode_then_only_orders_without_tca_are_analysed(book, django_capture_on_commit_callbacks):
    _run(django_capture_on_commit_callbacks, user=None, order_ids=[book.buy.pk])
    run = _run(django_capture_on_commit_callbacks, user=None)
    assert run.parameters["mode"] == "pending" and run.result["orders"] == 2
    assert TcaOrderResult.objects.count() == 3


def test_given_a_user_then_the_run_covers_only_their_desks(
    book, other_desk, make_user, django_capture_on_commit_callbacks
):
    other = book_build(other_desk, symbol="TCA2", account_code="TCA-OTHER")
    analyst = make_user(Role.COMPLIANCE_ANALYST)
    run = _run(django_capture_on_commit_callbacks, user=analyst, since=at(0, 0), until=at(23, 59))
    assert run.result["orders"] == 3
    assert not TcaOrderResult.objects.filter(order=other.buy).exists()


def test_given_bad_run_requests_then_field_errors(book, other_desk, make_user):
    from core.errors import ValidationFailed

    other = book_build(other_desk, symbol="TCA2", account_code="TCA-OTHER")
    analyst = make_user(Role.COMPLIANCE_ANALYST)
    cases = [
        ({"order_ids": []}, "order_ids"),
        ({"order_ids": [other.buy.pk]}, "order_ids"),  # another desk's order
        ({"order_ids": [book.buy.pk], "since": at(0, 0)}, "order_ids"),
        ({"until": at(1, 0)}, "since"),
        ({"since": at(2, 0), "until": at(1, 0)}, "since"),
    ]
    for kwargs, field in cases:
        with pytest.raises(ValidationFailed) as exc:
            tca_run_create(user=analyst, **kwargs)
        assert field in exc.value.extra["fields"], kwargs
    assert not CalculationRun.objects.filter(kind="tca.run").exists()


def test_followup_after_ingested_trades_creates_a_run_for_their_parents(
    book, settings, oms, django_capture_on_commit_callbacks
):
    """given TCA_INCREMENTAL on, when the OMS posts a fill of child 2, then its parent is analysed."""
    settings.TCA_INCREMENTAL = True
    row = {
        "trade_id": "NEW-FILL",
        "account": book.account.code,
        "instrument": book.instrument.symbol,
        "order": book.buy_children[1].client_order_id,
        "side": "buy",
        "price": "100.07",
        "quantity": "10",
        "ts": "2024-03-05T14:33:30.000001Z",
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = oms.post("/api/v1/trades", data={"rows": [row]}, format="json")
    assert response.status_code in (200, 201), response.content
    run = CalculationRun.objects.get(kind="tca.run")
    assert run.parameters["order_ids"] == [book.buy.pk] and run.user is None
    assert run.status == "succeeded", run.error
    assert TcaOrderResult.objects.get(order=book.buy).n_fills == 3


def test_followup_is_off_when_tca_incremental_is_false(book, settings):
    settings.TCA_INCREMENTAL = False
    from execution_quality.apps import _after_trades

    _after_trades([book.trades["buy1"].pk], None)
    assert not CalculationRun.objects.filter(kind="tca.run").exists()
    # the service itself maps trades to their parents (a child's fill → the parent)
    assert tca_after_trades(trade_ids=[]) is None
