"""Given a real Celery worker process on Redis and PostgreSQL, when a calculation run is queued,
then the worker picks it up and the run goes from queued to succeeded with its results stored."""

from __future__ import annotations

import signal
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from core.models import CalculationRun
from core.services import calculation_run_create
from portfolios.models import Position
from portfolios.tasks import positions_snapshot_task
from tests.factories import AccountFactory, InstrumentFactory, PortfolioFactory, PositionFactory, TradeFactory
from tests.integration.conftest import wait_for
from tests.wealth.services.conftest import advisor, market, prices  # noqa: F401 - fixtures of the wealth scan test

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_worker_runs_a_queued_snapshot_to_success(transactional_db, start_worker):
    # Given a portfolio with an opening position and one fill after it
    portfolio = PortfolioFactory(code="INT-PF")
    account = AccountFactory(code="INT-ACC", portfolio=portfolio, desk=portfolio.desk)
    aapl = InstrumentFactory(symbol="INT-AAPL")
    PositionFactory(portfolio=portfolio, instrument=aapl, as_of=date(2022, 12, 27), quantity=Decimal("100"))
    TradeFactory(
        account=account,
        instrument=aapl,
        side="sell",
        quantity=Decimal("30"),
        ts=datetime(2022, 12, 28, 15, 0, tzinfo=UTC),
    )

    # When a snapshot run is queued (dispatched to Redis on commit) before any worker exists
    run = calculation_run_create(
        kind="positions.snapshot",
        task=positions_snapshot_task,
        parameters={"portfolio_id": portfolio.pk, "as_of": "2022-12-28"},
        user=None,
    )
    run.refresh_from_db()
    assert run.status == CalculationRun.Status.QUEUED

    # ... and a real worker process starts
    worker = start_worker()
    run = wait_for(run, timeout_s=90)
    if not run.is_finished:
        worker.send_signal(signal.SIGTERM)
        output = worker.communicate(timeout=10)[0].decode(errors="replace")
        pytest.fail(f"run did not finish; status={run.status}\nworker output:\n{output[-4000:]}")

    # Then it succeeded, with progress 100 and the snapshot written by the worker
    assert run.status == CalculationRun.Status.SUCCEEDED, run.error
    assert run.progress == 100
    assert run.started_at is not None and run.finished_at is not None
    assert run.result["positions"] == 1
    snap = Position.objects.get(portfolio=portfolio, kind=Position.Kind.SNAPSHOT, as_of=date(2022, 12, 28))
    assert snap.quantity == Decimal("70")


def test_worker_runs_a_surveillance_sweep_from_the_surveillance_queue(transactional_db, start_worker):
    # Given order flow with a large offer cancelled within a second while the same owner buys
    from surveillance.models import Alert
    from surveillance.services import surveillance_sweep_create
    from tests.factories import OrderFactory

    account = AccountFactory(code="INT-SPOOF")
    inst = InstrumentFactory(symbol="INT-XYZ")
    t0 = datetime(2023, 1, 3, 15, 0, tzinfo=UTC)
    for k in range(40):  # ordinary resting offers set the instrument's typical size
        other = OrderFactory(
            instrument=inst, side="sell", quantity=Decimal("100"), arrival_ts=t0, limit_price=Decimal("50.10")
        )
        other.events.create(
            sequence=1, event_type="new", ts=t0 + timedelta(seconds=k), price=Decimal("50.10"), quantity=Decimal("100")
        )
    spoof = OrderFactory(
        account=account,
        instrument=inst,
        side="sell",
        quantity=Decimal("20000"),
        arrival_ts=t0,
        limit_price=Decimal("50.02"),
    )
    spoof.events.create(
        sequence=1, event_type="new", ts=t0 + timedelta(seconds=50), price=Decimal("50.02"), quantity=Decimal("20000")
    )
    spoof.events.create(sequence=2, event_type="cancel", ts=t0 + timedelta(seconds=51))
    buy = OrderFactory(
        account=account,
        instrument=inst,
        side="buy",
        quantity=Decimal("300"),
        arrival_ts=t0,
        limit_price=Decimal("50.00"),
    )
    buy.events.create(
        sequence=1, event_type="new", ts=t0 + timedelta(seconds=10), price=Decimal("50.00"), quantity=Decimal("300")
    )
    buy.events.create(
        sequence=2,
        event_type="fill",
        ts=t0 + timedelta(seconds=50, milliseconds=500),
        price=Decimal("50.00"),
        quantity=Decimal("300"),
    )
    TradeFactory(
        account=account,
        instrument=inst,
        order=buy,
        side="buy",
        price=Decimal("50.00"),
        quantity=Decimal("300"),
        ts=t0 + timedelta(seconds=50, milliseconds=500),
    )

    # When a sweep is queued (to the surveillance queue on Redis) and a worker starts
    run = surveillance_sweep_create(user=None, since=t0 - timedelta(hours=1), until=t0 + timedelta(hours=1))
    assert run.queue == "surveillance"
    worker = start_worker()
    run = wait_for(run, timeout_s=120)
    if not run.is_finished:
        worker.send_signal(signal.SIGTERM)
        output = worker.communicate(timeout=10)[0].decode(errors="replace")
        pytest.fail(f"sweep did not finish; status={run.status}\nworker output:\n{output[-4000:]}")

    # Then the worker loaded every event, ran the detectors and stored the run's outcome; any alert
    # is tied to the run (what the detectors find is tested elsewhere: this is the worker path)
    assert run.status == CalculationRun.Status.SUCCEEDED, run.error
    assert run.result["inputs"]["order_events"] == 44 and run.result["inputs"]["trades"] == 1
    assert set(Alert.objects.values_list("run_id", flat=True)) <= {run.pk}


def test_worker_runs_the_wealth_scan_from_the_wealth_queue(
    transactional_db,
    start_worker,
    market,  # noqa: F811 - the wealth service tests' fixtures, imported above
    advisor,  # noqa: F811
    prices,  # noqa: F811
):
    # Given a client far from its target with a harvestable loss (the wealth service tests' market)
    from tests.wealth.services.test_review import _drifting_client
    from wealth.models import ClientReview, Recommendation
    from wealth.services import wealth_scan_queue

    client = _drifting_client(advisor, market, prices, "INT-W1")

    # When the scan is queued (to the wealth queue on Redis) and a worker starts
    run = wealth_scan_queue(actor=advisor)
    assert run.queue == "wealth"
    worker = start_worker()
    run = wait_for(run, timeout_s=120)
    if not run.is_finished:
        worker.send_signal(signal.SIGTERM)
        output = worker.communicate(timeout=10)[0].decode(errors="replace")
        pytest.fail(f"scan did not finish; status={run.status}\nworker output:\n{output[-4000:]}")

    # Then the worker reviewed the client and left its proposals
    assert run.status == CalculationRun.Status.SUCCEEDED, run.error
    assert run.progress == 100 and run.result["clients"] == 1 and run.result["attention"] == 1
    assert ClientReview.objects.get(client=client).attention
    assert Recommendation.objects.filter(client=client, status="proposed", kind="rebalance").exists()
