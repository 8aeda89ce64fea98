"""The suspicious transaction and order report (STOR) of a case, rendered as JSON, XML and PDF.

The draft follows the sections of the STOR template of Commission Implementing Regulation (EU)
2016/957, Annex: (1) identity of the entity or person submitting, (2) the transactions and
orders, (3) the nature of the suspicion, (4) the identity of the person whose orders or
transactions are suspicious, (5) additional information, (6) documentation attached. Sections
2–4 are filled from the case's alerts, orders and trades; the reviewer's edits (``case.stor``)
override the filled values field by field. Once filed, the draft is frozen in the case as it was
filed, so a later change to the book does not change a report already sent.

Read-only: nothing here writes. Prices and quantities are decimal strings; times are ISO 8601 UTC.
"""

from __future__ import annotations

import html
import io
import json
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.utils import timezone

from portfolios.models import Account, Order, Trade
from surveillance.models import Alert, Case

TEMPLATE = "ESMA STOR template — Commission Implementing Regulation (EU) 2016/957, Annex"
EVIDENCE_ROWS_MAX = 500  # orders and trades listed per report; the rest are counted, not listed

SECTIONS = {
    "section_1_submitter": "1. Identity of the entity/person submitting the STOR",
    "section_2_transactions": "2. Transaction/order",
    "section_3_suspicion": "3. Description of the nature of the suspicion",
    "section_4_person": "4. Identity of the person whose orders/transactions are suspicious",
    "section_5_additional": "5. Additional information",
    "section_6_documentation": "6. Documentation attached",
}


@dataclass(frozen=True)
class StorField:
    """One free-text field of the draft a reviewer may edit: its key, section and label."""

    key: str
    section: str
    label: str


STOR_FIELDS: tuple[StorField, ...] = (
    StorField("submitter_name", "section_1_submitter", "Name of the person submitting"),
    StorField("submitter_position", "section_1_submitter", "Position within the reporting entity"),
    StorField("entity_name", "section_1_submitter", "Name of the reporting entity"),
    StorField("entity_address", "section_1_submitter", "Address of the reporting entity"),
    StorField("contact", "section_1_submitter", "Contact (telephone, e-mail)"),
    StorField(
        "capacity",
        "section_1_submitter",
        "Capacity (executing orders for clients, dealing on own account, operating a trading venue, ...)",
    ),
    StorField("trading_activity", "section_1_submitter", "Type of trading activity (market making, arbitrage, ...)"),
    StorField("relationship_to_person", "section_1_submitter", "Relationship with the person reported"),
    StorField("transactions_note", "section_2_transactions", "Notes on the transactions and orders"),
    StorField("nature_of_suspicion", "section_3_suspicion", "What happened and why it is suspicious"),
    StorField("person_name", "section_4_person", "Name"),
    StorField("person_identifier", "section_4_person", "Identifier (national id, LEI, client code)"),
    StorField("person_date_of_birth", "section_4_person", "Date of birth"),
    StorField("person_address", "section_4_person", "Address"),
    StorField("person_employment", "section_4_person", "Employment, relationship with the firm or issuer"),
    StorField("person_accounts", "section_4_person", "Accounts"),
    StorField("additional_information", "section_5_additional", "Additional information"),
    StorField("documentation", "section_6_documentation", "Documentation attached"),
)
STOR_FIELD_KEYS = frozenset(f.key for f in STOR_FIELDS)
FILED_KEY = "filed"  # key of ``case.stor`` holding the draft frozen at filing


def _s(value: Any) -> Any:
    """JSON-ready scalars: decimals as strings (exact), times as ISO 8601."""
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _person(user: Any) -> str:
    if user is None:
        return ""
    return str(user.get_full_name() or user.get_username())


def _evidence(alerts: list[Alert]) -> tuple[list[Order], list[Trade], int, int]:
    order_ids = sorted({int(i) for a in alerts for i in a.order_ids or []})
    trade_ids = sorted({int(i) for a in alerts for i in a.trade_ids or []})
    orders = list(
        Order.objects.filter(pk__in=order_ids)
        .select_related("account", "instrument")
        .prefetch_related("events")
        .order_by("arrival_ts", "id")[:EVIDENCE_ROWS_MAX]
    )
    trades = list(
        Trade.objects.filter(pk__in=trade_ids)
        .select_related("account", "instrument", "counterparty_account")
        .order_by("ts", "id")[:EVIDENCE_ROWS_MAX]
    )
    return orders, trades, len(order_ids), len(trade_ids)


def _order_row(o: Order) -> dict[str, Any]:
    events = sorted(o.events.all(), key=lambda e: e.sequence)
    return {
        "client_order_id": o.client_order_id,
        "account": o.account.code,
        "instrument": o.instrument.symbol,
        "side": o.side,
        "order_type": o.order_type,
        "quantity": _s(o.quantity),
        "limit_price": _s(o.limit_price),
        "venue": o.venue,
        "submitted_at": _s(o.arrival_ts),
        "last_event": events[-1].event_type if events else "",
        "last_event_at": _s(events[-1].ts) if events else None,
    }


