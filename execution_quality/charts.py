"""Figures of the best-execution pages, built with the shared plotting helper (``core.plotting``).

Each builder takes plain stored figures (result rows, dicts) and returns the figure's JSON for
``{% chart %}``, or an empty string when there is nothing to draw, so templates show an empty
state instead of a blank frame. Costs are in basis points, positive = cost to the client;
markouts are positive when the price moved the trade's way (docs/tca-methodology.md).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, TypeGuard

import plotly.graph_objects as go

from core.plotting import (
    GRID,
    MUTED,
    NEGATIVE,
    PALETTE,
    POSITIVE,
    chart_json,
    figure_new,
    horizontal_bar_figure,
    plain_text,
)

# Scatter points beyond this are thinned evenly (the figure JSON stays small; the shape stays).
MAX_SCATTER_POINTS = 4000
# Quote steps drawn behind the fills; denser books are thinned to this many quotes.
MAX_QUOTE_POINTS = 3000
BENCHMARK_COLOURS = {"Arrival": PALETTE[2], "VWAP": PALETTE[1], "TWAP": PALETTE[3]}
BID_COLOUR = "#7c8799"
ASK_COLOUR = "#b0b8c4"


def _finite(x: Any) -> TypeGuard[float]:
    """A real number to draw (None, NaN and infinities are not)."""
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)


def _thin(n: int, limit: int) -> range:
    """Evenly spaced indices: every k-th row so that at most ``limit`` remain."""
    step = max(1, math.ceil(n / limit))
    return range(0, n, step)


# ---------------------------------------------------------------------------- dashboard


def cost_histogram(hist: Any) -> str:
    """Distribution of order costs vs arrival (bps) from a binned ``CostHistogram`` (selectors),
    with the zero line; orders outside the drawn range are named in the axis title."""
    if not hist.counts:
        return ""
    edges = [float(e) for e in hist.edges]
    centres = [0.5 * (a + b) for a, b in itertools.pairwise(edges)]
    widths = [b - a for a, b in itertools.pairwise(edges)]
    fig = figure_new(height_px=260)
    fig.add_trace(
        go.Bar(
            x=centres,
            y=list(hist.counts),
            width=widths,
            marker={"color": POSITIVE, "opacity": 0.8, "line": {"color": "#ffffff", "width": 0.5}},
            customdata=[[a, b] for a, b in itertools.pairwise(edges)],
            hovertemplate="%{customdata[0]:.1f} to %{customdata[1]:.1f} bps<br>%{y} orders<extra></extra>",
        )
    )
    if edges[0] < 0 < edges[-1]:
        fig.add_vline(x=0, line={"color": MUTED, "width": 1})
    outside = []
    if hist.below:
        outside.append(f"{hist.below} below")
    if hist.above:
        outside.append(f"{hist.above} above")
    title = "Cost vs arrival (bps, positive = cost)"
    if outside:
        title += f" · not drawn: {', '.join(outside)}"
    fig.update_layout(
        xaxis={"title": {"text": title}},
        yaxis={"title": {"text": "Orders"}, "rangemode": "tozero"},
        showlegend=False,
        bargap=0,
    )
    return chart_json(fig)


def cost_vs_size(rows: Sequence[Mapping[str, Any]]) -> str:
    """Cost vs arrival against order size as % of ADV (log axis); poor executions in orange.

    ``rows`` come from ``selectors.tca_cost_vs_size``: ``order_id``, ``symbol``, ``size_adv`` (a
    fraction), ``cost_arrival_bps`` and ``poor``. Orders without ADV cannot be placed on a log
    axis and are left out.
    """
    pts = [r for r in rows if _finite(r.get("size_adv")) and r["size_adv"] > 0 and _finite(r.get("cost_arrival_bps"))]
    if not pts:
        return ""
    pts = [pts[i] for i in _thin(len(pts), MAX_SCATTER_POINTS)]
    fig = figure_new(height_px=260)
    for poor, name, colour in ((False, "Orders", POSITIVE), (True, "Poor executions", NEGATIVE)):
        group = [r for r in pts if bool(r.get("poor")) is poor]
        if not group:
            continue
        # SVG, not WebGL (Scattergl): plotly's WebGL traces compile code with Function(), which
        # the Content-Security-Policy refuses (no 'unsafe-eval'); MAX_SCATTER_POINTS keeps SVG quick.
        fig.add_trace(
            go.Scatter(
                x=[100.0 * r["size_adv"] for r in group],
                y=[r["cost_arrival_bps"] for r in group],
                mode="markers",
                name=name,
                marker={"color": colour, "size": 6 if poor else 5, "opacity": 0.85 if poor else 0.5},
                customdata=[[r.get("order_id"), plain_text(str(r.get("symbol", "")))] for r in group],
                hovertemplate=(
                    "order %{customdata[0]} · %{customdata[1]}<br>%{x:.3g} % ADV · %{y:.1f} bps<extra></extra>"
                ),
            )
        )
    fig.add_hline(y=0, line={"color": MUTED, "width": 1})
    y_range, beyond = _robust_range([r["cost_arrival_bps"] for r in pts])
    if beyond:
        fig.add_annotation(
            text=f"{beyond} order{'s' if beyond > 1 else ''} beyond the axis",
            xref="paper",
            yref="paper",
            x=1,
            y=1.02,
            xanchor="right",
            yanchor="bottom",
            showarrow=False,
            font={"size": 11, "color": MUTED},
        )
    fig.update_layout(
        xaxis={"type": "log", "title": {"text": "Order size (% of ADV, log scale)"}},
        yaxis={"title": {"text": "Cost vs arrival (bps)"}, "range": y_range},
        legend={"orientation": "h", "x": 0, "y": 1.02, "yanchor": "bottom"},
        margin={"l": 8, "r": 16, "t": 28, "b": 8},
    )
    return chart_json(fig)


def _robust_range(values: Sequence[float]) -> tuple[list[float] | None, int]:
    """An axis range from the 1st to the 99th percentile, padded, so one stale-quote outlier does
    not squash every other order into a line; and how many points fall outside it."""
    xs = sorted(values)
    if len(xs) < 20:
        return None, 0
    lo, hi = xs[int(0.01 * (len(xs) - 1))], xs[math.ceil(0.99 * (len(xs) - 1))]
    pad = 0.1 * (hi - lo) or 1.0
    lo, hi = min(lo - pad, 0.0), max(hi + pad, 0.0)
    return [lo, hi], sum(1 for x in xs if not lo <= x <= hi)


def cost_by_group(groups: Sequence[Any], *, label: str = "") -> str:
    """Average cost vs arrival (bps) per venue, broker or hour of arrival, one bar each.

    ``groups`` are ``selectors.CostGroup`` rows in display order; ``label`` prefixes each bar's
    name (e.g. "UTC hour ").
    """
    groups = [g for g in groups if _finite(g.avg_cost_arrival_bps)]
    if not groups:
        return ""
    fig = horizontal_bar_figure(
        labels=[f"{label}{g.key}" for g in groups],
        values=[g.avg_cost_arrival_bps for g in groups],
        value_label="Average cost vs arrival (bps)",
        value_format=".1f",
        hover_text=[
            f"{g.orders} orders · notional-weighted {g.weighted_cost_arrival_bps:.1f} bps"
            if _finite(g.weighted_cost_arrival_bps)
            else f"{g.orders} orders"
            for g in groups
        ],
    )
    # A positive cost is bad for the client: costs in orange, savings (price improvement) in
    # blue, the reverse of the helper's sign colours.
    fig.data[0].marker.color = [NEGATIVE if g.avg_cost_arrival_bps > 0 else POSITIVE for g in groups]
    fig.update_layout(xaxis={"tickformat": ".0f"})
    return chart_json(fig)


# ---------------------------------------------------------------------------- order page


def fills_chart(
    *,
    fills: Sequence[Mapping[str, Any]],
    quotes: Sequence[Mapping[str, Any]],
    benchmarks: Mapping[str, float | None],
    start: datetime,
    end: datetime,
    side: str,
) -> str:
    """The order's fills (markers sized by quantity) over the prevailing bid and ask (steps), with
    the arrival, VWAP and TWAP levels drawn across the order's life, on a time axis (UTC)."""
    if not fills and not quotes:
        return ""
    fig = figure_new(height_px=340)
    if quotes:
        idx = _thin(len(quotes), MAX_QUOTE_POINTS)
        ts = [quotes[i]["ts"] for i in idx]
        for key, name, colour in (("bid", "Bid", BID_COLOUR), ("ask", "Ask", ASK_COLOUR)):
            fig.add_trace(
                go.Scatter(
                    x=ts,
                    y=[float(quotes[i][key]) for i in idx],
                    mode="lines",
                    name=name,
                    line={"color": colour, "width": 1, "shape": "hv"},
                    hovertemplate="%{x|%H:%M:%S.%L}<br>" + name + " %{y:.4f}<extra></extra>",
                )
            )
    for name, level in benchmarks.items():
        if _finite(level):
            fig.add_trace(
                go.Scatter(
                    x=[start, end],
                    y=[level, level],
                    mode="lines",
                    name=name,
                    line={"color": BENCHMARK_COLOURS.get(name, MUTED), "width": 1.5, "dash": "dash"},
                    hovertemplate=name + " %{y:.4f}<extra></extra>",
                )
            )
    if fills:
        qty = [float(f["quantity"]) for f in fills]
        biggest = max(qty) or 1.0
        fig.add_trace(
            go.Scatter(
                x=[f["ts"] for f in fills],
                y=[float(f["price"]) for f in fills],
                mode="markers",
                name=f"Fills ({side})",
                marker={
                    "color": POSITIVE if side == "buy" else NEGATIVE,
                    "size": [6 + 14 * math.sqrt(q / biggest) for q in qty],
                    "line": {"color": "#ffffff", "width": 1},
                    "symbol": "triangle-up" if side == "buy" else "triangle-down",
                },
                customdata=[[q, plain_text(str(f.get("venue") or "—"))] for q, f in zip(qty, fills, strict=True)],
                hovertemplate=(
                    "%{x|%H:%M:%S.%L}<br>%{customdata[0]:,.0f} @ %{y:.4f}<br>venue %{customdata[1]}<extra></extra>"
                ),
            )
        )
    fig.update_layout(
        xaxis={"type": "date", "title": {"text": "Time (UTC)"}, "gridcolor": "rgba(0,0,0,0)"},
        yaxis={"title": {"text": "Price"}, "tickformat": ".2f"},
        legend={"orientation": "h", "x": 0, "y": 1.02, "yanchor": "bottom"},
        margin={"l": 8, "r": 16, "t": 28, "b": 8},
        hovermode="closest",
    )
    return chart_json(fig)


