"""Figures of the risk pages, built with the shared plotting helper (``core.plotting``).

Each builder takes stored run data and returns the figure's JSON for ``{% chart %}`` (an empty
string when there is nothing to draw). Amounts are in the portfolio's base currency; losses
are drawn below zero so VaR lines sit under the P&L they should contain.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import plotly.graph_objects as go

from core.plotting import (
    GRID,
    NEGATIVE,
    PALETTE,
    POSITIVE,
    chart_json,
    figure_new,
    horizontal_bar_figure,
    plain_text,
)
from riskapp.reports import method_label

EXCEPTION = "#b42318"  # the stylesheet's "bad" red: an exception is a model failure
# Bars drawn before the rest are summed into one "others" bar.
MAX_BARS = 20


def backtest_chart(backtest: dict[str, Any], currency: str) -> str:
    """Daily hypothetical P&L (bars) against −VaR of each method (lines), exceptions marked."""
    if not backtest or "methods" not in backtest:
        return ""
    dates = backtest["dates"]
    pnl = backtest["pnl"]
    fig = figure_new(height_px=300)
    fig.add_trace(
        go.Bar(
            x=dates,
            y=pnl,
            name="P&L",
            marker={"color": [POSITIVE if (p or 0) >= 0 else NEGATIVE for p in pnl], "opacity": 0.55},
            hovertemplate="%{x|%d %b %Y}<br>P&L %{y:,.0f}<extra></extra>",
        )
    )
    conf = backtest.get("confidence", 0.99)
    methods = [(m["method"], m) for m in backtest.get("method_list", [])] or list(backtest["methods"].items())
    for i, (method, data) in enumerate(methods):
        fig.add_trace(
            go.Scatter(
                x=dates,
                y=[-v if v is not None else None for v in data["var"]],
                mode="lines",
                name=f"−VaR {conf:.0%} {method_label(method)}",
                line={"width": 1.5, "color": PALETTE[(i + 1) % len(PALETTE)], "shape": "hv"},
                hovertemplate="%{x|%d %b %Y}<br>−VaR %{y:,.0f}<extra>" + method_label(method) + "</extra>",
            )
        )
    first, first_data = methods[0]
    var0 = first_data["var"]
    hits = [(d, p) for d, p, v in zip(dates, pnl, var0, strict=False) if p is not None and v is not None and -p > v]
    if hits:
        fig.add_trace(
            go.Scatter(
                x=[d for d, _ in hits],
                y=[p for _, p in hits],
                mode="markers",
                name=f"Exception ({method_label(first)})",
                marker={"symbol": "x", "size": 9, "color": EXCEPTION, "line": {"width": 1}},
                hovertemplate="%{x|%d %b %Y}<br>Loss beyond VaR: %{y:,.0f}<extra></extra>",
            )
        )
    fig.update_layout(
        xaxis={"type": "date", "gridcolor": "rgba(0,0,0,0)"},
        yaxis={"title": {"text": f"P&L ({currency})"}, "tickformat": "~s"},
        bargap=0.1,
        legend={"orientation": "h", "y": -0.18},
        hovermode="x unified",
    )
    return chart_json(fig)


def methods_chart(rows: Sequence[Any], currency: str) -> str:
    """VaR and ES at 99 % / 1 day by method (grouped horizontal bars)."""
    rows = [r for r in rows if r is not None]
    if not rows:
        return ""
    labels = [method_label(r.method) for r in rows]
    fig = figure_new(height_px=max(200, 60 + 34 * len(rows)))
    fig.add_trace(
        go.Bar(
            y=labels,
            x=[float(r.var) for r in rows],
            name="VaR",
            orientation="h",
            marker={"color": POSITIVE},
            hovertemplate="%{y}<br>VaR %{x:,.0f}<extra></extra>",
        )
    )
    fig.add_trace(
        go.Bar(
            y=labels,
            x=[float(r.es) for r in rows],
            name="ES",
            orientation="h",
            marker={"color": PALETTE[1]},
            hovertemplate="%{y}<br>ES %{x:,.0f}<extra></extra>",
        )
    )
    fig.update_layout(
        barmode="group",
        yaxis={"autorange": "reversed", "type": "category", "gridcolor": "rgba(0,0,0,0)"},
        xaxis={"title": {"text": f"99 % 1-day loss ({currency})"}, "tickformat": "~s"},
        bargap=0.3,
        bargroupgap=0.05,
    )
    return chart_json(fig)


def _top(
    labels: list[str], values: list[float], hover: list[str] | None = None
) -> tuple[list[str], list[float], list[str]]:
    hover = hover or [""] * len(labels)
    if len(labels) <= MAX_BARS:
        return labels, values, hover
    keep = MAX_BARS - 1
    rest = sum(values[keep:])
    return (
        [*labels[:keep], f"{len(labels) - keep} others"],
        [*values[:keep], rest],
        [*hover[:keep], "sum of the remaining"],
    )


def components_chart(components: Sequence[Any], currency: str) -> str:
    """Euler component VaR (99 % / 1 day) per risk factor, largest first; hedges below zero."""
    if not components:
        return ""
    labels, values, hover = _top(
        [c.instrument.symbol for c in components],
        [c.component_var for c in components],
        [f"{c.share:.1%} of VaR · exposure {float(c.value):,.0f}" for c in components],
    )
    fig = horizontal_bar_figure(
        labels=labels, values=values, value_label=f"Component VaR ({currency})", hover_text=hover
    )
    return chart_json(fig)


def stress_chart(stress: Sequence[Any], currency: str) -> str:
    """P&L of each stress scenario (losses in orange), worst first."""
    rows = [s for s in stress if s.kind != "reverse"]
    if not rows:
        return ""
    fig = horizontal_bar_figure(
        labels=[s.scenario for s in rows],
        values=[s.pnl for s in rows],
        value_label=f"Scenario P&L ({currency})",
        hover_text=[f"{s.kind} · {s.pnl_pct_nav:.1%} of NAV" if s.pnl_pct_nav is not None else s.kind for s in rows],
    )
    return chart_json(fig)


def factors_chart(exposures: Sequence[Any]) -> str:
    """Portfolio betas per factor."""
    if not exposures:
        return ""
    fig = horizontal_bar_figure(
        labels=[f.factor for f in exposures],
        values=[f.beta for f in exposures],
        value_label="Beta (per unit of NAV)",
        value_format=".2f",
        hover_text=[f"{f.contribution:.0%} of systematic variance" for f in exposures],
    )
    fig.update_layout(xaxis={"tickformat": ".2f"})
    return chart_json(fig)


def sector_chart(by_sector: dict[str, Any] | None) -> str:
    """Net exposure by sector (delta-equivalent), largest gross first."""
    if not by_sector:
        return ""
    labels = list(by_sector)
    fig = horizontal_bar_figure(
        labels=labels,
        values=[by_sector[k]["net"] for k in labels],
        value_label="Net exposure",
        hover_text=[f"{by_sector[k]['weight']:.1%} of gross · {by_sector[k]['count']} names" for k in labels],
    )
    return chart_json(fig)


def liquidity_chart(profile: dict[str, float]) -> str:
    """Share of the book's gross value that can be sold within each number of days."""
    if not profile:
        return ""
    days = list(profile)
    fig = figure_new(height_px=200)
    fig.add_trace(
        go.Bar(
            x=[f"{d} d" for d in days],
            y=[profile[d] for d in days],
            marker={"color": POSITIVE},
            hovertemplate="within %{x}: %{y:.1%} of gross value<extra></extra>",
        )
    )
    fig.update_layout(
        yaxis={"tickformat": ".0%", "range": [0, 1.05], "title": {"text": "Liquidated"}},
        xaxis={"type": "category", "gridcolor": "rgba(0,0,0,0)"},
        showlegend=False,
    )
    return chart_json(fig)


