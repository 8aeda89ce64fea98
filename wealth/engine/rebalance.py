"""Rebalancing: drift from target, tax-aware lot selection and a trade list with its tax effect.

Conventions (docs/wealth-methodology.md, "Rebalancing"):

- Weights are fractions of the client's total value: every position at its price plus the cash
  of every account. ``"CASH"`` is an asset like the others; when the target does not name it,
  its target is what the other targets leave (1 − Σ targets).
- Drift is ½·Σ|w − target| over all assets including cash: the share of the portfolio that
  would have to change hands (one way) to be back on target. Turnover in ``optimize`` uses the
  same measure.
- Holding period (IRS Publication 550, "Holding Period"): counting starts the day after
  acquisition and the day of sale counts; property held *more than one year* gives a long-term
  gain. ``holding_start`` is the acquisition date (moved back for washed shares), so a lot
  acquired 2025-03-10 is long-term when sold on or after 2026-03-11.
- Tax per trade = realised gain × the short- or long-term rate in a taxable account and 0 in a
  tax-advantaged one; a loss gives a negative tax (a saving). Tax is not taken from cash.
- Cash never moves between accounts: a sale's proceeds can only buy in the same account, and no
  account's cash goes below zero.
- Quantities are whole shares unless ``lots_in_whole_units=False`` (then 10⁻⁶ share): buys round
  down, rebalancing sells round down (never past the target) and sells that fund a withdrawal
  round up; selling a whole holding sells it all, fractions included.
- One plan never buys a symbol it sells at a loss in a taxable account (that would wash the
  loss, IRS Pub. 550) and never sells a symbol it has just bought. Purchases made in the 30 days
  before ``as_of`` in any of the client's accounts (``purchases``) wash a loss sale share for
  share (:mod:`wealth.engine.wash`): the disallowed part saves no tax now, and the trade's tax
  says so.
- Lot order (cheapest tax first): tax-advantaged lots, then taxable lots by tax per dollar sold
  = (gain ÷ value) × the short- or long-term rate, net of any wash-sale disallowance; so losses
  (largest saving per dollar first) come before gains, and a gain lot is ranked by what it
  costs, not by its holding period. Ties go to a lot whose loss is not washed, then to a
  long-term lot. A short-term gain lot turning long-term within 30 days may wait (``defer``).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Literal, TypeGuard

import numpy as np
from numpy.typing import NDArray

from wealth.engine.wash import HarvestError, Purchase, Sale, replacements, wash_sales

CASH = "CASH"
_EPS = 1e-9
_FRACTION_STEP = 1e-6  # smallest fractional share traded when lots_in_whole_units=False
_DEFER_DAYS = 30  # a short-term lot turning long-term within this many days may wait
_MONEY_TOL = 0.005  # half a cent: a withdrawal this close to everything held liquidates it all


class RebalanceError(ValueError):
    """Inputs the rebalancer cannot use; ``fields`` maps each offending argument to messages."""

    def __init__(self, fields: Mapping[str, list[str]]) -> None:
        self.fields: dict[str, list[str]] = {key: list(messages) for key, messages in fields.items()}
        super().__init__("; ".join(f"{key}: {' '.join(msgs)}" for key, msgs in self.fields.items()))


@dataclass(frozen=True)
class Lot:
    """Shares of one symbol bought together in one account; ``cost_basis`` is the lot's total basis."""

    lot_id: int
    account: str
    taxable: bool
    symbol: str
    quantity: float
    cost_basis: float
    holding_start: date


@dataclass(frozen=True)
class Trade:
    """One order. ``amount`` = quantity × price (positive for both sides); sells name their lot."""

    account: str
    symbol: str
    side: Literal["buy", "sell"]
    quantity: float
    price: float
    amount: float
    lot_id: int | None
    realized_gain: float
    short_term: bool | None
    tax: float


