"""Downloads of the best-execution pages: the dashboard's orders (CSV), the venue and broker
league tables (CSV, PDF) and the RTS 28-style top-five-venues report (CSV, PDF).

Every file is built from the same selector rows the pages show, so a figure in a file and on
screen agree. Costs are in bps (positive = cost to the client), markouts in bps (positive = the
price moved the trade's way), shares as fractions in CSV (0.25) and percentages in the RTS 28
report and PDFs, as that report states them. CSV numbers are unformatted; text that a
spreadsheet would run as a formula is quoted (CSV injection).
"""

from __future__ import annotations

import html
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from django.db.models import QuerySet

from core.exports import compact_amount, csv_lines, csv_text, pdf_build, pdf_styles, pdf_table, pdf_width
from execution_quality.models import TcaOrderResult

# Rows fetched per round trip when streaming the orders CSV (~40 columns, a few kB per 100 rows).
CHUNK_ROWS = 2000
MARKOUT_COLUMNS = ("1s", "5s", "60s", "300s")


# ---------------------------------------------------------------------------- orders

ORDER_COLUMNS = (
    "order_id",
    "client_order_id",
    "desk",
    "account",
    "instrument",
    "side",
    "order_type",
    "venue",
    "broker",
    "arrival_ts",
    "end_ts",
    "quantity",
    "filled_quantity",
    "n_fills",
    "avg_price",
    "notional",
    "fees",
    "arrival_price",
    "vwap",
    "twap",
    "cost_arrival_bps",
    "cost_vwap_bps",
    "cost_twap_bps",
    "cost_pwp_bps",
    "cost_close_bps",
    "shortfall_bps",
    "shortfall_delay_bps",
    "shortfall_trading_bps",
    "shortfall_opportunity_bps",
    "shortfall_fees_bps",
    "size_adv",
    "volatility_daily_bps",
    "arrival_spread_bps",
    "duration_s",
    "pov",
    "pretrade_sqrt_bps",
    "pretrade_istar_bps",
    "predicted_cost_bps",
    "model_version",
    "poor_execution",
)
_ORDER_PATHS = {
    "client_order_id": "order__client_order_id",
    "desk": "desk__code",
    "account": "account__code",
    "instrument": "instrument__symbol",
}


def orders_csv(orders: QuerySet[TcaOrderResult]) -> Iterator[str]:
    """One row per parent order (the columns of ``ORDER_COLUMNS``), newest arrival first, streamed."""
    paths = [_ORDER_PATHS.get(c, c) for c in ORDER_COLUMNS]
    rows = orders.order_by("-arrival_ts", "-id").values_list(*paths).iterator(chunk_size=CHUNK_ROWS)

    def plain(row: tuple[Any, ...]) -> list[Any]:
        return [v.isoformat() if hasattr(v, "isoformat") else v for v in row]

    return csv_lines(ORDER_COLUMNS, (plain(r) for r in rows))


# ---------------------------------------------------------------------------- league tables


def league_header(by: str) -> list[str]:
    return [
        by,
        "fills",
        "orders",
        "volume",
        "notional",
        "avg_cost_arrival_bps",
        "weighted_cost_arrival_bps",
        "avg_cost_vwap_bps",
        "weighted_cost_vwap_bps",
        "fill_rate",
        *[f"markout_{h}_bps" for h in MARKOUT_COLUMNS],
        "avg_effective_spread_bps",
        "outside_quote_share",
    ]


def _league_row(r: Any) -> list[Any]:
    return [
        r.key,
        r.fills,
        r.orders,
        r.volume,
        r.notional,
        r.avg_cost_arrival_bps,
        r.weighted_cost_arrival_bps,
        r.avg_cost_vwap_bps,
        r.weighted_cost_vwap_bps,
        r.fill_rate,
        *[r.markouts_bps.get(h) for h in MARKOUT_COLUMNS],
        r.avg_effective_spread_bps,
        r.outside_quote_share,
    ]


def league_csv(rows: Sequence[Any], *, by: str) -> str:
    """A venue or broker league table (``selectors.LeagueRow``) as CSV."""
    return csv_text(league_header(by), (_league_row(r) for r in rows))


def _period(filters: Mapping[str, Any]) -> str:
    lo, hi = filters.get("date_from"), filters.get("date_to")
    if lo and hi:
        return f"{lo} to {hi}"
    if lo:
        return f"from {lo}"
    if hi:
        return f"up to {hi}"
    return "all dates"


def league_filename(what: str, filters: Mapping[str, Any], ext: str) -> str:
    parts = ["tca", what]
    for key in ("date_from", "date_to", "instrument", "side"):
        if filters.get(key):
            parts.append(str(filters[key]))
    return "-".join(parts) + f".{ext}"


# ---------------------------------------------------------------------------- PDF helpers


def _num(x: Any, digits: int = 1) -> str:
    return "—" if x is None or x != x else f"{float(x):,.{digits}f}"


def _share(x: Any, digits: int = 1) -> str:
    return "—" if x is None else f"{float(x) * 100:.{digits}f} %"


def _styles() -> dict[str, Any]:
    return pdf_styles()


def _build(story: list[Any], title: str, *, landscape_page: bool = False) -> bytes:
    return pdf_build(story, title=title, landscape_page=landscape_page)


def _page_width(landscape_page: bool) -> float:
    return pdf_width(landscape_page=landscape_page)


# ---------------------------------------------------------------------------- league PDF


