"""The client report PDF: profile and its reasons, holdings, goals with their probability of
success, proposed trades with their tax effect, harvest opportunities and coaching nudges.

Built from the same context as the client page (``wealth.views.clients.client_context``), so
the report says what the page says. Money in the accounts' currency with no decimals; weights
and probabilities as %; a negative tax is a saving.
"""

from __future__ import annotations

import html
from typing import Any

from django.utils import timezone

from core.exports import compact_amount, pdf_build, pdf_styles, pdf_table, pdf_width


def _money(x: Any) -> str:
    if x is None or x == "":
        return "—"
    v = float(x)
    return f"{round(v) + 0:,.0f}"


def _pct(x: Any, digits: int = 1) -> str:
    return "—" if x is None or x == "" else f"{float(x) * 100:.{digits}f} %"


def _qty(x: Any) -> str:
    if x is None or x == "":
        return "—"
    v = float(x)
    return f"{v:,.0f}" if v == int(v) else f"{v:,.4f}"


def _p(text: Any, style: Any) -> Any:
    from reportlab.platypus import Paragraph

    return Paragraph(html.escape(str(text)), style)


def _trade_rows(trades: list[dict[str, Any]], st: dict[str, Any]) -> list[list[Any]]:
    data: list[list[Any]] = [["Account", "Symbol", "Side", "Quantity", "Price", "Amount", "Gain", "Term", "Tax"]]
    for t in trades:
        term = "" if t.get("short_term") is None else ("short" if t.get("short_term") else "long")
        data.append(
            [
                _p(t.get("account", ""), st["cell"]),
                t.get("symbol", ""),
                t.get("side", ""),
                _qty(t.get("quantity")),
                f"{float(t['price']):,.2f}" if t.get("price") not in (None, "") else "—",
                _money(t.get("amount")),
                _money(t.get("realized_gain")),
                term,
                _money(t.get("tax")),
            ]
        )
    return data


