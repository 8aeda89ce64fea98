"""Score the surveillance detectors on generated markets with labelled abuse episodes.

Prints, per severity, a table of episodes, alerts, true/false positives, misses, precision,
recall and F1 per scenario and the alert volume per 10,000 orders. ``--write-doc`` puts the
tables between the ``surveillance-eval`` markers of docs/surveillance-methodology.md so the
published numbers are always the ones this command produces.

Prices are calibrated on skfolio's bundled S&P 500 daily closes; without that data set the
generator's random walk is used (and the output says so).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from surveillance.engine.evaluation import EvaluationReport, evaluation_run, report_markdown, report_text
from surveillance.engine.scenario_knobs import knobs_markdown
from surveillance.engine.scenarios import SEVERITIES
from surveillance.engine.types import SurveillanceInputError

START = "<!-- surveillance-eval:start -->"
END = "<!-- surveillance-eval:end -->"
DOC = Path("docs") / "surveillance-methodology.md"

DOC_SKELETON = f"""# Surveillance methodology

Vigil's market-abuse surveillance runs one rule-based detector per abuse (spoofing, layering,
wash trades, marking the close, insider dealing, pump and dump, front running) over orders,
executions, quotes, the public tape, announcements and daily bars, and groups what they find
into alerts that compliance analysts review. This page describes how the detectors are
evaluated; the detectors' own rules are described with their parameters.

## Evaluation on generated markets

The numbers below come from `manage.py surveillance_eval --write-doc`: a seeded synthetic market
with labelled abuse episodes is generated, every detector runs on it with its default
parameters, and each alert is matched to the episodes.

{START}
{END}

## The scenario generator

`surveillance/engine/scenarios.py` builds, from a seed (the same seed gives the same market):

- **Prices**: daily closes taken from random stretches of real S&P 500 closes (skfolio's data
  set; a geometric random walk when it is missing), 60 sessions of history for volatility and
  average daily volume (ADV), then intraday quotes on a Brownian bridge between consecutive
  closes until the first price effect of the day (an announcement, a block's impact, an
  episode's push); from there the price is a free random walk with the effects on top, so the
  close, the daily bar and later sessions carry them (only a pump's rise fades by the next
  close). The spread is calibrated on the daily volatility, with a public tape around the quotes
  (heavier in the last ten minutes, as closing activity is). The firm's own executions print
  on the tape too; ADV is measured on that tape.
- **Innocent flow** that looks like abuse often enough to make precision meaningful, busier
  after the open and before the close: market makers quoting both sides (a tenth of the time
  three levels deep) with lives of seconds and nearly every order cancelled, sometimes taking
  a client's market order internally; retail clients (small and odd-lot orders, re-priced and
  partly filled), about one in five in a family of linked accounts trading independently;
  institutional clients working blocks of 0.3–8% of ADV that move the price by about
  σ·√(Q/ADV), leaving others resting and cancelled, trading heavily into the close, building
  positions over days and selling them; proprietary traders trading both ways all day (a
  third of their aggressive trades unwound minutes later, two pairs of linked books) and now
  and then pulling a large resting order; employees' small personal trades; routine and
  price-sensitive announcements (jumps of 1–4 daily σ with extra volume, a quarter before the
  open) and volume surges without news.
- **Episodes** of each abuse at a severity (`low`: borderline, `default`: clear, `high`:
  blatant), by accounts drawn from the same populations (a market maker may spoof). Their
  magnitudes are stated in market terms — multiples of the size shown at the touch, shares of
  ADV, multiples of daily σ, seconds — from the regulatory descriptions (EU MAR Annex I,
  Delegated Regulation 2016/522 Annex II, FINRA Rules 5210 and 5270, the CFTC's 2013 guidance
  on spoofing), never from a detector's thresholds; sizes, timings and accounts are drawn at
  random within each severity's ranges (table above). Episodes that move prices (marking the
  close, insider dealing, pump and dump) keep their sessions to themselves, away from
  background announcements and surges, and no announcement falls on their instrument in the
  five sessions after them: otherwise a marked close followed by someone else's announcement
  would be insider dealing in the data but not in the labels.
- **Scale**: at activity 1 an instrument-session holds about 5,300 order events, so 20 sessions
  × 10 instruments is a market of about a million order events, generated in a few seconds.
  The evaluation uses 20 sessions × 24 instruments at activity 0.35 (about 900,000 events) to
  leave room for 20 non-overlapping episodes of each abuse.

