"""File downloads shared by every product: CSV (streamed, injection-safe), PDF table style.

CSV cells a spreadsheet would run as a formula (text starting with ``=``, ``+``, ``-``, ``@``,
tab or carriage return) get a leading apostrophe, as OWASP advises against CSV injection;
numbers are written as numbers. File names are reduced to ``[A-Za-z0-9._-]`` because they often
carry filter values people typed.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from django.http import HttpResponse, StreamingHttpResponse

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value: Any) -> Any:
    """One CSV cell: formula-like text quoted, None as an empty cell, anything else unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return "" if value is None else value


class _Echo:
    """A file-like object whose write returns the line, so ``csv.writer`` feeds a generator."""

    def write(self, value: str) -> str:
        return value


def csv_lines(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Iterator[str]:
    """The CSV text line by line (for streaming), header first."""
    writer = csv.writer(_Echo())
    yield writer.writerow(header)
    for row in rows:
        yield writer.writerow([csv_safe(v) for v in row])


def csv_text(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    return "".join(csv_lines(header, rows))


def _disposition(response: HttpResponse | StreamingHttpResponse, name: str, disposition: str) -> None:
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", name)
    response["Content-Disposition"] = f'{disposition}; filename="{safe}"'


def download(content: bytes | str, content_type: str, name: str, *, disposition: str = "attachment") -> HttpResponse:
    """A file response named ``name`` (``inline`` opens PDFs in the browser)."""
    response = HttpResponse(content, content_type=content_type)
    _disposition(response, name, disposition)
    return response


def stream(lines: Iterable[str], content_type: str, name: str) -> StreamingHttpResponse:
    """A file streamed line by line: constant memory whatever the number of rows."""
    response = StreamingHttpResponse(lines, content_type=content_type)
    _disposition(response, name, "attachment")
    return response


def compact_amount(x: Any) -> str:
    """12.35m, 456k: amounts that fit a dense PDF table; "—" when missing."""
    if x is None:
        return "—"
    v = float(x)
    for size, unit in ((1e9, "bn"), (1e6, "m")):
        if abs(v) >= size:
            return f"{v / size:.2f}{unit}"
    return f"{v / 1e3:.0f}k" if abs(v) >= 1e4 else f"{v:,.0f}"


def pdf_table(
    data: list[list[Any]],
    widths: list[float] | None = None,
    *,
    numeric_from: int = 1,
    numeric_to: int = -1,
    font_size: float = 8,
) -> Any:
    """The project's dense PDF table: header row shaded, columns ``numeric_from``..``numeric_to``
    right-aligned, the header repeated on every page."""
    from reportlab.lib import colors
    from reportlab.platypus import Table, TableStyle

    t = Table(data, colWidths=widths, repeatRows=1)
    t.setStyle(
        TableStyle(
            [
                ("FONT", (0, 0), (-1, -1), "Helvetica", font_size),
                ("FONT", (0, 0), (-1, 0), "Helvetica-Bold", font_size - 0.5),
                ("TEXTCOLOR", (0, 0), (-1, 0), colors.HexColor("#5f6b7a")),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#f3f5f8")),
                ("LINEBELOW", (0, 0), (-1, 0), 0.5, colors.HexColor("#dde3ea")),
                ("LINEBELOW", (0, 1), (-1, -1), 0.25, colors.HexColor("#edf0f4")),
                ("ALIGN", (numeric_from, 0), (numeric_to, -1), "RIGHT"),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("TOPPADDING", (0, 0), (-1, -1), 2.5),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 2.5),
            ]
        )
    )
    return t


def pdf_styles() -> dict[str, Any]:
    """The paragraph styles of the project's PDF reports: h1, h2, body, small, cell."""
    from reportlab.lib import colors
    from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet

    base = getSampleStyleSheet()
    return {
        "h1": ParagraphStyle("h1", parent=base["Heading1"], fontSize=15, spaceAfter=2),
        "h2": ParagraphStyle(
            "h2",
            parent=base["Heading2"],
            fontSize=10,
            spaceBefore=8,
            spaceAfter=4,
            textColor=colors.HexColor("#1f2933"),
        ),
        "small": ParagraphStyle("small", parent=base["BodyText"], fontSize=7.5, textColor=colors.HexColor("#5f6b7a")),
        "body": ParagraphStyle("body", parent=base["BodyText"], fontSize=8.5, leading=11),
        "cell": ParagraphStyle("cell", parent=base["BodyText"], fontSize=7.5, leading=9),
    }


def pdf_width(*, landscape_page: bool = False) -> float:
    """The width (points) between the margins of ``pdf_build``'s A4 page."""
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.units import mm

    return float((landscape(A4) if landscape_page else A4)[0] - 30 * mm)


def pdf_build(story: list[Any], *, title: str, landscape_page: bool = False) -> bytes:
    """Lay out ``story`` on A4 with the footer every report carries: code version, time of
    generation (UTC) and page number."""
    import io

    from django.utils import timezone
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.units import mm
    from reportlab.platypus import SimpleDocTemplate

    from core.version import CODE_VERSION

    size = landscape(A4) if landscape_page else A4
    buf = io.BytesIO()
    doc = SimpleDocTemplate(
        buf,
        pagesize=size,
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=14 * mm,
        bottomMargin=16 * mm,
        title=title,
        author="Vigil",
    )
    footer = f"Vigil · {CODE_VERSION} · generated {timezone.now():%Y-%m-%d %H:%M} UTC"

    def on_page(canvas: Any, document: Any) -> None:
        canvas.saveState()
        canvas.setFont("Helvetica", 6.5)
        canvas.setFillColor(colors.HexColor("#8a95a3"))
        canvas.drawString(15 * mm, 9 * mm, footer)
        canvas.drawRightString(size[0] - 15 * mm, 9 * mm, f"page {document.page}")
        canvas.restoreState()

    doc.build(story, onFirstPage=on_page, onLaterPages=on_page)
    return buf.getvalue()