@dataclass(frozen=True)
class RebalancePlan:
    """Trades and their effect. Weights include ``"CASH"``; ``tax`` is the sum of the trades' tax."""

    trades: tuple[Trade, ...]
    drift_before: float
    drift_after: float
    tax: float
    weights_before: dict[str, float]
    weights_after: dict[str, float]
    cash_after: dict[str, float]
    reasons: tuple[str, ...]
    # The account a cash flow is paid into or taken from (None without a cash flow).
    cash_flow_account: str | None = None


def drift(weights: NDArray[np.float64], target: NDArray[np.float64]) -> float:
    """½·Σ|w − target|: the one-way share of the portfolio away from target."""
    w = np.asarray(weights, dtype=np.float64)
    t = np.asarray(target, dtype=np.float64)
    if w.shape != t.shape or w.ndim != 1:
        raise RebalanceError({"weights": [f"weights {w.shape} and target {t.shape} must be vectors of one length."]})
    if not (np.all(np.isfinite(w)) and np.all(np.isfinite(t))):
        raise RebalanceError({"weights": ["Weights and target must be finite numbers."]})
    return float(0.5 * np.abs(w - t).sum())


def long_term_date(holding_start: date) -> date:
    """First sale date giving a long-term result: one calendar year after the day after ``holding_start``.

    IRS Pub. 550: start counting on the day after acquisition; more than one year is long-term.
    Counting from the day after a 29 February (1 March) lands on 1 March; a count starting on a
    29 February ends a year later on 28 February, so long-term starts on 1 March.
    """
    start = holding_start + timedelta(days=1)
    try:
        return start.replace(year=start.year + 1)
    except ValueError:  # the count starts on 29 February and next year has none
        return date(start.year + 1, 3, 1)


def is_short_term(holding_start: date, sale_date: date) -> bool:
    """True when a sale on ``sale_date`` of shares held since ``holding_start`` is held one year or less."""
    return sale_date < long_term_date(holding_start)


def _finite(x: object) -> TypeGuard[float]:
    """A real number (not a bool) that is neither NaN nor infinite."""
    return isinstance(x, numbers.Real) and not isinstance(x, bool) and math.isfinite(x)


def _pct(x: float) -> str:
    return f"{x * 100:.1f} %"


def _money(x: float) -> str:
    return f"-${-x:,.0f}" if x < 0 else f"${x:,.0f}"


def _qty(q: float) -> str:
    return f"{q:,.0f}" if abs(q - round(q)) < _EPS else f"{q:,.6f}".rstrip("0")


