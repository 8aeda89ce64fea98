"""Ingestion specs for every entity of the shared model (see core.ingest for the pipeline).

Natural keys make re-sent rows no-ops: instrument symbol, instrument + date for bars,
instrument + venue + timestamp for quotes, venue + tape id for market trades, codes for
owners/desks/accounts/portfolios, client order id for orders, client order id + sequence for
order events, trade id for executions, instrument + time + type for events.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.contrib.auth.models import User
from django.db.models import Q, QuerySet

from core.errors import ValidationFailed
from core.ingest import fields as f
from core.ingest.spec import Batch, EntitySpec, Field, Reference, RefRow
from portfolios.models import (
    PRICE,
    QTY,
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
    Side,
    Trade,
)
from portfolios.selectors import scope_by_desk

CODE = f.text(64, pattern=r"[A-Za-z0-9._:/^=+-]+", hint="Letters, digits and . _ : / ^ = + - only (no spaces).")
# Desk codes and factor names are 32-character columns.
CODE32 = f.text(32, pattern=r"[A-Za-z0-9._:/^=+-]+", hint="Letters, digits and . _ : / ^ = + - only (no spaces).")
# Instrument symbols may contain spaces (OCC option symbols, "BRK B").
SYMBOL = f.text(64, pattern=r"[A-Za-z0-9._:/^=+ -]+", hint="Letters, digits, spaces and . _ : / ^ = + - only.")
SHORT = f.text(32, allow_blank=True)
PRICE_POS = f.positive_decimal(**PRICE)
QTY_POS = f.positive_decimal(**QTY)
QTY_NONNEG = f.decimal(**QTY, minimum=Decimal(0))
QTY_SIGNED = f.decimal(**QTY)
MONEY_NONNEG = f.decimal(max_digits=24, decimal_places=4, minimum=Decimal(0))
SIDE = f.choice(Side.values)


def _desk_scope(path: str) -> Any:
    def scope(user: User, qs: QuerySet[Any]) -> QuerySet[Any]:
        return scope_by_desk(user, qs, path)

    return scope


def _instrument_ref(required: bool = True) -> Reference:
    return Reference("instrument", Instrument, "symbol", "instrument_id", required=required)


# ---------------------------------------------------------------------------- instruments


def _check_instrument(row: dict[str, Any], refs: dict[str, RefRow | None]) -> dict[str, str]:
    errors: dict[str, str] = {}
    is_option = row.get("kind") == Instrument.Kind.OPTION
    if is_option:
        for name in ("underlying", "strike", "expiry", "option_right"):
            if row.get(name) in (None, ""):
                errors[name] = "Required for options."
    elif row.get("option_right"):
        errors["option_right"] = "Only options have a right."
    return errors


INSTRUMENTS = EntitySpec(
    name="instruments",
    model=Instrument,
    description="Instruments: equities, ETFs, indices, options (underlying/strike/expiry/right), futures, FX, bonds.",
    fields=(
        Field("symbol", SYMBOL),
        Field("name", f.text(200, allow_blank=True), required=False, default=""),
        Field("kind", f.choice(Instrument.Kind.values)),
        Field("currency", f.currency, required=False, default="USD"),
        Field("sector", f.text(64, allow_blank=True), required=False, default=""),
        Field(
            "country",
            f.text(2, allow_blank=True, pattern=r"[A-Z]{2}", hint="ISO 3166-1 alpha-2 code in capitals, e.g. US."),
            required=False,
            default="",
        ),
        Field(
            "isin",
            f.text(12, pattern=r"[A-Z]{2}[A-Z0-9]{9}[0-9]", hint="A 12-character ISIN, e.g. US0378331005."),
            required=False,
        ),
        Field("tick_size", PRICE_POS, required=False, default=Decimal("0.01")),
        Field("lot_size", f.integer(minimum=1, maximum=2**31 - 1), required=False, default=1),
        Field("multiplier", PRICE_POS, required=False, default=Decimal(1)),
        Field("strike", PRICE_POS, required=False),
        Field("expiry", f.day, required=False),
        Field("option_right", f.choice(Instrument.Right.values), required=False, default=""),
        Field("is_active", f.boolean, required=False, default=True),
    ),
    references=(Reference("underlying", Instrument, "symbol", "underlying_id", required=False, same_batch=True),),
    natural_key=("symbol",),
    conflict_columns=("symbol",),
    check=_check_instrument,
)


# ---------------------------------------------------------------------------- market data


def _check_bar(row: dict[str, Any], refs: dict[str, RefRow | None]) -> dict[str, str]:
    high, low = row.get("high"), row.get("low")
    if high is not None and low is not None and high < low:
        return {"high": "Must be at least low."}
    return {}


PRICE_BARS = EntitySpec(
    name="price_bars",
    model=PriceBar,
    description="Daily bars (OHLC, adjusted close, volume), unique per instrument and date.",
    fields=(
        Field("date", f.day),
        Field("open", PRICE_POS, required=False),
        Field("high", PRICE_POS, required=False),
        Field("low", PRICE_POS, required=False),
        Field("close", PRICE_POS),
        Field("adj_close", PRICE_POS),
        Field("volume", f.integer(minimum=0), required=False),
        Field("source", f.text(32), required=False, default="oms"),
    ),
    references=(_instrument_ref(),),
    natural_key=("instrument", "date"),
    conflict_columns=("instrument_id", "date"),
    check=_check_bar,
)


def _check_quote(row: dict[str, Any], refs: dict[str, RefRow | None]) -> dict[str, str]:
    return {"ask": "Must be at least bid (crossed quote)."} if row["ask"] < row["bid"] else {}


QUOTES = EntitySpec(
    name="quotes",
    model=Quote,
    description="Top-of-book quotes with µs UTC timestamps.",
    fields=(
        Field("ts", f.timestamp),
        Field("venue", SHORT, required=False, default=""),
        Field("bid", PRICE_POS),
        Field("ask", PRICE_POS),
        Field("bid_size", QTY_NONNEG),
        Field("ask_size", QTY_NONNEG),
    ),
    references=(_instrument_ref(),),
    natural_key=("instrument", "ts", "venue"),
    conflict_columns=("instrument_id", "ts", "venue"),
    check=_check_quote,
)

MARKET_TRADES = EntitySpec(
    name="market_trades",
    model=MarketTrade,
    description="Prints on the public tape; natural key venue + tape_id.",
    fields=(
        Field("ts", f.timestamp),
        Field("venue", f.text(32)),
        Field("tape_id", CODE),
        Field("price", PRICE_POS),
        Field("quantity", QTY_POS),
    ),
    references=(_instrument_ref(),),
    natural_key=("venue", "tape_id"),
    conflict_columns=("venue", "tape_id"),
)

MARKET_EVENTS = EntitySpec(
    name="events",
    model=MarketEvent,
    description="Corporate and news events; price_sensitive marks inside information candidates.",
    fields=(
        Field("ts", f.timestamp),
        Field("event_type", f.choice(MarketEvent.Type.values)),
        Field("headline", f.text(500)),
        Field("price_sensitive", f.boolean, required=False, default=False),
    ),
    references=(_instrument_ref(),),
    natural_key=("instrument", "ts", "event_type"),
    conflict_columns=("instrument_id", "ts", "event_type"),
)

FACTOR_RETURNS = EntitySpec(
    name="factor_returns",
    model=FactorReturn,
    description="Factor returns per period as decimal fractions (0.01 = 1%).",
    fields=(
        Field("factor", CODE32),
        Field("frequency", f.choice(FactorReturn.Frequency.values)),
        Field("period_end", f.day),
        Field("value", f.decimal(max_digits=16, decimal_places=10, minimum=Decimal(-1))),
        Field("source", f.text(32, allow_blank=True), required=False, default=""),
    ),
    natural_key=("factor", "frequency", "period_end"),
    conflict_columns=("factor", "frequency", "period_end"),
)

# ---------------------------------------------------------------------------- parties and books


def _join_new_desks(batch: Batch) -> None:
    """The client that creates a desk is assigned to it, so it can use what it created."""
    Desk.members.through.objects.bulk_create(
        [Desk.members.through(desk_id=desk_id, user_id=batch.user.pk) for desk_id in batch.created_ids],
        ignore_conflicts=True,
    )


DESKS = EntitySpec(
    name="desks",
    model=Desk,
    description="Desks; the creating client is assigned to each new desk.",
    fields=(Field("code", CODE32), Field("name", f.text(200))),
    natural_key=("code",),
    conflict_columns=("code",),
    after_insert=_join_new_desks,
    key_scope="",
)

OWNERS = EntitySpec(
    name="beneficial_owners",
    model=BeneficialOwner,
    description="Beneficial owners of accounts (people or entities).",
    fields=(
        Field("code", CODE),
        Field("name", f.text(200)),
        Field("kind", f.choice(BeneficialOwner.Kind.values), required=False, default="person"),
        Field("is_employee", f.boolean, required=False, default=False),
    ),
    natural_key=("code",),
    conflict_columns=("code",),
)

PORTFOLIOS = EntitySpec(
    name="portfolios",
    model=Portfolio,
    description="Portfolios with base currency and NAV, on one of the client's desks.",
    fields=(
        Field("code", CODE),
        Field("name", f.text(200)),
        Field("base_currency", f.currency, required=False, default="USD"),
        Field("nav", MONEY_NONNEG, required=False, default=Decimal(0)),
        Field("halted", f.boolean, required=False, default=False),
    ),
    references=(Reference("desk", Desk, "code", "desk_id", scope=_desk_scope("")),),
    natural_key=("code",),
    conflict_columns=("code",),
    key_scope="desk",
)


def _link_accounts(batch: Batch) -> None:
    """Add the links named in ``linked_accounts`` (both directions; existing links kept).

    Linked codes must be accounts the client can see or accounts of the same batch; an
    unknown one fails the whole batch (we are still inside its transaction).
    """
    codes = {c for extra in batch.extras for c in extra.get("linked_accounts") or []}
    if not codes:
        return
    own = {row["code"] for row in batch.rows}
    visible = scope_by_desk(batch.user, Account.objects.filter(code__in=codes | own), "desk")
    ids = dict(visible.values_list("code", "id"))
    errors = []
    for i, (row, extra) in enumerate(zip(batch.rows, batch.extras, strict=True)):
        linked = extra.get("linked_accounts") or []
        if not linked:
            continue
        messages = [f"Unknown account '{c}'." for c in sorted(set(linked) - ids.keys())]
        if row["code"] not in ids:
            # The row was a no-op: its code belongs to an account on a desk the client cannot use.
            messages.append(f"Account '{row['code']}' is not on your desks; its links cannot be changed.")
        if messages:
            errors.append({"index": i, "errors": {"linked_accounts": messages}})
    if errors:
        raise ValidationFailed(
            f"{len(errors)} of {len(batch.rows)} rows are invalid; nothing was written.",
            extra={"invalid_rows": len(errors), "rows": errors},
        )
    through = Account.linked_accounts.through
    links = []
    for row, extra in zip(batch.rows, batch.extras, strict=True):
        for other in extra.get("linked_accounts") or []:
            a, b = ids[row["code"]], ids[other]
            links += [through(from_account_id=a, to_account_id=b), through(from_account_id=b, to_account_id=a)]
    through.objects.bulk_create(links, ignore_conflicts=True)


def _owner_scope(user: User, qs: QuerySet[Any]) -> QuerySet[Any]:
    """Owners a client may attach: new ones (no account yet) or owners of its desks' accounts.

    Owners are personal data; naming another desk's owner must not make it readable.
    """
    if user.is_superuser:
        return qs
    return qs.filter(Q(accounts__isnull=True) | Q(accounts__desk__members=user)).distinct()


def _check_account(row: dict[str, Any], refs: dict[str, RefRow | None]) -> dict[str, str]:
    errors: dict[str, str] = {}
    if row["code"] in (row.get("linked_accounts") or []):
        errors["linked_accounts"] = "An account cannot be linked to itself."
    portfolio, desk = refs.get("portfolio"), refs.get("desk")
    if portfolio is not None and desk is not None and portfolio["desk_id"] != desk["id"]:
        errors["portfolio"] = "The portfolio belongs to another desk than the account."
    return errors


ACCOUNTS = EntitySpec(
    name="accounts",
    model=Account,
    description="Accounts (client, proprietary, market maker) with owner, desk, portfolio and linked accounts.",
    fields=(
        Field("code", CODE),
        Field("name", f.text(200, allow_blank=True), required=False, default=""),
        Field("kind", f.choice(Account.Kind.values)),
        Field("linked_accounts", f.code_list(64), required=False, default=None, stored=False),
    ),
    references=(
        Reference("owner", BeneficialOwner, "code", "owner_id", scope=_owner_scope),
        Reference("desk", Desk, "code", "desk_id", scope=_desk_scope("")),
        Reference(
            "portfolio",
            Portfolio,
            "code",
            "portfolio_id",
            required=False,
            scope=_desk_scope("desk"),
            extra=("desk_id",),
        ),
    ),
    natural_key=("code",),
    conflict_columns=("code",),
    check=_check_account,
    after_insert=_link_accounts,
    key_scope="desk",
)

POSITIONS = EntitySpec(
    name="positions",
    model=Position,
    description="Opening positions (signed quantity, short < 0) at the end of as_of; the book starts there.",
    fields=(
        Field("as_of", f.day),
        Field("quantity", QTY_SIGNED),
        Field("cost_basis", f.decimal(max_digits=24, decimal_places=4), required=False),
        Field("kind", f.choice([Position.Kind.OPENING]), required=False, default=Position.Kind.OPENING),
    ),
    references=(
        Reference("portfolio", Portfolio, "code", "portfolio_id", scope=_desk_scope("desk")),
        _instrument_ref(),
    ),
    natural_key=("portfolio", "instrument", "as_of"),
    conflict_columns=("portfolio_id", "instrument_id", "as_of", "kind"),
)

# ---------------------------------------------------------------------------- orders and trades


def _check_order(row: dict[str, Any], refs: dict[str, RefRow | None]) -> dict[str, str]:
    errors: dict[str, str] = {}
    if row["order_type"] == Order.Type.LIMIT and row.get("limit_price") is None:
        errors["limit_price"] = "Required for limit orders."
    if row["order_type"] == Order.Type.MARKET and row.get("limit_price") is not None:
        errors["limit_price"] = "Market orders have no limit price."
    parent = refs.get("parent")
    if parent is not None:
        if parent["instrument__symbol"] != row.get("instrument"):
            errors["parent"] = "Parent order is for another instrument."
        elif parent["side"] != row["side"]:
            errors["parent"] = "Parent order is on the other side."
    return errors


def _check_batch_parents(batch: Batch) -> None:
    """Apply ``_check_order``'s parent rules to parents sent in the same batch.

    Those parents are only resolved once inserted, so the rows are checked here, still inside
    the batch's transaction: a mismatch fails the whole batch like any other invalid row.
    """
    if not any(row["parent_id"] is not None for row in batch.rows):
        return
    index = {row["client_order_id"]: i for i, row in enumerate(batch.rows)}
    children = Order.objects.filter(id__in=batch.created_ids, parent__isnull=False).values_list(
        "client_order_id", "side", "instrument_id", "parent__side", "parent__instrument_id"
    )
    errors = []
    for code, side, instrument_id, parent_side, parent_instrument_id in children:
        if instrument_id != parent_instrument_id:
            errors.append({"index": index[code], "errors": {"parent": ["Parent order is for another instrument."]}})
        elif side != parent_side:
            errors.append({"index": index[code], "errors": {"parent": ["Parent order is on the other side."]}})
    if errors:
        errors.sort(key=lambda e: int(e["index"]))  # type: ignore[call-overload]
        raise ValidationFailed(
            f"{len(errors)} of {len(batch.rows)} rows are invalid; nothing was written.",
            extra={"invalid_rows": len(errors), "rows": errors},
        )


ORDERS = EntitySpec(
    name="orders",
    model=Order,
    description="Orders (parent/child) with µs arrival timestamps.",
    fields=(
        Field("client_order_id", CODE),
        Field("side", SIDE),
        Field("order_type", f.choice(Order.Type.values)),
        Field("limit_price", PRICE_POS, required=False),
        Field("quantity", QTY_POS),
        Field("time_in_force", f.choice(Order.TimeInForce.values), required=False, default="day"),
        Field("venue", SHORT, required=False, default=""),
        Field("broker", SHORT, required=False, default=""),
        Field("arrival_ts", f.timestamp),
    ),
    references=(
        Reference("account", Account, "code", "account_id", scope=_desk_scope("desk")),
        _instrument_ref(),
        Reference(
            "parent",
            Order,
            "client_order_id",
            "parent_id",
            required=False,
            scope=_desk_scope("account__desk"),
            extra=("side", "instrument__symbol"),
            same_batch=True,
        ),
    ),
    natural_key=("client_order_id",),
    conflict_columns=("client_order_id",),
    check=_check_order,
    after_insert=_check_batch_parents,
    key_scope="account__desk",
)

_FILL_EVENTS = {OrderEvent.Type.FILL, OrderEvent.Type.PARTIAL_FILL}


def _check_order_event(row: dict[str, Any], refs: dict[str, RefRow | None]) -> dict[str, str]:
    errors: dict[str, str] = {}
    if row["event_type"] in _FILL_EVENTS:
        if row.get("price") is None:
            errors["price"] = "Required for fills."
        if row.get("quantity") is None:
            errors["quantity"] = "Required for fills."
    order = refs.get("order")
    if order is not None and row["ts"] < order["arrival_ts"]:
        errors["ts"] = "Event is earlier than the order's arrival."
    return errors


ORDER_EVENTS = EntitySpec(
    name="order_events",
    model=OrderEvent,
    description="Order life-cycle events; natural key client_order_id (as 'order') + sequence.",
    fields=(
        Field("sequence", f.integer(minimum=0, maximum=2**31 - 1)),
        Field("event_type", f.choice(OrderEvent.Type.values)),
        Field("ts", f.timestamp),
        Field("price", PRICE_POS, required=False),
        Field("quantity", QTY_POS, required=False),
        Field("reason", f.text(200, allow_blank=True), required=False, default=""),
    ),
    references=(
        Reference(
            "order", Order, "client_order_id", "order_id", scope=_desk_scope("account__desk"), extra=("arrival_ts",)
        ),
    ),
    natural_key=("order", "sequence"),
    conflict_columns=("order_id", "sequence"),
    check=_check_order_event,
)


def _check_trade(row: dict[str, Any], refs: dict[str, RefRow | None]) -> dict[str, str]:
    errors: dict[str, str] = {}
    order = refs.get("order")
    if order is not None:
        if order["account__code"] != row.get("account"):
            errors["order"] = "Order belongs to another account."
        elif order["instrument__symbol"] != row.get("instrument"):
            errors["order"] = "Order is for another instrument."
        elif order["side"] != row["side"]:
            errors["side"] = f"Order side is {order['side']}."
    if row.get("counterparty_account") is not None and row.get("counterparty_account") == row.get("account"):
        errors["counterparty_account"] = "Counterparty cannot be the same account."
    return errors


TRADES = EntitySpec(
    name="trades",
    model=Trade,
    description="Executions in our accounts; natural key trade_id.",
    fields=(
        Field("trade_id", CODE),
        Field("side", SIDE),
        Field("price", PRICE_POS),
        Field("quantity", QTY_POS),
        Field("venue", SHORT, required=False, default=""),
        Field("broker", SHORT, required=False, default=""),
        Field("commission", MONEY_NONNEG, required=False, default=Decimal(0)),
        Field("ts", f.timestamp),
    ),
    references=(
        Reference("account", Account, "code", "account_id", scope=_desk_scope("desk")),
        _instrument_ref(),
        Reference(
            "order",
            Order,
            "client_order_id",
            "order_id",
            required=False,
            scope=_desk_scope("account__desk"),
            extra=("side", "account__code", "instrument__symbol"),
        ),
        # Scoped like ``account``: naming another desk's account must look like naming none.
        Reference(
            "counterparty_account",
            Account,
            "code",
            "counterparty_account_id",
            required=False,
            scope=_desk_scope("desk"),
        ),
    ),
    natural_key=("trade_id",),
    conflict_columns=("trade_id",),
    check=_check_trade,
    key_scope="account__desk",
)

SPECS: dict[str, EntitySpec] = {
    spec.name: spec
    for spec in (
        INSTRUMENTS,
        PRICE_BARS,
        QUOTES,
        MARKET_TRADES,
        MARKET_EVENTS,
        FACTOR_RETURNS,
        DESKS,
        OWNERS,
        PORTFOLIOS,
        ACCOUNTS,
        POSITIONS,
        ORDERS,
        ORDER_EVENTS,
        TRADES,
    )
}
