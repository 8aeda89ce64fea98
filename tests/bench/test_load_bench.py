"""The load test's pure parts: its figures, its docs region and the bulk rows it seeds.

The load run itself (minutes, every process of the stack) belongs to ``make bench-load``, not
to the suite.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from bench import load_seed
from bench.load_report import (
    END_MARKER,
    START_MARKER,
    Sample,
    endpoint_stats,
    endpoint_table,
    error_digest,
    percentile_ms,
    pooled_percentile_ms,
    region_replace,
)

# ---------------------------------------------------------------------------- percentiles


def test_given_1_to_100_when_percentiles_then_nearest_ranks_are_values_that_occurred() -> None:
    values = [float(v) for v in range(100, 0, -1)]  # unsorted on purpose

    # Nearest rank (Hyndman & Fan definition 1): the ceil(q/100 · n)-th smallest value.
    assert percentile_ms(values, 50) == 50.0
    assert percentile_ms(values, 95) == 95.0
    assert percentile_ms(values, 99) == 99.0
    assert percentile_ms(values, 100) == 100.0
    assert percentile_ms([7.0, 3.0, 5.0], 50) == 5.0  # ceil(1.5) = 2nd smallest
    assert math.isnan(percentile_ms([], 95))


def test_given_samples_of_two_endpoints_when_summarised_then_busiest_first_errors_counted_and_a_total_row() -> None:
    samples = [Sample(t_s=i, name="GET /", status=200, ms=float(i + 1), ok=True) for i in range(20)] + [
        Sample(t_s=1, name="POST /api/v1/trades", status=500, ms=300.0, ok=False, error="HTTP 500: boom"),
        Sample(t_s=2, name="POST /api/v1/trades", status=201, ms=100.0, ok=True),
    ]

    stats = endpoint_stats(samples)

    assert [s.name for s in stats] == ["GET /", "POST /api/v1/trades", "all requests"]
    home, trades, total = stats
    assert (home.requests, home.errors, home.p50_ms, home.p95_ms, home.max_ms) == (20, 0, 10.0, 19.0, 20.0)
    assert (trades.requests, trades.errors, trades.p50_ms, trades.p99_ms) == (2, 1, 100.0, 300.0)
    assert (total.requests, total.errors, total.max_ms) == (22, 1, 300.0)
    assert error_digest(samples) == [("POST /api/v1/trades: HTTP 500: boom", 1)]


def test_given_dashboard_and_api_samples_when_pooled_then_only_the_named_pages_count() -> None:
    samples = [Sample(0, "GET /risk/", 200, 10.0, True), Sample(0, "GET /wealth/", 200, 30.0, True)]
    samples += [Sample(0, "POST /api/v1/orders", 201, 900.0, True)]

    assert pooled_percentile_ms(samples, {"GET /risk/", "GET /wealth/"}, 95) == 30.0


def test_given_stats_when_tabled_then_one_markdown_row_each_with_errors_in_bold() -> None:
    stats = endpoint_stats([Sample(0, "GET /", 500, 12.4, False), Sample(0, "GET /", 200, 8.0, True)])

    table = endpoint_table(stats).splitlines()

    assert table[0].startswith("| endpoint | requests | errors | p50 ms | p95 ms | p99 ms | max ms |")
    assert table[2] == "| `GET /` | 2 | **1** | 8 | 12 | 12 | 12 |"
    assert table[3] == "| **all requests** | 2 | **1** | 8 | 12 | 12 | 12 |"


# ---------------------------------------------------------------------------- docs region


def test_given_a_page_with_the_markers_when_replaced_then_only_the_region_changes() -> None:
    text = f"# Reliability\n\n## Load\n\n{START_MARKER}\nold figures\n{END_MARKER}\n\n## After\ntext\n"

    once = region_replace(text, "## new figures\n")
    twice = region_replace(once, "## newer")

    assert once == f"# Reliability\n\n## Load\n\n{START_MARKER}\n## new figures\n{END_MARKER}\n\n## After\ntext\n"
    assert twice == once.replace("## new figures", "## newer")


def test_given_a_page_without_the_end_marker_when_replaced_then_it_refuses() -> None:
    with pytest.raises(ValueError, match="not found"):
        region_replace(f"{START_MARKER}\nno end", "x")


# ---------------------------------------------------------------------------- seeded rows


def _book(n_trades: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    accounts = pd.DataFrame({"id": [3, 4, 9], "kind": ["client", "proprietary", "market_maker"]})
    days = np.array(["2022-03-01", "2022-03-02"], dtype="datetime64[D]")
    bars = pd.DataFrame(
        {"instrument_id": [11, 12, 11, 12], "day": np.repeat(days, 2), "close": [100.0, 50.0, 101.0, 49]}
    )
    return load_seed.book_generate(
        n_trades, accounts=accounts, bars=bars, first_order_id=1000, first_trade_id=5000, seed_value=1
    )


def test_given_a_book_when_generated_then_every_fill_matches_its_order() -> None:
    orders, trades = _book(1_001)  # not a multiple of FILLS_PER_ORDER: the last order is part-filled

    assert len(trades) == 1_001 and len(orders) == 251  # ceil(1001 / 4)
    assert orders["id"].tolist() == list(range(1000, 1251))
    assert trades["id"].tolist() == list(range(5000, 6001))
    assert trades["trade_id"].is_unique and orders["client_order_id"].is_unique
    joined = trades.merge(orders, left_on="order_id", right_on="id", suffixes=("", "_order"))
    assert len(joined) == len(trades)
    for column in ("account_id", "instrument_id", "side", "venue", "broker"):
        assert (joined[column] == joined[f"{column}_order"]).all(), column
    assert (joined["ts"] > joined["arrival_ts"]).all()
    full = joined.groupby("order_id").filter(lambda g: len(g) == load_seed.FILLS_PER_ORDER)
    assert (full.groupby("order_id")["quantity"].sum() == full.groupby("order_id")["quantity_order"].first()).all()
    limits = joined[joined["order_type"] == "limit"]
    buys, sells = limits[limits["side"] == "buy"], limits[limits["side"] == "sell"]
    assert (buys["price"] <= buys["limit_price"]).all() and (sells["price"] >= sells["limit_price"]).all()
    assert joined.loc[joined["account_id"] == 9, "commission"].eq(0).all()  # market maker: no commission


def test_given_a_seed_when_generated_twice_then_the_same_book() -> None:
    first, second = _book(40), _book(40)

    pd.testing.assert_frame_equal(first[1], second[1])


def test_given_anchor_orders_when_alerts_generated_then_they_point_at_them_and_closed_ones_say_why() -> None:
    anchors = pd.DataFrame(
        {
            "order_id": np.arange(1, 401),
            "account_id": 3,
            "desk_id": 2,
            "instrument_id": 11,
            "arrival_ts": 1_650_000_000_000_000,
        }
    )

    alerts = load_seed.alerts_generate(anchors, {1: [10, 11]}, seed_value=5, now_us=1_700_000_000_000_000)

    assert len(alerts) == 400
    assert alerts.loc[0, "order_ids"] == "[1]" and alerts.loc[0, "trade_ids"] == "[10, 11]"
    assert (alerts["window_start"] <= alerts["window_end"]).all()
    assert alerts["score"].between(0, 100).all()
    closed = alerts["state"] == "closed"
    assert 0 < closed.sum() < 400
    assert (alerts.loc[closed, "outcome"] != "").all() and (alerts.loc[closed, "closing_rationale"] != "").all()
    assert alerts.loc[closed, "closed_at"].notna().all() and alerts.loc[~closed, "closed_at"].isna().all()
    assert (alerts.loc[~closed, "outcome"] == "").all()