class _Book:
    """The mutable state of a plan being built: lot remainders, purchases and cash per account."""

    def __init__(
        self,
        lots: Sequence[Lot],
        cash: Mapping[str, float],
        prices: Mapping[str, float],
        *,
        as_of: date,
        whole: bool,
        rate_short: float,
        rate_long: float,
        purchases: Sequence[Purchase] = (),
    ) -> None:
        self.lots = list(lots)
        self.remaining = {lot.lot_id: float(lot.quantity) for lot in lots}
        self.bought: dict[tuple[str, str], float] = {}
        self.cash = {account: float(value) for account, value in cash.items()}
        self.prices = {symbol: float(price) for symbol, price in prices.items()}
        self.as_of = as_of
        self.whole = whole
        self.rate_short = rate_short
        self.rate_long = rate_long
        self.trades: list[Trade] = []
        self.sold: set[str] = set()  # symbols sold at a loss in a taxable account
        self.bought_symbols: set[str] = set()
        self.reasons: list[str] = []
        self.purchases = list(purchases)
        self.wash_used = [0.0] * len(self.purchases)  # replacement shares already used per purchase

    def symbols(self) -> list[str]:
        held = {lot.symbol for lot in self.lots} | {symbol for _, symbol in self.bought}
        return sorted(held)

    def value(self, symbol: str) -> float:
        qty = sum(self.remaining[lot.lot_id] for lot in self.lots if lot.symbol == symbol)
        qty += sum(q for (_, s), q in self.bought.items() if s == symbol)
        return qty * self.prices[symbol] if qty else 0.0

    def total_cash(self) -> float:
        return sum(self.cash.values())

    def total(self) -> float:
        return sum(self.value(s) for s in self.symbols()) + self.total_cash()

    def weights(self, universe: Sequence[str]) -> dict[str, float]:
        total = self.total()
        out = {s: (self.value(s) / total if total > 0 else 0.0) for s in universe if s != CASH}
        out[CASH] = self.total_cash() / total if total > 0 else 0.0
        return out

    def round_qty(self, qty: float, mode: Literal["down", "up"]) -> float:
        step = 1.0 if self.whole else _FRACTION_STEP
        units = qty / step
        n = math.floor(units + _EPS) if mode == "down" else math.ceil(units - _EPS)
        return max(n, 0) * step

    def open_purchases(self) -> list[Purchase]:
        """The recent purchases with the replacement shares this plan has not used yet."""
        return [
            replace(p, available=max((p.quantity if p.available is None else p.available) - used, 0.0))
            for p, used in zip(self.purchases, self.wash_used, strict=True)
        ]

    def loss_sale(self, lot: Lot, qty: float) -> Sale:
        price = self.prices[lot.symbol]
        basis = lot.cost_basis * qty / lot.quantity
        return Sale(lot.account, lot.symbol, self.as_of, qty, qty * price, basis, lot.holding_start, lot.lot_id)

    def washed_share(self, lot: Lot, qty: float) -> float:
        """The share (0–1) of a taxable loss on ``qty`` shares a recent purchase would wash."""
        if not self.purchases or qty <= _EPS:
            return 0.0
        matched = sum(shares for _, shares in replacements(self.loss_sale(lot, qty), self.open_purchases()))
        return min(matched / qty, 1.0)

    def lot_order(self, lot: Lot, qty: float | None = None) -> tuple[int, float, bool, bool, int]:
        """Tax cost ranking: tax-advantaged lots first, then taxable lots by tax per dollar sold
        (gain ÷ value × the applicable rate, net of the wash-sale disallowance on selling ``qty``
        shares, default the whole remainder): losses with the largest saving first, then the
        cheapest gains. Ties: an unwashed lot, then a long-term one."""
        if not lot.taxable:
            return (0, 0.0, False, False, lot.lot_id)
        price = self.prices[lot.symbol]
        gain_per_dollar = (price - lot.cost_basis / lot.quantity) / price
        short = is_short_term(lot.holding_start, self.as_of)
        rate = self.rate_short if short else self.rate_long
        washed = 0.0
        if gain_per_dollar < 0:
            washed = self.washed_share(lot, self.remaining[lot.lot_id] if qty is None else qty)
        # Rounded so that equal costs computed along different paths tie exactly.
        tax_per_dollar = round(gain_per_dollar * rate * (1.0 - washed), 12) + 0.0
        return (1, tax_per_dollar, washed > 0, short, lot.lot_id)

    def short_term_gain(self, lot: Lot) -> bool:
        price = self.prices[lot.symbol]
        return lot.taxable and price * lot.quantity > lot.cost_basis and is_short_term(lot.holding_start, self.as_of)

    def wash(self, lot: Lot, qty: float) -> float:
        """Record the wash sales a taxable loss sale of ``qty`` shares triggers; the disallowed loss."""
        if not self.purchases:
            return 0.0
        open_now = self.open_purchases()
        sale = self.loss_sale(lot, qty)
        try:
            matched = replacements(sale, open_now)
            washes = wash_sales(sale, open_now)
        except HarvestError as exc:  # validated up front; kept so bad input can never escape as a crash
            raise RebalanceError({"purchases": [str(exc)]}) from None
        for p, shares in matched:
            index = next(i for i, q in enumerate(open_now) if q is p)
            self.wash_used[index] += shares
        disallowed = sum(w.disallowed_loss for w in washes)
        if matched:
            first = matched[0][0]
            lost = all(not p.taxable for p, _ in matched)
            where = (
                "lost for good: the replacement is in a tax-advantaged account (Rev. Rul. 2008-5)"
                if lost
                else "added to the replacement shares' basis"
            )
            self.reasons.append(
                f"Wash sale: {_money(disallowed)} of the loss on lot #{lot.lot_id} ({lot.account}) is disallowed by "
                f"the purchase of {_qty(first.quantity)} sh {lot.symbol} in {first.account} on "
                f"{first.trade_date.isoformat()} (within 30 days); it saves no tax now and is {where}."
            )
        return disallowed

    def sell_lot(self, lot: Lot, qty: float) -> Trade:
        price = self.prices[lot.symbol]
        proceeds = qty * price
        if lot.taxable:
            gain = proceeds - lot.cost_basis * qty / lot.quantity
            short: bool | None = is_short_term(lot.holding_start, self.as_of)
            disallowed = self.wash(lot, qty) if gain < 0 else 0.0
            tax = (gain + disallowed) * (self.rate_short if short else self.rate_long)
        else:
            gain, short, tax = 0.0, None, 0.0
        trade = Trade(lot.account, lot.symbol, "sell", qty, price, proceeds, lot.lot_id, gain, short, tax)
        self.remaining[lot.lot_id] -= qty
        if self.remaining[lot.lot_id] < _EPS:
            self.remaining[lot.lot_id] = 0.0
        self.cash[lot.account] = self.cash.get(lot.account, 0.0) + proceeds
        if abs(self.cash[lot.account]) < _EPS:  # float dust from funding a withdrawal exactly
            self.cash[lot.account] = 0.0
        self.trades.append(trade)
        if gain < 0:
            self.sold.add(lot.symbol)  # bought back now, the loss would be a wash sale
        return trade

    def sell(
        self,
        symbol: str,
        amount: float,
        *,
        account: str | None,
        funding: bool,
        defer: bool,
    ) -> float:
        """Sell about ``amount`` of ``symbol`` lot by lot in tax order; returns the proceeds.

        Rounds down, or up when ``funding`` (cash must be raised); ``defer`` lets a short-term gain lot that
        turns long-term within 30 days wait (and says so)."""
        price = self.prices[symbol]
        lots = [
            lot
            for lot in self.lots
            if lot.symbol == symbol and self.remaining[lot.lot_id] > 0 and (account is None or lot.account == account)
        ]
        held = sum(self.remaining[lot.lot_id] for lot in lots)
        # Selling everything needs no rounding (a fractional remainder would otherwise stay behind).
        left = held if amount / price >= held - _EPS else self.round_qty(amount / price, "up" if funding else "down")
        proceeds = 0.0
        wanted = left  # rank each loss lot by the washed share of what it would actually sell
        for lot in sorted(lots, key=lambda lot: self.lot_order(lot, min(self.remaining[lot.lot_id], wanted))):
            if left <= _EPS:
                break
            qty = min(self.remaining[lot.lot_id], left)
            short_gain = self.short_term_gain(lot)
            if short_gain and defer:
                becomes = long_term_date(lot.holding_start)
                days = (becomes - self.as_of).days
                if days <= _DEFER_DAYS:
                    self.reasons.append(
                        f"Deferred the sale of {_qty(qty)} sh {symbol} from lot #{lot.lot_id} ({lot.account}): "
                        f"a short-term gain that turns long-term on {becomes.isoformat()} (in {days} days)."
                    )
                    continue
            trade = self.sell_lot(lot, qty)
            proceeds += trade.amount
            left -= qty
            if short_gain:
                self.reasons.append(
                    f"Sold {_qty(qty)} sh {symbol} from lot #{lot.lot_id} ({lot.account}) at a short-term gain of "
                    f"{_money(trade.realized_gain)}: no lot left cost less tax per dollar sold."
                )
        return proceeds

    def buy(self, symbol: str, amount: float, account: str) -> float:
        """Buy up to ``amount`` of ``symbol`` in ``account`` (never more than its cash); returns the cost."""
        price = self.prices[symbol]
        amount = min(amount, self.cash.get(account, 0.0))
        qty = self.round_qty(amount / price, "down")
        while qty > 0 and qty * price > self.cash[account]:
            qty -= 1.0 if self.whole else _FRACTION_STEP
        if qty <= _EPS:
            return 0.0
        cost = qty * price
        self.cash[account] = max(self.cash[account] - cost, 0.0)
        self.bought[(account, symbol)] = self.bought.get((account, symbol), 0.0) + qty
        self.bought_symbols.add(symbol)
        self.trades.append(Trade(account, symbol, "buy", qty, price, cost, None, 0.0, None, 0.0))
        return cost


