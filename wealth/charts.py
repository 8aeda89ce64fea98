"""Figures of the wealth pages, built with the shared plotting helper (``core.plotting``).

Each builder takes plain stored figures (a plan's fan, a recommendation's explanation) and
returns the figure's JSON for ``{% chart %}``, or an empty string when there is nothing to
draw, so templates show an empty state instead of a blank frame. Wealth is in today's money
(the plan deflates its paths); returns and volatilities are annual fractions shown as %.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

import plotly.graph_objects as go

from core.plotting import GRID, NEGATIVE, PALETTE, POSITIVE, chart_json, figure_new

BAND_OUTER = "rgba(37, 99, 235, 0.12)"  # p5–p95
BAND_INNER = "rgba(37, 99, 235, 0.26)"  # p25–p75
TARGET_COLOUR = PALETTE[1]
CURRENT_COLOUR = NEGATIVE
PROPOSED_COLOUR = PALETTE[2]
MODEL_COLOUR = PALETTE[3]


def _finite(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)


def _month_dates(start: date, months: Sequence[int]) -> list[str]:
    """The first day of each month ``m`` months after ``start``'s month, as ISO dates."""
    out = []
    for m in months:
        total = start.month - 1 + int(m)
        out.append(date(start.year + total // 12, total % 12 + 1, 1).isoformat())
    return out


# ---------------------------------------------------------------------------- goals


def fan_chart(fan: Mapping[str, Any] | None, *, target: float | None, start: date) -> str:
    """A goal's projected wealth in today's money: the p5–p95 and p25–p75 bands, the median path
    and the target as a horizontal line; the x axis is the calendar month from ``start``.

    ``fan`` is ``GoalPlan.fan``: ``{"months": [...], "p5": [...], "p25", "p50", "p75", "p95"}``.
    """
    if not fan or not fan.get("months"):
        return ""
    months = list(fan["months"])
    series = {k: list(fan.get(k) or []) for k in ("p5", "p25", "p50", "p75", "p95")}
    if any(len(v) != len(months) for v in series.values()):
        return ""
    x = _month_dates(start, months)
    fig = figure_new(height_px=260)

    def band(lower: str, upper: str, colour: str, name: str) -> None:
        fig.add_trace(
            go.Scatter(x=x, y=series[lower], mode="lines", line={"width": 0}, hoverinfo="skip", showlegend=False)
        )
        fig.add_trace(
            go.Scatter(
                x=x,
                y=series[upper],
                mode="lines",
                line={"width": 0},
                fill="tonexty",
                fillcolor=colour,
                name=name,
                hoverinfo="skip",
            )
        )

    band("p5", "p95", BAND_OUTER, "5th–95th percentile")
    band("p25", "p75", BAND_INNER, "25th–75th percentile")
    fig.add_trace(
        go.Scatter(
            x=x,
            y=series["p50"],
            mode="lines",
            name="Median",
            line={"color": POSITIVE, "width": 2},
            customdata=list(zip(series["p5"], series["p25"], series["p75"], series["p95"], strict=True)),
            hovertemplate=(
                "%{x|%b %Y}<br>median %{y:,.0f}<br>25–75 %: %{customdata[1]:,.0f} – %{customdata[2]:,.0f}"
                "<br>5–95 %: %{customdata[0]:,.0f} – %{customdata[3]:,.0f}<extra></extra>"
            ),
        )
    )
    if target is not None and _finite(float(target)):
        fig.add_trace(
            go.Scatter(
                x=[x[0], x[-1]],
                y=[float(target), float(target)],
                mode="lines",
                name="Target",
                line={"color": TARGET_COLOUR, "width": 1.5, "dash": "dash"},
                hovertemplate="target %{y:,.0f}<extra></extra>",
            )
        )
    fig.update_layout(
        xaxis={"type": "date", "tickformat": "%Y", "gridcolor": GRID},
        yaxis={"title": {"text": "Wealth (today's money)"}, "tickformat": "~s", "rangemode": "tozero"},
        legend={"orientation": "h", "x": 0, "y": 1.02, "yanchor": "bottom"},
        margin={"l": 8, "r": 16, "t": 28, "b": 8},
        hovermode="x",
    )
    return chart_json(fig)


# ---------------------------------------------------------------------------- allocation


def _point(p: Any) -> tuple[float, float] | None:
    """(volatility, expected return) from a mapping with ``volatility``/``expected_return`` (or
    ``vol``/``ret``) or a two-item sequence; None when missing or not finite."""
    if p is None:
        return None
    if isinstance(p, Mapping):
        vol = p.get("volatility", p.get("vol"))
        ret = p.get("expected_return", p.get("ret", p.get("return")))
    elif isinstance(p, Sequence) and not isinstance(p, str) and len(p) == 2:
        vol, ret = p
    else:
        return None
    if not (_finite(vol) and _finite(ret)):
        return None
    return float(vol), float(ret)


def frontier_chart(frontier: Sequence[Any], *, current: Any = None, proposed: Any = None, model: Any = None) -> str:
    """The efficient frontier (volatility against expected return, both annual, in %) with the
    client's current portfolio, the profile's model portfolio and the proposed one as markers."""
    line = sorted(p for p in (_point(q) for q in frontier or ()) if p is not None)
    here, there, benchmark = _point(current), _point(proposed), _point(model)
    if not line and here is None and there is None:
        return ""
    fig = figure_new(height_px=320)
    hover = "%{fullData.name}<br>volatility %{x:.2f} %<br>expected return %{y:.2f} %<extra></extra>"
    if line:
        fig.add_trace(
            go.Scatter(
                x=[100 * v for v, _ in line],
                y=[100 * r for _, r in line],
                mode="lines+markers",
                name="Efficient frontier",
                line={"color": POSITIVE, "width": 2},
                marker={"size": 4},
                hovertemplate=hover,
            )
        )
    for point, name, colour, symbol in (
        (here, "Current", CURRENT_COLOUR, "circle"),
        (benchmark, "Model portfolio", MODEL_COLOUR, "diamond"),
        (there, "Proposed", PROPOSED_COLOUR, "star"),
    ):
        if point is not None:
            fig.add_trace(
                go.Scatter(
                    x=[100 * point[0]],
                    y=[100 * point[1]],
                    mode="markers",
                    name=name,
                    marker={"color": colour, "size": 13, "symbol": symbol, "line": {"color": "#ffffff", "width": 1}},
                    hovertemplate=hover,
                )
            )
    fig.update_layout(
        xaxis={"title": {"text": "Volatility (annual, %)"}, "ticksuffix": " %", "rangemode": "tozero"},
        yaxis={"title": {"text": "Expected return (annual, %)"}, "ticksuffix": " %"},
        legend={"orientation": "h", "x": 0, "y": 1.02, "yanchor": "bottom"},
        margin={"l": 8, "r": 16, "t": 28, "b": 8},
    )
    return chart_json(fig)