def _league_story(rows: Sequence[Any], by: str, width: float) -> list[Any]:
    header = [
        by.capitalize(),
        "Fills",
        "Orders",
        "Notional",
        "Cost vs arr.",
        "Wtd vs arr.",
        "Cost vs VWAP",
        "Fill rate",
        *[f"Markout {h}" for h in MARKOUT_COLUMNS],
        "Eff. spread",
        "Outside quote",
    ]
    data: list[list[Any]] = [header]
    for r in rows:
        data.append(
            [
                r.key[:24],  # plain table cells are not parsed as markup
                f"{r.fills:,}",
                f"{r.orders:,}",
                compact_amount(r.notional),
                _num(r.avg_cost_arrival_bps),
                _num(r.weighted_cost_arrival_bps),
                _num(r.avg_cost_vwap_bps),
                _share(r.fill_rate),
                *[_num(r.markouts_bps.get(h)) for h in MARKOUT_COLUMNS],
                _num(r.avg_effective_spread_bps),
                _share(r.outside_quote_share),
            ]
        )
    first = width * 0.12
    rest = (width - first) / (len(header) - 1)
    return [pdf_table(data, [first] + [rest] * (len(header) - 1))]


def league_pdf(*, venues: Sequence[Any], brokers: Sequence[Any], filters: Mapping[str, Any]) -> bytes:
    """The venue and broker league tables on landscape A4 pages, with the period and filters."""
    from reportlab.platypus import Paragraph, Spacer

    st = _styles()
    width = _page_width(True)
    scope = ", ".join(f"{k} {html.escape(str(filters[k]))}" for k in ("instrument", "side") if filters.get(k))
    story: list[Any] = [
        Paragraph("Execution quality — venue and broker league tables", st["h1"]),
        Paragraph(f"Period {html.escape(_period(filters))}{' · ' + scope if scope else ''} · UTC days", st["small"]),
        Spacer(1, 6),
        Paragraph(
            "Costs in basis points, positive = cost to the client: average per fill and notional-weighted against "
            "the parent order's arrival mid, and against the interval VWAP. Markouts in bps, positive = the price "
            "moved the trade's way after the fill. Fill rate = filled / ordered quantity of the parent orders "
            "whose main venue (broker) it is. Outside quote = share of fills printed outside the prevailing bid/ask.",
            st["body"],
        ),
    ]
    for title, rows, by in (("Venues", venues, "venue"), ("Brokers", brokers, "broker")):
        story.append(Paragraph(title, st["h2"]))
        if rows:
            story += _league_story(rows, by, width)
        else:
            story.append(Paragraph("No executions in the period.", st["small"]))
    return _build(story, "Venue and broker league tables", landscape_page=True)


# ---------------------------------------------------------------------------- RTS 28

RTS28_HEADER = (
    "year",
    "class",
    "less_than_one_trade_per_business_day",
    "class_notional",
    "class_orders",
    "class_fills",
    "rank",
    "venue",
    "notional",
    "pct_volume",
    "pct_orders",
    "pct_passive",
    "pct_aggressive",
    "pct_directed",
)


def rts28_csv(report: Any) -> str:
    """One row per (class, top-five venue); percentages as in the report (0–100), directed n/a."""
    rows = []
    for c in report.classes:
        for rank, v in enumerate(c.venues, start=1):
            rows.append(
                [
                    report.year,
                    c.label,
                    "Y" if c.less_than_one_trade_per_business_day else "N",
                    c.notional,
                    c.orders,
                    c.fills,
                    rank,
                    v.venue,
                    v.notional,
                    v.pct_volume,
                    v.pct_orders,
                    v.pct_passive,
                    v.pct_aggressive,
                    "n/a" if v.pct_directed is None else v.pct_directed,
                ]
            )
    return csv_text(RTS28_HEADER, rows)


def _pct(x: Any) -> str:
    return "n/a" if x is None else f"{float(x):.2f} %"


def rts28_pdf(report: Any) -> bytes:
    """The report in the layout of RTS 28 Annex II, one table per class, then the summary."""
    from reportlab.platypus import Paragraph, Spacer

    st = _styles()
    width = _page_width(False)
    story: list[Any] = [
        Paragraph(f"Top five execution venues — {report.year}", st["h1"]),
        Paragraph(
            f"In the layout of MiFID II RTS 28 (Commission Delegated Regulation (EU) 2017/576), Annex II · "
            f"{report.business_days} business days · volumes by notional · all clients of the desks together",
            st["small"],
        ),
        Spacer(1, 6),
    ]
    if not report.classes:
        story.append(Paragraph(f"No executions in {report.year}.", st["body"]))
    header = [
        Paragraph("<b>Top five venues by volume (descending)</b>", st["cell"]),
        "% of volume",
        "% of orders",
        "% passive",
        "% aggressive",
        "% directed",
    ]
    for c in report.classes:
        story.append(Paragraph(html.escape(c.label), st["h2"]))
        story.append(
            Paragraph(
                f"Notification if &lt; 1 average trade per business day in the year: "
                f"<b>{'Y' if c.less_than_one_trade_per_business_day else 'N'}</b> · "
                f"{c.orders:,} orders, {c.fills:,} fills, notional {compact_amount(c.notional)}",
                st["small"],
            )
        )
        data: list[list[Any]] = [header]
        for v in c.venues:
            data.append(
                [
                    v.venue,
                    _pct(v.pct_volume),
                    _pct(v.pct_orders),
                    _pct(v.pct_passive),
                    _pct(v.pct_aggressive),
                    _pct(v.pct_directed),
                ]
            )
        story.append(pdf_table(data, [width * 0.35] + [width * 0.13] * 5))
    story.append(Paragraph("Summary of the analysis and conclusions (Article 3(3))", st["h2"]))
    for paragraph in report.summary:
        story.append(Paragraph(html.escape(paragraph), st["body"]))
        story.append(Spacer(1, 3))
    return _build(story, f"RTS 28 top five venues {report.year}")
