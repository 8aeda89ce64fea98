"""Simulated users of the load test (``bench.load`` runs this with ``locust --headless``).

Two machine clients and five kinds of people, in the proportions of one firm's working day
(class ``weight``; at 50 users exactly these counts):

| user | weight | does, then waits |
| --- | ---: | --- |
| OMS ingestion | 6 | 10 orders, their 30 events, their 20 fills (3 POSTs with an Idempotency-Key), then 1–3 s |
| OMS pre-trade | 6 | one pre-trade check, then 0.2–1 s |
| risk officer | 10 | home, risk index, a portfolio's risk page, TCA dashboard; 3–10 s per page |
| compliance analyst | 12 | alert queue, an alert, surveillance dashboard, TCA dashboard, home |
| compliance supervisor | 6 | surveillance dashboard, queue, cases, an alert, home |
| wealth advisor | 6 | wealth dashboard, a client, home |
| auditor | 4 | home and every product's dashboard |

People log in through the login form once and keep their session. Vigil runs with its
production settings, which mark session and CSRF cookies ``Secure``; the test talks plain HTTP
on loopback, so each client plays the TLS-terminating proxy of a deployment: it sends
``X-Forwarded-Proto: https`` (trusted by ``SECURE_PROXY_SSL_HEADER``), the ``Origin`` of the
HTTPS site on its login POST, and returns the ``Secure`` cookies over the loopback hop. Nothing
in the server's settings is relaxed for the test. One fill batch in ten is sent twice with the
same key, as an OMS retries a lost reply: the second answer must be the stored one
(``Idempotent-Replayed``).

Every request is recorded (time, name, status, latency, error) and written as CSV to
``$BENCH_LOAD_SAMPLES`` when locust stops; ``$BENCH_LOAD_CONFIG`` is the JSON written by the set-up.
"""

from __future__ import annotations

import csv
import itertools
import json
import os
import random
import re
import time
from datetime import datetime, timedelta
from typing import Any

from locust import HttpUser, between, events, task

CONFIG: dict[str, Any] = json.loads(open(os.environ["BENCH_LOAD_CONFIG"]).read())  # noqa: SIM115
SAMPLES: list[tuple[float, str, str, int, float, int, str]] = []
STARTED = time.time()
PROXY_HEADERS = {"X-Forwarded-Proto": "https"}
_serial = itertools.count()
_CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


@events.request.add_listener
def _record(request_type: str, name: str, response_time: float, response: Any, exception: Any, **_: Any) -> None:
    status = getattr(response, "status_code", 0) or 0
    error = "" if exception is None else str(exception).replace("\n", " ")[:300]
    SAMPLES.append(
        (time.time() - STARTED, request_type, name, int(status), float(response_time), 0 if error else 1, error)
    )


