"""``manage.py partition_ddl``: monthly partition DDL for orders, order events and trades."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction


def _ddl(*args: str) -> list[str]:
    out = io.StringIO()
    call_command("partition_ddl", *args, stdout=out)
    return out.getvalue().splitlines()


def test_given_a_range_across_new_year_then_one_create_per_month_with_utc_month_bounds():
    assert _ddl("--from", "2026-11", "--to", "2027-01", "--table", "trades") == [
        "CREATE TABLE IF NOT EXISTS portfolios_trade_p2026_11 PARTITION OF portfolios_trade "
        "FOR VALUES FROM ('2026-11-01 00:00:00+00') TO ('2026-12-01 00:00:00+00');",
        "CREATE TABLE IF NOT EXISTS portfolios_trade_p2026_12 PARTITION OF portfolios_trade "
        "FOR VALUES FROM ('2026-12-01 00:00:00+00') TO ('2027-01-01 00:00:00+00');",
        "CREATE TABLE IF NOT EXISTS portfolios_trade_p2027_01 PARTITION OF portfolios_trade "
        "FOR VALUES FROM ('2027-01-01 00:00:00+00') TO ('2027-02-01 00:00:00+00');",
    ]


def test_given_all_tables_then_orders_events_and_trades_each_get_the_month():
    lines = _ddl("--from", "2027-02", "--to", "2027-02")
    assert [line.split()[5] for line in lines] == [
        "portfolios_order_p2027_02",
        "portfolios_orderevent_p2027_02",
        "portfolios_trade_p2027_02",
    ]
    assert all("FROM ('2027-02-01 00:00:00+00') TO ('2027-03-01 00:00:00+00')" in line for line in lines)


def test_given_detach_then_concurrent_detach_statements():
    assert _ddl("--from", "2020-01", "--to", "2020-01", "--table", "order_events", "--detach") == [
        "ALTER TABLE portfolios_orderevent DETACH PARTITION portfolios_orderevent_p2020_01 CONCURRENTLY;"
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--from", "2026-13", "--to", "2027-01"], "--from: expected a month as YYYY-MM"),
        (["--from", "2026-1", "--to", "2027-01"], "--from: expected a month as YYYY-MM"),
        (["--from", "2027-02", "--to", "2027-01"], "--to must not be before --from"),
        (["--from", "2000-01", "--to", "2020-01"], "At most 120 months"),
    ],
)
def test_given_bad_months_then_a_clear_error(args, message):
    with pytest.raises(CommandError, match=message):
        _ddl(*args)


@pytest.mark.django_db
def test_given_a_partitioned_table_then_the_ddl_routes_rows_by_utc_month():
    # Given a scratch copy of the trades table, partitioned by ts, in a schema of its own
    # (rolled back with the test's transaction; the real tables are not touched)
    lines = _ddl("--from", "2026-12", "--to", "2027-01", "--table", "trades")
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute("CREATE SCHEMA partition_scratch")
        cur.execute("SET LOCAL search_path TO partition_scratch")
        cur.execute("CREATE TABLE portfolios_trade (id bigint, ts timestamptz NOT NULL) PARTITION BY RANGE (ts)")
        # When the printed DDL runs (twice: IF NOT EXISTS makes a repeated scheduled run harmless)
        for line in lines + lines:
            cur.execute(line)
        # Then rows land in their month's partition, the last microsecond of December included
        rows = [
            datetime(2026, 12, 1, 0, 0, tzinfo=UTC),
            datetime(2026, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
            datetime(2027, 1, 1, 0, 0, tzinfo=UTC),
        ]
        for i, ts in enumerate(rows):
            cur.execute("INSERT INTO portfolios_trade (id, ts) VALUES (%s, %s)", [i, ts])
        cur.execute("SELECT id, tableoid::regclass::text FROM portfolios_trade ORDER BY id")
        assert cur.fetchall() == [
            (0, "portfolios_trade_p2026_12"),
            (1, "portfolios_trade_p2026_12"),
            (2, "portfolios_trade_p2027_01"),
        ]
        # And a row outside every partition is refused, not silently stored
        cur.execute("SAVEPOINT outside")
        with pytest.raises(Exception, match="no partition of relation"):
            cur.execute("INSERT INTO portfolios_trade (id, ts) VALUES (9, '2027-02-01 00:00:00+00')")
        cur.execute("ROLLBACK TO SAVEPOINT outside")
        transaction.set_rollback(True)
