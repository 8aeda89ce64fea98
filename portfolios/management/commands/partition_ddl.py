"""Print the DDL of monthly partitions of orders, order events and trades (docs/operations.md).

For an installation that has partitioned these tables by month (declarative range partitioning
on the timestamp column). It only prints: a DBA or a scheduled job runs the output with psql,
for instance on the 1st of every month for the months ahead:

    manage.py partition_ddl --from 2027-01 --to 2027-03 | psql "$DATABASE_URL"

Partition bounds are UTC month starts (timestamps are stored in UTC); ``FROM`` is inclusive and
``TO`` exclusive, so consecutive months neither overlap nor leave a gap. Indexes declared on the
partitioned parent are created on each new partition by PostgreSQL itself.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from portfolios.models import Order, OrderEvent, Trade

# Table -> its partition key column.
TABLES = {
    "orders": (Order._meta.db_table, "arrival_ts"),
    "order_events": (OrderEvent._meta.db_table, "ts"),
    "trades": (Trade._meta.db_table, "ts"),
}
MAX_MONTHS = 120
_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


def _month(value: str, option: str) -> date:
    match = _MONTH.match(value)
    if not match:
        raise CommandError(f"{option}: expected a month as YYYY-MM, got {value!r}.")
    return date(int(match[1]), int(match[2]), 1)


def _next(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def months(first: date, last: date) -> list[date]:
    out = [first]
    while out[-1] < last:
        out.append(_next(out[-1]))
    return out


def partition_name(table: str, month: date) -> str:
    return f"{table}_p{month:%Y_%m}"


def create_sql(table: str, month: date) -> str:
    return (
        f"CREATE TABLE IF NOT EXISTS {partition_name(table, month)} PARTITION OF {table} "
        f"FOR VALUES FROM ('{month:%Y-%m-%d} 00:00:00+00') TO ('{_next(month):%Y-%m-%d} 00:00:00+00');"
    )


def detach_sql(table: str, month: date) -> str:
    # CONCURRENTLY: readers and writers of the other partitions are not blocked (PostgreSQL 14+).
    return f"ALTER TABLE {table} DETACH PARTITION {partition_name(table, month)} CONCURRENTLY;"


class Command(BaseCommand):
    help = "Print CREATE (or DETACH) statements of the monthly partitions of orders, order events and trades."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--from", dest="first", required=True, help="First month, YYYY-MM.")
        parser.add_argument("--to", dest="last", required=True, help="Last month, YYYY-MM (included).")
        parser.add_argument(
            "--table", choices=[*TABLES, "all"], default="all", help="One table, or all three (default)."
        )
        parser.add_argument(
            "--detach", action="store_true", help="Print DETACH statements (archiving old months) instead."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        first, last = _month(options["first"], "--from"), _month(options["last"], "--to")
        if last < first:
            raise CommandError("--to must not be before --from.")
        span = months(first, last)
        if len(span) > MAX_MONTHS:
            raise CommandError(f"At most {MAX_MONTHS} months at a time.")
        names = list(TABLES) if options["table"] == "all" else [options["table"]]
        statement = detach_sql if options["detach"] else create_sql
        for name in names:
            table, _column = TABLES[name]
            for month in span:
                self.stdout.write(statement(table, month))
