"""Read query results as columns: the fast path from the shared tables to the engines.

On PostgreSQL a query is streamed with ``COPY (SELECT …) TO STDOUT`` straight into pandas (a
million rows in about a second, several times faster than fetching tuples); other databases
(the embedded SQLite default) go through an ordinary cursor. Timestamps selected through
``epoch_us_sql`` arrive as int64 microseconds since the epoch (UTC), exact on PostgreSQL.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from django.db import connection

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
Int8Array = npt.NDArray[np.int8]


def epoch_us_sql(column: str) -> str:
    """SQL for ``column`` (a timestamp) as epoch microseconds on PostgreSQL; the raw value elsewhere
    (``query_frame`` converts it when the column is named in ``ts_columns``)."""
    if connection.vendor == "postgresql":
        return f"(EXTRACT(EPOCH FROM {column}) * 1000000)::bigint"
    return column


def ids_clause(column: str, ids: Sequence[int]) -> tuple[str, list[Any]]:
    """``column`` in ``ids``: one array parameter on PostgreSQL, placeholders elsewhere."""
    if connection.vendor == "postgresql":
        return f"{column} = ANY(%s)", [[int(i) for i in ids]]
    return f"{column} IN ({', '.join(['%s'] * len(ids)) or 'NULL'})", [int(i) for i in ids]


def query_frame(
    sql: str, params: Sequence[Any], columns: list[str], *, ts_columns: Sequence[str] = (), text: Sequence[str] = ()
) -> pd.DataFrame:
    """Rows of ``sql`` as a frame; ``ts_columns`` end as int64 epoch µs, ``text`` columns stay strings
    (an empty string is read as empty, not as missing)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            buffer = io.BytesIO()
            raw = cursor.cursor  # psycopg cursor: COPY binds the parameters client-side
            with raw.copy(f"COPY ({sql}) TO STDOUT WITH (FORMAT csv)", params) as copy:
                for chunk in copy:
                    buffer.write(chunk)
            buffer.seek(0)
            if buffer.getbuffer().nbytes == 0:
                return pd.DataFrame({c: pd.Series(dtype="object" if c in text else "float64") for c in columns})
            frame = pd.read_csv(
                buffer,
                header=None,
                names=columns,
                dtype=dict.fromkeys(text, str),
                keep_default_na=False,
                na_values=[""],
            )
        else:
            cursor.execute(sql, list(params))
            frame = pd.DataFrame(cursor.fetchall(), columns=columns)
            for c in ts_columns:
                # as_unit: pandas picks the resolution (ns or µs) from the input; we want µs.
                frame[c] = pd.to_datetime(frame[c], utc=True, format="ISO8601").dt.as_unit("us").astype("int64")
            for c in text:
                frame[c] = frame[c].map(lambda v: None if v is None else str(v))
    for c in ts_columns:
        frame[c] = frame[c].astype("int64")
    for c in text:
        frame[c] = frame[c].fillna("").astype(str)
    return frame


def int_column(series: pd.Series, *, missing: int = -1) -> IntArray:
    """An int64 column; missing values (NULL) become ``missing``."""
    out: IntArray = series.to_numpy(dtype=np.int64, na_value=missing)
    return out


def float_column(series: pd.Series) -> FloatArray:
    """A float64 column; NULL and unparsable values become NaN."""
    out: FloatArray = pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    return out


def side_column(series: pd.Series) -> Int8Array:
    """``buy``/``sell`` as +1/−1."""
    out: Int8Array = np.where(series.to_numpy() == "buy", 1, -1).astype(np.int8)
    return out


def bool_column(series: pd.Series) -> npt.NDArray[np.bool_]:
    """Booleans as read from CSV (``t``/``f``) or a cursor (True/False, 1/0)."""
    out: npt.NDArray[np.bool_] = series.map(lambda v: v in (True, 1, "t", "true", "True")).to_numpy(dtype=np.bool_)
    return out
