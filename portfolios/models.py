"""The shared model: instruments, market data, owners, desks, accounts, portfolios, positions,
orders with their events, executions and corporate/news events.

Conventions (docs/data-model.md): money and quantities are Decimal; every timestamp is
timezone-aware UTC with microseconds; prices are per unit in the instrument's currency.
Invariants live in the database as constraints, not only in code.
"""

from __future__ import annotations

from typing import TypedDict

from django.conf import settings
from django.db import models
from django.db.models import F, Q


class Digits(TypedDict):
    max_digits: int
    decimal_places: int


PRICE = Digits(max_digits=20, decimal_places=8)
QTY = Digits(max_digits=24, decimal_places=6)
MONEY = Digits(max_digits=24, decimal_places=4)


class Side(models.TextChoices):
    BUY = "buy"
    SELL = "sell"


class Instrument(models.Model):
    """A tradable or reference instrument. Options name their underlying, strike, expiry, right."""

    class Kind(models.TextChoices):
        EQUITY = "equity"
        ETF = "etf"
        INDEX = "index"
        OPTION = "option"
        FUTURE = "future"
        FX = "fx"
        BOND = "bond"

    class Right(models.TextChoices):
        CALL = "call"
        PUT = "put"

    symbol = models.CharField(max_length=64, unique=True)
    name = models.CharField(max_length=200, blank=True)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    currency = models.CharField(max_length=3, default="USD")
    sector = models.CharField(max_length=64, blank=True)
    country = models.CharField(max_length=2, blank=True, help_text="ISO 3166-1 alpha-2")
    isin = models.CharField(max_length=12, null=True, blank=True, unique=True)
    tick_size = models.DecimalField(default=0.01, **PRICE)
    lot_size = models.PositiveIntegerField(default=1)
    multiplier = models.DecimalField(default=1, **PRICE)
    underlying = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="derivatives")
    strike = models.DecimalField(null=True, blank=True, **PRICE)
    expiry = models.DateField(null=True, blank=True)
    option_right = models.CharField(max_length=4, choices=Right.choices, blank=True)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["symbol"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=["equity", "etf", "index", "option", "future", "fx", "bond"]),
                name="instrument_kind_valid",
            ),
            models.CheckConstraint(condition=Q(tick_size__gt=0), name="instrument_tick_size_positive"),
            models.CheckConstraint(condition=Q(lot_size__gt=0), name="instrument_lot_size_positive"),
            models.CheckConstraint(condition=Q(multiplier__gt=0), name="instrument_multiplier_positive"),
            models.CheckConstraint(
                condition=~Q(kind="option")
                | (
                    Q(underlying__isnull=False)
                    & Q(strike__isnull=False)
                    & Q(strike__gt=0)
                    & Q(expiry__isnull=False)
                    & Q(option_right__in=["call", "put"])
                ),
                name="instrument_option_terms_complete",
            ),
            models.CheckConstraint(
                condition=Q(kind="option") | Q(option_right=""), name="instrument_right_only_for_options"
            ),
        ]

    def __str__(self) -> str:
        return self.symbol


class PriceBar(models.Model):
    """One day of prices for an instrument. ``adj_close`` is adjusted for splits and dividends.

    ``source`` names where the bar came from (a vendor, or ``synthetic`` for generated data)
    so a figure can always be traced to real or generated inputs.
    """

    # Indexed by the unique (instrument, date) key; a separate FK index would only slow writes.
    instrument = models.ForeignKey(Instrument, on_delete=models.CASCADE, related_name="bars", db_index=False)
    date = models.DateField()
    open = models.DecimalField(null=True, blank=True, **PRICE)
    high = models.DecimalField(null=True, blank=True, **PRICE)
    low = models.DecimalField(null=True, blank=True, **PRICE)
    close = models.DecimalField(**PRICE)
    adj_close = models.DecimalField(**PRICE)
    volume = models.BigIntegerField(null=True, blank=True)
    source = models.CharField(max_length=32, default="oms")

    class Meta:
        ordering = ["instrument_id", "date"]
        constraints = [
            models.UniqueConstraint(fields=["instrument", "date"], name="pricebar_unique_instrument_date"),
            models.CheckConstraint(condition=Q(close__gt=0) & Q(adj_close__gt=0), name="pricebar_close_positive"),
            models.CheckConstraint(
                condition=Q(high__gte=F("low")) | Q(high__isnull=True) | Q(low__isnull=True),
                name="pricebar_high_gte_low",
            ),
            models.CheckConstraint(condition=Q(volume__gte=0) | Q(volume__isnull=True), name="pricebar_volume_nonneg"),
        ]

    def __str__(self) -> str:
        return f"{self.instrument_id}@{self.date}"