def _validate(
    lots: Sequence[Lot],
    cash: Mapping[str, float],
    prices: Mapping[str, float],
    target: Mapping[str, float],
    as_of: date,
    numbers: Mapping[str, float],
    purchases: Sequence[Purchase] = (),
) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}

    def add(name: str, message: str) -> None:
        errors.setdefault(name, []).append(message)

    seen: set[int] = set()
    taxable: dict[str, bool] = {}
    for lot in lots:
        if lot.lot_id in seen:
            add("lots", f"Lot #{lot.lot_id} appears twice.")
        seen.add(lot.lot_id)
        if not (_finite(lot.quantity) and lot.quantity >= 0):
            add("lots", f"Lot #{lot.lot_id} has a negative or non-finite quantity.")
        if not (_finite(lot.cost_basis) and lot.cost_basis >= 0):
            add("lots", f"Lot #{lot.lot_id} has a negative or non-finite cost basis.")
        if not isinstance(lot.holding_start, date):
            add("lots", f"Lot #{lot.lot_id} has no holding start date.")
        elif lot.holding_start > as_of:
            add("lots", f"Lot #{lot.lot_id} is held from {lot.holding_start.isoformat()}, after {as_of.isoformat()}.")
        if taxable.setdefault(lot.account, lot.taxable) != lot.taxable:
            add("lots", f"Account {lot.account} has both taxable and tax-advantaged lots.")
        price = prices.get(lot.symbol)
        if not (_finite(price) and price > 0):
            add("prices", f"No positive price for {lot.symbol}.")
    for account, value in cash.items():
        if not (_finite(value) and value >= 0):
            add("cash", f"Cash in {account} must be a number ≥ 0.")
    weights_total = 0.0
    for symbol, weight in target.items():
        if not (_finite(weight) and 0 <= weight <= 1):
            add("target", f"Target weight of {symbol} must be between 0 and 1.")
            continue
        weights_total += weight
        if symbol != CASH:
            price = prices.get(symbol)
            if not (_finite(price) and price > 0):
                add("prices", f"No positive price for {symbol}.")
    if weights_total > 1 + 1e-6:
        add("target", f"Target weights add up to {_pct(weights_total)}, more than 100 %.")
    elif CASH in target and abs(weights_total - 1) > 1e-6:
        add("target", f"Target weights including CASH add up to {_pct(weights_total)}, not 100 %.")
    for name in ("band", "asset_band", "tax_rate_short", "tax_rate_long"):
        value = numbers[name]
        if not (_finite(value) and 0 <= value <= 1):
            add(name, f"{name} must be between 0 and 1.")
    min_trade = numbers["min_trade"]
    if not (_finite(min_trade) and min_trade >= 0):
        add("min_trade", "min_trade must be a number ≥ 0.")
    if not _finite(numbers["cash_flow"]):
        add("cash_flow", "cash_flow must be a finite number.")
    for p in purchases:
        if not isinstance(p, Purchase):
            add("purchases", "Every recent purchase must be a Purchase.")
            continue
        if not (_finite(p.quantity) and p.quantity >= 0 and isinstance(p.trade_date, date)):
            add("purchases", f"Purchase of {p.symbol}: quantity must be a number ≥ 0 and trade_date a date.")
        elif p.available is not None and not (_finite(p.available) and 0 <= p.available <= p.quantity):
            add("purchases", f"Purchase of {p.symbol} on {p.trade_date}: available must be between 0 and its quantity.")
    if "prices" in errors:
        errors["prices"] = sorted(set(errors["prices"]))
    return errors


