"""Default risk limits and two stress scenarios for the demo books, then a risk run per portfolio.

Idempotent: a limit that already exists (same portfolio, kind, method, confidence, horizon,
sector) and a scenario with the same name are left as they are, so edits made in the app
survive; only the risk runs are queued again on every call (``--no-runs`` to skip them).

Thresholds are set from each book's current measures so the demo shows every state of a limit:
``TARGETS`` gives, per portfolio and limit kind, the utilisation the limit should start at
(below 80 % green, from 80 % amber, above 100 % red; the daily-loss limit of ``LS-ALPHA`` is
set below its last day's loss, so its kill switch trips and the portfolio shows as halted).
Position limits are the product default of 2 % of NAV unless the book's mandate says otherwise
(a UCITS-style 12.5 % for the long-only fund; 25 % for the ETF-heavy wealth books).
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandParser

from portfolios.models import Portfolio
from riskapp.engine.limits import exposures as limit_exposures
from riskapp.engine.types import RiskInputError
from riskapp.inputs import risk_inputs_load
from riskapp.models import Limit, Scenario
from riskapp.selectors import latest_price_date, portfolio_valuation
from riskapp.services.limits import DEFAULT_POSITION_LIMIT, limit_save
from riskapp.services.runs import DEFAULT_PARAMETERS, risk_run_compute, risk_run_create
from riskapp.services.scenarios import scenario_save

KINDS = (
    "position_pct_nav",
    "sector_exposure",
    "gross_leverage",
    "net_leverage",
    "var",
    "es",
    "stress_loss",
    "daily_loss",
)

# Starting utilisation of each limit per book (see the module docstring). A number is a target
# utilisation of today's measure; ("abs", x) a fixed threshold (fraction of NAV for exposures).
_WEALTH = {
    "position_pct_nav": ("abs", Decimal("0.25")),
    "sector_exposure": 0.7,
    "gross_leverage": 0.75,
    "net_leverage": 0.75,
    "var": 0.6,
    "es": 0.62,
    "stress_loss": 0.7,
    "daily_loss": 0.5,
}
TARGETS: dict[str, dict[str, Any]] = {
    "LO-FUND": {
        "position_pct_nav": ("abs", Decimal("0.125")),
        "sector_exposure": 0.72,
        "gross_leverage": 0.75,
        "net_leverage": 0.75,
        "var": 0.66,
        "es": 0.86,
        "stress_loss": 0.78,
        "daily_loss": 0.45,
    },
    "LS-ALPHA": {
        "position_pct_nav": ("abs", Decimal("0.12")),
        "sector_exposure": 0.62,
        "gross_leverage": 0.7,
        "net_leverage": 0.5,
        "var": 0.72,
        "es": 0.6,
        "stress_loss": 0.55,
        "daily_loss": 1.08,
    },
    "DERIV-BOOK": {
        "position_pct_nav": ("abs", Decimal("0.20")),
        "sector_exposure": 0.5,
        "gross_leverage": 0.3,
        "net_leverage": 0.3,
        "var": 0.55,
        "es": 0.88,
        "stress_loss": 0.9,
        "daily_loss": 0.2,
    },
    "MM-BOOK": {
        "position_pct_nav": ("abs", Decimal("0.05")),
        "sector_exposure": 0.4,
        "gross_leverage": 0.4,
        "net_leverage": 0.2,
        "var": 0.92,
        "es": 0.7,
        "stress_loss": 0.4,
        "daily_loss": 0.1,
    },
    "WM-AMARTIN": _WEALTH,
    "WM-BMARTIN": _WEALTH,
    "WM-CCHEN": _WEALTH,
    # An employee's personal account: the product default of 2 % per name (breached by design).
    "WM-DORTIZ": {**_WEALTH, "position_pct_nav": ("abs", DEFAULT_POSITION_LIMIT)},
}
# Books not in TARGETS: thresholds as fractions of NAV (exposures) or amounts = fraction × NAV.
DEFAULT_FRACTIONS = {
    "position_pct_nav": DEFAULT_POSITION_LIMIT,
    "sector_exposure": Decimal("0.30"),
    "gross_leverage": Decimal("2"),
    "net_leverage": Decimal("1"),
    "var": Decimal("0.05"),
    "es": Decimal("0.075"),
    "stress_loss": Decimal("0.25"),
    "daily_loss": Decimal("0.03"),
}
SCENARIOS = [
    {
        "name": "Tech sell-off",
        "description": "Technology falls 30 % with a 5 % fall of every other position; implied vols +40 %.",
        "shocks": {"all": -5.0, "sector:Information Technology": -25.0, "vol": 40.0},
    },
    {
        "name": "Energy and credit shock",
        "description": "Energy −35 %, Financials −20 %, the rest −3 %: an oil collapse spilling into credit.",
        "shocks": {"all": -3.0, "sector:Energy": -35.0, "sector:Financials": -20.0},
    },
]


def _nice(x: float) -> Decimal:
    """``x`` rounded to 3 significant figures (thresholds people can read)."""
    if x <= 0 or not math.isfinite(x):
        raise ValueError(x)
    digits = 2 - math.floor(math.log10(abs(x)))
    if digits <= 0:
        return Decimal(int(round(x, digits)))
    return Decimal(str(round(x, digits)))


class Command(BaseCommand):
    help = "Set default risk limits and two stress scenarios for the demo books, then queue a risk run per portfolio."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--no-runs", action="store_true", help="Set limits and scenarios only; queue no run.")

    def handle(self, *args: Any, **opts: Any) -> None:
        actor = User.objects.filter(is_superuser=True).order_by("pk").first()
        as_of = latest_price_date()
        if as_of is None:
            self.stderr.write("No prices in the database: run load_demo first.")
            return
        # Scenarios first: the stress-loss thresholds are measured with them.
        for spec in SCENARIOS:
            if not Scenario.objects.filter(name=spec["name"]).exists():
                scenario_save(user=actor, scenario=Scenario(), data={**spec, "is_active": True})  # type: ignore[arg-type]
                self.stdout.write(f"  scenario  {spec['name']}")
        created = 0
        for portfolio in Portfolio.objects.order_by("code"):
            created += self._limits(portfolio, actor, as_of)
        self.stdout.write(f"{created} limits created (existing limits kept).")
        if opts["no_runs"]:
            return
        for portfolio in Portfolio.objects.order_by("code"):
            run = risk_run_create(portfolio=portfolio, user=actor, as_of=as_of)
            run.calculation.refresh_from_db()
            self.stdout.write(f"  risk run #{run.pk:<5} {portfolio.code:<12} {run.calculation.status}")

    def _measures(self, portfolio: Portfolio, as_of: Any) -> dict[str, float]:
        """Today's measure of each limit kind (exposures as fractions of NAV, losses in currency)."""
        nav = float(portfolio.nav)
        val = portfolio_valuation(portfolio=portfolio, as_of=as_of)
        out: dict[str, float] = {}
        if nav > 0 and val.values:
            exp = limit_exposures(val.values, val.sectors, nav)
            out.update(
                position_pct_nav=max(exp.by_instrument.values()),
                sector_exposure=max(exp.by_sector.values()),
                gross_leverage=exp.gross,
                net_leverage=abs(exp.net),
                daily_loss=max(-val.day_pnl, 0.0),
            )
        try:
            inp = risk_inputs_load(portfolio=portfolio, as_of=as_of)
        except RiskInputError:
            return out  # no history: thresholds from NAV
        # The run's own arithmetic (historical VaR/ES, every stress scenario), without saving.
        params = {**DEFAULT_PARAMETERS, "methods": ["historical"], "confidences": [0.99], "horizons": [1]}
        summary = risk_run_compute(inp=inp, parameters=params, progress=lambda pct, msg: None)["summary"]
        out.update(var=summary["var_99_1d"], es=summary["es_99_1d"], stress_loss=summary["worst_stress_loss"])
        return out

    def _threshold(self, portfolio: Portfolio, kind: str, measures: dict[str, float]) -> Decimal:
        nav = Decimal(portfolio.nav)
        target = TARGETS.get(portfolio.code, {}).get(kind)
        exposure = kind in {"position_pct_nav", "sector_exposure", "gross_leverage", "net_leverage"}
        if isinstance(target, tuple):
            return Decimal(target[1])
        measured = measures.get(kind)
        if target is not None and measured:
            return _nice(measured / target)
        fraction = DEFAULT_FRACTIONS[kind]
        return fraction if exposure else _nice(float(fraction * nav)) if nav > 0 else Decimal("1000000")

    def _limits(self, portfolio: Portfolio, actor: User | None, as_of: Any) -> int:
        existing = {(lim.kind, lim.sector) for lim in portfolio.limits.all()}
        missing = [k for k in KINDS if (k, "") not in existing]
        if not missing:
            return 0
        measures = self._measures(portfolio, as_of)
        for kind in missing:
            data: dict[str, Any] = {"kind": kind, "threshold": self._threshold(portfolio, kind, measures)}
            if kind in {"var", "es"}:
                data.update(method="historical", confidence=Decimal("0.99"), horizon_days=1)
            else:
                data.update(method="", confidence=None, horizon_days=None)
            limit_save(user=actor, limit=Limit(portfolio=portfolio), data=data)  # type: ignore[arg-type]
            self.stdout.write(f"  limit     {portfolio.code:<12} {kind:<18} {data['threshold']}")
        return len(missing)