class Quote(models.Model):
    """Top of book at a venue. Natural key: instrument, venue, timestamp (µs)."""

    instrument = models.ForeignKey(Instrument, on_delete=models.CASCADE, related_name="quotes", db_index=False)
    ts = models.DateTimeField()
    venue = models.CharField(max_length=32, default="")
    bid = models.DecimalField(**PRICE)
    ask = models.DecimalField(**PRICE)
    bid_size = models.DecimalField(**QTY)
    ask_size = models.DecimalField(**QTY)

    class Meta:
        ordering = ["instrument_id", "ts"]
        constraints = [
            # Also the index for time-range scans per instrument.
            models.UniqueConstraint(fields=["instrument", "ts", "venue"], name="quote_unique_instrument_ts_venue"),
            models.CheckConstraint(condition=Q(bid__gt=0) & Q(ask__gte=F("bid")), name="quote_ask_gte_bid_positive"),
            models.CheckConstraint(condition=Q(bid_size__gte=0) & Q(ask_size__gte=0), name="quote_sizes_nonneg"),
        ]
        indexes = [models.Index(fields=["ts"], name="quote_ts_idx")]

    def __str__(self) -> str:
        return f"{self.instrument_id} {self.bid}/{self.ask} @ {self.ts:%Y-%m-%d %H:%M:%S.%f}"


class MarketTrade(models.Model):
    """A print on the public tape. Natural key: venue + the venue's trade reference."""

    instrument = models.ForeignKey(Instrument, on_delete=models.CASCADE, related_name="tape", db_index=False)
    ts = models.DateTimeField()
    venue = models.CharField(max_length=32)
    tape_id = models.CharField(max_length=64)
    price = models.DecimalField(**PRICE)
    quantity = models.DecimalField(**QTY)

    class Meta:
        ordering = ["instrument_id", "ts"]
        constraints = [
            models.UniqueConstraint(fields=["venue", "tape_id"], name="markettrade_unique_venue_tape_id"),
            models.CheckConstraint(condition=Q(price__gt=0) & Q(quantity__gt=0), name="markettrade_positive"),
        ]
        indexes = [
            models.Index(fields=["instrument", "ts"], name="markettrade_instrument_ts_idx"),
            models.Index(fields=["ts"], name="markettrade_ts_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.venue}:{self.tape_id}"


class BeneficialOwner(models.Model):
    """The person or entity that ultimately owns an account (market-abuse rules are per owner)."""

    class Kind(models.TextChoices):
        PERSON = "person"
        ENTITY = "entity"

    code = models.CharField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.PERSON)
    is_employee = models.BooleanField(default=False, help_text="Staff member or related person of the firm")

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=["person", "entity"]), name="owner_kind_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class Desk(models.Model):
    """A trading or advisory desk. Users are assigned desks and see only their desks' books."""

    code = models.CharField(max_length=32, unique=True)
    name = models.CharField(max_length=200)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="desks")

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.code


class Portfolio(models.Model):
    """A book managed as one: its positions are the sum of its accounts' fills plus openings.

    ``nav`` is in ``base_currency``; ``halted`` is set by a tripped kill switch.
    """

    code = models.CharField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    desk = models.ForeignKey(Desk, on_delete=models.PROTECT, related_name="portfolios")
    base_currency = models.CharField(max_length=3, default="USD")
    nav = models.DecimalField(default=0, **MONEY)
    halted = models.BooleanField(default=False)

    class Meta:
        ordering = ["code"]
        constraints = [models.CheckConstraint(condition=Q(nav__gte=0), name="portfolio_nav_nonneg")]

    def __str__(self) -> str:
        return self.code


class Account(models.Model):
    """A trading account. Belongs to one desk and at most one portfolio; linked accounts are
    accounts known to act together (same family, same adviser), used by wash-trade rules."""

    class Kind(models.TextChoices):
        CLIENT = "client"
        PROPRIETARY = "proprietary"
        MARKET_MAKER = "market_maker"

    code = models.CharField(max_length=64, unique=True)
    name = models.CharField(max_length=200, blank=True)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    owner = models.ForeignKey(BeneficialOwner, on_delete=models.PROTECT, related_name="accounts")
    desk = models.ForeignKey(Desk, on_delete=models.PROTECT, related_name="accounts")
    portfolio = models.ForeignKey(Portfolio, null=True, blank=True, on_delete=models.PROTECT, related_name="accounts")
    linked_accounts = models.ManyToManyField("self", blank=True, symmetrical=True)

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=["client", "proprietary", "market_maker"]), name="account_kind_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.code


