"""The synthetic TCA market generator and the engine-vs-pandas speed measurement (small sizes;
the 100,000-order / 10,000,000-tick measurement is for the benchmark, not the test suite)."""

from __future__ import annotations

import numpy as np
import pytest

from execution_quality.engine.synthetic import tca_market_generate, tca_speed_measure
from execution_quality.engine.types import TcaInputError


def test_given_same_seed_when_generating_then_same_market_bit_for_bit():
    a, b = tca_market_generate(3, 50, 5_000), tca_market_generate(3, 50, 5_000)
    for table in ("fills", "orders", "quotes", "tape", "bars"):
        ta, tb = getattr(a, table), getattr(b, table)
        for name in ta.__dataclass_fields__:
            np.testing.assert_array_equal(getattr(ta, name), getattr(tb, name), err_msg=f"{table}.{name}")
    assert not np.array_equal(tca_market_generate(4, 50, 5_000).quotes.bid, a.quotes.bid)


def test_given_sizes_when_generating_then_counts_and_consistency_hold():
    m = tca_market_generate(9, 200, 20_000, instruments=5, days=2)
    assert len(m.orders) == 200 and len(m.quotes) + len(m.tape) == 20_000
    assert np.all(m.quotes.bid < m.quotes.ask)
    filled = np.bincount(
        np.searchsorted(np.sort(m.orders.order_id), m.fills.order_id), weights=m.fills.quantity, minlength=200
    )
    order_qty = m.orders.quantity[np.argsort(m.orders.order_id)]
    assert np.all(filled <= order_qty * (1 + 1e-9))
    row = np.searchsorted(m.orders.order_id, m.fills.order_id)  # ids ascend with rows
    assert np.all(m.fills.ts_us >= m.orders.arrival_us[row]) and np.all(m.fills.ts_us <= m.orders.end_us[row])


def test_given_too_few_ticks_when_generating_then_clear_error():
    with pytest.raises(TcaInputError, match="too few"):
        tca_market_generate(1, 10, 100, instruments=50)


def test_given_small_market_when_measuring_speed_then_engine_and_baseline_agree():
    speed = tca_speed_measure(seed=5, orders=200, ticks=20_000, repeats=1)
    assert speed.orders == 200 and speed.quotes + speed.prints == 20_000
    assert speed.engine_s > 0 and speed.baseline_s > 0 and speed.engine_cpu_s > 0
    assert speed.max_abs_diff_bps < 1e-9 and speed.max_rel_diff_price < 1e-12