def _flow_account(
    accounts: Mapping[str, bool], cash_flow: float, cash_flow_account: str | None
) -> tuple[str | None, dict[str, list[str]]]:
    if cash_flow == 0:
        return None, {}
    if cash_flow_account is not None:
        if cash_flow_account not in accounts:
            return None, {"cash_flow_account": [f"Unknown account {cash_flow_account}."]}
        return cash_flow_account, {}
    taxable = sorted(a for a, is_taxable in accounts.items() if is_taxable)
    if not taxable:
        return None, {"cash_flow_account": ["No taxable account for the cash flow: name one."]}
    return taxable[0], {}


def _deposit(book: _Book, account: str, target: Mapping[str, float], universe: Sequence[str], min_trade: float) -> None:
    """A deposit buys the most underweight assets first, each up to its target."""
    total = book.total()
    budget = min(book.cash[account], book.total_cash() - target.get(CASH, 0.0) * total)
    weights = book.weights(universe)
    short = sorted((weights[s] - target.get(s, 0.0), s) for s in universe if s != CASH)
    for gap, symbol in short:
        if gap >= 0 or budget < min_trade:
            break
        want = min(-gap * total, budget)
        if want >= min_trade:
            budget -= book.buy(symbol, want, account)


def _withdraw(book: _Book, account: str, target: Mapping[str, float], universe: Sequence[str]) -> None:
    """A withdrawal sells the most overweight assets held in the account until its cash is ≥ 0."""
    total = book.total()
    weights = book.weights(universe)
    order = sorted(((weights[s] - target.get(s, 0.0), s) for s in universe if s != CASH), reverse=True)
    # First pass: only down to target; second pass: whatever is still needed, least underweight first.
    for first_pass in (True, False):
        for gap, symbol in order:
            need = -book.cash[account]
            if need <= _EPS:
                return
            if first_pass and gap <= 0:
                continue
            amount = min(need, gap * total) if first_pass else need
            book.sell(symbol, amount, account=account, funding=True, defer=False)