class Position(models.Model):
    """A holding at the end of ``as_of`` (UTC date).

    ``OPENING`` rows are loaded from outside and start the book; ``SNAPSHOT`` rows are end-of-
    day snapshots computed by ``positions_snapshot`` as opening + fills, never edited by hand.
    """

    class Kind(models.TextChoices):
        OPENING = "opening"
        SNAPSHOT = "snapshot"

    portfolio = models.ForeignKey(Portfolio, on_delete=models.CASCADE, related_name="positions")
    instrument = models.ForeignKey(Instrument, on_delete=models.PROTECT, related_name="positions")
    as_of = models.DateField()
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.OPENING)
    quantity = models.DecimalField(**QTY)
    cost_basis = models.DecimalField(null=True, blank=True, **MONEY)

    class Meta:
        ordering = ["portfolio_id", "as_of", "instrument_id"]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=["opening", "snapshot"]), name="position_kind_valid"),
            models.UniqueConstraint(
                fields=["portfolio", "instrument", "as_of", "kind"], name="position_unique_per_day_kind"
            ),
        ]
        indexes = [models.Index(fields=["portfolio", "kind", "as_of"], name="position_book_idx")]

    def __str__(self) -> str:
        return f"{self.portfolio_id}/{self.instrument_id} {self.quantity} @ {self.as_of} ({self.kind})"


class Order(models.Model):
    """A client or proprietary order as the OMS sent it. Child orders name their parent."""

    class Type(models.TextChoices):
        MARKET = "market"
        LIMIT = "limit"

    class TimeInForce(models.TextChoices):
        DAY = "day"
        GTC = "gtc"
        IOC = "ioc"
        FOK = "fok"

    client_order_id = models.CharField(max_length=64)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children")
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="orders", db_index=False)
    instrument = models.ForeignKey(Instrument, on_delete=models.PROTECT, related_name="orders", db_index=False)
    side = models.CharField(max_length=4, choices=Side.choices)
    order_type = models.CharField(max_length=8, choices=Type.choices)
    limit_price = models.DecimalField(null=True, blank=True, **PRICE)
    quantity = models.DecimalField(**QTY)
    time_in_force = models.CharField(max_length=4, choices=TimeInForce.choices, default=TimeInForce.DAY)
    venue = models.CharField(max_length=32, blank=True)
    broker = models.CharField(max_length=32, blank=True)
    arrival_ts = models.DateTimeField()

    class Meta:
        ordering = ["arrival_ts", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(side__in=["buy", "sell"]), name="order_side_valid"),
            models.CheckConstraint(condition=Q(order_type__in=["market", "limit"]), name="order_type_valid"),
            models.CheckConstraint(condition=Q(time_in_force__in=["day", "gtc", "ioc", "fok"]), name="order_tif_valid"),
            # A constraint rather than unique=True: the same unique index without the extra
            # LIKE-pattern index PostgreSQL gets for unique text fields.
            models.UniqueConstraint(fields=["client_order_id"], name="order_unique_client_order_id"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="order_quantity_positive"),
            models.CheckConstraint(
                condition=(Q(order_type="limit") & Q(limit_price__isnull=False) & Q(limit_price__gt=0))
                | (Q(order_type="market") & Q(limit_price__isnull=True)),
                name="order_limit_price_matches_type",
            ),
        ]
        indexes = [
            models.Index(fields=["instrument", "arrival_ts"], name="order_instrument_ts_idx"),
            models.Index(fields=["account", "arrival_ts"], name="order_account_ts_idx"),
            models.Index(fields=["arrival_ts"], name="order_ts_idx"),
        ]

    def __str__(self) -> str:
        return self.client_order_id


class OrderEvent(models.Model):
    """One step in an order's life. Natural key: order + sequence.

    ``quantity`` is the new total for ``replace``, the filled amount for fills; ``price`` is the
    new limit for ``replace`` and the fill price for fills.
    """

    class Type(models.TextChoices):
        NEW = "new"
        REPLACE = "replace"
        CANCEL = "cancel"
        PARTIAL_FILL = "partial_fill"
        FILL = "fill"
        REJECT = "reject"

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="events", db_index=False)
    sequence = models.PositiveIntegerField()
    event_type = models.CharField(max_length=16, choices=Type.choices)
    ts = models.DateTimeField()
    price = models.DecimalField(null=True, blank=True, **PRICE)
    quantity = models.DecimalField(null=True, blank=True, **QTY)
    reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["order_id", "sequence"]
        constraints = [
            models.CheckConstraint(
                condition=Q(event_type__in=["new", "replace", "cancel", "partial_fill", "fill", "reject"]),
                name="orderevent_type_valid",
            ),
            models.UniqueConstraint(fields=["order", "sequence"], name="orderevent_unique_order_sequence"),
            models.CheckConstraint(condition=Q(price__gt=0) | Q(price__isnull=True), name="orderevent_price_positive"),
            models.CheckConstraint(
                condition=Q(quantity__gt=0) | Q(quantity__isnull=True), name="orderevent_quantity_positive"
            ),
            models.CheckConstraint(
                condition=~Q(event_type__in=["partial_fill", "fill"])
                | (Q(price__isnull=False) & Q(quantity__isnull=False)),
                name="orderevent_fill_has_price_quantity",
            ),
        ]
        indexes = [models.Index(fields=["ts"], name="orderevent_ts_idx")]

    def __str__(self) -> str:
        return f"{self.order_id}#{self.sequence} {self.event_type}"


