"""Figures of the surveillance pages, built with the shared plotting helper (``core.plotting``).

Each builder returns the figure's JSON for ``{% chart %}``, or an empty string when there is
nothing to draw (the template then shows an empty note instead of a blank frame).

The market replay draws the consolidated best bid and ask as step lines (a quote holds until
the next one), public prints as grey dots sized by quantity, and the alerted account's orders
as horizontal segments at their limit price from ``new`` to the event that ended them. Buys and
sells differ by colour (blue / purple); new, cancel and fill differ by symbol and colour
(circle in the side's colour, black cross, amber star), so the chart also reads in grey scale.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import plotly.graph_objects as go

from core.plotting import GRID, MUTED, PALETTE, chart_json, figure_new, horizontal_bar_figure, plain_text
from surveillance.replay import OrderPath, Replay

BID = "#009e73"
ASK = "#d55e00"
TAPE = "#7c8799"
SIDE_COLOUR = {"buy": "#0072b2", "sell": "#cc79a7"}
CANCEL = "#1f2933"
FILL = "#e69f00"
WINDOW_FILL = "rgba(230,159,0,0.10)"
# Events that end an order's life on the book.
_ENDS = {"cancel", "fill", "reject"}
# Marker area proportional to quantity; the largest print is drawn MAX_DOT_PX wide.
MAX_DOT_PX = 12
MIN_DOT_PX = 3
# The replay opens zoomed on the alert window with this margin each side (at least
# ZOOM_MIN_PAD); a double-click shows the whole replay (window ± 5 min).
ZOOM_PAD_SHARE = 0.25
ZOOM_MIN_PAD = timedelta(seconds=30)
# SHAP bars beyond this many are summed into one "others" bar.
MAX_SHAP_BARS = 15
TIME_HOVER = "%H:%M:%S.%L"


def _ms(ts: datetime) -> str:
    """ISO time with milliseconds: plotly keeps sub-second dates when given as text."""
    return ts.isoformat(timespec="milliseconds").replace("+00:00", "")


def _dot_sizes(quantities: Sequence[float]) -> list[float]:
    top = max(quantities, default=0.0)
    if top <= 0:
        return [MIN_DOT_PX for _ in quantities]
    return [max(MIN_DOT_PX, MAX_DOT_PX * math.sqrt(q / top)) for q in quantities]


def _order_segments(order: OrderPath, end: datetime) -> list[tuple[datetime, datetime, float]]:
    """The (from, to, limit price) pieces of an order resting on the book: a replace starts a new
    piece at the new limit; the last piece ends at the first cancel/fill/reject, or at the end of
    the replay when the order is still open. Market orders have no limit and no segment."""
    pieces: list[tuple[datetime, datetime, float]] = []
    price = order.limit_price
    since = order.arrival_ts
    for step in order.steps:
        if step.kind == "new":
            since = step.ts
            price = step.price if step.price is not None else price
        elif step.kind == "replace":
            if price is not None:
                pieces.append((since, step.ts, price))
            since, price = step.ts, step.price if step.price is not None else price
        elif step.kind in _ENDS:
            if price is not None:
                pieces.append((since, step.ts, price))
            return pieces
    if price is not None:
        pieces.append((since, max(end, since), price))
    return pieces


def _add_quotes(fig: go.Figure, replay: Replay) -> None:
    if not replay.bbo:
        return
    xs = [_ms(ts) for ts, _, _ in replay.bbo]
    for name, values, colour in (
        ("Best bid", [b for _, b, _ in replay.bbo], BID),
        ("Best ask", [a for _, _, a in replay.bbo], ASK),
    ):
        fig.add_trace(
            go.Scatter(
                x=xs,
                y=values,
                mode="lines",
                name=name,
                line={"shape": "hv", "width": 1.5, "color": colour},
                hovertemplate=f"%{{x|{TIME_HOVER}}}<br>{name} %{{y:,.4~f}}<extra></extra>",
            )
        )


def _add_tape(fig: go.Figure, replay: Replay) -> None:
    if not replay.tape:
        return
    quantities = [q for _, _, q in replay.tape]
    fig.add_trace(
        go.Scatter(
            x=[_ms(ts) for ts, _, _ in replay.tape],
            y=[p for _, p, _ in replay.tape],
            mode="markers",
            name="Tape",
            marker={"color": TAPE, "opacity": 0.35, "size": _dot_sizes(quantities), "line": {"width": 0}},
            customdata=quantities,
            hovertemplate=f"%{{x|{TIME_HOVER}}}<br>print %{{customdata:,.0f}} @ %{{y:,.4~f}}<extra>tape</extra>",
        )
    )


def _add_orders(fig: go.Figure, replay: Replay) -> None:
    """Resting segments per side (one trace each, gaps as None), then event markers by type."""
    for side in ("buy", "sell"):
        xs: list[str | None] = []
        ys: list[float | None] = []
        labels: list[str | None] = []
        for order in replay.orders:
            if order.side != side:
                continue
            for since, until, price in _order_segments(order, replay.end):
                label = plain_text(f"{order.client_order_id} · {order.side} {order.quantity:,.0f} @ {price:,.4f}")
                xs += [_ms(since), _ms(until), None]
                ys += [price, price, None]
                labels += [label, label, None]
        if xs:
            fig.add_trace(
                go.Scatter(
                    x=xs,
                    y=ys,
                    mode="lines",
                    name=f"{side.title()} order",
                    line={"color": SIDE_COLOUR[side], "width": 3},
                    opacity=0.85,
                    customdata=labels,
                    hovertemplate=f"%{{x|{TIME_HOVER}}}<br>%{{customdata}}<extra>resting</extra>",
                )
            )
    _add_events(fig, replay)


def _add_events(fig: go.Figure, replay: Replay) -> None:
    groups: dict[str, dict[str, list[Any]]] = {}

    def put(kind: str, ts: datetime, price: float, colour: str, text: str) -> None:
        g = groups.setdefault(kind, {"x": [], "y": [], "c": [], "t": []})
        g["x"].append(_ms(ts))
        g["y"].append(price)
        g["c"].append(colour)
        g["t"].append(plain_text(text))

    for order in replay.orders:
        colour = SIDE_COLOUR.get(order.side, MUTED)
        price = order.limit_price
        for step in order.steps:
            if step.kind in {"new", "replace"} and step.price is not None:
                price = step.price
            at = step.price if step.kind in {"fill", "partial_fill"} else price
            if at is None:
                continue
            qty = f" {step.quantity:,.0f}" if step.quantity is not None else ""
            text = f"{order.client_order_id} {order.side} {step.kind}{qty} @ {at:,.4f}"
            kind = "fill" if step.kind == "partial_fill" else step.kind
            put(kind, step.ts, at, colour, text)
    # Executions booked without an order (or with an order outside the replay) are fills too.
    shown = {o.pk for o in replay.orders}
    for ex in replay.executions:
        if ex.order_id is None or ex.order_id not in shown:
            put("fill", ex.ts, ex.price, FILL, f"trade {ex.trade_id} {ex.side} {ex.quantity:,.0f} @ {ex.price:,.4f}")

    # name, symbol, colour (None: the side's colour per point), size in px
    styles: dict[str, tuple[str, str, str | None, int]] = {
        "new": ("New", "circle", None, 9),
        "replace": ("Replace", "diamond-open", None, 9),
        "cancel": ("Cancel", "x", CANCEL, 9),
        "fill": ("Fill", "star", FILL, 13),
        "reject": ("Reject", "x-open", CANCEL, 9),
    }
    for kind, (name, symbol, fixed, size) in styles.items():
        g = groups.get(kind)
        if not g:
            continue
        fig.add_trace(
            go.Scatter(
                x=g["x"],
                y=g["y"],
                mode="markers",
                name=name,
                marker={
                    "symbol": symbol,
                    "size": size,
                    "color": fixed or g["c"],
                    "line": {"width": 1, "color": "#ffffff" if kind in {"new", "fill"} else fixed or g["c"]},
                },
                customdata=g["t"],
                hovertemplate=f"%{{x|{TIME_HOVER}}}<br>%{{customdata}}<extra>{name.lower()}</extra>",
            )
        )


def replay_zoom(replay: Replay) -> tuple[datetime, datetime]:
    """The range the chart opens on: the alert window with a margin, inside the replay."""
    pad = max(ZOOM_MIN_PAD, (replay.window_end - replay.window_start) * ZOOM_PAD_SHARE)
    return max(replay.start, replay.window_start - pad), min(replay.end, replay.window_end + pad)


def _price_range(replay: Replay, since: datetime, until: datetime) -> list[float] | None:
    """Lowest and highest price drawn between ``since`` and ``until``, with a 10 % margin, so the
    zoomed view is not flattened by prices from the rest of the replay."""
    prices = [p for ts, b, a in replay.bbo if since <= ts <= until for p in (b, a) if p is not None]
    prices += [p for ts, p, _ in replay.tape if since <= ts <= until]
    for order in replay.orders:
        prices += [p for a, b, p in _order_segments(order, replay.end) if a <= until and b >= since]
    prices += [e.price for e in replay.executions if since <= e.ts <= until]
    if not prices:
        return None
    lo, hi = min(prices), max(prices)
    pad = max((hi - lo) * 0.1, hi * 1e-4)
    return [lo - pad, hi + pad]


def replay_chart(replay: Replay | None) -> str:
    """Best bid/ask, tape and the account's orders around the alert window (shaded), opened
    zoomed on the window; the data covers the whole replay for panning and zooming out."""
    if replay is None or replay.is_empty:
        return ""
    zoom_from, zoom_to = replay_zoom(replay)
    fig = figure_new(height_px=420)
    fig.add_shape(
        type="rect",
        xref="x",
        yref="paper",
        x0=_ms(replay.window_start),
        x1=_ms(replay.window_end),
        y0=0,
        y1=1,
        fillcolor=WINDOW_FILL,
        line={"width": 0},
        layer="below",
    )
    fig.add_annotation(
        x=_ms(replay.window_start),
        y=1,
        xref="x",
        yref="paper",
        text="alert window",
        showarrow=False,
        xanchor="left",
        yanchor="bottom",
        font={"size": 11, "color": MUTED},
    )
    _add_quotes(fig, replay)
    _add_tape(fig, replay)
    _add_orders(fig, replay)
    fig.update_layout(
        xaxis={
            "type": "date",
            "range": [_ms(zoom_from), _ms(zoom_to)],
            "tickformat": "%H:%M:%S",
            "hoverformat": TIME_HOVER,
            "gridcolor": GRID,
        },
        yaxis={
            "title": {"text": f"Price ({plain_text(replay.symbol)})"},
            "tickformat": ",.2f",
            "range": _price_range(replay, zoom_from, zoom_to),
        },
        legend={"orientation": "h", "y": -0.14, "x": 0},
        hovermode="closest",
        margin={"l": 8, "r": 16, "t": 22, "b": 8},
    )
    return chart_json(fig)


def explanation_rows(explanation: Mapping[str, Any] | None) -> list[tuple[str, float]]:
    """(feature, value) of an explanation's ``values``, largest |value| first; non-numbers dropped."""
    values = (explanation or {}).get("values") or {}
    if not isinstance(values, Mapping):
        return []
    rows = [
        (str(k), float(v))
        for k, v in values.items()
        if isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
    ]
    return sorted(rows, key=lambda kv: -abs(kv[1]))