def _cash_flow(
    book: _Book, account: str, amount: float, goal: Mapping[str, float], universe: Sequence[str], min_trade: float
) -> None:
    held = book.cash[account] + sum(
        book.remaining[lot.lot_id] * book.prices[lot.symbol] for lot in book.lots if lot.account == account
    )
    if amount < 0 and held + amount < -_MONEY_TOL:
        message = f"Withdrawal of {_money(-amount)} exceeds the {_money(held)} in {account}."
        raise RebalanceError({"cash_flow": [message]})
    if amount < 0 and held + amount < 0:
        amount = -held  # within half a cent of everything held: liquidate, never leave cash below zero
    book.cash[account] += amount
    if abs(book.cash[account]) < _EPS:
        book.cash[account] = 0.0
    if amount > 0:
        book.reasons.append(f"Deposit of {_money(amount)} into {account} buys the most underweight assets first.")
        _deposit(book, account, goal, universe, min_trade)
    else:
        book.reasons.append(f"Withdrawal of {_money(-amount)} from {account} sells the most overweight assets first.")
        _withdraw(book, account, goal, universe)


def _sell_plan(
    over: Mapping[str, float], cash_gap: float, total: float, band: float, asset_band: float
) -> dict[str, float]:
    """Dollar sales per symbol: assets above target by more than ``asset_band``, or every
    overweight asset when selling only those would leave the portfolio outside ``band``."""
    under = sum(-x for x in over.values() if x < 0)
    wide = {s: x for s, x in over.items() if x > asset_band * total}
    budget = cash_gap + sum(wide.values())
    filled = min(max(budget, 0.0), under)
    left_over = sum(x for s, x in over.items() if x > 0 and s not in wide)
    projected = 0.5 * (left_over + (under - filled) + abs(budget - filled)) / total
    if projected > band:
        return {s: x for s, x in over.items() if x > 0}
    return wide


