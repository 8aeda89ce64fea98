"""``manage.py wealth_demo_setup``: the wealth advisor's demo book (``wealth.demo``).

Runs after ``load_demo`` (it needs the demo instruments and prices). Idempotent: a second run
says the demo is already loaded and changes nothing.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.errors import ApplicationError
from core.models import CalculationRun
from wealth.demo import DEMO_SEED, WealthDemoConfig, wealth_demo_load


class Command(BaseCommand):
    help = (
        "Load the wealth demo: asset profiles, T-bill cash, model portfolios and ~120 clients with plans. Idempotent."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--small", action="store_true", help="About 6 clients (tests and smoke runs).")
        parser.add_argument("--seed", type=int, default=DEMO_SEED, help=f"Seed (default {DEMO_SEED}).")

    def handle(self, *args: Any, **options: Any) -> None:
        make = WealthDemoConfig.small if options["small"] else WealthDemoConfig.full
        try:
            result = wealth_demo_load(config=make(seed=options["seed"]), log=self.stdout.write)
        except (ApplicationError, ValueError) as exc:
            raise CommandError(f"Loading the wealth demo failed: {getattr(exc, 'message', exc)}") from exc
        if result.already_loaded:
            self.stdout.write(f"The wealth demo is already loaded ({result.clients} clients); nothing to do.")
            return
        run = CalculationRun.objects.filter(pk=result.scan_run_id).first()
        status = f"scan run {run.pk}: {run.status}" if run else "no scan run"
        if run and run.result:
            status += f" ({run.result.get('attention', 0)} of {run.result.get('clients', 0)} clients need attention)"
        self.stdout.write(
            f"Wealth demo loaded as of {result.as_of}: {result.clients} clients, {result.lots} lots, "
            f"{result.goals} goals, {result.plans} plans; {status}."
        )
