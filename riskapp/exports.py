"""Exports of a stored risk run: CSV tables, an Excel workbook and the daily risk report (PDF).

Every export reads the same stored rows and summary the pages show (``riskapp.reports``), and
names the run, its as-of day, inputs hash and code version so a figure can be traced back.
Amounts are in the portfolio's base currency; percentages are fractions in CSV/Excel cells
(formatted as % in Excel) and written out in the PDF.
"""

from __future__ import annotations

import csv
import html
import io
import re
from collections.abc import Iterable
from typing import Any

from django.utils import timezone

from core.exports import compact_amount, csv_safe, pdf_table
from riskapp import reports
from riskapp.models import LimitBreach, RiskRun

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_TABLES = ("results", "components", "stress", "factors", "backtest", "limits")


def filename(run: RiskRun, what: str, ext: str) -> str:
    """A download name safe in a Content-Disposition header (codes come from the OMS)."""
    code = re.sub(r"[^A-Za-z0-9._-]", "_", run.portfolio.code)
    return f"{code}-{run.as_of.isoformat()}-{what}-run{run.pk}.{ext}"


def _rows(rows: list[list[Any]]) -> list[list[Any]]:
    return [[csv_safe(v) for v in row] for row in rows]


# ---------------------------------------------------------------------------- tables


def _tables(run: RiskRun) -> dict[str, tuple[list[str], list[list[Any]]]]:
    """Every exportable table of the run as (header, rows) with plain values."""
    s = run.summary
    tables: dict[str, tuple[list[str], list[list[Any]]]] = {}
    results = sorted(
        run.results.all(),
        key=lambda r: (
            reports.METHOD_ORDER.index(r.method) if r.method in reports.METHOD_ORDER else 99,
            r.horizon_days,
            r.confidence,
        ),
    )
    tables["results"] = (
        ["method", "confidence", "horizon_days", "var", "es", "var_pct_nav", "es_pct_nav", "revaluation"],
        [
            [
                r.method,
                float(r.confidence),
                r.horizon_days,
                float(r.var),
                float(r.es),
                r.var_pct_nav,
                r.es_pct_nav,
                (r.details or {}).get("revaluation", ""),
            ]
            for r in results
        ],
    )
    tables["components"] = (
        ["instrument", "exposure", "marginal_var", "component_var", "component_es", "share_of_var"],
        [
            [c.instrument.symbol, float(c.value), c.marginal_var, c.component_var, c.component_es, c.share]
            for c in reports.component_rows(run)
        ],
    )
    tables["stress"] = (
        ["scenario", "kind", "pnl", "pnl_pct_nav", "window_start", "window_end"],
        [
            [x.scenario, x.kind, float(x.pnl), x.pnl_pct_nav, x.details.get("start", ""), x.details.get("end", "")]
            for x in reports.stress_rows(run)
        ],
    )
    tables["factors"] = (
        ["factor", "beta", "share_of_systematic_variance"],
        [[f.factor, f.beta, f.contribution] for f in reports.factor_rows(run)],
    )
    bt = reports.backtest_view(s.get("backtest") or {})
    methods = [(m["method"], m) for m in bt["method_list"]]
    tables["backtest"] = (
        ["date", "pnl", *[f"var_{m}" for m, _ in methods], *[f"exception_{m}" for m, _ in methods]],
        [
            [
                d,
                pnl,
                *[data["var"][i] for _, data in methods],
                *[int(pnl is not None and data["var"][i] is not None and -pnl > data["var"][i]) for _, data in methods],
            ]
            for i, (d, pnl) in enumerate(zip(bt.get("dates", []), bt.get("pnl", []), strict=False))
        ],
    )
    usage = reports.limit_usage(run, list(run.portfolio.limits.order_by("kind", "id")))
    tables["limits"] = (
        ["limit", "kind", "sector", "threshold", "measured", "utilisation", "level", "subject"],
        [
            [
                u.limit.pk,
                u.limit.kind,
                u.limit.sector,
                float(u.limit.threshold),
                u.measured,
                u.utilisation,
                u.level,
                u.subject,
            ]
            for u in usage
        ],
    )
    return tables