class Trade(models.Model):
    """An execution in one of our accounts. Natural key: ``trade_id``.

    ``side`` is the account's side; ``commission`` is in the instrument's currency.
    """

    trade_id = models.CharField(max_length=64)
    order = models.ForeignKey(Order, null=True, blank=True, on_delete=models.PROTECT, related_name="trades")
    # Both indexed by the (account, ts) and (instrument, ts) indexes below.
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="trades", db_index=False)
    counterparty_account = models.ForeignKey(
        Account, null=True, blank=True, on_delete=models.PROTECT, related_name="counterparty_trades"
    )
    instrument = models.ForeignKey(Instrument, on_delete=models.PROTECT, related_name="trades", db_index=False)
    side = models.CharField(max_length=4, choices=Side.choices)
    price = models.DecimalField(**PRICE)
    quantity = models.DecimalField(**QTY)
    venue = models.CharField(max_length=32, blank=True)
    broker = models.CharField(max_length=32, blank=True)
    commission = models.DecimalField(default=0, **MONEY)
    ts = models.DateTimeField()

    class Meta:
        ordering = ["ts", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(side__in=["buy", "sell"]), name="trade_side_valid"),
            models.UniqueConstraint(fields=["trade_id"], name="trade_unique_trade_id"),
            models.CheckConstraint(condition=Q(price__gt=0) & Q(quantity__gt=0), name="trade_price_quantity_positive"),
            models.CheckConstraint(condition=Q(commission__gte=0), name="trade_commission_nonneg"),
            models.CheckConstraint(condition=~Q(counterparty_account=F("account")), name="trade_counterparty_not_self"),
        ]
        indexes = [
            models.Index(fields=["account", "ts"], name="trade_account_ts_idx"),
            models.Index(fields=["instrument", "ts"], name="trade_instrument_ts_idx"),
            models.Index(fields=["ts"], name="trade_ts_idx"),
        ]

    def __str__(self) -> str:
        return self.trade_id


class MarketEvent(models.Model):
    """A corporate action or news item. Natural key: instrument, time, type."""

    class Type(models.TextChoices):
        EARNINGS = "earnings"
        GUIDANCE = "guidance"
        MERGER = "merger"
        DIVIDEND = "dividend"
        SPLIT = "split"
        REGULATORY = "regulatory"
        NEWS = "news"

    instrument = models.ForeignKey(Instrument, on_delete=models.CASCADE, related_name="events")
    ts = models.DateTimeField()
    event_type = models.CharField(max_length=16, choices=Type.choices)
    headline = models.CharField(max_length=500)
    price_sensitive = models.BooleanField(default=False)

    class Meta:
        ordering = ["ts"]
        constraints = [
            models.CheckConstraint(
                condition=Q(
                    event_type__in=["earnings", "guidance", "merger", "dividend", "split", "regulatory", "news"]
                ),
                name="marketevent_type_valid",
            ),
            models.UniqueConstraint(fields=["instrument", "ts", "event_type"], name="marketevent_unique"),
        ]
        indexes = [models.Index(fields=["ts"], name="marketevent_ts_idx")]

    def __str__(self) -> str:
        return f"{self.event_type}: {self.headline[:60]}"


class FactorReturn(models.Model):
    """A factor's return over one period (decimal fraction, 0.01 = 1%), e.g. Fama–French."""

    class Frequency(models.TextChoices):
        DAILY = "D"
        MONTHLY = "M"

    factor = models.CharField(max_length=32)
    frequency = models.CharField(max_length=1, choices=Frequency.choices)
    period_end = models.DateField()
    value = models.DecimalField(max_digits=16, decimal_places=10)
    source = models.CharField(max_length=32, blank=True)

    class Meta:
        ordering = ["factor", "period_end"]
        constraints = [
            models.CheckConstraint(condition=Q(frequency__in=["D", "M"]), name="factorreturn_frequency_valid"),
            models.UniqueConstraint(fields=["factor", "frequency", "period_end"], name="factorreturn_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.factor} {self.period_end} {self.value}"