def rebalance(
    lots: Sequence[Lot],
    cash: Mapping[str, float],
    prices: Mapping[str, float],
    target: Mapping[str, float],
    as_of: date,
    *,
    band: float = 0.05,
    asset_band: float = 0.03,
    cash_flow: float = 0.0,
    tax_rate_short: float,
    tax_rate_long: float,
    min_trade: float = 100.0,
    lots_in_whole_units: bool = True,
    cash_flow_account: str | None = None,
    account_taxable: Mapping[str, bool] | None = None,
    purchases: Sequence[Purchase] = (),
) -> RebalancePlan:
    """Trades that bring the client back to ``target`` at the least tax, with their reasons.

    Steps: (1) a cash flow (+ deposit / − withdrawal) into ``cash_flow_account`` or else the first
    taxable account in alphabetical order: a deposit buys the most underweight assets, a
    withdrawal sells the most overweight ones held in that account; (2) if drift is then above
    ``band``, sell assets more than ``asset_band`` above target (all overweight ones if that
    would not end inside ``band``) and buy the underweight ones, most underweight first, with
    the cash each account has. Sales pick lots in tax order (module docstring). Accounts holding
    only cash are taxable unless ``account_taxable`` says otherwise. ``purchases`` are the buys
    of the last 30 days in any of the client's accounts (IRAs included): a taxable loss sale
    they would wash saves no tax for the washed part, and its lots rank by that net saving.
    A withdrawal of everything held (to half a cent) liquidates the account.
    """
    numbers = {
        "band": band,
        "asset_band": asset_band,
        "tax_rate_short": tax_rate_short,
        "tax_rate_long": tax_rate_long,
        "min_trade": min_trade,
        "cash_flow": cash_flow,
    }
    if not isinstance(as_of, date):
        raise RebalanceError({"as_of": ["as_of must be a date."]})
    errors = _validate(lots, cash, prices, target, as_of, numbers, purchases)
    if errors:
        raise RebalanceError(errors)
    accounts: dict[str, bool] = dict.fromkeys(cash, True)
    accounts.update(dict(account_taxable or {}))
    accounts.update({lot.account: lot.taxable for lot in lots})
    flow_account, flow_errors = _flow_account(accounts, cash_flow, cash_flow_account)
    if flow_errors:
        raise RebalanceError(flow_errors)

    live = [lot for lot in lots if lot.quantity > 0]
    book = _Book(
        live,
        {a: float(cash.get(a, 0.0)) for a in accounts},
        prices,
        as_of=as_of,
        whole=lots_in_whole_units,
        rate_short=tax_rate_short,
        rate_long=tax_rate_long,
        purchases=purchases,
    )
    goal = {s: float(w) for s, w in target.items() if s != CASH}
    goal[CASH] = float(target[CASH]) if CASH in target else max(0.0, 1.0 - sum(goal.values()))
    universe = [*sorted(set(book.symbols()) | set(goal) - {CASH}), CASH]
    for symbol in universe:
        goal.setdefault(symbol, 0.0)

    total_before = book.total()
    if total_before + cash_flow < -_MONEY_TOL or (total_before + cash_flow <= 0 and cash_flow >= 0):
        if cash_flow < 0:
            message = f"Withdrawal of {_money(-cash_flow)} exceeds the {_money(total_before)} held."
            raise RebalanceError({"cash_flow": [message]})
        raise RebalanceError({"lots": ["Nothing to rebalance: no holdings and no cash."]})
    weights_before = book.weights(universe)
    drift_before = 0.5 * sum(abs(weights_before[s] - goal[s]) for s in universe)

    if flow_account is not None:
        _cash_flow(book, flow_account, cash_flow, goal, universe, min_trade)

    weights_mid = book.weights(universe)
    drift_mid = 0.5 * sum(abs(weights_mid[s] - goal[s]) for s in universe)
    if book.total() <= _MONEY_TOL:
        book.reasons.append("Everything held is withdrawn: nothing is left to rebalance.")
    elif drift_mid <= band:
        book.reasons.append(f"Drift {_pct(drift_mid)} is within the {_pct(band)} band: no rebalancing trades.")
    else:
        book.reasons.append(f"Drift {_pct(drift_mid)} is above the {_pct(band)} band: rebalancing.")
        _rebalance_trades(
            book, goal, universe, band=band, asset_band=asset_band, drift_now=drift_mid, min_trade=min_trade
        )

    weights_after = book.weights(universe)
    drift_after = 0.5 * sum(abs(weights_after[s] - goal[s]) for s in universe)
    tax = sum(trade.tax for trade in book.trades)
    if book.trades:
        gains = sum(t.realized_gain for t in book.trades if t.side == "sell" and t.realized_gain > 0)
        losses = sum(t.realized_gain for t in book.trades if t.side == "sell" and t.realized_gain < 0)
        book.reasons.append(
            f"Estimated tax {_money(tax)} on realised gains of {_money(gains)} and losses of {_money(losses)}; "
            f"drift goes from {_pct(drift_before)} to {_pct(drift_after)}."
        )
    return RebalancePlan(
        trades=tuple(book.trades),
        drift_before=drift_before,
        drift_after=drift_after,
        tax=tax,
        weights_before=weights_before,
        weights_after=weights_after,
        cash_after=dict(book.cash),
        reasons=tuple(book.reasons),
        cash_flow_account=flow_account,
    )


