"""Send again the calculation runs still queued after a while (their broker message was lost)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.services import runs_requeue


class Command(BaseCommand):
    help = "Re-dispatch calculation runs that are still queued after --older-than-minutes."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--older-than-minutes", type=int, default=10)

    def handle(self, *args: Any, **options: Any) -> None:
        minutes = options["older_than_minutes"]
        if minutes < 1:
            raise CommandError("--older-than-minutes must be at least 1.")
        count = runs_requeue(older_than=timedelta(minutes=minutes))
        self.stdout.write(f"Re-dispatched {count} queued run(s).")