def run_csv(run: RiskRun, *, table: str = "results") -> str:
    """One table as CSV (comma separated, header row, numbers unformatted)."""
    header, rows = _tables(run)[table]
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(header)
    writer.writerows(_rows(rows))
    return buf.getvalue()


# ---------------------------------------------------------------------------- Excel


def _about(run: RiskRun) -> list[tuple[str, Any]]:
    s = run.summary
    window = s.get("window") or {}
    return [
        ("Portfolio", f"{run.portfolio.code} — {run.portfolio.name}"),
        ("As of", run.as_of),
        ("Base currency", run.portfolio.base_currency),
        ("NAV", s.get("nav")),
        ("Gross value", s.get("gross")),
        ("Net value", s.get("net")),
        ("Day P&L", s.get("day_pnl")),
        ("VaR 99 % 1 day (historical)", s.get("var_99_1d")),
        ("ES 99 % 1 day (historical)", s.get("es_99_1d")),
        ("Worst stress loss", s.get("worst_stress_loss")),
        ("History window", f"{window.get('start')} to {window.get('end')} ({window.get('days')} days)"),
        ("Risk run", run.pk),
        ("Calculation run", run.calculation_id),
        ("Inputs hash (SHA-256)", run.inputs_hash),
        ("Code version", run.code_version),
        ("Exported at (UTC)", timezone.now().strftime("%Y-%m-%d %H:%M:%S")),
    ]


_PCT_COLUMNS = {
    "var_pct_nav",
    "es_pct_nav",
    "pnl_pct_nav",
    "share_of_var",
    "share_of_systematic_variance",
    "utilisation",
}
_MONEY_COLUMNS = {"var", "es", "pnl", "exposure", "marginal_var", "component_var", "component_es", "measured"}


def run_xlsx(run: RiskRun) -> bytes:
    """A workbook: an "About" sheet (run identity and headline figures) and one sheet per table."""
    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    about = wb.active
    assert about is not None
    about.title = "About"
    bold = Font(bold=True)
    head_fill = PatternFill("solid", fgColor="EEF1F5")
    about.append(["Vigil daily risk report"])
    about["A1"].font = Font(bold=True, size=14)
    for label, value in _about(run):
        about.append([label, csv_safe(value)])
        if isinstance(value, float):
            about.cell(row=about.max_row, column=2).number_format = "#,##0"
    about.column_dimensions["A"].width = 30
    about.column_dimensions["B"].width = 70
    for name, (header, rows) in _tables(run).items():
        ws = wb.create_sheet(name.capitalize())
        ws.append(header)
        for cell in ws[1]:
            cell.font = bold
            cell.fill = head_fill
        for row in _rows(rows):
            ws.append(row)
        for idx, col in enumerate(header, start=1):
            letter = get_column_letter(idx)
            ws.column_dimensions[letter].width = max(12, min(40, len(col) + 4))
            fmt = (
                "0.00%" if col in _PCT_COLUMNS else "#,##0" if col in _MONEY_COLUMNS or col.startswith("var_") else None
            )
            if fmt:
                for (cell,) in ws.iter_rows(min_row=2, min_col=idx, max_col=idx):
                    cell.number_format = fmt
        ws.freeze_panes = "A2"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


# ---------------------------------------------------------------------------- PDF


def _money(x: Any) -> str:
    return "—" if x is None else f"{float(x):,.0f}"


def _pct(x: Any, digits: int = 2) -> str:
    return "—" if x is None else f"{float(x) * 100:.{digits}f} %"