def _rebalance_trades(
    book: _Book,
    goal: Mapping[str, float],
    universe: Sequence[str],
    *,
    band: float,
    asset_band: float,
    drift_now: float,
    min_trade: float,
) -> None:
    total = book.total()
    weights = book.weights(universe)
    over = {s: (weights[s] - goal[s]) * total for s in universe if s != CASH}
    sells = _sell_plan(over, (weights[CASH] - goal[CASH]) * total, total, band, asset_band)
    # A short-term gain close to turning long-term may wait while drift is under twice the band.
    defer = drift_now < 2 * band
    for symbol, amount in sorted(sells.items(), key=lambda item: -item[1]):
        if amount < min_trade or symbol in book.bought_symbols:
            continue
        book.reasons.append(
            f"{symbol} is {_pct(weights[symbol] - goal[symbol])} above its {_pct(goal[symbol])} target: "
            f"sell about {_money(amount)}."
        )
        before = len(book.reasons)
        book.sell(symbol, amount, account=None, funding=False, defer=defer)
        if defer and any(r.startswith("Deferred") for r in book.reasons[before:]):
            book.reasons.append(f"Drift {_pct(drift_now)} is under twice the {_pct(band)} band, so the sale can wait.")

    total = book.total()
    weights = book.weights(universe)
    budget = book.total_cash() - goal[CASH] * total
    for gap, symbol in sorted((weights[s] - goal[s], s) for s in universe if s != CASH):
        if gap >= 0 or budget < min_trade:
            break
        want = min(-gap * total, budget)
        if want < min_trade or symbol in book.sold:
            continue
        book.reasons.append(
            f"{symbol} is {_pct(-gap)} below its {_pct(goal[symbol])} target: buy about {_money(want)}."
        )
        for account in sorted(book.cash, key=lambda a: -book.cash[a]):
            piece = min(want, book.cash[account], budget)
            if piece < min_trade:
                continue
            spent = book.buy(symbol, piece, account)
            want -= spent
            budget -= spent