@events.quitting.add_listener
def _write(**_: Any) -> None:
    with open(os.environ["BENCH_LOAD_SAMPLES"], "w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["t_s", "method", "name", "status", "ms", "ok", "error"])
        writer.writerows(SAMPLES)


def _expect(response: Any, *statuses: int, header: str = "") -> None:
    """Mark the response failed unless its status is one of ``statuses`` (and ``header`` is set)."""
    if response.status_code not in statuses:
        response.failure(f"HTTP {response.status_code}: {response.text[:200]!r}")
    elif header and not response.headers.get(header):
        response.failure(f"HTTP {response.status_code} without {header}")
    else:
        response.success()


# ---------------------------------------------------------------------------- machine clients


class _OmsClient(HttpUser):
    abstract = True

    def on_start(self) -> None:
        keys = CONFIG["api_keys"]
        self.index = next(_serial)
        self.client.headers.update({**PROXY_HEADERS, "Authorization": f"Api-Key {keys[self.index % len(keys)]}"})
        self.rng = random.Random(self.index)


class OmsIngestion(_OmsClient):
    """An OMS pushing its day: orders, then their events, then the fills."""

    weight = 6
    wait_time = between(1, 3)

    def on_start(self) -> None:
        super().on_start()
        self.batch = 0
        self.day = datetime.fromisoformat(CONFIG["ingest_day"] + "T14:30:00+00:00")

    def _post(self, path: str, rows: list[dict[str, Any]], key: str, *, name: str = "", replay: bool = False) -> None:
        body = json.dumps({"rows": rows})
        headers = {"Content-Type": "application/json", "Idempotency-Key": key}
        with self.client.post(
            path, data=body, headers=headers, name=name or f"POST {path}", catch_response=True
        ) as response:
            _expect(response, 201, header="Idempotent-Replayed" if replay else "")

    @task
    def push_batch(self) -> None:
        rng, self.batch = self.rng, self.batch + 1
        prefix = f"LT{CONFIG['run_id']}-{self.index}-{self.batch}"
        instruments, accounts = CONFIG["instruments"], CONFIG["accounts"]
        orders, order_events, trades = [], [], []
        for n in range(10):
            symbol = rng.choice(sorted(instruments))
            close = instruments[symbol]
            side = rng.choice(("buy", "sell"))
            cid = f"{prefix}-{n}"
            arrival = self.day + timedelta(microseconds=rng.randrange(0, 6 * 3600 * 10**6))
            qty = rng.randint(2, 40) * 100
            limit = round(close * (1.003 if side == "buy" else 0.997), 2)
            orders.append(
                {
                    "client_order_id": cid,
                    "account": rng.choice(accounts),
                    "instrument": symbol,
                    "side": side,
                    "order_type": "limit",
                    "limit_price": limit,
                    "quantity": qty,
                    "time_in_force": "day",
                    "venue": "XNAS",
                    "broker": "BRKA",
                    "arrival_ts": _iso(arrival),
                }
            )
            first = qty // 200 * 100
            fills = [(2, "partial_fill", first), (3, "fill", qty - first)]
            order_events.append({"order": cid, "sequence": 1, "event_type": "new", "ts": _iso(arrival)})
            ts = arrival
            for seq, kind, filled in fills:
                ts += timedelta(seconds=rng.uniform(0.5, 20))  # strictly after the previous event
                price = (
                    round(min(limit, close * rng.uniform(0.998, 1.002)), 2)
                    if side == "buy"
                    else round(max(limit, close * rng.uniform(0.998, 1.002)), 2)
                )
                order_events.append(
                    {
                        "order": cid,
                        "sequence": seq,
                        "event_type": kind,
                        "ts": _iso(ts),
                        "price": price,
                        "quantity": filled,
                    }
                )
                trades.append(
                    {
                        "trade_id": f"{cid}-X{seq}",
                        "order": cid,
                        "account": orders[-1]["account"],
                        "instrument": symbol,
                        "side": side,
                        "price": price,
                        "quantity": filled,
                        "venue": "XNAS",
                        "broker": "BRKA",
                        "commission": round(filled * 0.005, 4),
                        "ts": _iso(ts),
                    }
                )
        self._post("/api/v1/orders", orders, f"{prefix}-orders")
        self._post("/api/v1/order-events", order_events, f"{prefix}-events")
        self._post("/api/v1/trades", trades, f"{prefix}-trades")
        if rng.random() < 0.1:  # the reply was lost; the OMS retries with the same key and body
            self._post("/api/v1/trades", trades, f"{prefix}-trades", name="POST /api/v1/trades (retry)", replay=True)


class OmsPretrade(_OmsClient):
    """An OMS asking before each order it routes."""

    weight = 6
    wait_time = between(0.2, 1.0)

    @task
    def check(self) -> None:
        rng = self.rng
        symbol = rng.choice(sorted(CONFIG["instruments"]))
        close = CONFIG["instruments"][symbol]
        order: dict[str, Any] = {
            "portfolio": rng.choice(CONFIG["portfolios"]),
            "instrument": symbol,
            "side": rng.choice(("buy", "sell")),
            "quantity": str(max(1, round(10 ** rng.uniform(4, 6.5) / close))),
        }
        if rng.random() < 0.5:
            order["price"] = f"{close * rng.uniform(0.99, 1.01):.2f}"
        with self.client.post(
            "/api/v1/pretrade/check", json=order, name="POST /api/v1/pretrade/check", catch_response=True
        ) as response:
            _expect(response, 200)


def _iso(ts: datetime) -> str:
    return ts.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# ---------------------------------------------------------------------------- people


class _Person(HttpUser):
    abstract = True
    role = ""
    wait_time = between(3, 10)

    def on_start(self) -> None:
        self.client.headers.update(PROXY_HEADERS)
        names = CONFIG["logins"][self.role]
        self.username = names[next(_serial) % len(names)]
        self.rng = random.Random(self.username)
        origin = "https://" + self.host.split("://", 1)[1].rstrip("/")
        with self.client.get("/accounts/login/", name="GET /accounts/login/", catch_response=True) as page:
            _expect(page, 200)
            token = _CSRF.search(page.text)
        self._hop()
        if token is None:
            return
        with self.client.post(
            "/accounts/login/",
            data={"username": self.username, "password": CONFIG["password"], "csrfmiddlewaretoken": token.group(1)},
            headers={"Origin": origin, "Referer": origin + "/accounts/login/"},
            allow_redirects=False,
            name="POST /accounts/login/",
            catch_response=True,
        ) as response:
            _expect(response, 302)
        self._hop()

    def _hop(self) -> None:
        """Keep the cookies a response set sendable over the loopback hop: requests sends a
        ``Secure`` cookie only to ``https://`` URLs, and behind the proxy every URL is plain HTTP."""
        for cookie in self.client.cookies:
            cookie.secure = False

    def page(self, path: str, name: str = "") -> None:
        with self.client.get(path, name=name or f"GET {path}", allow_redirects=False, catch_response=True) as response:
            _expect(response, 200)
        self._hop()

    def home(self) -> None:
        self.page("/")
        if self.rng.random() < 0.5:  # the page stayed open long enough for htmx to refresh the counts
            with self.client.get(
                "/home/counts/", headers={"HX-Request": "true"}, name="GET /home/counts/ (htmx)", catch_response=True
            ) as response:
                _expect(response, 200)
            self._hop()

    def alert(self) -> None:
        ids = CONFIG["alert_ids"]
        if ids:
            self.page(f"/surveillance/alerts/{self.rng.choice(ids)}/", "GET /surveillance/alerts/[id]/")


class RiskOfficer(_Person):
    weight = 10
    role = "risk_officer"

    @task(2)
    def home_page(self) -> None:
        self.home()

    @task(4)
    def risk_index(self) -> None:
        self.page("/risk/")

    @task(2)
    def portfolio(self) -> None:
        code = self.rng.choice(CONFIG["risk_portfolios"])
        self.page(f"/risk/portfolios/{code}/", "GET /risk/portfolios/[code]/")

    @task(2)
    def tca(self) -> None:
        self.page("/execution/")


class ComplianceAnalyst(_Person):
    weight = 12
    role = "compliance_analyst"

    @task(5)
    def queue(self) -> None:
        self.page("/surveillance/")

    @task(3)
    def alert_page(self) -> None:
        self.alert()

    @task(2)
    def dashboard(self) -> None:
        self.page("/surveillance/dashboard/")

    @task(1)
    def tca(self) -> None:
        self.page("/execution/")

    @task(1)
    def home_page(self) -> None:
        self.home()


class ComplianceSupervisor(_Person):
    weight = 6
    role = "compliance_supervisor"

    @task(4)
    def dashboard(self) -> None:
        self.page("/surveillance/dashboard/")

    @task(3)
    def queue(self) -> None:
        self.page("/surveillance/")

    @task(1)
    def cases(self) -> None:
        self.page("/surveillance/cases/")

    @task(1)
    def alert_page(self) -> None:
        self.alert()

    @task(1)
    def home_page(self) -> None:
        self.home()


class WealthAdvisor(_Person):
    weight = 6
    role = "wealth_advisor"

    @task(5)
    def dashboard(self) -> None:
        self.page("/wealth/")

    @task(3)
    def client_page(self) -> None:
        ids = CONFIG["wealth_clients"]
        if ids:
            self.page(f"/wealth/clients/{self.rng.choice(ids)}/", "GET /wealth/clients/[id]/")

    @task(1)
    def home_page(self) -> None:
        self.home()


class Auditor(_Person):
    weight = 4
    role = "auditor"

    @task
    def home_page(self) -> None:
        self.home()

    @task
    def dashboards(self) -> None:
        self.page(self.rng.choice(("/risk/", "/surveillance/", "/surveillance/dashboard/", "/execution/", "/wealth/")))
