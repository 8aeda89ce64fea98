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
