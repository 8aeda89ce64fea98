"""One factory per model of the shared layers."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import factory
from django.contrib.auth.models import Group, User

from portfolios import models as m


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.PostGenerationMethodCall("set_password", "Correct-Horse-Battery-9")

    @factory.post_generation
    def roles(self, create: bool, extracted: list[str] | None, **kwargs: object) -> None:
        for name in extracted or []:
            self.groups.add(Group.objects.get_or_create(name=name)[0])
        self.save()


class DeskFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.Desk
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"DESK{n}")
    name = factory.LazyAttribute(lambda o: f"Desk {o.code}")


class InstrumentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.Instrument
        django_get_or_create = ("symbol",)

    symbol = factory.Sequence(lambda n: f"SYM{n}")
    name = factory.LazyAttribute(lambda o: f"{o.symbol} Inc.")
    kind = m.Instrument.Kind.EQUITY
    sector = "Information Technology"
    country = "US"


class OwnerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.BeneficialOwner
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"BO{n}")
    name = factory.Sequence(lambda n: f"Owner {n}")


class PortfolioFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.Portfolio
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"PF{n}")
    name = factory.LazyAttribute(lambda o: f"Portfolio {o.code}")
    desk = factory.SubFactory(DeskFactory)
    nav = Decimal("10000000")


class AccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.Account
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"ACC{n}")
    kind = m.Account.Kind.CLIENT
    owner = factory.SubFactory(OwnerFactory)
    desk = factory.SubFactory(DeskFactory)
    portfolio = None


class PriceBarFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.PriceBar

    instrument = factory.SubFactory(InstrumentFactory)
    date = factory.Sequence(lambda n: datetime(2022, 1, 3, tzinfo=UTC).date().replace(day=1 + n % 28))
    close = Decimal("100")
    adj_close = Decimal("100")


class OrderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.Order

    client_order_id = factory.Sequence(lambda n: f"ORD{n}")
    account = factory.SubFactory(AccountFactory)
    instrument = factory.SubFactory(InstrumentFactory)
    side = "buy"
    order_type = "limit"
    limit_price = Decimal("100")
    quantity = Decimal("100")
    arrival_ts = datetime(2022, 12, 28, 14, 30, tzinfo=UTC)


class TradeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.Trade

    trade_id = factory.Sequence(lambda n: f"TRD{n}")
    account = factory.SubFactory(AccountFactory)
    instrument = factory.SubFactory(InstrumentFactory)
    side = "buy"
    price = Decimal("100")
    quantity = Decimal("10")
    ts = datetime(2022, 12, 28, 14, 31, tzinfo=UTC)


class PositionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.Position

    portfolio = factory.SubFactory(PortfolioFactory)
    instrument = factory.SubFactory(InstrumentFactory)
    as_of = datetime(2022, 12, 27, tzinfo=UTC).date()
    kind = m.Position.Kind.OPENING
    quantity = Decimal("100")


# ---------------------------------------------------------------------------- surveillance


class CaseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "surveillance.Case"
        django_get_or_create = ("reference",)

    reference = factory.Sequence(lambda n: f"CASE-T{n:05d}")
    title = factory.Sequence(lambda n: f"Case {n}")
    desk = factory.SubFactory(DeskFactory)


class AlertFactory(factory.django.DjangoModelFactory):
    """An open rule alert on the account's desk, scored 50 (below the four-eyes threshold)."""

    class Meta:
        model = "surveillance.Alert"

    scenario = "spoofing"
    account = factory.SubFactory(AccountFactory)
    desk = factory.LazyAttribute(lambda o: o.account.desk)
    instrument = factory.SubFactory(InstrumentFactory)
    window_start = datetime(2022, 12, 28, 14, 30, tzinfo=UTC)
    window_end = datetime(2022, 12, 28, 14, 35, tzinfo=UTC)
    score = 50.0
    summary = factory.Sequence(lambda n: f"Suspected episode {n}")


class AlertTransitionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "surveillance.AlertTransition"

    alert = factory.SubFactory(AlertFactory)
    action = "start_review"
    from_state = "new"
    to_state = "in_review"
    actor_name = "system"


class AlertCommentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "surveillance.AlertComment"

    alert = factory.SubFactory(AlertFactory)
    author_name = "system"
    body = factory.Sequence(lambda n: f"Note {n}")


class DetectorConfigFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "surveillance.DetectorConfig"
        django_get_or_create = ("scenario",)

    scenario = "spoofing"
    enabled = True
    parameters = factory.LazyFunction(dict)


# ---------------------------------------------------------------------------- best execution


