"""Deciding a recommendation: accept (book its trades) or decline (with a note).

Accepting books the trades at their proposed prices on the proposal's price date
(``explanation["as_of"]``, the day the prices are from), sells first so their proceeds can pay
for the buys, all in one transaction with the recommendation row locked (``select_for_update``),
so a second accept waits and then finds it no longer "proposed" (Conflict), never booking twice.

* A sale reduces the named lot (basis, wash-sale adjustment and matched shares pro rata), records
  the realised gain (taxable accounts), whether it is short-term (IRS Pub. 550: held one year or
  less), the lot sold and its holding start, and credits the proceeds to the account's cash.
* A buy debits the account's cash (never below zero: Conflict), opens a lot and records it.
* Wash sales (IRS Pub. 550, Treas. Reg. §1.1091-1, engine ``wash_sales``): a loss sale in a
  taxable account is matched against the lots of the same symbol bought in any of the client's
  accounts within 30 days before it, and a buy is matched against the client's loss sales of the
  last 30 days, oldest first. Each replacement share washes one sold share at most and each sold
  share is washed once: only a lot's shares not yet used (``quantity − wash_matched_quantity``)
  and a sale's shares not yet washed (its ``wash_matched_quantity``) are matched, and both counts
  grow by the shares matched. The disallowed loss is recorded on the sale's transaction
  (``wash_sale_disallowed``), added to the replacement lot's basis (not for a tax-advantaged
  replacement: the loss is lost, Rev. Rul. 2008-5) and the replacement's holding period includes
  the sold shares' (IRC §1223(3)); a partly matched lot is split so only the matched shares carry
  the adjustment, the moved holding start and the matched count.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from audit.services import audit_record
from core.errors import Conflict
from portfolios.models import Instrument
from wealth.engine.rebalance import is_short_term
from wealth.engine.wash import HarvestError, Purchase, Sale, WashSale, wash_sales
from wealth.models import Recommendation, TaxLot, WealthAccount, WealthTransaction
from wealth.services._common import engine_failed, fail, json_safe, money, price, qty
from wealth.services.state import as_of_default

WASH_WINDOW = dt.timedelta(days=30)
_ZERO = Decimal(0)


def _trade_date(reco: Recommendation) -> dt.date:
    raw = (reco.explanation or {}).get("as_of")
    try:
        return dt.date.fromisoformat(str(raw)[:10]) if raw else as_of_default()
    except ValueError:
        return as_of_default()


def _parse_trades(reco: Recommendation, accounts: dict[str, WealthAccount]) -> list[dict[str, Any]]:
    symbols = {str(t.get("symbol")) for t in reco.trades if isinstance(t, dict)}
    instruments = {i.symbol: i for i in Instrument.objects.filter(symbol__in=symbols)}
    out, errors = [], []
    for k, t in enumerate(reco.trades):
        try:
            parsed = {
                "account": accounts[t["account"]],
                "instrument": instruments[t["symbol"]],
                "side": t["side"],
                "quantity": qty(t["quantity"]),
                "price": price(t["price"]),
                "lot_id": t.get("lot_id"),
            }
        except (KeyError, TypeError, ValueError, ArithmeticError):
            errors.append(f"Trade {k + 1} names an unknown account or instrument, or is malformed.")
            continue
        if parsed["side"] not in ("buy", "sell") or parsed["quantity"] <= 0 or parsed["price"] <= 0:
            errors.append(f"Trade {k + 1}: side must be buy or sell with a positive quantity and price.")
            continue
        out.append(parsed)
    if errors:
        raise fail("The recommendation's trades cannot be booked.", {"trades": errors})
    return out


def _unmatched(lot: TaxLot) -> Decimal:
    """Shares of ``lot`` not yet used as replacement shares (Treas. Reg. §1.1091-1(e))."""
    return max(lot.quantity - lot.wash_matched_quantity, _ZERO)


def _purchase(lot: TaxLot) -> Purchase:
    return Purchase(
        account=lot.account.code,
        taxable=lot.account.is_taxable,
        symbol=lot.instrument.symbol,
        trade_date=lot.acquired_on,
        quantity=float(lot.quantity),
        price=float(lot.cost_basis / lot.quantity) if lot.quantity else 0.0,
        lot_id=lot.pk,
        available=float(_unmatched(lot)),
    )


def _apply_to_lot(lot: TaxLot, ws: WashSale) -> tuple[TaxLot, TaxLot | None]:
    """Move the washed shares' adjustment onto ``lot``; when fewer shares than the lot holds are
    washed they are split off into a new lot first. Returns (the washed lot, the rest or None)."""
    shares = min(qty(ws.shares), _unmatched(lot))
    target, rest = lot, None
    if shares < lot.quantity:
        # The split-off shares are unmatched ones: their basis is the purchase price, without the
        # adjustment the lot's matched shares may already carry.
        part = ((lot.cost_basis - lot.wash_sale_adjustment) * shares / lot.quantity).quantize(Decimal("0.0001"))
        target = TaxLot.objects.create(
            account=lot.account,
            instrument=lot.instrument,
            acquired_on=lot.acquired_on,
            holding_start=lot.holding_start,
            quantity=shares,
            cost_basis=part,
        )
        lot.quantity -= shares
        lot.cost_basis -= part
        lot.save(update_fields=["quantity", "cost_basis"])
        rest = lot
    added = money(ws.basis_added)
    target.cost_basis += added
    target.wash_sale_adjustment += added
    target.wash_matched_quantity += shares
    target.holding_start = min(target.holding_start, ws.holding_start, target.acquired_on)
    target.save(update_fields=["cost_basis", "wash_sale_adjustment", "wash_matched_quantity", "holding_start"])
    return target, rest


def _wash_record(ws: WashSale, sale_txn: WealthTransaction, lot: TaxLot) -> dict[str, Any]:
    sale_txn.wash_sale_disallowed += money(ws.disallowed_loss)
    sale_txn.wash_matched_quantity += qty(ws.shares)
    sale_txn.save(update_fields=["wash_sale_disallowed", "wash_matched_quantity"])
    record: dict[str, Any] = json_safe(
        {
            "sale_transaction": sale_txn.pk,
            "replacement_lot": lot.pk,
            "replacement_account": ws.replacement_account,
            "shares": ws.shares,
            "disallowed_loss": ws.disallowed_loss,
            "basis_added": ws.basis_added,
            "holding_start": ws.holding_start,
        }
    )
    return record


def _wash_by_earlier_purchases(
    txn: WealthTransaction, sold: TaxLot, basis: Decimal, proceeds: Decimal, washes: list[dict[str, Any]]
) -> None:
    """Match a loss sale against lots bought in the 30 days before it (their unused shares)."""
    day = txn.trade_date
    replacements = (
        TaxLot.objects.select_for_update(of=("self",))
        .filter(
            account__client=txn.account.client,
            instrument=txn.instrument,
            quantity__gt=0,
            acquired_on__gte=day - WASH_WINDOW,
            acquired_on__lte=day,
        )
        .exclude(pk=sold.pk)
        .select_related("account", "instrument")
        .order_by("acquired_on", "id")
    )
    by_id = {r.pk: r for r in replacements if _unmatched(r) > 0}
    if not by_id:
        return
    sale = Sale(
        account=txn.account.code,
        symbol=txn.instrument.symbol,
        trade_date=day,
        quantity=float(txn.quantity),
        proceeds=float(proceeds),
        cost_basis=float(basis),
        holding_start=txn.holding_start or day,
        lot_id=sold.pk,
        matched=float(txn.wash_matched_quantity),
    )
    try:
        found = wash_sales(sale, [_purchase(r) for r in by_id.values()])
    except HarvestError as exc:
        raise engine_failed(exc) from exc
    for ws in found:
        if ws.replacement_lot_id in by_id:
            washed, _ = _apply_to_lot(by_id[ws.replacement_lot_id], ws)
            washes.append(_wash_record(ws, txn, washed))


def _sell(t: dict[str, Any], day: dt.date, reco: Recommendation, washes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    account, instrument, quantity = t["account"], t["instrument"], t["quantity"]
    lots = TaxLot.objects.select_for_update(of=("self",)).filter(account=account, instrument=instrument, quantity__gt=0)
    if t["lot_id"] is not None:
        lots = lots.filter(pk=t["lot_id"])
    chosen = list(lots.order_by("acquired_on", "id"))
    if sum((lot.quantity for lot in chosen), _ZERO) < quantity:
        raise Conflict(
            f"The {instrument.symbol} holding in {account.code} changed since this was proposed; propose again."
        )
    booked = []
    left = quantity
    for lot in chosen:
        if left <= 0:
            break
        take = min(left, lot.quantity)
        left -= take
        basis = (lot.cost_basis * take / lot.quantity).quantize(Decimal("0.0001"))
        adjustment = (lot.wash_sale_adjustment * take / lot.quantity).quantize(Decimal("0.0001"))
        matched = min(qty(lot.wash_matched_quantity * take / lot.quantity), lot.wash_matched_quantity)
        proceeds = money(take * t["price"])
        gain = proceeds - basis
        short = is_short_term(lot.holding_start, day)
        txn = WealthTransaction.objects.create(
            account=account,
            instrument=instrument,
            trade_date=day,
            side=WealthTransaction.Side.SELL,
            quantity=take,
            price=t["price"],
            realized_gain=gain if account.is_taxable else None,
            short_term=short if account.is_taxable else None,
            lot=lot,
            holding_start=lot.holding_start,
            recommendation=reco,
        )
        lot.quantity -= take
        lot.cost_basis -= basis
        lot.wash_sale_adjustment -= adjustment
        lot.wash_matched_quantity -= matched
        lot.save(update_fields=["quantity", "cost_basis", "wash_sale_adjustment", "wash_matched_quantity"])
        account.cash += proceeds
        if account.is_taxable and gain < 0:
            _wash_by_earlier_purchases(txn, lot, basis, proceeds, washes)
        booked.append(
            {"transaction": txn.pk, "lot": lot.pk, "quantity": take, "realized_gain": gain, "short_term": short}
        )
    account.save(update_fields=["cash"])
    return booked


def _loss_sales(account: WealthAccount, instrument: Instrument, day: dt.date) -> list[WealthTransaction]:
    """The client's taxable loss sales of ``instrument`` in the 30 days up to ``day``, oldest first
    (Treas. Reg. §1.1091-1(b): losses are matched in the order of their sales)."""
    return list(
        WealthTransaction.objects.select_for_update(of=("self",))
        .filter(
            account__client=account.client,
            account__kind=WealthAccount.Kind.TAXABLE,
            instrument=instrument,
            side=WealthTransaction.Side.SELL,
            realized_gain__lt=0,
            trade_date__gte=day - WASH_WINDOW,
            trade_date__lte=day,
        )
        .select_related("account", "instrument")
        .order_by("trade_date", "id")
    )


def _buy(t: dict[str, Any], day: dt.date, reco: Recommendation, washes: list[dict[str, Any]]) -> dict[str, Any]:
    account, instrument, quantity = t["account"], t["instrument"], t["quantity"]
    cost = money(quantity * t["price"])
    if cost > account.cash:
        raise Conflict(
            f"{account.code} has ${account.cash:,.2f} in cash, less than the ${cost:,.2f} to buy {instrument.symbol}."
        )
    account.cash -= cost
    account.save(update_fields=["cash"])
    lot = TaxLot.objects.create(
        account=account, instrument=instrument, acquired_on=day, holding_start=day, quantity=quantity, cost_basis=cost
    )
    txn = WealthTransaction.objects.create(
        account=account,
        instrument=instrument,
        trade_date=day,
        side=WealthTransaction.Side.BUY,
        quantity=quantity,
        price=t["price"],
        lot=lot,
        recommendation=reco,
    )
    rest: TaxLot | None = lot
    for sale_txn in _loss_sales(account, instrument, day):
        free = rest
        if free is None or _unmatched(free) <= 0:
            break
        if sale_txn.quantity - sale_txn.wash_matched_quantity <= 0:
            continue
        proceeds = sale_txn.quantity * sale_txn.price
        sale = Sale(
            account=sale_txn.account.code,
            symbol=instrument.symbol,
            trade_date=sale_txn.trade_date,
            quantity=float(sale_txn.quantity),
            proceeds=float(proceeds),
            cost_basis=float(proceeds - sale_txn.realized_gain),  # type: ignore[operator]
            # A sale booked without its lot (imported) carries no holding period over.
            holding_start=min(sale_txn.holding_start or sale_txn.trade_date, sale_txn.trade_date),
            lot_id=sale_txn.lot_id,
            matched=float(sale_txn.wash_matched_quantity),
        )
        try:
            found = wash_sales(sale, [_purchase(free)])
        except HarvestError as exc:
            raise engine_failed(exc) from exc
        for ws in found:  # one purchase: at most one match
            washed, rest = _apply_to_lot(free, ws)
            washes.append(_wash_record(ws, sale_txn, washed))
    return {"transaction": txn.pk, "lot": lot.pk, "quantity": quantity, "cost": cost}


def _cash_flow(reco: Recommendation, accounts: dict[str, WealthAccount]) -> tuple[Decimal, WealthAccount | None]:
    """The deposit (+) or withdrawal (−) a rebalance was proposed with, and its account."""
    explanation = reco.explanation if isinstance(reco.explanation, dict) else {}
    flow = money(explanation.get("cash_flow") or 0)
    if reco.kind != Recommendation.Kind.REBALANCE or not flow:
        return Decimal(0), None
    code = explanation.get("cash_flow_account")
    if code not in accounts:
        raise Conflict("The account of this rebalance's cash flow is gone; propose the rebalance again.")
    return flow, accounts[code]


def recommendation_accept(*, actor: User | None, recommendation: Recommendation, note: str = "") -> Recommendation:
    """Accept a proposed recommendation and book its trades (module docstring). Conflict when it
    is no longer proposed (already decided or superseded) or the holdings changed since."""
    note = (note or "").strip()
    with transaction.atomic():
        reco = Recommendation.objects.select_for_update(of=("self",)).select_related("client").get(pk=recommendation.pk)
        if reco.status != Recommendation.Status.PROPOSED:
            raise Conflict(f"This recommendation is {reco.status}; only a proposed one can be accepted.")
        day = _trade_date(reco)
        accounts = {
            a.code: a
            for a in WealthAccount.objects.select_for_update(of=("self",))
            .filter(client=reco.client)
            .select_related("client")
        }
        trades = _parse_trades(reco, accounts)
        flow, flow_account = _cash_flow(reco, accounts)
        washes: list[dict[str, Any]] = []
        booked: list[Any] = []
        if flow_account is not None and flow > 0:  # a deposit arrives before the trades it pays for
            flow_account.cash += flow
            flow_account.save(update_fields=["cash"])
        for t in trades:
            if t["side"] == "sell":
                booked += _sell(t, day, reco, washes)
        for t in trades:
            if t["side"] == "buy":
                booked.append(_buy(t, day, reco, washes))
        if flow_account is not None and flow < 0:  # a withdrawal leaves after the sales that fund it
            flow_account.refresh_from_db(fields=["cash"])
            if flow_account.cash < -flow:
                raise Conflict(
                    f"{flow_account.code} has ${flow_account.cash:,.2f} in cash after the sales, less than the "
                    f"${-flow:,.2f} withdrawal; propose the rebalance again."
                )
            flow_account.cash += flow
            flow_account.save(update_fields=["cash"])
        if flow_account is not None and flow:
            booked.append({"cash_flow": flow, "account": flow_account.code})
        reco.status = Recommendation.Status.ACCEPTED
        reco.decided_by = actor
        reco.decided_at = timezone.now()
        reco.decision_note = note
        reco.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
        audit_record(
            action="wealth.recommendation.accept",
            actor=actor,
            obj=reco,
            before={"status": Recommendation.Status.PROPOSED},
            after=json_safe({"status": reco.status, "trade_date": day, "booked": booked, "wash_sales": washes}),
            parameters={"note": note, "kind": reco.kind},
            explanation={"reason": reco.reason, "explanation": reco.explanation},
        )
    recommendation.refresh_from_db()
    return reco


def recommendation_decline(*, actor: User | None, recommendation: Recommendation, note: str) -> Recommendation:
    """Decline a proposed recommendation; the note (why) is required."""
    note = (note or "").strip() if isinstance(note, str) else ""
    if not note:
        raise fail("Say why the recommendation is declined.", {"note": "This field is required."})
    with transaction.atomic():
        reco = Recommendation.objects.select_for_update(of=("self",)).get(pk=recommendation.pk)
        if reco.status != Recommendation.Status.PROPOSED:
            raise Conflict(f"This recommendation is {reco.status}; only a proposed one can be declined.")
        reco.status = Recommendation.Status.DECLINED
        reco.decided_by = actor
        reco.decided_at = timezone.now()
        reco.decision_note = note
        reco.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
        audit_record(
            action="wealth.recommendation.decline",
            actor=actor,
            obj=reco,
            before={"status": Recommendation.Status.PROPOSED},
            after={"status": reco.status},
            parameters={"note": note, "kind": reco.kind},
            explanation={"reason": reco.reason, "explanation": reco.explanation},
        )
    recommendation.refresh_from_db()
    return reco