A detection matches an episode when both have the same scenario and instrument, the alerted
account belongs to the episode account's group (same beneficial owner or linked accounts) and
their time windows overlap within 15 minutes (an episode's window spans all of its own orders;
for insider dealing it runs to the announcement). Precision = matching alerts ÷ alerts;
recall = episodes with a matching alert ÷ episodes; F1 is their harmonic mean. Several alerts
on one episode are all true positives; an alert of one scenario on an episode of another is a
false positive. A ratio with nothing to divide by is shown as n/a.
"""


def _closes() -> tuple[Any, list[str] | None, str]:
    try:
        from skfolio.datasets import load_sp500_dataset  # heavy: imported only when the command runs

        prices = load_sp500_dataset()
    except Exception as exc:  # noqa: BLE001 - any failure means "use the random walk"
        return None, None, f"S&P 500 data unavailable ({exc}); prices from a random walk"
    return prices.to_numpy(dtype=float), [str(c) for c in prices.columns], "prices calibrated on S&P 500 daily closes"


def doc_update(text: str, tables: str) -> str:
    """``text`` with the section between the markers replaced by ``tables`` (markers added at the
    end when missing)."""
    block = f"{START}\n{tables.strip()}\n{END}"
    if START in text and END in text and text.index(START) < text.index(END):
        head, rest = text.split(START, 1)
        _, tail = rest.split(END, 1)
        return f"{head}{block}{tail}"
    return f"{text.rstrip()}\n\n{block}\n"


class Command(BaseCommand):
    help = "Evaluate the surveillance detectors on generated markets with labelled abuse episodes."
    # Pure computation on generated data: no database, URLs or models, so no system checks.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
        # 20 sessions × 24 instruments at 0.35 of the default order rate ≈ 900,000 order events
        # per severity: room for 20 episodes of each abuse whose footprints (up to ten sessions
        # for a pump and dump, plus a quiet week after) do not overlap at default and high
        # severity, and all three severities run in well under a minute.
        parser.add_argument("--days", type=int, default=20, help="sessions to generate (default 20)")
        parser.add_argument("--instruments", type=int, default=24, help="instruments (default 24)")
        parser.add_argument(
            "--activity",
            type=float,
            default=0.35,
            help="order rate, 1 = about 5,300 order events per instrument-day (default 0.35)",
        )
        parser.add_argument(
            "--severity", default="all", choices=[*SEVERITIES, "all"], help="episode severity (default: all three)"
        )
        parser.add_argument(
            "--episodes",
            type=int,
            default=None,
            help="episodes per scenario (default: one per eight instrument-days, 2-20)",
        )
        parser.add_argument("--write-doc", action="store_true", help=f"write the tables into {DOC}")

    def handle(self, *args: Any, **options: Any) -> None:
        severities = list(SEVERITIES) if options["severity"] == "all" else [options["severity"]]
        if options["days"] < 1 or options["instruments"] < 1:
            raise CommandError("--days and --instruments must be at least 1.")
        if options["episodes"] is not None and options["episodes"] < 0:
            raise CommandError("--episodes must be 0 or more.")
        closes, symbols, source = _closes()
        del symbols
        self.stdout.write(source)
        reports: list[EvaluationReport] = []
        for severity in severities:
            try:
                report = evaluation_run(
                    seed=options["seed"],
                    days=options["days"],
                    instruments=options["instruments"],
                    severity=severity,
                    episodes_per_scenario=options["episodes"],
                    closes=closes,
                    activity=options["activity"],
                )
            except SurveillanceInputError as exc:
                raise CommandError(str(exc)) from exc
            reports.append(report)
            self.stdout.write("")
            self.stdout.write(report_text(report))
        if options["write_doc"]:
            path = Path(settings.BASE_DIR) / DOC
            text = path.read_text(encoding="utf-8") if path.exists() else DOC_SKELETON
            tables = "\n\n".join(report_markdown(r) for r in reports)
            tables += "\n\nEpisode magnitudes per severity (each drawn uniformly in its range):\n\n" + knobs_markdown()
            path.write_text(doc_update(text, tables), encoding="utf-8")
            self.stdout.write(f"\nWrote the tables to {DOC}.")