def shap_chart(explanation: Mapping[str, Any] | None, *, value_label: str = "SHAP value") -> str:
    """Signed horizontal bars of an explanation's values, sorted by |value| (largest on top);
    pushes towards the alert (positive) in blue, away from it in orange."""
    rows = explanation_rows(explanation)
    if not rows:
        return ""
    if len(rows) > MAX_SHAP_BARS:
        keep = MAX_SHAP_BARS - 1
        rows = [*rows[:keep], (f"{len(rows) - keep} other features", sum(v for _, v in rows[keep:]))]
    units = (explanation or {}).get("units")
    label = f"{value_label} ({units})" if isinstance(units, str) and units else value_label
    fig = horizontal_bar_figure(
        labels=[k for k, _ in rows], values=[v for _, v in rows], value_label=label, value_format="+.3f"
    )
    fig.update_layout(xaxis={"tickformat": "+.2~f"})
    return chart_json(fig)


def volume_chart(per_day: Sequence[Mapping[str, Any]], labels: Mapping[str, str]) -> str:
    """Alerts raised per day, stacked by scenario. ``per_day`` rows: {day, scenario, count}."""
    if not per_day:
        return ""
    days = sorted({str(r["day"]) for r in per_day})
    scenarios = sorted({r["scenario"] for r in per_day})
    counts = {(str(r["day"]), r["scenario"]): r["count"] for r in per_day}
    fig = figure_new(height_px=280)
    for i, s in enumerate(scenarios):
        fig.add_trace(
            go.Bar(
                x=days,
                y=[counts.get((d, s), 0) for d in days],
                name=plain_text(labels.get(s, s)),
                marker={"color": PALETTE[i % len(PALETTE)]},
                hovertemplate="%{x|%d %b %Y}<br>%{y} alerts<extra>" + plain_text(labels.get(s, s)) + "</extra>",
            )
        )
    fig.update_layout(
        barmode="stack",
        xaxis={"type": "date", "tickformat": "%d %b", "gridcolor": "rgba(0,0,0,0)"},
        yaxis={"title": {"text": "Alerts"}, "rangemode": "tozero"},
        legend={"orientation": "h", "y": -0.2, "x": 0},
        bargap=0.2,
    )
    return chart_json(fig)


