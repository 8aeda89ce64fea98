"""``manage.py load_demo``: load (or complete) the demo data set; safe to run repeatedly."""

from __future__ import annotations

from time import perf_counter
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.errors import ApplicationError
from portfolios.demo import DEMO_SEED, DemoConfig, demo_load


class Command(BaseCommand):
    help = (
        "Load the demo: real daily prices (skfolio, arch), a demo firm with books, seeded synthetic "
        "intraday quotes/tape/orders/trades, and one user per role. Idempotent; passwords are reset."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--days", type=int, default=None, help="Synthetic intraday trading days (default 12).")
        parser.add_argument(
            "--small", action="store_true", help="A few instruments, 2 days, history from Dec 2021 (tests)."
        )
        parser.add_argument("--password", default=None, help="Use this password for every demo user.")
        parser.add_argument("--seed", type=int, default=DEMO_SEED, help="Seed of the synthetic data.")

    def handle(self, *args: Any, **options: Any) -> None:
        days = options["days"]
        if days is not None and not 1 <= days <= 250:
            raise CommandError("--days must be between 1 and 250.")
        seed = options["seed"]
        if options["small"]:
            config = DemoConfig.small(days=days or 2, seed=seed)
        else:
            config = DemoConfig.full(days=days or 12, seed=seed)
        started = perf_counter()
        try:
            result = demo_load(config=config, password=options["password"], log=self.stdout.write)
        except ApplicationError as exc:
            raise CommandError(f"Loading the demo failed: {exc.message}") from exc
        created = sum(c for _, c in result.counts.values())
        self.stdout.write(f"Done in {perf_counter() - started:.1f} s; {created:,} rows created.")
        self.stdout.write("")
        self.stdout.write("Demo logins (passwords are reset on every run):")
        width = max(len(u) for u, _, _ in result.credentials)
        self.stdout.write(f"  {'username':<{width}}  {'role':<22}  password")
        for username, role, password in result.credentials:
            self.stdout.write(f"  {username:<{width}}  {role:<22}  {password}")
        self.stdout.write("")
        self.stdout.write(f"API key of oms_client (shown once): {result.api_key}")
        self.stdout.write("  e.g. curl -H 'Authorization: Api-Key <key>' http://127.0.0.1:8000/api/v1/portfolios")
