"""Given Redis (the broker) killed, when the OMS posts trades, then the batch is written and its
follow-ups wait in the outbox; when Redis is back, the relay sends them and a real worker does
the work. Redis is this test's own ``redis-server`` process, killed with SIGKILL."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
import redis

from config.celery import app as celery_app
from core import outbox
from core.models import CalculationRun, OutboxMessage
from core.outbox import outbox_relay
from tests.integration.conftest import _reset_producer_pool, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@dataclass
class RedisServer:
    """A throw-away ``redis-server`` without persistence on a free loopback port."""

    port: int
    proc: subprocess.Popen[bytes] | None = field(default=None)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                redis.Redis.from_url(self.url, socket_timeout=1).ping()
                return
            except redis.ConnectionError:
                time.sleep(0.05)
        pytest.fail(f"redis-server did not answer on port {self.port}")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url, socket_timeout=2)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def own_redis(broker, monkeypatch) -> Iterator[RedisServer]:
    """Our own Redis as the in-test Celery app's broker (the ``broker`` fixture restores its own)."""
    server = RedisServer(port=_free_port())
    server.start()
    celery_app.conf.update(broker_url=server.url, task_always_eager=False)
    _reset_producer_pool()
    monkeypatch.setattr(outbox, "_prompt_paused_until", 0.0)
    yield server
    server.kill()
    _reset_producer_pool()


def test_broker_killed_during_ingestion_then_follow_ups_are_sent_and_done_once_it_is_back(
    transactional_db, own_redis, start_worker, desk, oms_user, oms, settings
):
    # Given the TCA book (tests/execution_quality/book.py), TCA of new fills on, and Redis killed
    from execution_quality.models import TcaOrderResult
    from portfolios.models import Trade
    from tests.execution_quality.book import book_build

    book = book_build(desk)

    def post_fill(trade_id: str, ts: str) -> tuple[object, float]:
        row = {
            "trade_id": trade_id,
            "account": book.account.code,
            "instrument": book.instrument.symbol,
            "order": book.buy_children[1].client_order_id,  # a fill of child 2 of the buy order
            "side": "buy",
            "price": "100.07",
            "quantity": "10",
            "ts": ts,
        }
        started = time.monotonic()
        response = oms.post("/api/v1/trades", data={"rows": [row]}, format="json")
        return response, time.monotonic() - started

    # (with the broker up, a first batch's follow-up is sent at commit: the prompt attempt)
    response, up_s = post_fill("WARM-FILL", "2024-03-05T14:33:20.000001Z")
    assert response.status_code == 201, response.content
    assert not OutboxMessage.objects.filter(dispatched_at__isnull=True).exists()
    settings.TCA_INCREMENTAL = True
    own_redis.kill()  # the warm-up's message is lost with it (no persistence): runs_requeue's case

    # When the OMS posts another fill
    response, down_s = post_fill("FAULT-FILL", "2024-03-05T14:33:30.000001Z")

    # Then the batch is accepted and written (no wall-clock assertion: the figures are reported)
    print(f"\ningestion request, broker up: {up_s * 1000:.0f} ms; broker killed: {down_s * 1000:.0f} ms")
    assert response.status_code == 201, response.content
    trade = Trade.objects.get(trade_id="FAULT-FILL")
    # And its follow-ups (TCA, limit check) are pending, the refused connection recorded
    pending = OutboxMessage.objects.filter(dispatched_at__isnull=True).order_by("id")
    assert sorted(pending.values_list("task_name", "args")) == [
        ("execution_quality.tasks.tca_after_trades", [[trade.pk]]),
        ("riskapp.tasks.limits_after_trades", [[trade.pk]]),
    ]
    assert "Connection refused" in pending[0].last_error and pending[0].attempts == 1
    assert outbox_relay() == 0  # still down: nothing sent, nothing raised

    # When Redis is started again on the same port (empty: no persistence) and the relay runs
    own_redis.start()
    assert outbox_relay() == 2
    # Then the messages are in Redis, one on each follow-up's queue, and nothing is pending
    client = own_redis.client()
    assert (client.llen("tca"), client.llen("risk")) == (1, 1)
    assert not OutboxMessage.objects.filter(dispatched_at__isnull=True).exists()

    # When a real worker starts on that broker
    worker = start_worker(queues="default,risk,tca", env={"CELERY_BROKER_URL": own_redis.url})
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not CalculationRun.objects.filter(kind="tca.run").exists():
        time.sleep(0.2)
    run = CalculationRun.objects.filter(kind="tca.run").first()
    run = wait_for(run, timeout_s=120) if run is not None else None
    while time.monotonic() < deadline and client.llen("risk") + client.llen("tca") > 0:
        time.sleep(0.2)
    queues_drained = client.llen("risk") == 0 and client.llen("tca") == 0
    worker.send_signal(signal.SIGTERM)
    output = worker.communicate(timeout=30)[0].decode(errors="replace")

    # Then TCA ran over the new fill: the worker queued the run through the outbox, sent it and ran it
    assert run is not None and run.status == CalculationRun.Status.SUCCEEDED, output[-4000:]
    assert run.parameters["order_ids"] == [book.buy.pk]
    assert TcaOrderResult.objects.get(order=book.buy).n_fills == 4  # two fills of child 2 now
    # And the limit check ran, every queue is drained, and the outbox has nothing pending
    assert re.search(r"Task riskapp\.tasks\.limits_after_trades\[[^]]+\] succeeded", output), output[-4000:]
    assert queues_drained
    assert not OutboxMessage.objects.filter(dispatched_at__isnull=True).exists()
    assert OutboxMessage.objects.filter(task_name="execution_quality.tasks.tca_run", args=[run.pk]).exists()
