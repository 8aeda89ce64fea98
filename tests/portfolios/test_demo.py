"""``load_demo --small`` on PostgreSQL: the expected data, coherent books and histories,
idempotent re-runs, printed logins and a working API key."""

from __future__ import annotations

import io
import re
from collections import defaultdict
from decimal import Decimal
from itertools import pairwise

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.db.models import Sum
from rest_framework.test import APIClient

from portfolios.demo import DemoConfig
from portfolios.models import (
    Account,
    BeneficialOwner,
    Desk,
    FactorReturn,
    Instrument,
    MarketEvent,
    MarketTrade,
    Order,
    OrderEvent,
    Portfolio,
    Position,
    PriceBar,
    Quote,
    Trade,
)

pytestmark = pytest.mark.django_db

MODELS = [
    Instrument,
    PriceBar,
    Quote,
    MarketTrade,
    MarketEvent,
    FactorReturn,
    Desk,
    BeneficialOwner,
    Portfolio,
    Account,
    Position,
    Order,
    OrderEvent,
    Trade,
]


def _load(*args: str) -> str:
    out = io.StringIO()
    call_command("load_demo", "--small", *args, stdout=out)
    return out.getvalue()


def _counts() -> dict[str, int]:
    return {m.__name__: m.objects.count() for m in MODELS}


def test_given_an_empty_database_when_loading_small_then_every_entity_is_there():
    output = _load()
    counts = _counts()
    small = DemoConfig.small()
    # 4 stocks + 2 ETFs + 3 indices + 5 options on AAPL/MSFT.
    assert counts["Instrument"] == len(small.stocks) + len(small.etfs) + 3 + 5
    assert Instrument.objects.filter(kind="option", underlying__symbol__in=["AAPL", "MSFT"]).count() == 5
    assert set(Instrument.objects.filter(kind="equity").values_list("sector", flat=True)) >= {"Financials", "Energy"}
    assert counts["Desk"] == 5 and counts["Portfolio"] == 8 and counts["Account"] == 9
    assert BeneficialOwner.objects.filter(is_employee=True).count() == 1
    assert FactorReturn.objects.filter(factor="Mkt-RF", period_end="1926-07-31").get().value == Decimal("0.0296")
    bar = PriceBar.objects.get(instrument__symbol="AAPL", date="2022-12-28")
    assert (bar.close, bar.adj_close, bar.open, bar.volume, bar.source) == (bar.close, bar.close, None, None, "skfolio")
    assert PriceBar.objects.filter(instrument__symbol="^GSPC", volume__gt=0).exists()
    for model in (Quote, MarketTrade, Order, OrderEvent, Trade, Position):
        assert counts[model.__name__] > 0, model
    assert Account.objects.get(code="ACC-WM-AMARTIN").linked_accounts.filter(code="ACC-WM-BMARTIN").exists()
    assert Position.objects.filter(portfolio__code="LS-ALPHA", quantity__lt=0).exists()
    assert "Done in" in output


def test_given_a_loaded_demo_when_loading_again_then_nothing_is_added():
    _load()
    before = _counts()
    output = _load()
    assert _counts() == before
    assert re.search(r"Done in [\d.]+ s; 0 rows created", output)


def test_given_other_options_when_loading_over_a_demo_then_it_is_refused():
    _load()
    with pytest.raises(CommandError, match="other options"):
        _load("--seed", "1")


def test_logins_are_printed_and_work_and_the_api_key_authenticates():
    output = _load()
    rows = dict(re.findall(r"^\s+(\w+)\s+\w+\s+(\S+)$", output, flags=re.MULTILINE))
    assert set(rows) >= {"admin", "risk_officer", "compliance_analyst", "wealth_advisor", "auditor", "oms_client"}
    assert User.objects.get(username="risk_officer").check_password(rows["risk_officer"])
    assert User.objects.get(username="admin").is_superuser
    assert list(User.objects.get(username="wealth_advisor").desks.values_list("code", flat=True)) == ["WEALTH"]
    assert User.objects.get(username="auditor").desks.count() == 5
    key = re.search(r"API key of oms_client \(shown once\): (\S+)", output).group(1)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    assert client.get("/api/v1/portfolios").status_code == 200
    # A second run resets the passwords.
    again = dict(re.findall(r"^\s+(\w+)\s+\w+\s+(\S+)$", _load(), flags=re.MULTILINE))
    assert again["risk_officer"] != rows["risk_officer"]
    assert not User.objects.get(username="risk_officer").check_password(rows["risk_officer"])


def test_navs_match_the_opening_books_and_trades_match_the_fills():
    _load("--password", "Demo-Pass-Word-1")
    for code in ("LO-FUND", "LS-ALPHA", "DERIV-BOOK"):
        portfolio = Portfolio.objects.get(code=code)
        value = Decimal(0)
        for p in Position.objects.filter(portfolio=portfolio, kind="opening").select_related("instrument"):
            close = PriceBar.objects.get(instrument=p.instrument, date=p.as_of).close
            value += p.quantity * close * p.instrument.multiplier
        cash = {"LO-FUND": Decimal(7_500_000), "LS-ALPHA": Decimal(60_000_000), "DERIV-BOOK": Decimal(25_000_000)}
        assert portfolio.nav == pytest.approx(value + cash[code], abs=Decimal("0.01"))
    fills = defaultdict(list)
    for e in OrderEvent.objects.filter(event_type__in=["partial_fill", "fill"], order__parent__isnull=False):
        fills[e.order_id].append((e.price, e.quantity))
    for trade in Trade.objects.filter(order__parent__isnull=False):
        assert (trade.price, trade.quantity) in fills[trade.order_id]
    executed = Trade.objects.filter(order__isnull=False).aggregate(q=Sum("quantity"))["q"]
    leaf_fills = OrderEvent.objects.filter(event_type__in=["partial_fill", "fill"], order__children__isnull=True)
    assert executed == leaf_fills.aggregate(q=Sum("quantity"))["q"]


def test_stored_order_histories_are_valid():
    _load()
    for order in Order.objects.prefetch_related("events"):
        events = list(order.events.all())
        assert events[0].event_type == "new" and events[0].ts == order.arrival_ts
        filled = Decimal(0)
        for previous, event in pairwise(events):
            assert previous.event_type not in {"fill", "cancel", "reject"}
            assert event.ts > previous.ts
            if event.event_type in {"partial_fill", "fill"}:
                filled += event.quantity
        assert filled <= order.quantity
