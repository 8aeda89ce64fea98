"""Issue an API key for a machine client: ``manage.py api_key_create --user oms --name "OMS prod"``."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.errors import ApplicationError
from core.services import api_key_create


class Command(BaseCommand):
    help = "Create an API key for a user and print it once."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--user", required=True, help="Username the key acts as.")
        parser.add_argument("--name", required=True, help="What the key is for, e.g. 'OMS production'.")
        parser.add_argument("--days", type=int, default=365, help="Days until it expires (default 365).")

    def handle(self, *args: Any, **options: Any) -> None:
        user = get_user_model().objects.filter(username=options["user"]).first()
        if user is None:
            raise CommandError(f"No user named {options['user']!r}.")
        try:
            _, raw = api_key_create(user=user, name=options["name"], expires_in_days=options["days"])
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(raw)
