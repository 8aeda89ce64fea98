"""Bad input raises ``TcaInputError`` with a message a person can act on (ARCHITECTURE.md:
engines reject what they cannot use, loudly, rather than returning wrong numbers)."""

from __future__ import annotations

import numpy as np
import pytest

from execution_quality.engine.compute import tca_compute
from execution_quality.engine.types import DailyBars, Fills, Orders, Quotes, Tape, TcaInputError, TcaParams
from tests.execution_quality.engine import worked


def cols(table) -> dict[str, np.ndarray]:
    return {name: getattr(table, name) for name in table.__dataclass_fields__}


def test_given_unsorted_quotes_when_built_then_error_names_the_row():
    q = cols(worked.quotes())
    q["ts_us"] = q["ts_us"][[1, 0, 2, 3, 4]]
    with pytest.raises(TcaInputError, match=r"Quotes must be sorted by \(instrument, ts_us\); row 1"):
        Quotes(**q)


def test_given_tape_with_instruments_out_of_order_when_built_then_error():
    t = cols(worked.tape())
    t["instrument"] = t["instrument"][::-1].copy()
    with pytest.raises(TcaInputError, match="Tape must be sorted"):
        Tape(**t)


def test_given_bars_with_a_repeated_day_when_built_then_error():
    b = cols(worked.bars())
    b["day"] = np.array([worked.DAY - 1, worked.DAY - 1, worked.DAY])
    with pytest.raises(TcaInputError, match="DailyBars must be strictly increasing"):
        DailyBars(**b)


@pytest.mark.parametrize(
    ("table", "column", "value", "message"),
    [
        ("fills", "quantity", -300.0, "Fills.quantity must be finite and positive"),
        ("fills", "price", np.nan, "Fills.price must be finite and positive"),
        ("fills", "fee", np.inf, "Fills.fee must be finite"),
        ("fills", "side", 0, r"Fills.side must be \+1 \(buy\) or -1 \(sell\)"),
        ("orders", "side", 2, r"Orders.side must be \+1"),
        ("orders", "quantity", 0.0, "Orders.quantity must be finite and positive"),
        ("orders", "decision_price", -1.0, "Orders.decision_price must be finite and positive"),
        ("tape", "quantity", -1.0, "Tape.quantity must be finite and not negative"),
        ("quotes", "bid", 0.0, "Quotes.bid must be finite and positive"),
    ],
)
def test_given_bad_value_when_table_built_then_clear_error(table, column, value, message):
    data = cols(getattr(worked, table)())
    arr = data[column].astype(np.float64 if data[column].dtype.kind == "f" else np.int64).copy()
    arr[0] = value
    data[column] = arr
    cls = {"fills": Fills, "orders": Orders, "tape": Tape, "quotes": Quotes}[table]
    with pytest.raises(TcaInputError, match=message):
        cls(**data)


def test_given_columns_of_different_lengths_when_built_then_error_lists_them():
    f = cols(worked.fills())
    f["price"] = f["price"][:3]
    with pytest.raises(TcaInputError, match=r"Fills: columns differ in length \(5 rows, but price=3\)"):
        Fills(**f)


def test_given_float_ids_or_two_dimensional_columns_when_built_then_error():
    f = cols(worked.fills())
    with pytest.raises(TcaInputError, match=r"Fills\.execution_id must hold whole numbers"):
        Fills(**{**f, "execution_id": f["execution_id"] + 0.5})
    with pytest.raises(TcaInputError, match="one-dimensional"):
        Fills(**{**f, "price": f["price"][:, None]})


def test_given_duplicate_ids_or_order_ending_before_arrival_when_built_then_error():
    o = cols(worked.orders())
    with pytest.raises(TcaInputError, match="order_id must be unique; 7 appears"):
        Orders(**{**o, "order_id": np.array([7, 7, 9, 10, 11])})
    end = o["end_us"].copy()
    end[0] = o["arrival_us"][0] - 1
    with pytest.raises(TcaInputError, match="end_us must not be before arrival_us"):
        Orders(**{**o, "end_us": end})


def test_given_fill_of_an_unknown_order_when_computing_then_error_names_it():
    f = cols(worked.fills())
    fills = Fills(**{**f, "order_id": np.array([7, 7, 8, 9, 999])})
    with pytest.raises(TcaInputError, match=r"not in the order set, e\.g\. order 999"):
        tca_compute(**{**worked.market().tables(), "fills": fills})


def test_given_fill_with_the_wrong_side_when_computing_then_error():
    f = cols(worked.fills())
    fills = Fills(**{**f, "side": np.array([1, -1, -1, 1, 1])})
    with pytest.raises(TcaInputError, match=r"disagree with their parent order's side, e\.g\. execution 102"):
        tca_compute(**{**worked.market().tables(), "fills": fills})


@pytest.mark.parametrize(
    "params",
    [
        {"participation": 0.0},
        {"participation": 1.5},
        {"markout_horizons_s": ()},
        {"markout_horizons_s": (1.0, -5.0)},
        {"adv_window_days": 0},
        {"opportunity_price": "open"},
        {"min_history_days": 50},
        {"realised_spread_horizon_s": float("nan")},
    ],
)
def test_given_bad_parameters_when_built_then_error(params):
    with pytest.raises(TcaInputError):
        TcaParams(**params)