def regime_chart(regime: dict[str, Any]) -> str:
    """Filtered probability of the stressed regime over the last year."""
    if not regime or "path" not in regime:
        return ""
    fig = figure_new(height_px=160)
    fig.add_trace(
        go.Scatter(
            x=regime["dates"],
            y=regime["path"],
            mode="lines",
            line={"color": NEGATIVE, "width": 1.5},
            fill="tozeroy",
            fillcolor="rgba(213,94,0,0.12)",
            hovertemplate="%{x|%d %b %Y}<br>P(stressed) %{y:.0%}<extra></extra>",
        )
    )
    fig.update_layout(
        yaxis={"tickformat": ".0%", "range": [0, 1], "gridcolor": GRID},
        xaxis={"type": "date", "gridcolor": "rgba(0,0,0,0)"},
        showlegend=False,
        margin={"l": 8, "r": 8, "t": 6, "b": 6},
    )
    return chart_json(fig)


def overview_chart(rows: Sequence[dict[str, Any]]) -> str:
    """VaR and ES (99 % / 1 day, historical) as % of NAV per portfolio."""
    rows = [r for r in rows if r.get("var_pct") is not None]
    if not rows:
        return ""
    labels = [plain_text(r["portfolio"].code) for r in rows]
    fig = figure_new(height_px=max(180, 60 + 30 * len(rows)))
    for name, key, colour in (("VaR", "var_pct", POSITIVE), ("ES", "es_pct", PALETTE[1])):
        fig.add_trace(
            go.Bar(
                y=labels,
                x=[r[key] for r in rows],
                name=f"{name} 99 % 1d",
                orientation="h",
                marker={"color": colour},
                hovertemplate="%{y}<br>" + name + " %{x:.2%} of NAV<extra></extra>",
            )
        )
    fig.update_layout(
        barmode="group",
        yaxis={"autorange": "reversed", "type": "category", "gridcolor": "rgba(0,0,0,0)"},
        xaxis={"tickformat": ".1%"},
        legend={"orientation": "h", "x": 0, "y": 1.02, "yanchor": "bottom"},
        margin={"l": 8, "r": 16, "t": 28, "b": 8},
    )
    return chart_json(fig)
