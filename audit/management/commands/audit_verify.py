"""``manage.py audit_verify``: recompute the audit hash chain and fail loudly on a break.

Exit status 0 when the chain is intact (an empty trail included), 1 on the first broken row,
so cron, CI or a monitoring probe can run it as is. ``--expect-head ID:HASH`` also checks
that a head recorded earlier (printed by a previous run) is still in the chain unchanged,
which is the only way to notice that the newest rows were removed.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from audit.models import AuditEvent
from audit.services import audit_chain_head, audit_chain_verify


def _parse_head(value: str) -> tuple[int, str]:
    event_id, sep, digest = value.partition(":")
    if not sep or not event_id.isdigit() or len(digest) != 64:
        raise CommandError(f"--expect-head must look like ID:HASH (a 64-hex-digit hash), not {value!r}")
    return int(event_id), digest.lower()


class Command(BaseCommand):
    help = "Recompute the audit trail's hash chain; exit 1 naming the first broken row."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--expect-head",
            metavar="ID:HASH",
            help="A head printed by an earlier run: fail unless that row still exists with that hash.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        expected = _parse_head(options["expect_head"]) if options["expect_head"] else None
        # Read before the pass, so the head printed is one the pass is sure to have covered.
        head = audit_chain_head()
        checked, broken = audit_chain_verify()
        if broken is not None:
            raise CommandError(
                f"Audit chain BROKEN at event #{broken.event_id}: {broken.reason}. {checked} row(s) before it verified."
            )
        if expected is not None:
            event_id, digest = expected
            stored = AuditEvent.objects.filter(pk=event_id).values_list("hash", flat=True).first()
            if stored != digest:
                problem = "is missing" if stored is None else f"now has hash {stored}"
                raise CommandError(f"Audit chain BROKEN: expected head event #{event_id} {problem}.")
        if checked == 0:
            self.stdout.write("Audit trail is empty: 0 rows checked, nothing to verify.")
            return
        message = self.style.SUCCESS(f"Audit chain intact: {checked} rows checked.")
        if head is not None:
            message += f" Head: {head[0]}:{head[1]} (keep it to pass as --expect-head next time)."
        self.stdout.write(message)