def shortfall_chart(parts: Mapping[str, float | None]) -> str:
    """Perold implementation shortfall as a waterfall: delay, trading, opportunity and fees (bps)
    adding up to the total; costs rise (orange), savings fall (blue)."""
    steps = [(label, parts.get(key)) for key, label in SHORTFALL_PARTS]
    if not any(_finite(v) for _, v in steps):
        return ""
    values = [float(v) if _finite(v) else 0.0 for _, v in steps]
    total = parts.get("total")
    total_value = float(total) if _finite(total) else sum(values)
    fig = figure_new(height_px=240)
    fig.add_trace(
        go.Waterfall(
            x=[label for label, _ in steps] + ["Shortfall"],
            y=[*values, total_value],
            measure=["relative"] * len(values) + ["total"],
            increasing={"marker": {"color": NEGATIVE}},
            decreasing={"marker": {"color": POSITIVE}},
            totals={"marker": {"color": PALETTE[7]}},
            connector={"line": {"color": GRID}},
            text=[f"{round(v, 1) + 0.0:+.1f}" for v in [*values, total_value]],  # + 0.0: no "-0.0"
            textposition="outside",
            hovertemplate="%{x}: %{y:.2f} bps<extra></extra>",
        )
    )
    fig.update_layout(
        yaxis={"title": {"text": "bps of the paper investment"}, "zeroline": True},
        xaxis={"type": "category", "gridcolor": "rgba(0,0,0,0)"},
        showlegend=False,
        margin={"l": 8, "r": 16, "t": 20, "b": 8},
    )
    return chart_json(fig)


