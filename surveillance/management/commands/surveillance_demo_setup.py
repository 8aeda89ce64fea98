"""``manage.py surveillance_demo_setup``: a realistic surveillance queue for the demo.

Generates a small market with labelled abuse episodes after the ``load_demo`` days, loads it
through the ingestion pipeline onto the ``SIM`` desk, runs one sweep, simulates a review history
and ranks the open alerts (``surveillance.demo``). Idempotent: a second run says the demo is
already loaded and changes nothing.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.errors import ApplicationError
from surveillance.demo import (
    DEFAULT_DAYS,
    DEFAULT_INSTRUMENTS,
    DEFAULT_SEED,
    options_check,
    surveillance_demo_load,
)


class Command(BaseCommand):
    help = (
        "Load the surveillance demo: a generated market with labelled abuse on the SIM desk, one sweep, "
        "a review history and action-likelihood ranking. Idempotent."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"Seed (default {DEFAULT_SEED}).")
        parser.add_argument("--days", type=int, default=DEFAULT_DAYS, help=f"Sessions (default {DEFAULT_DAYS}).")
        parser.add_argument(
            "--instruments",
            type=int,
            default=DEFAULT_INSTRUMENTS,
            help=f"Synthetic instruments (default {DEFAULT_INSTRUMENTS}).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        chosen = {k: options[k] for k in ("seed", "days", "instruments")}
        try:
            options_check(**chosen)
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        user = User.objects.filter(is_superuser=True, is_active=True).order_by("pk").first()
        if user is None:
            raise CommandError("No active superuser to load the data as: run load_demo (or createsuperuser) first.")
        try:
            result = surveillance_demo_load(user=user, log=self.stdout.write, **chosen)
        except ApplicationError as exc:
            raise CommandError(f"Loading the surveillance demo failed: {exc.message}") from exc
        states = ", ".join(f"{k} {v}" for k, v in sorted(result.alerts_by_state.items())) or "none"
        if result.already_loaded:
            self.stdout.write(
                f"The surveillance demo is already loaded (seed {chosen['seed']}, {chosen['days']} sessions × "
                f"{chosen['instruments']} instruments from {result.start}); nothing to do. Alerts: {states}."
            )
            return
        created = sum(c for _, c in result.counts.values())
        outcomes = ", ".join(f"{k} {v}" for k, v in sorted(result.alerts_by_outcome.items())) or "none"
        self.stdout.write(
            f"Done in {result.seconds:.1f} s; {created:,} rows created, {result.episodes} labelled episodes, "
            f"{result.matched_alerts} alerts on them."
        )
        self.stdout.write(f"Alerts on desk SIM by state: {states}; closed by outcome: {outcomes}.")
        self.stdout.write("Sign in as compliance_analyst or compliance_supervisor and open /surveillance/.")
