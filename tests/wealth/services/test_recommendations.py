"""Accepting books the trades (lots, transactions, cash) with the wash-sale rule across the
client's accounts; a recommendation is decided once; declining needs a note.

Wash-sale numbers follow IRS Pub. 550 ("Wash Sales"): a loss on shares sold is disallowed for as
many shares as are bought within 30 days before or after, in any account of the taxpayer (incl.
an IRA, where the loss is lost for good: Rev. Rul. 2008-5); the disallowed loss is added to the
replacement's basis and its holding period includes the sold shares'.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from audit.models import AuditEvent
from core.errors import Conflict, ValidationFailed
from tests.factories import ClientFactory, RecommendationFactory, TaxLotFactory, WealthAccountFactory
from tests.wealth.services.conftest import AS_OF
from tests.wealth.services.helpers import counts
from wealth.models import TaxLot, WealthTransaction
from wealth.services import harvest_propose, rebalance_propose, recommendation_accept, recommendation_decline

BOUGHT = date(2022, 10, 3)


def _trade(account, symbol, side, quantity, price, lot_id=None):
    return {"account": account.code, "symbol": symbol, "side": side, "quantity": quantity, "price": price,
            "amount": quantity * price, "lot_id": lot_id, "realized_gain": 0, "short_term": None, "tax": 0}  # fmt: skip


@pytest.fixture
def book(market, advisor, prices):
    client = ClientFactory(advisor=advisor)
    taxable = WealthAccountFactory(client=client, code="T1", kind="taxable", cash=Decimal(0))
    ira = WealthAccountFactory(client=client, code="IRA1", kind="roth_ira", cash=Decimal(20_000))
    p = round(prices["AAPL"], 4)
    # 100 AAPL bought on 3 Oct 2022 for 2,000 more than they are worth at today's close.
    lot = TaxLotFactory(account=taxable, instrument=market["AAPL"], acquired_on=BOUGHT, quantity=Decimal(100),
                        cost_basis=Decimal(str(round(100 * p + 2000, 4))))  # fmt: skip
    return {"client": client, "taxable": taxable, "ira": ira, "lot": lot, "p": p}


@pytest.mark.django_db
def test_sale_then_buys_in_ira_and_taxable_apply_the_wash_sale_rule(book, advisor, market):
    client, taxable, ira, lot, p = book["client"], book["taxable"], book["ira"], book["lot"], book["p"]
    sell = RecommendationFactory(
        client=client, kind="harvest", trades=[_trade(taxable, "AAPL", "sell", 100, p, lot.pk)]
    )
    recommendation_accept(actor=advisor, recommendation=sell, note="ok")
    sale = WealthTransaction.objects.get(side="sell")
    # Proceeds 100p, basis 100p + 2,000: a 2,000 short-term loss (held 86 days).
    assert sale.realized_gain == Decimal("-2000.0000") and sale.short_term is True and sale.trade_date == AS_OF
    taxable.refresh_from_db()
    assert taxable.cash == Decimal(str(round(100 * p, 4)))
    lot.refresh_from_db()
    assert lot.quantity == 0 and lot.cost_basis == 0

    # 40 shares bought back the same day in the Roth IRA: 40 % of the loss (800) is disallowed and
    # lost (no basis added, Rev. Rul. 2008-5); the IRA lot's holding period starts on 3 Oct.
    buy_ira = RecommendationFactory(client=client, kind="rebalance", trades=[_trade(ira, "AAPL", "buy", 40, p)])
    recommendation_accept(actor=advisor, recommendation=buy_ira)
    sale.refresh_from_db()
    assert sale.wash_sale_disallowed == Decimal("800.0000")
    ira_lot = TaxLot.objects.get(account=ira)
    assert ira_lot.cost_basis == Decimal(str(round(40 * p, 4))) and ira_lot.wash_sale_adjustment == 0
    assert ira_lot.holding_start == BOUGHT and ira_lot.acquired_on == AS_OF

    # 100 more in the taxable account: only the 60 unmatched sold shares wash (1,200 disallowed),
    # added to a 60-share lot split off the purchase; the other 40 shares are untouched.
    buy_tax = RecommendationFactory(client=client, kind="rebalance", trades=[_trade(taxable, "AAPL", "buy", 100, p)])
    recommendation_accept(actor=advisor, recommendation=buy_tax)
    sale.refresh_from_db()
    assert sale.wash_sale_disallowed == Decimal("2000.0000")
    new = {lt.quantity: lt for lt in TaxLot.objects.filter(account=taxable, acquired_on=AS_OF)}
    assert set(new) == {Decimal(60), Decimal(40)}
    assert new[Decimal(60)].wash_sale_adjustment == Decimal("1200.0000")
    assert new[Decimal(60)].cost_basis == Decimal(str(round(60 * p + 1200, 4)))
    assert new[Decimal(60)].holding_start == BOUGHT and new[Decimal(40)].holding_start == AS_OF
    event = AuditEvent.objects.filter(action="wealth.recommendation.accept").latest("id")
    assert event.after["wash_sales"][0]["disallowed_loss"] == pytest.approx(1200.0)
    assert event.explanation["reason"] == buy_tax.reason


@pytest.mark.django_db
def test_loss_sale_after_a_recent_purchase_in_another_account_is_washed(book, advisor, market):
    client, taxable, ira, lot, p = book["client"], book["taxable"], book["ira"], book["lot"], book["p"]
    recent = TaxLotFactory(account=ira, instrument=market["AAPL"], acquired_on=AS_OF - timedelta(days=10),
                           quantity=Decimal(30), cost_basis=Decimal(str(round(30 * p, 4))))  # fmt: skip
    sell = RecommendationFactory(
        client=client, kind="harvest", trades=[_trade(taxable, "AAPL", "sell", 100, p, lot.pk)]
    )
    recommendation_accept(actor=advisor, recommendation=sell)
    sale = WealthTransaction.objects.get(side="sell")
    assert sale.wash_sale_disallowed == Decimal("600.0000")  # 30 of 100 shares × 20 a share
    recent.refresh_from_db()
    # IRA replacement: no basis added. Its holding period includes the sold shares' (IRC §1223(3)),
    # but it was bought while they were still held, so the overlap counts once: it starts on the
    # sold shares' own start, 3 Oct (not 86 days before its own purchase).
    assert recent.cost_basis == Decimal(str(round(30 * p, 4)))
    assert recent.holding_start == BOUGHT and recent.wash_matched_quantity == 30
    assert sale.lot_id == lot.pk and sale.holding_start == BOUGHT and sale.wash_matched_quantity == 30


@pytest.mark.django_db
def test_harvest_proposal_accepted_sells_the_lot_and_buys_the_substitute(book, advisor):
    reco = harvest_propose(actor=advisor, client=book["client"])
    assert reco is not None and reco.tax_effect < 0
    sides = [(t["side"], t["symbol"]) for t in reco.trades]
    assert sides == [("sell", "AAPL"), ("buy", "MSFT")]  # MSFT is AAPL's substitute
    # The saving is the loss × the short-term rate (0.32), minus round-trip costs.
    assert float(-reco.tax_effect) == pytest.approx(2000 * 0.32, rel=1e-6)
    recommendation_accept(actor=advisor, recommendation=reco)
    assert TaxLot.objects.get(account=book["taxable"], instrument__symbol="MSFT").quantity == Decimal(
        str(reco.trades[1]["quantity"])
    )
    assert WealthTransaction.objects.get(side="sell").wash_sale_disallowed == 0


@pytest.mark.django_db
def test_recent_purchase_in_the_ira_blocks_the_harvest(book, advisor, market):
    TaxLotFactory(account=book["ira"], instrument=market["AAPL"], acquired_on=AS_OF - timedelta(days=5),
                  quantity=Decimal(5), cost_basis=Decimal(500))  # fmt: skip
    WealthTransaction.objects.create(account=book["ira"], instrument=market["AAPL"], side="buy", quantity=5,
                                     price=100, trade_date=AS_OF - timedelta(days=5))  # fmt: skip
    assert harvest_propose(actor=advisor, client=book["client"]) is None


@pytest.mark.django_db
def test_a_recommendation_is_accepted_once(book, advisor):
    reco = RecommendationFactory(client=book["client"], trades=[_trade(book["ira"], "AAPL", "buy", 10, book["p"])])
    recommendation_accept(actor=advisor, recommendation=reco)
    before = counts(TaxLot, WealthTransaction, AuditEvent)
    with pytest.raises(Conflict):
        recommendation_accept(actor=advisor, recommendation=reco)
    with pytest.raises(Conflict):
        recommendation_decline(actor=advisor, recommendation=reco, note="too late")
    assert counts(TaxLot, WealthTransaction, AuditEvent) == before


@pytest.mark.django_db
def test_a_changed_holding_or_missing_cash_is_a_conflict_with_nothing_booked(book, advisor):
    lot, taxable, p = book["lot"], book["taxable"], book["p"]
    too_many = RecommendationFactory(client=book["client"], trades=[_trade(taxable, "AAPL", "sell", 150, p, lot.pk)])
    too_dear = RecommendationFactory(
        client=book["client"], kind="harvest",
        trades=[_trade(taxable, "AAPL", "sell", 100, p, lot.pk), _trade(taxable, "MSFT", "buy", 10_000, 500)],
    )  # fmt: skip
    before = counts(TaxLot, WealthTransaction, AuditEvent)
    for reco in (too_many, too_dear):
        with pytest.raises(Conflict):
            recommendation_accept(actor=advisor, recommendation=reco)
        reco.refresh_from_db()
        assert reco.status == "proposed"
    assert counts(TaxLot, WealthTransaction, AuditEvent) == before
    lot.refresh_from_db()
    assert lot.quantity == 100


@pytest.mark.django_db
def test_decline_needs_a_note_and_is_audited(book, advisor):
    reco = RecommendationFactory(client=book["client"])
    with pytest.raises(ValidationFailed) as err:
        recommendation_decline(actor=advisor, recommendation=reco, note="  ")
    assert "note" in err.value.extra["fields"]
    recommendation_decline(actor=advisor, recommendation=reco, note="Client prefers to wait")
    reco.refresh_from_db()
    assert reco.status == "declined" and reco.decision_note == "Client prefers to wait"
    assert AuditEvent.objects.get(action="wealth.recommendation.decline").explanation["reason"] == reco.reason


def _second_loss_lot(book, market, days_later=7):
    """50 AAPL bought a week after the first lot, now $10 a share below basis (a 500 loss)."""
    return TaxLotFactory(account=book["taxable"], instrument=market["AAPL"],
                         acquired_on=BOUGHT + timedelta(days=days_later), quantity=Decimal(50),
                         cost_basis=Decimal(str(round(50 * book["p"] + 500, 4))))  # fmt: skip


@pytest.mark.django_db
def test_one_purchase_washes_only_as_many_sold_shares_as_it_buys_across_two_loss_sales(book, advisor, market):
    client, taxable, lot, p = book["client"], book["taxable"], book["lot"], book["p"]
    second = _second_loss_lot(book, market)
    # Given two loss sales the same day: 100 sh at $20 a share (2,000) and 50 sh at $10 (500).
    trades = [_trade(taxable, "AAPL", "sell", 100, p, lot.pk), _trade(taxable, "AAPL", "sell", 50, p, second.pk)]
    sells = RecommendationFactory(client=client, kind="harvest", trades=trades)
    recommendation_accept(actor=advisor, recommendation=sells)
    first_sale = WealthTransaction.objects.get(side="sell", lot=lot)
    second_sale = WealthTransaction.objects.get(side="sell", lot=second)

    # When 120 shares are bought back: IRS Pub. 550 — "If the number of shares of substantially
    # identical stock you buy within 30 days before or after the sale is less than the number of
    # shares you sold, only the loss on the number bought is disallowed"; losses are matched in
    # the order of the sales (Treas. Reg. §1.1091-1(b)), each bought share once (§1.1091-1(e)).
    buy = RecommendationFactory(client=client, kind="rebalance", trades=[_trade(taxable, "AAPL", "buy", 120, p)])
    recommendation_accept(actor=advisor, recommendation=buy)

    # Then all 100 shares of the first sale (2,000) and only 20 of the second (20 × $10 = 200) wash.
    first_sale.refresh_from_db()
    second_sale.refresh_from_db()
    assert (first_sale.wash_matched_quantity, first_sale.wash_sale_disallowed) == (100, Decimal("2000.0000"))
    assert (second_sale.wash_matched_quantity, second_sale.wash_sale_disallowed) == (20, Decimal("200.0000"))
    new = {lt.quantity: lt for lt in TaxLot.objects.filter(account=taxable, acquired_on=AS_OF)}
    assert set(new) == {Decimal(100), Decimal(20)}  # 120 shares in all, none washed twice
    assert new[Decimal(100)].wash_sale_adjustment == Decimal("2000.0000")
    assert new[Decimal(100)].holding_start == BOUGHT
    assert new[Decimal(20)].wash_sale_adjustment == Decimal("200.0000")
    assert new[Decimal(20)].holding_start == second.acquired_on
    assert all(lt.wash_matched_quantity == lt.quantity for lt in new.values())

    # And a later purchase of 40 in the IRA washes only the 30 sold shares still unmatched
    # (30 × $10 = 300, lost for good: Rev. Rul. 2008-5); its other 10 shares stay unmatched.
    again = RecommendationFactory(client=client, kind="rebalance", trades=[_trade(book["ira"], "AAPL", "buy", 40, p)])
    recommendation_accept(actor=advisor, recommendation=again)
    first_sale.refresh_from_db()
    second_sale.refresh_from_db()
    assert first_sale.wash_sale_disallowed == Decimal("2000.0000")
    assert (second_sale.wash_matched_quantity, second_sale.wash_sale_disallowed) == (50, Decimal("500.0000"))
    ira = {lt.wash_matched_quantity: lt.quantity for lt in TaxLot.objects.filter(account=book["ira"])}
    assert ira == {Decimal(30): Decimal(30), Decimal(0): Decimal(10)}


@pytest.mark.django_db
def test_a_purchase_already_used_to_wash_one_sale_cannot_wash_a_second(book, advisor, market):
    client, taxable, ira, lot, p = book["client"], book["taxable"], book["ira"], book["lot"], book["p"]
    second = _second_loss_lot(book, market)
    # Given 30 AAPL bought in the IRA ten days ago, then the 100-share lot sold at a loss: the 30
    # replacement shares wash 30 sold shares (30 × $20 = 600).
    recent = TaxLotFactory(account=ira, instrument=market["AAPL"], acquired_on=AS_OF - timedelta(days=10),
                           quantity=Decimal(30), cost_basis=Decimal(str(round(30 * p, 4))))  # fmt: skip
    first = RecommendationFactory(
        client=client, kind="harvest", trades=[_trade(taxable, "AAPL", "sell", 100, p, lot.pk)]
    )
    recommendation_accept(actor=advisor, recommendation=first)
    assert WealthTransaction.objects.get(side="sell", lot=lot).wash_sale_disallowed == Decimal("600.0000")
    recent.refresh_from_db()
    assert recent.wash_matched_quantity == 30

    # When the second lot is sold at a loss too, within 30 days of the same purchase,
    second_reco = RecommendationFactory(
        client=client, kind="harvest", trades=[_trade(taxable, "AAPL", "sell", 50, p, second.pk)]
    )
    recommendation_accept(actor=advisor, recommendation=second_reco)

    # then the used replacement shares wash nothing more (Treas. Reg. §1.1091-1(e)): the 500 loss stands.
    sale = WealthTransaction.objects.get(side="sell", lot=second)
    assert sale.realized_gain == Decimal("-500.0000")
    assert sale.wash_sale_disallowed == 0 and sale.wash_matched_quantity == 0
    recent.refresh_from_db()
    assert recent.wash_matched_quantity == 30 and recent.holding_start == BOUGHT


@pytest.mark.django_db
def test_used_replacement_shares_no_longer_block_a_harvest(book, advisor, market):
    client, ira, lot, p = book["client"], book["ira"], book["lot"], book["p"]
    # Given 5 AAPL bought in the IRA five days ago: they would wash a loss sale of the book lot.
    WealthTransaction.objects.create(account=ira, instrument=market["AAPL"], side="buy", quantity=5, price=p,
                                     trade_date=AS_OF - timedelta(days=5))  # fmt: skip
    used = TaxLotFactory(account=ira, instrument=market["AAPL"], acquired_on=AS_OF - timedelta(days=5),
                         quantity=Decimal(5), cost_basis=Decimal(str(round(5 * p, 4))))  # fmt: skip
    assert harvest_propose(actor=advisor, client=client) is None  # blocked
    # When those 5 shares have already washed an earlier loss sale,
    used.wash_matched_quantity = Decimal(5)
    used.save()
    # then they cannot wash another (§1.1091-1(e)) and the harvest goes ahead.
    reco = harvest_propose(actor=advisor, client=client)
    assert reco is not None and reco.trades[0]["lot_id"] == lot.pk


@pytest.mark.django_db
def test_sale_records_its_lot_and_holding_start_which_a_later_buy_inherits(book, advisor, market):
    client, taxable, lot, p = book["client"], book["taxable"], book["lot"], book["p"]
    # Given the lot's holding period already starts 20 days before it was bought (an earlier wash),
    lot.holding_start = BOUGHT - timedelta(days=20)
    lot.save()
    # when it is sold at a loss by a trade that names no lot (the oldest lot is taken),
    sell = RecommendationFactory(client=client, kind="rebalance", trades=[_trade(taxable, "AAPL", "sell", 100, p)])
    recommendation_accept(actor=advisor, recommendation=sell)
    sale = WealthTransaction.objects.get(side="sell")
    # then the sale records the lot and its holding start,
    assert sale.lot_id == lot.pk and sale.holding_start == BOUGHT - timedelta(days=20)
    # and shares bought back in 10 days later take that holding period over (IRC §1223(3), Pub. 550):
    # bought after the sale, their holding start moves back by the 106 days the sold shares were held.
    buy = RecommendationFactory(client=client, kind="rebalance", trades=[_trade(taxable, "AAPL", "buy", 100, p)])
    buy.explanation = {"as_of": (AS_OF + timedelta(days=10)).isoformat()}
    buy.save()
    recommendation_accept(actor=advisor, recommendation=buy)
    bought = TaxLot.objects.get(account=taxable, acquired_on=AS_OF + timedelta(days=10))
    assert bought.holding_start == AS_OF + timedelta(days=10) - (AS_OF - (BOUGHT - timedelta(days=20)))
    assert WealthTransaction.objects.get(side="buy").lot_id == bought.pk


def _cash_moved_by_trades(account) -> Decimal:
    """Proceeds of the account's booked sales less the cost of its booked buys."""
    total = Decimal(0)
    for txn in WealthTransaction.objects.filter(account=account):
        amount = (txn.quantity * txn.price).quantize(Decimal("0.0001"))
        total += amount if txn.side == "sell" else -amount
    return total


@pytest.mark.django_db
@pytest.mark.parametrize("flow", [Decimal(5000), Decimal(-3000)])
def test_accepting_a_rebalance_books_its_deposit_or_withdrawal(book, advisor, flow):
    # Given a rebalance proposed with a deposit (+) or a withdrawal (−) into the taxable account
    taxable = book["taxable"]
    reco = rebalance_propose(actor=advisor, client=book["client"], cash_flow=flow)
    assert reco is not None and reco.explanation["cash_flow_account"] == taxable.code
    # When it is accepted
    recommendation_accept(actor=advisor, recommendation=reco, note="client instruction")
    # Then the account's cash is what it held, plus the flow, plus sales, less buys: a deposit
    # pays for the buys and a withdrawal leaves the account, never below zero.
    taxable.refresh_from_db()
    assert taxable.cash == flow + _cash_moved_by_trades(taxable)
    assert taxable.cash >= 0
    event = AuditEvent.objects.filter(action="wealth.recommendation.accept").latest("id")
    flows = [b for b in event.after["booked"] if "cash_flow" in b]
    assert [(Decimal(b["cash_flow"]), b["account"]) for b in flows] == [(flow, taxable.code)]