SHORTFALL_PARTS = (("delay", "Delay"), ("trading", "Trading"), ("opportunity", "Opportunity"), ("fees", "Fees"))


def markouts_chart(
    horizons_s: Sequence[float], fills: Sequence[Sequence[float | None]], average: Sequence[float | None]
) -> str:
    """Markouts (bps, positive = the price moved the trade's way) at each horizon: one faint line
    per fill and the quantity-weighted average in bold."""
    if not any(_finite(v) for v in average):
        return ""
    labels = [horizon_label(h) for h in horizons_s]
    fig = figure_new(height_px=240)
    for i, series in enumerate(fills[:200]):
        fig.add_trace(
            go.Scatter(
                x=labels,
                y=list(series),
                mode="lines",
                line={"color": "rgba(37,99,235,0.18)", "width": 1},
                showlegend=i == 0,
                name="Each fill",
                hoverinfo="skip",
            )
        )
    fig.add_trace(
        go.Scatter(
            x=labels,
            y=list(average),
            mode="lines+markers",
            name="Quantity-weighted average",
            line={"color": POSITIVE, "width": 2.5},
            marker={"size": 7},
            hovertemplate="after %{x}: %{y:.1f} bps<extra></extra>",
        )
    )
    fig.add_hline(y=0, line={"color": MUTED, "width": 1})
    fig.update_layout(
        xaxis={"type": "category", "title": {"text": "Horizon after the fill"}, "gridcolor": "rgba(0,0,0,0)"},
        yaxis={"title": {"text": "Markout (bps)"}},
        legend={"orientation": "h", "x": 0, "y": 1.02, "yanchor": "bottom"},
        margin={"l": 8, "r": 16, "t": 28, "b": 8},
    )
    return chart_json(fig)


