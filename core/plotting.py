"""The one plotting helper: plotly figures built on the server, rendered to JSON for templates.

Every chart in Vigil goes through here so they share one look (system fonts, tight margins,
one palette, no plotly logo) and one way into a page:

1. a view builds a figure with ``figure_new`` or one of the builders below and passes
   ``chart_json(fig)`` to its template;
2. the template renders it with ``{% load charts %}{% chart data_json %}`` (a ``<div>`` plus the
   JSON in a ``<script type="application/json">``);
3. the page loads plotly.js and ``static/js/charts.js`` in ``{% block scripts %}`` with
   ``{% chart_scripts %}``; ``charts.js`` calls ``Plotly.newPlot`` on every chart, including
   charts swapped in later by htmx.

plotly.js is served from the installed plotly package (``vendor/plotly/plotly.min.js``, see
``STATICFILES_DIRS``), never from a CDN. Figures contain no user-supplied HTML: labels are
passed as data and plotly.js renders them as text.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

import plotly.graph_objects as go
import plotly.io as pio

# The same system stack as static/css/vigil.css: no web fonts are downloaded.
FONT_FAMILY = (
    'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, "Noto Sans", "Liberation Sans", sans-serif'
)
TEXT = "#1f2933"
MUTED = "#64748b"
GRID = "#e5e9f0"
# Qualitative palette: blue first (the product accent), then colours that stay distinct for
# the common forms of colour blindness (after Okabe & Ito).
PALETTE = ["#2563eb", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00", "#0072b2", "#7c8799"]
# Signed quantities: gains/longs and losses/shorts. Blue/orange rather than green/red, so the
# sign reads for red-green colour-blind users too.
POSITIVE = "#2563eb"
NEGATIVE = "#d55e00"

# Options passed to Plotly.newPlot: responsive to the container, a small mode bar without
# the plotly logo or the "edit in chart studio" link.
CONFIG: dict[str, Any] = {
    "responsive": True,
    "displaylogo": False,
    "displayModeBar": "hover",
    "modeBarButtonsToRemove": ["select2d", "lasso2d", "autoScale2d", "toggleSpikelines"],
    "toImageButtonOptions": {"format": "png", "scale": 2},
}

# Characters that could end the <script> element or open a comment inside it; the same
# escapes as django.utils.html.json_script.
_SCRIPT_ESCAPES = {ord(">"): "\\u003E", ord("<"): "\\u003C", ord("&"): "\\u0026"}


def plain_text(text: str) -> str:
    """A label shown as typed: plotly renders a subset of HTML (links, styles) in labels and
    hover text, and labels can come from an OMS, so markup is escaped to entities."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def base_layout(*, height_px: int = 320, title: str | None = None) -> dict[str, Any]:
    """The shared layout: fonts, margins (px), colours, axes, legend and hover label."""
    axis = {
        "gridcolor": GRID,
        "linecolor": GRID,
        "zerolinecolor": "#cbd2dc",
        "tickfont": {"size": 11, "color": MUTED},
        "title": {"font": {"size": 12, "color": MUTED}},
        "automargin": True,
    }
    layout: dict[str, Any] = {
        # "none" keeps plotly's default template (~10 kB of JSON) out of every figure.
        "template": "none",
        "height": height_px,
        "autosize": True,
        "font": {"family": FONT_FAMILY, "size": 12, "color": TEXT},
        "colorway": PALETTE,
        "paper_bgcolor": "rgba(0,0,0,0)",
        "plot_bgcolor": "rgba(0,0,0,0)",
        "margin": {"l": 8, "r": 16, "t": 36 if title else 12, "b": 8, "pad": 2},
        "xaxis": dict(axis),
        "yaxis": dict(axis),
        "legend": {"orientation": "h", "y": -0.15, "font": {"size": 11}},
        "hoverlabel": {"font": {"family": FONT_FAMILY, "size": 12}, "bgcolor": "#ffffff", "bordercolor": GRID},
        "bargap": 0.25,
    }
    if title:
        layout["title"] = {"text": title, "x": 0, "xanchor": "left", "font": {"size": 13, "color": TEXT}}
    return layout


def figure_new(*, height_px: int = 320, title: str | None = None, **layout: Any) -> go.Figure:
    """An empty figure with the shared layout; ``layout`` keys override or extend it."""
    fig = go.Figure(layout=base_layout(height_px=height_px, title=title))
    if layout:
        fig.update_layout(**layout)
    return fig


def _floats(values: Sequence[Decimal | float | int | None]) -> list[float | None]:
    """Decimals from the database become floats for plotting (display only, never for maths)."""
    return [None if v is None else float(v) for v in values]


def horizontal_bar_figure(
    *,
    labels: Sequence[str],
    values: Sequence[Decimal | float | int | None],
    value_label: str,
    title: str | None = None,
    value_format: str = ",.0f",
    hover_text: Sequence[str] | None = None,
) -> go.Figure:
    """One horizontal bar per label, first label on top; negative values in ``NEGATIVE``.

    Height grows with the number of bars (22 px each) so labels never overlap.
    """
    xs = _floats(values)
    colours = [NEGATIVE if (x or 0) < 0 else POSITIVE for x in xs]
    fig = figure_new(height_px=max(160, 48 + 22 * len(xs)), title=title)
    fig.add_trace(
        go.Bar(
            x=xs,
            y=[plain_text(label) for label in labels],
            orientation="h",
            marker={"color": colours},
            customdata=[plain_text(h) for h in hover_text] if hover_text is not None else None,
            hovertemplate=(
                "<b>%{y}</b><br>"
                + f"{value_label}: %{{x:{value_format}}}"
                + ("<br>%{customdata}" if hover_text is not None else "")
                + "<extra></extra>"
            ),
        )
    )
    fig.update_layout(
        yaxis={"autorange": "reversed", "type": "category", "gridcolor": "rgba(0,0,0,0)"},
        xaxis={"title": {"text": value_label}, "tickformat": "~s", "zeroline": True},
        showlegend=False,
    )
    return fig


def daily_bar_figure(
    *,
    days: Sequence[date],
    values: Sequence[Decimal | float | int],
    value_label: str,
    title: str | None = None,
    height_px: int = 220,
) -> go.Figure:
    """One bar per calendar day (UTC dates), e.g. executions per day."""
    fig = figure_new(height_px=height_px, title=title)
    fig.add_trace(
        go.Bar(
            x=[d.isoformat() for d in days],
            y=_floats(values),
            marker={"color": POSITIVE},
            hovertemplate="%{x|%a %d %b %Y}<br>" + value_label + ": %{y:,}<extra></extra>",
        )
    )
    fig.update_layout(
        xaxis={"type": "date", "tickformat": "%d %b", "gridcolor": "rgba(0,0,0,0)"},
        yaxis={"title": {"text": value_label}, "rangemode": "tozero", "tickformat": "~s"},
        showlegend=False,
        bargap=0.15,
    )
    return fig


def chart_json(fig: go.Figure) -> str:
    """``{"data", "layout", "config"}`` as JSON text, safe to place inside a ``<script>`` element.

    Uses plotly's own encoder, so numpy arrays, dates and Decimals serialise as plotly.js
    expects.
    """
    payload = json.loads(pio.to_json(fig, validate=False, remove_uids=True))
    payload["config"] = CONFIG
    return json.dumps(payload, separators=(",", ":")).translate(_SCRIPT_ESCAPES)