def client_report_pdf(ctx: dict[str, Any]) -> bytes:
    """The report of one client from the client page's context."""
    from reportlab.platypus import Spacer

    st = pdf_styles()
    width = pdf_width()
    client = ctx["client"]
    story: list[Any] = [
        _p(f"Client report — {client.name}", st["h1"]),
        _p(
            f"{client.code} · advisor {client.advisor.get_username()} · as of {timezone.localdate():%Y-%m-%d} · "
            f"total value {_money(ctx['total'])} (cash {_money(ctx['cash'])}) · "
            f"tax rates {_pct(client.tax_rate_short, 0)} short-term, {_pct(client.tax_rate_long, 0)} long-term",
            st["small"],
        ),
        Spacer(1, 6),
        _p("Risk profile", st["h2"]),
    ]
    profile = ctx.get("profile")
    if profile is None:
        story.append(_p("No risk questionnaire answered yet.", st["body"]))
    else:
        story.append(
            _p(
                f"{ctx['profile_name']} (profile {profile.profile} of 5) · score {profile.score:.0f} of 100 · "
                f"willingness {profile.willingness:.0f} · capacity {profile.capacity:.0f} · "
                f"answered {timezone.localtime(profile.created_at):%Y-%m-%d}",
                st["body"],
            )
        )
        for reason in ctx["profile_reasons"]:
            story.append(_p(f"• {reason}", st["body"]))

    story.append(_p("Holdings", st["h2"]))
    holdings = ctx["holdings"]
    if not holdings:
        story.append(_p("No holdings.", st["body"]))
    else:
        data: list[list[Any]] = [["Symbol", "Quantity", "Price", "Value", "Weight", "Target", "Unrealised gain"]]
        for h in holdings:
            data.append(
                [
                    h.symbol,
                    _qty(h.quantity),
                    "—" if h.price is None else f"{float(h.price):,.2f}",
                    _money(h.market_value),
                    _pct(h.weight),
                    _pct(h.target_weight),
                    _money(h.unrealised),
                ]
            )
        data.append(["Cash", "", "", _money(ctx["cash"]), _pct(ctx["cash_weight"]), "", ""])
        story.append(pdf_table(data, [width * 0.22] + [width * 0.13] * 6))

    story.append(_p("Goals", st["h2"]))
    if not ctx["goals"]:
        story.append(_p("No goals recorded.", st["body"]))
    else:
        data = [["Goal", "Target", "Horizon", "Monthly", "Success", "Median", "Monthly for 80 %"]]
        for row in ctx["goals"]:
            g, plan = row["goal"], row["plan"]
            data.append(
                [
                    _p(g.name, st["cell"]),
                    _money(g.target_amount),
                    f"{g.horizon_years} y",
                    _money(g.monthly_contribution),
                    _pct(plan.success_probability, 0) if plan else "not planned",
                    _money(plan.median_outcome) if plan else "—",
                    _money(plan.required_contribution) if plan and plan.required_contribution is not None else "—",
                ]
            )
        story.append(pdf_table(data, [width * 0.25] + [width * 0.125] * 6))
        story.append(
            _p("Amounts in today's money; the chance of success is over 10,000 simulated markets.", st["small"])
        )

    story.append(_p("Proposed trades", st["h2"]))
    proposed = [r for r in ctx["open_recs"] if r.trades]
    if not proposed:
        story.append(_p("No trades proposed.", st["body"]))
    for rec in proposed:
        story.append(
            _p(
                f"{rec.title} · estimated tax {_money(rec.tax_effect)} ({'a saving' if rec.tax_effect < 0 else 'due'})",
                st["body"],
            )
        )
        story.append(_p(rec.reason, st["small"]))
        story.append(pdf_table(_trade_rows(rec.trades, st), [width * 0.16] + [width * 0.105] * 8, numeric_from=3))
        story.append(Spacer(1, 4))

    story.append(_p("Tax-loss harvest opportunities", st["h2"]))
    opps = ctx["opportunities"]
    if not opps:
        story.append(_p("None found at the last check.", st["body"]))
    else:
        data = [["Symbol", "Account", "Quantity", "Loss", "Tax saving", "Net benefit", "Substitute", "Blocked by"]]
        for o in opps:
            data.append(
                [
                    o.get("symbol", ""),
                    _p(o.get("account", ""), st["cell"]),
                    _qty(o.get("quantity")),
                    _money(o.get("loss")),
                    _money(o.get("tax_saving")),
                    _money(o.get("net_benefit")),
                    o.get("substitute") or "—",
                    _p(o.get("blocked_by") or "—", st["cell"]),
                ]
            )
        widths = [width * 0.1, width * 0.14] + [width * 0.1] * 4 + [width * 0.1, width * 0.26]
        story.append(pdf_table(data, widths, numeric_from=2, numeric_to=5))

    story.append(_p("Coaching", st["h2"]))
    if not ctx["nudges"]:
        story.append(_p("Nothing to flag.", st["body"]))
    for n in ctx["nudges"]:
        story.append(_p(f"• {n.get('message', '')}", st["body"]))

    decided = ctx["decided_recs"][:10]
    if decided:
        story.append(_p("Recent decisions", st["h2"]))
        data = [["Recommendation", "Decision", "By", "On", "Note"]]
        for rec in decided:
            data.append(
                [
                    _p(rec.title, st["cell"]),
                    rec.status,
                    rec.decided_by.get_username() if rec.decided_by else "—",
                    f"{timezone.localtime(rec.decided_at):%Y-%m-%d}" if rec.decided_at else "—",
                    _p(rec.decision_note or "—", st["cell"]),
                ]
            )
        story.append(
            pdf_table(data, [width * 0.3, width * 0.1, width * 0.12, width * 0.12, width * 0.36], numeric_from=9)
        )
    story.append(Spacer(1, 8))
    story.append(
        _p(
            "Projections are estimates, not promises: markets may do better or worse than the simulated range. "
            f"Generated for the advisor's review; total value {compact_amount(ctx['total'])}.",
            st["small"],
        )
    )
    return pdf_build(story, title=f"Client report {client.code}")