def horizon_label(seconds: float) -> str:
    """1 s, 5 s, 1 min, 5 min."""
    return f"{seconds / 60:g} min" if seconds >= 60 else f"{seconds:g} s"


def shap_chart(values: Mapping[str, float], *, base: float | None, prediction: float | None) -> str:
    """SHAP contributions to the predicted cost (bps), largest first: what pushed the expected
    cost for these conditions up (orange) or down (blue) from the model's average."""
    items = sorted(((k, float(v)) for k, v in values.items() if _finite(v)), key=lambda kv: -abs(kv[1]))
    if not items:
        return ""
    shown = items[:12]
    rest = items[12:]
    if rest:
        shown.append((f"{len(rest)} other features", sum(v for _, v in rest)))
    fig = horizontal_bar_figure(
        labels=[_feature_label(k) for k, _ in shown],
        values=[v for _, v in shown],
        value_label="Contribution to predicted cost (bps)",
        value_format="+.2f",
    )
    fig.data[0].marker.color = [NEGATIVE if v > 0 else POSITIVE for _, v in shown]
    title = []
    if _finite(base):
        title.append(f"average {base:.1f} bps")
    if _finite(prediction):
        title.append(f"predicted {prediction:.1f} bps")
    fig.update_layout(xaxis={"tickformat": ".1f"})
    if title:
        fig.update_layout(
            title={"text": " → ".join(title), "x": 0, "xanchor": "left", "font": {"size": 12, "color": MUTED}},
            margin={"t": 30},
        )
    return chart_json(fig)


def _feature_label(name: str) -> str:
    """A feature group as a bar label: the first letter upper-cased, the rest as stored
    ("size (% ADV)" → "Size (% ADV)")."""
    return name[:1].upper() + name[1:]


# ---------------------------------------------------------------------------- pre-trade and reports