def _backtest_drawing(bt: dict[str, Any], width: float, height: float) -> Any:
    """Daily P&L bars, −VaR lines per method and crosses on exceptions (reportlab shapes only)."""
    from reportlab.graphics.shapes import Drawing, Line, PolyLine, String
    from reportlab.lib import colors

    d = Drawing(width, height)
    pnl = [p if p is not None else 0.0 for p in bt.get("pnl") or []]
    methods = bt.get("method_list") or []
    if not pnl or not methods:
        return d
    left, bottom, top = 38.0, 16.0, height - 6.0
    plot_w = width - left - 4.0
    lines = [[-(v or 0.0) for v in m["var"]] for m in methods]
    lo = min(min(pnl), *[min(x) for x in lines])
    hi = max(max(pnl), 0.0)
    span = (hi - lo) or 1.0
    lo, hi = lo - 0.05 * span, hi + 0.05 * span

    def x(i: float) -> float:
        return left + plot_w * (i + 0.5) / len(pnl)

    def y(v: float) -> float:
        return bottom + (top - bottom) * (v - lo) / (hi - lo)

    grey = colors.HexColor("#8a95a3")
    for k in range(5):
        v = lo + (hi - lo) * k / 4
        d.add(Line(left, y(v), left + plot_w, y(v), strokeColor=colors.HexColor("#edf0f4"), strokeWidth=0.4))
        label = f"{v / 1e6:,.1f}m" if abs(hi - lo) >= 2e6 else f"{v / 1e3:,.0f}k"
        d.add(String(left - 3, y(v) - 2, label, fontSize=5.5, fillColor=grey, textAnchor="end"))
    d.add(Line(left, y(0), left + plot_w, y(0), strokeColor=grey, strokeWidth=0.4))
    bar_w = max(0.4, plot_w / len(pnl) * 0.7)
    for i, p in enumerate(pnl):
        colour = colors.HexColor("#93b4f5" if p >= 0 else "#f0b27a")
        d.add(Line(x(i), y(0), x(i), y(p), strokeColor=colour, strokeWidth=bar_w))
    palette = [colors.HexColor(c) for c in ("#e69f00", "#009e73", "#cc79a7", "#56b4e9")]
    for k, series in enumerate(lines):
        points: list[float] = []
        for i, v in enumerate(series):
            points += [x(i), y(v)]
        d.add(PolyLine(points, strokeColor=palette[k % len(palette)], strokeWidth=0.8))
    first = methods[0]["var"]
    for i, p in enumerate(pnl):
        if first[i] is not None and -p > first[i]:
            cx, cy = x(i), y(p)
            for dx in (-2.0, 2.0):
                d.add(
                    Line(cx - dx, cy - 2.0, cx + dx, cy + 2.0, strokeColor=colors.HexColor("#b42318"), strokeWidth=0.9)
                )
    dates = bt.get("dates") or []
    if dates:
        for i in (0, len(dates) // 2, len(dates) - 1):
            d.add(String(x(i), 4, str(dates[i]), fontSize=5.5, fillColor=grey, textAnchor="middle"))
    legend_x = left + 60
    entries = [("P&L (bars)", grey)] + [
        (f"−VaR {reports.method_label(m['method'])}", palette[k % len(palette)]) for k, m in enumerate(methods)
    ]
    entries.append((f"× exception ({reports.method_label(methods[0]['method'])})", colors.HexColor("#b42318")))
    for label, colour in entries:
        d.add(String(legend_x, height - 4, label, fontSize=5.5, fillColor=colour))
        legend_x += 12 + len(label) * 2.7
    return d


def _breach_rows(breaches: Iterable[LimitBreach]) -> list[list[Any]]:
    return [
        [
            b.created_at.strftime("%Y-%m-%d %H:%M"),
            b.limit.get_kind_display(),
            b.severity,
            f"{b.utilisation:.0%}",
            b.subject or "",
            b.recommended_action[:90],
        ]
        for b in breaches
    ]


def run_pdf(run: RiskRun) -> bytes:
    """The daily risk report: headline, VaR by method, backtest, stress, components, factors,
    concentration and liquidity, limits and breaches, with the run's identity in the footer."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer

    esc = html.escape  # names come from the OMS: never let them be read as Paragraph markup
    p = run.portfolio
    s = run.summary
    styles = getSampleStyleSheet()
    h1 = ParagraphStyle("h1", parent=styles["Heading1"], fontSize=15, spaceAfter=2)
    h2 = ParagraphStyle(
        "h2", parent=styles["Heading2"], fontSize=10, spaceBefore=8, spaceAfter=4, textColor=colors.HexColor("#1f2933")
    )
    small = ParagraphStyle("small", parent=styles["BodyText"], fontSize=7.5, textColor=colors.HexColor("#5f6b7a"))
    body = ParagraphStyle("body", parent=styles["BodyText"], fontSize=8.5)
    buf = io.BytesIO()
    doc = SimpleDocTemplate(
        buf,
        pagesize=A4,
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=14 * mm,
        bottomMargin=16 * mm,
        title=f"Risk report {p.code} {run.as_of.isoformat()}",
        author="Vigil",
    )
    width = A4[0] - 30 * mm
    story: list[Any] = []
    story.append(Paragraph(f"Daily risk report — {esc(p.code)}", h1))
    story.append(
        Paragraph(
            f"{esc(p.name)} · desk {esc(p.desk.code)} · as of {run.as_of.isoformat()} · base {p.base_currency} · "
            f"{'<b>HALTED</b> · ' if p.halted else ''}run #{run.pk}",
            small,
        )
    )
    story.append(Spacer(1, 6))
    head = reports.headline(run)
    head10 = reports.headline(run, horizon=10)
    regime = s.get("regime") or {}
    bt = reports.backtest_view(s.get("backtest") or {})
    bt_hist = (bt.get("methods") or {}).get("historical") or {}
    lvar = (s.get("liquidity") or {}).get("lvar") or {}
    key = [
        ["NAV", "VaR 99 % 1d", "ES 99 % 1d", "VaR 99 % 10d", "Day P&L", "Worst stress", "LVaR 99 % 1d"],
        [
            compact_amount(s.get("nav")),
            f"{compact_amount(head.var if head else None)} ({_pct(head.var_pct_nav if head else None)})",
            f"{compact_amount(head.es if head else None)} ({_pct(head.es_pct_nav if head else None)})",
            compact_amount(head10.var if head10 else None),
            compact_amount(s.get("day_pnl")),
            compact_amount(-(s.get("worst_stress_loss") or 0)),
            compact_amount(lvar.get("lvar")),
        ],
    ]
    story.append(pdf_table(key, [width / 7] * 7, numeric_from=0))
    story.append(Spacer(1, 3))
    story.append(
        Paragraph(
            f"Historical simulation over {(s.get('window') or {}).get('days', '—')} days. "
            f"Backtest (historical, 99 %): {bt_hist.get('exceptions', '—')} exceptions "
            f"in {bt_hist.get('n', '—')} days, Basel zone <b>{bt_hist.get('zone', '—')}</b>. "
            f"Stressed-regime probability ({esc(str(regime.get('index', 'index')))}): "
            f"{_pct(regime.get('prob_stressed'), 0)}.",
            body,
        )
    )

    story.append(Paragraph("VaR and ES by method", h2))
    columns, rows = reports.method_table(run)
    header = ["Method", *[f"{c * 100:g} % {h}d" for c, h in columns]]
    data = [header] + [
        [row.label, *[f"{compact_amount(c.var)} / {compact_amount(c.es)}" if c else "n/a" for c in row.cells]]
        for row in rows
    ]
    story.append(pdf_table(data, [width * 0.19] + [width * 0.81 / max(1, len(columns))] * len(columns)))
    story.append(
        Paragraph("Each cell: VaR / ES, positive losses in base currency; 10-day figures by √10 scaling.", small)
    )
    for skip in s.get("skipped") or []:
        story.append(
            Paragraph(esc(f"Skipped: {skip.get('method')} {skip.get('confidence', '')} — {skip.get('reason')}"), small)
        )

    if bt.get("method_list"):
        story.append(Paragraph("VaR backtest: hypothetical P&amp;L against 99 % 1-day VaR", h2))
        story.append(_backtest_drawing(bt, width, 150))
        data = [["Method", "Exceptions", "Expected", "Kupiec p", "Indep. p", "Cond. cov. p", "Basel zone"]]
        for d in bt["method_list"]:
            data.append(
                [
                    reports.method_label(d["method"]),
                    d["exceptions"],
                    f"{d['expected']:.1f}",
                    f"{d['kupiec_p']:.3f}",
                    f"{d['independence_p']:.3f}",
                    f"{d['cc_p']:.3f}",
                    f"{d['zone']} (+{d['plus_factor']:.2f})",
                ]
            )
        story.append(pdf_table(data, [width * 0.25] + [width * 0.125] * 6, numeric_to=5))

    story.append(Paragraph("Stress tests", h2))
    data = [["Scenario", "Kind", "P&L", "% NAV"]] + [
        [x.scenario, x.kind, _money(x.pnl), _pct(x.pnl_pct_nav)] for x in reports.stress_rows(run)
    ]
    story.append(pdf_table(data, [width * 0.5, width * 0.16, width * 0.18, width * 0.16], numeric_from=2))
    for skip in s.get("stress_skipped") or []:
        story.append(Paragraph(esc(f"Not run: {skip.get('scenario')} — {skip.get('reason')}"), small))

    story.append(Paragraph("Largest VaR contributors (Euler, parametric 99 % 1d)", h2))
    comps = reports.component_rows(run)[:12]
    data = [["Instrument", "Exposure", "Marginal VaR", "Component VaR", "Share"]] + [
        [c.instrument.symbol, _money(c.value), f"{c.marginal_var:.4f}", _money(c.component_var), _pct(c.share, 1)]
        for c in comps
    ]
    story.append(pdf_table(data, [width * 0.28] + [width * 0.18] * 4))

    factors = reports.factor_rows(run)
    if factors:
        story.append(Paragraph("Factor exposures", h2))
        data = [["Factor", "Beta", "Share of systematic variance"]] + [
            [f.factor, f"{f.beta:.2f}", _pct(f.contribution, 0)] for f in factors
        ]
        story.append(pdf_table(data, [width * 0.4, width * 0.3, width * 0.3]))
        share = (s.get("factor") or {}).get("systematic_share")
        story.append(Paragraph(f"Systematic share of variance: {_pct(share, 0)}.", small))

    conc = s.get("concentration") or {}
    liq = s.get("liquidity") or {}
    story.append(Paragraph("Concentration and liquidity", h2))
    profile = liq.get("profile") or {}
    story.append(
        Paragraph(
            f"HHI by name {conc.get('hhi_name', 0):.3f} (effective names {conc.get('effective_names', 0):.1f}); "
            f"by sector {conc.get('hhi_sector') or 0:.3f}. Liquidation at {liq.get('participation', 0.1):.0%} of ADV: "
            + ", ".join(f"{v:.0%} in {d} d" for d, v in profile.items())
            + f". Square-root impact cost of liquidating at once: {_money(liq.get('impact_cost'))} "
            f"({_pct(liq.get('impact_cost_pct_nav'))} of NAV).",
            body,
        )
    )

    story.append(Paragraph("Limits", h2))
    usage = reports.limit_usage(run, list(p.limits.order_by("kind", "id")))
    data = [["Limit", "Threshold", "Measured", "Utilisation", "Status"]] + [
        [
            u.limit.get_kind_display() + (f" ({u.limit.sector})" if u.limit.sector else ""),
            _pct(u.limit.threshold) if u.is_fraction else _money(u.limit.threshold),
            (_pct(u.measured) if u.is_fraction else _money(u.measured)) + (f" {u.subject}" if u.subject else ""),
            _pct(u.utilisation, 0),
            u.level,
        ]
        for u in usage
    ]
    story.append(pdf_table(data, [width * 0.32, width * 0.16, width * 0.24, width * 0.14, width * 0.14], numeric_to=3))
    breaches = list(run.breaches.select_related("limit")[:20])
    if breaches:
        story.append(Paragraph("Breaches recorded by this run", h2))
        data = [["When (UTC)", "Limit", "Severity", "Use", "Subject", "Recommended action"], *_breach_rows(breaches)]
        widths = [width * 0.14, width * 0.17, width * 0.09, width * 0.06, width * 0.09, width * 0.45]
        story.append(pdf_table(data, widths, numeric_from=3, numeric_to=3))

    footer = (
        f"Vigil · run #{run.pk} · inputs {run.inputs_hash[:16]}… · {run.code_version} · "
        f"generated {timezone.now():%Y-%m-%d %H:%M} UTC"
    )

    def on_page(canvas: Any, document: Any) -> None:
        canvas.saveState()
        canvas.setFont("Helvetica", 6.5)
        canvas.setFillColor(colors.HexColor("#8a95a3"))
        canvas.drawString(15 * mm, 9 * mm, footer)
        canvas.drawRightString(A4[0] - 15 * mm, 9 * mm, f"page {document.page}")
        canvas.restoreState()

    doc.build(story, onFirstPage=on_page, onLaterPages=on_page)
    return buf.getvalue()