def _trade_row(t: Trade) -> dict[str, Any]:
    return {
        "trade_id": t.trade_id,
        "account": t.account.code,
        "counterparty_account": t.counterparty_account.code if t.counterparty_account else "",
        "instrument": t.instrument.symbol,
        "side": t.side,
        "quantity": _s(t.quantity),
        "price": _s(t.price),
        "venue": t.venue,
        "executed_at": _s(t.ts),
    }


def _suspicion_text(alerts: list[Alert]) -> str:
    lines = [
        f"{a.get_scenario_display()} (score {a.score:.0f}, {a.window_start:%Y-%m-%d %H:%M:%S}–"
        f"{a.window_end:%H:%M:%S} UTC): {a.summary}"
        for a in alerts
    ]
    return "\n".join(lines)


def stor_draft(case: Case) -> dict[str, Any]:
    """The STOR of the case as a JSON-ready dict, one key per template section.

    Filled values come from the case's alerts (scenarios, scores, windows, summaries), the orders
    and trades they name (at most ``EVIDENCE_ROWS_MAX`` of each) and the accounts' beneficial
    owners; every key of ``STOR_FIELDS`` present in ``case.stor`` replaces the filled value.
    """
    if case.stor_status == Case.StorStatus.FILED and isinstance(case.stor.get(FILED_KEY), dict):
        frozen: dict[str, Any] = case.stor[FILED_KEY]
        return frozen
    alerts = list(case.alerts.select_related("account", "account__owner", "instrument").order_by("-score", "id"))
    orders, trades, n_orders, n_trades = _evidence(alerts)
    accounts: dict[int, Account] = {a.account_id: a.account for a in alerts}
    instruments = {a.instrument_id: a.instrument for a in alerts if a.instrument is not None}
    for order in orders:
        instruments.setdefault(order.instrument_id, order.instrument)
    for trade in trades:
        instruments.setdefault(trade.instrument_id, trade.instrument)
    proposer = case.stor_proposed_by
    owners = {acc.owner_id: acc.owner for acc in accounts.values()}
    filled: dict[str, str] = {
        "submitter_name": _person(proposer),
        "contact": getattr(proposer, "email", "") or "",
        "nature_of_suspicion": _suspicion_text(alerts),
        "person_name": "; ".join(o.name for o in owners.values()),
        "person_identifier": "; ".join(o.code for o in owners.values()),
        "person_accounts": "; ".join(acc.code for acc in accounts.values()),
        "person_employment": (
            "Employee or related person of the firm" if any(o.is_employee for o in owners.values()) else ""
        ),
        "relationship_to_person": "; ".join(sorted({acc.get_kind_display() for acc in accounts.values()})),
        "additional_information": case.description,
        "documentation": "Alert evidence (orders, order events, trades) and review history held in Vigil, "
        f"case {case.reference}.",
    }
    edits = {k: str(v) for k, v in (case.stor or {}).items() if k in STOR_FIELD_KEYS}
    values = filled | edits
    draft: dict[str, Any] = {
        "template": TEMPLATE,
        "reference": case.reference,
        "title": case.title,
        "desk": case.desk.code,
        "status": case.stor_status,
        "generated_at": _s(timezone.now()),
        "proposed_by": _person(proposer),
        "filed_by": _person(case.stor_filed_by),
        "filed_at": _s(case.stor_filed_at),
    }
    for key in SECTIONS:
        draft[key] = {f.key: values.get(f.key, "") for f in STOR_FIELDS if f.section == key}
    draft["section_2_transactions"] |= {
        "instruments": [
            {"symbol": i.symbol, "name": i.name, "isin": i.isin or "", "kind": i.kind, "currency": i.currency}
            for i in sorted(instruments.values(), key=lambda i: i.symbol)
        ],
        "orders": [_order_row(o) for o in orders],
        "orders_total": n_orders,
        "trades": [_trade_row(t) for t in trades],
        "trades_total": n_trades,
    }
    draft["section_3_suspicion"] |= {
        "alerts": [
            {
                "id": a.pk,
                "scenario": a.scenario,
                "score": round(a.score, 1),
                "window_start": _s(a.window_start),
                "window_end": _s(a.window_end),
                "summary": a.summary,
                "state": a.state,
            }
            for a in alerts
        ],
    }
    draft["section_4_person"] |= {
        "accounts": [
            {
                "account": acc.code,
                "account_kind": acc.kind,
                "owner_code": acc.owner.code,
                "owner_name": acc.owner.name,
                "owner_kind": acc.owner.kind,
                "is_employee": acc.owner.is_employee,
            }
            for acc in sorted(accounts.values(), key=lambda acc: acc.code)
        ],
    }
    return draft