def schedule_chart(times: Sequence[float], holdings: Sequence[float], trades: Sequence[float], *, unit: str) -> str:
    """Almgren–Chriss schedule: shares still to trade (line) and shares traded per period (bars)."""
    if not times or not holdings:
        return ""
    fig = figure_new(height_px=280)
    peak = max([*trades, 0.0]) or 1.0
    mids = [0.5 * (a + b) for a, b in itertools.pairwise(times)]
    fig.add_trace(
        go.Bar(
            x=mids,
            y=list(trades),
            name="Shares per period",
            marker={"color": PALETTE[4], "opacity": 0.7},
            yaxis="y2",
            hovertemplate="%{x:.2f} " + unit + "<br>trade %{y:,.0f}<extra></extra>",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=list(times),
            y=list(holdings),
            mode="lines+markers",
            name="Shares remaining",
            line={"color": POSITIVE, "width": 2.5},
            marker={"size": 4},
            hovertemplate="%{x:.2f} " + unit + "<br>remaining %{y:,.0f}<extra></extra>",
        )
    )
    fig.update_layout(
        xaxis={"title": {"text": f"Time ({unit})"}, "gridcolor": "rgba(0,0,0,0)"},
        yaxis={"title": {"text": "Shares remaining"}, "rangemode": "tozero", "tickformat": "~s"},
        yaxis2={
            "title": {"text": "Shares per period", "font": {"size": 12, "color": MUTED}},
            "overlaying": "y",
            "side": "right",
            # Bars use the lower part of the plot so the remaining-shares line stays readable;
            # round steps, or plotly splits the range into quarters of odd values.
            "range": [0, 2.5 * peak],
            "tickmode": "linear",
            "tick0": 0,
            "dtick": _nice_step(peak / 2),
            "showgrid": False,
            "tickformat": ",.0f",
            "tickfont": {"size": 11, "color": MUTED},
            "automargin": True,
        },
        legend={"orientation": "h", "x": 0, "y": 1.02, "yanchor": "bottom"},
        margin={"l": 8, "r": 8, "t": 28, "b": 8},
        bargap=0.15,
    )
    return chart_json(fig)


def _nice_step(x: float) -> float:
    """The smallest of 1, 2, 2.5 or 5 × 10ᵏ that is at least ``x`` (> 0)."""
    if not x > 0:
        return 1.0
    scale = 10.0 ** math.floor(math.log10(x))
    return next(m * scale for m in (1.0, 2.0, 2.5, 5.0, 10.0) if m * scale >= x * (1 - 1e-12))


def league_chart(rows: Sequence[Any]) -> str:
    """Average and notional-weighted cost vs arrival (bps) per venue or broker (grouped bars);
    ``rows`` are ``selectors.LeagueRow``, largest notional first."""
    rows = [r for r in rows if _finite(r.avg_cost_arrival_bps) or _finite(r.weighted_cost_arrival_bps)]
    if not rows:
        return ""
    labels = [plain_text(r.key) for r in rows]
    fig = figure_new(height_px=max(180, 70 + 34 * len(rows)))
    for attr, name, colour in (
        ("avg_cost_arrival_bps", "Average per fill", POSITIVE),
        ("weighted_cost_arrival_bps", "Notional-weighted", PALETTE[1]),
    ):
        fig.add_trace(
            go.Bar(
                y=labels,
                x=[getattr(r, attr) if _finite(getattr(r, attr)) else None for r in rows],
                name=name,
                orientation="h",
                marker={"color": colour},
                hovertemplate="%{y}<br>" + name + " %{x:.1f} bps<extra></extra>",
            )
        )
    fig.update_layout(
        barmode="group",
        yaxis={"autorange": "reversed", "type": "category", "gridcolor": "rgba(0,0,0,0)"},
        xaxis={"title": {"text": "Cost vs arrival (bps, positive = cost)"}, "zeroline": True},
        legend={"orientation": "h", "x": 0, "y": 1.02, "yanchor": "bottom"},
        margin={"l": 8, "r": 16, "t": 28, "b": 8},
    )
    return chart_json(fig)