def count_bars_chart(counts: Sequence[tuple[str, int]], *, value_label: str, colour: str = PALETTE[0]) -> str:
    """One vertical bar per category (open alerts by state, by age bucket)."""
    if not counts or not any(n for _, n in counts):
        return ""
    fig = figure_new(height_px=220)
    fig.add_trace(
        go.Bar(
            x=[plain_text(k) for k, _ in counts],
            y=[n for _, n in counts],
            marker={"color": colour},
            text=[n for _, n in counts],
            textposition="outside",
            cliponaxis=False,
            hovertemplate="%{x}<br>%{y} " + value_label + "<extra></extra>",
        )
    )
    fig.update_layout(
        xaxis={"type": "category", "gridcolor": "rgba(0,0,0,0)"},
        yaxis={"title": {"text": value_label}, "rangemode": "tozero"},
        showlegend=False,
        margin={"l": 8, "r": 16, "t": 20, "b": 8},
    )
    return chart_json(fig)


def close_time_chart(rows: Sequence[Mapping[str, Any]], labels: Mapping[str, str]) -> str:
    """Median and 90th percentile time to close per scenario, in hours (grouped horizontal bars).
    ``rows``: {scenario, median_hours, p90_hours, n}."""
    rows = [r for r in rows if r.get("median_hours") is not None]
    if not rows:
        return ""
    names = [plain_text(labels.get(r["scenario"], r["scenario"])) for r in rows]
    fig = figure_new(height_px=max(180, 70 + 44 * len(rows)))
    for key, name, colour in (("median_hours", "Median", PALETTE[0]), ("p90_hours", "90th percentile", PALETTE[1])):
        fig.add_trace(
            go.Bar(
                y=names,
                x=[r.get(key) for r in rows],
                name=name,
                orientation="h",
                marker={"color": colour},
                customdata=[r.get("n", "") for r in rows],
                hovertemplate="%{y}<br>" + name + " %{x:,.1f} h · %{customdata} closed<extra></extra>",
            )
        )
    fig.update_layout(
        barmode="group",
        yaxis={"autorange": "reversed", "type": "category", "gridcolor": "rgba(0,0,0,0)"},
        xaxis={"title": {"text": "Hours from raised to closed"}, "rangemode": "tozero"},
        legend={"orientation": "h", "y": -0.25, "x": 0},
    )
    return chart_json(fig)