class TcaOrderResultFactory(factory.django.DjangoModelFactory):
    """The TCA of a filled parent buy order: 8 bps against arrival, 3 bps against VWAP."""

    class Meta:
        model = "execution_quality.TcaOrderResult"

    order = factory.SubFactory(OrderFactory)
    account = factory.LazyAttribute(lambda o: o.order.account)
    desk = factory.LazyAttribute(lambda o: o.order.account.desk)
    instrument = factory.LazyAttribute(lambda o: o.order.instrument)
    side = factory.LazyAttribute(lambda o: o.order.side)
    order_type = factory.LazyAttribute(lambda o: o.order.order_type)
    venue = "XNYS"
    broker = "BRK1"
    arrival_ts = factory.LazyAttribute(lambda o: o.order.arrival_ts)
    end_ts = factory.LazyAttribute(lambda o: o.order.arrival_ts)
    quantity = factory.LazyAttribute(lambda o: o.order.quantity)
    filled_quantity = factory.LazyAttribute(lambda o: o.order.quantity)
    n_fills = 1
    avg_price = Decimal("100.08")
    notional = Decimal("10008")
    arrival_price = 100.0
    vwap = 100.05
    cost_arrival_bps = 8.0
    cost_vwap_bps = 3.0
    size_adv = 0.01
    arrival_spread_bps = 4.0
    volatility_daily_bps = 150.0
    duration_s = 60.0


class TcaExecutionResultFactory(factory.django.DjangoModelFactory):
    """The TCA of one fill of a ``TcaOrderResultFactory`` order."""

    class Meta:
        model = "execution_quality.TcaExecutionResult"

    order_result = factory.SubFactory(TcaOrderResultFactory)
    trade = factory.LazyAttribute(
        lambda o: TradeFactory(
            account=o.order_result.account,
            instrument=o.order_result.instrument,
            order=o.order_result.order,
            side=o.order_result.side,
        )
    )
    venue = "XNYS"
    broker = "BRK1"
    ts = factory.LazyAttribute(lambda o: o.order_result.arrival_ts)
    price = Decimal("100.08")
    quantity = Decimal("100")
    mid = 100.0
    bid = 99.98
    ask = 100.02
    effective_spread_bps = 16.0
    spread_capture = 0.0
    cost_arrival_bps = 8.0
    cost_vwap_bps = 3.0
    markout_1s_bps = -1.0
    markout_5s_bps = -2.0
    markout_60s_bps = -3.0
    markout_300s_bps = -4.0


class CostModelFactory(factory.django.DjangoModelFactory):
    """A cost model row without a usable artifact (for listings; train one to predict)."""

    class Meta:
        model = "execution_quality.CostModel"
        django_get_or_create = ("version",)

    version = factory.Sequence(lambda n: f"tca-cost-test-{n}")
    card = factory.LazyFunction(lambda: {"metrics": {"mae_bps": 5.0, "rmse_bps": 7.0, "r2": 0.1, "n_test": 10}})
    artifact = b""
    is_active = False


# ---------------------------------------------------------------------------- wealth


class HouseholdFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "wealth.Household"

    name = factory.Sequence(lambda n: f"Household {n}")
    advisor = factory.SubFactory(UserFactory)


class ClientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "wealth.Client"

    code = factory.Sequence(lambda n: f"CL{n:05d}")
    name = factory.Sequence(lambda n: f"Client {n}")
    advisor = factory.SubFactory(UserFactory)
    birth_date = factory.LazyFunction(lambda: datetime(1975, 6, 15, tzinfo=UTC).date())
    annual_income = Decimal("150000")
    net_worth = Decimal("900000")
    tax_rate_short = Decimal("0.32")
    tax_rate_long = Decimal("0.15")


class WealthAccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "wealth.WealthAccount"

    client = factory.SubFactory(ClientFactory)
    code = factory.Sequence(lambda n: f"WA{n:05d}")
    kind = "taxable"
    cash = Decimal("10000")


class TaxLotFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "wealth.TaxLot"

    account = factory.SubFactory(WealthAccountFactory)
    instrument = factory.SubFactory(InstrumentFactory)
    acquired_on = factory.LazyFunction(lambda: datetime(2022, 1, 3, tzinfo=UTC).date())
    holding_start = factory.LazyAttribute(lambda o: o.acquired_on)
    quantity = Decimal("100")
    cost_basis = Decimal("10000")


class WealthTransactionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "wealth.WealthTransaction"

    account = factory.SubFactory(WealthAccountFactory)
    instrument = factory.SubFactory(InstrumentFactory)
    trade_date = factory.LazyFunction(lambda: datetime(2022, 1, 3, tzinfo=UTC).date())
    side = "buy"
    quantity = Decimal("100")
    price = Decimal("100")


class GoalFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "wealth.Goal"

    client = factory.SubFactory(ClientFactory)
    kind = "retirement"
    name = "Retirement"
    target_amount = Decimal("1000000")
    horizon_years = 20
    initial_amount = Decimal("200000")
    monthly_contribution = Decimal("1500")


class AssetProfileFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "wealth.AssetProfile"
        django_get_or_create = ("instrument",)

    instrument = factory.SubFactory(InstrumentFactory)
    asset_class = "equity"
    esg_score = Decimal("6.00")


class ModelPortfolioFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "wealth.ModelPortfolio"

    profile = 3
    version = factory.Sequence(lambda n: n + 1)
    name = factory.LazyAttribute(lambda o: f"Profile {o.profile} model")


class RecommendationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "wealth.Recommendation"

    client = factory.SubFactory(ClientFactory)
    kind = "rebalance"
    title = "Rebalance"
    reason = "Drift above the band."
    explanation = factory.LazyFunction(lambda: {"as_of": "2022-12-28"})
    trades = factory.LazyFunction(list)