def stor_json(case: Case) -> str:
    """The draft as indented UTF-8 JSON text."""
    return json.dumps(stor_draft(case), indent=2, ensure_ascii=False)


# XML 1.0 forbids most control characters even when escaped; drop them rather than emit a
# document no parser accepts (they have no meaning in a report anyway).
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_SINGULAR = {
    "instruments": "instrument",
    "orders": "order",
    "trades": "trade",
    "alerts": "alert",
    "accounts": "account",
}


def _xml_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return _XML_INVALID.sub("", str(value))


def _xml_fill(parent: ET.Element, key: str, value: Any) -> None:
    if isinstance(value, dict):
        node = ET.SubElement(parent, key)
        for k, v in value.items():
            _xml_fill(node, k, v)
    elif isinstance(value, list):
        node = ET.SubElement(parent, key)
        for item in value:
            _xml_fill(node, _SINGULAR.get(key, "item"), item)
    else:
        ET.SubElement(parent, key).text = _xml_text(value)


def stor_xml(case: Case) -> bytes:
    """The draft as a UTF-8 XML document (``<stor>`` root, one element per field; text escaped)."""
    draft = stor_draft(case)
    root = ET.Element("stor", {"reference": _xml_text(draft["reference"]), "template": TEMPLATE})
    for key, value in draft.items():
        if key not in {"reference", "template"}:
            _xml_fill(root, key, value)
    ET.indent(root)
    document: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return document


def stor_pdf(case: Case) -> bytes:
    """The draft as a printable PDF (A4), section by section, with the evidence tables."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    draft = stor_draft(case)
    labels = {f.key: f.label for f in STOR_FIELDS}
    styles = getSampleStyleSheet()
    h1 = ParagraphStyle("h1", parent=styles["Heading1"], fontSize=15, spaceAfter=2)
    h2 = ParagraphStyle("h2", parent=styles["Heading2"], fontSize=10, spaceBefore=8, spaceAfter=4)
    body = ParagraphStyle("body", parent=styles["BodyText"], fontSize=8, leading=10)
    small = ParagraphStyle("small", parent=body, fontSize=7, textColor=colors.HexColor("#5f6b7a"))

    def para(value: Any, style: ParagraphStyle = body) -> Paragraph:
        # Text comes from the OMS and reviewers: escape so it is never read as Paragraph markup.
        return Paragraph(html.escape(_xml_text(value)).replace("\n", "<br/>"), style)

    def grid(rows: list[list[Any]], widths: list[float], header: bool = False) -> Table:
        table = Table([[para(c) for c in row] for row in rows], colWidths=widths, repeatRows=1 if header else 0)
        style = [
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.HexColor("#d5dbe3")),
        ]
        if header:
            style.append(("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eef1f5")))
        table.setStyle(TableStyle(style))
        return table

    buf = io.BytesIO()
    doc = SimpleDocTemplate(
        buf,
        pagesize=A4,
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=14 * mm,
        bottomMargin=16 * mm,
        title=f"STOR {draft['reference']}",
        author="Vigil",
    )
    width = A4[0] - 30 * mm
    story: list[Any] = [
        Paragraph(f"Suspicious transaction and order report — {html.escape(draft['reference'])}", h1),
        para(f"{draft['title']} · desk {draft['desk']} · status {draft['status']} · {TEMPLATE}", small),
        Spacer(1, 6),
    ]
    for key, title in SECTIONS.items():
        section = draft[key]
        story.append(Paragraph(html.escape(title), h2))
        fields = [[labels[k], v] for k, v in section.items() if k in labels]
        if fields:
            story.append(grid(fields, [width * 0.3, width * 0.7]))
        if key == "section_2_transactions":
            story.append(Spacer(1, 4))
            cols = ["client_order_id", "account", "instrument", "side", "quantity", "limit_price", "submitted_at"]
            rows = [cols] + [[o.get(c) for c in cols] for o in section["orders"]]
            story.append(para(f"Orders ({section['orders_total']})", small))
            story.append(grid(rows, [width / len(cols)] * len(cols), header=True))
            cols = ["trade_id", "account", "counterparty_account", "instrument", "side", "quantity", "price"]
            rows = [cols] + [[t.get(c) for c in cols] for t in section["trades"]]
            story.append(para(f"Trades ({section['trades_total']})", small))
            story.append(grid(rows, [width / len(cols)] * len(cols), header=True))
        if key == "section_3_suspicion":
            cols = ["id", "scenario", "score", "window_start", "summary"]
            rows = [cols] + [[a.get(c) for c in cols] for a in section["alerts"]]
            story.append(Spacer(1, 4))
            widths = [width * w for w in (0.06, 0.14, 0.07, 0.2, 0.53)]
            story.append(grid(rows, widths, header=True))
    doc.build(story)
    return buf.getvalue()
