"""Allocation proposals: the default matches the profile's risk, bounds hold, older proposals are
superseded, and impossible requests are field errors with nothing written."""

from __future__ import annotations

from decimal import Decimal

import pytest

from audit.models import AuditEvent
from core.errors import ValidationFailed
from tests.factories import ClientFactory
from tests.wealth.services.conftest import MODELS
from tests.wealth.services.helpers import answers_at, counts
from wealth.models import Recommendation
from wealth.services import allocation_propose, market_inputs, profile_submit

UNIVERSE = ["AAPL", "JPM", "MSFT", "MTUM", "USD-TBILL", "USMV", "XOM"]


@pytest.fixture
def client(market, advisor):
    client = ClientFactory(advisor=advisor)
    profile_submit(actor=advisor, client=client, answers=answers_at(0))  # profile 1
    return client


@pytest.mark.django_db
def test_default_proposal_takes_the_risk_of_the_profile_model(client, advisor):
    profile_submit(actor=advisor, client=client, answers=answers_at(9))  # profile 5
    mi = market_inputs(symbols=UNIVERSE)
    _, model_vol = mi.moments(MODELS[5])
    reco = allocation_propose(actor=advisor, client=client)
    ex = reco.explanation
    assert ex["objective"] == "target_risk" and ex["target"] == pytest.approx(model_vol)
    # Highest return with volatility ≤ the target: at most the model's risk, and on the frontier
    # no point with at most that risk earns more.
    assert ex["proposed"]["vol"] <= model_vol + 1e-6
    better = [
        p
        for p in ex["frontier"]
        if p["vol"] <= ex["proposed"]["vol"] - 1e-4 and p["ret"] > ex["proposed"]["ret"] + 1e-4
    ]
    assert not better and not ex["note"]
    w = ex["weights"]
    assert sum(w.values()) == pytest.approx(1.0, abs=1e-4)
    assert all(v <= 0.25 + 1e-6 for s, v in w.items() if s != "USD-TBILL")
    assert w.get("USD-TBILL", 0) <= 0.40 + 1e-6
    assert w.get("AAPL", 0) + w.get("MSFT", 0) <= 0.35 + 1e-6  # Information Technology
    assert len(ex["frontier"]) == 20 and ex["constraints"]["sector_upper"]["Information Technology"] == 0.35
    assert reco.kind == "allocation" and reco.status == "proposed"
    assert AuditEvent.objects.filter(action="wealth.recommendation.propose", object_id=str(reco.pk)).exists()


@pytest.mark.django_db
def test_explicit_target_volatility_binds(client, advisor):
    lowest = allocation_propose(actor=advisor, client=client, objective="min_variance").explanation["proposed"]["vol"]
    target = lowest + 0.02
    reco = allocation_propose(actor=advisor, client=client, objective="target_risk", target=target)
    assert reco.explanation["proposed"]["vol"] == pytest.approx(target, rel=1e-3)


@pytest.mark.django_db
def test_a_model_below_the_allowed_risk_gives_the_least_risky_allowed_portfolio(client, advisor):
    # Profile 1's model holds 70 % T-bills; a proposal may hold at most 40 %: its risk is out of
    # reach, so the proposal is the minimum-variance portfolio, and says so.
    reco = allocation_propose(actor=advisor, client=client)
    least = allocation_propose(actor=advisor, client=client, objective="min_variance")
    assert "minimum-variance" in reco.explanation["note"]
    assert reco.explanation["proposed"]["vol"] == pytest.approx(least.explanation["proposed"]["vol"], rel=1e-4)


@pytest.mark.django_db
def test_any_profile_whose_model_risk_is_out_of_reach_falls_back_to_minimum_variance(market, advisor):
    # Profile 2's model (50 % T-bills) has about 6.0 % volatility, reachable without an ESG floor;
    # an ESG minimum of 6.3 forces at least 20 % into AAPL (the only score above 6: 7.5), which
    # lifts the least volatility allowed above the model's (measured: about 6.9 %).
    client = ClientFactory(advisor=advisor, esg_min_score=Decimal("6.3"))
    assert profile_submit(actor=advisor, client=client, answers=answers_at(1)).profile == 2
    least = allocation_propose(actor=advisor, client=client, objective="min_variance").explanation["proposed"]
    reco = allocation_propose(actor=advisor, client=client)
    ex = reco.explanation
    assert ex["target"] < least["vol"]
    assert ex["note"].startswith("The profile 2 model's volatility") and "minimum-variance" in ex["note"]
    assert ex["proposed"]["vol"] == pytest.approx(least["vol"], rel=1e-4)
    assert ex["proposed"]["esg"] >= 6.3 - 1e-6


@pytest.mark.django_db
def test_a_new_proposal_supersedes_the_open_one(client, advisor):
    first = allocation_propose(actor=advisor, client=client, objective="min_variance")
    second = allocation_propose(actor=advisor, client=client, objective="max_sharpe", returns="equilibrium")
    first.refresh_from_db()
    assert first.status == "superseded" and second.status == "proposed"
    assert second.explanation["returns_source"]["source"] == "equilibrium"


@pytest.mark.django_db
def test_excluded_sectors_get_no_weight(client, advisor):
    client.esg_excluded_sectors = ["Energy"]
    client.save()
    reco = allocation_propose(actor=advisor, client=client, objective="max_sharpe")
    assert "XOM" not in reco.explanation["weights"]
    assert "XOM" not in reco.explanation["constraints"]["upper"]


@pytest.mark.django_db
def test_black_litterman_view_moves_the_weights(client, advisor):
    base = allocation_propose(actor=advisor, client=client, objective="max_sharpe", returns="equilibrium")
    bl = allocation_propose(
        actor=advisor, client=client, objective="max_sharpe", returns="black_litterman",
        views=[{"symbol": "JPM", "return": 0.40, "confidence": 0.9}],
    )  # fmt: skip
    assert bl.explanation["weights"].get("JPM", 0) > base.explanation["weights"].get("JPM", 0)
    assert bl.explanation["returns_source"]["views"][0]["symbol"] == "JPM"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"objective": "moonshot"}, "objective"),
        ({"returns": "astrology"}, "returns"),
        ({"returns": "black_litterman", "views": [{"symbol": "ZZZ", "return": 0.1}]}, "views"),
        ({"returns": "black_litterman", "views": [{"symbol": "JPM", "return": 0.1, "confidence": 2}]}, "views"),
        ({"max_turnover": 0.1}, "max_turnover"),  # the client holds nothing
        ({"objective": "target_return", "target": 0.90}, "constraints"),
    ],
)
def test_bad_requests_are_field_errors_and_write_nothing(client, advisor, kwargs, field):
    before = counts(Recommendation, AuditEvent)
    with pytest.raises(ValidationFailed) as err:
        allocation_propose(actor=advisor, client=client, **kwargs)
    assert field in err.value.extra["fields"]
    assert counts(Recommendation, AuditEvent) == before


@pytest.mark.django_db
def test_unreachable_esg_minimum_gives_the_reason(client, advisor):
    client.esg_min_score = Decimal("9.9")  # the best score in the universe is 7.5 (AAPL)
    client.save()
    with pytest.raises(ValidationFailed) as err:
        allocation_propose(actor=advisor, client=client)
    assert err.value.extra["fields"]["constraints"]
    assert "ESG" in err.value.message
    assert not Recommendation.objects.exists()
