"""Send the outbox messages still pending (the broker was down when their change committed)."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.outbox import outbox_backlog, outbox_drain


class Command(BaseCommand):
    help = (
        "Publish pending outbox messages to the broker, oldest first. With --loop, keep doing so "
        "every --interval seconds until stopped (Ctrl-C or SIGTERM)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--limit", type=int, default=500, help="Messages per relay pass (default 500).")
        parser.add_argument("--loop", action="store_true", help="Keep relaying until stopped.")
        parser.add_argument("--interval", type=float, default=None, help="Seconds between passes with --loop (5).")

    def handle(self, *args: Any, **options: Any) -> None:
        limit: int = options["limit"]
        interval: float | None = options["interval"]
        if limit < 1:
            raise CommandError("--limit must be at least 1.")
        if interval is not None and not options["loop"]:
            raise CommandError("--interval only applies with --loop.")
        interval = 5.0 if interval is None else interval
        if not interval > 0:
            raise CommandError("--interval must be a positive number of seconds.")
        try:
            while True:
                published = outbox_drain(limit=limit, max_passes=1_000_000)
                backlog = outbox_backlog()
                self.stdout.write(f"Published {published} message(s); {backlog['pending']} pending.")
                if not options["loop"]:
                    return
                time.sleep(interval)
        except KeyboardInterrupt:
            self.stdout.write("Stopped.")
