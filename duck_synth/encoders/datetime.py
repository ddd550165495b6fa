"""Dates, times and timestamps: modelled as integers on their physical axis (days or µs/ns).

The numeric encoder's machinery does the work; this module reads the column as an integer
with SQL, detects its granularity (whole days, hours, minutes, seconds, ms) so decoded
values keep it, and casts back to the exact source type with SQL.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import polars as pl
import pyarrow as pa

from .base import register
from .numeric import NumericEncoder, NumericState, analyze_array, split_specials

_MICRO_STEPS = (86_400e6, 3_600e6, 60e6, 1e6, 1e3, 1.0)


def _unit(duckdb_type: str) -> str:
    if duckdb_type == "DATE":
        return "days"
    if duckdb_type == "TIMESTAMP_NS":
        return "ns"
    return "us"


def detect_step(finite: np.ndarray, unit: str) -> float:
    """Largest natural granularity that divides every value (1 for days and ns)."""
    if unit != "us" or finite.size == 0:
        return 1.0
    sample = finite[:: max(1, finite.size // 20000)]
    for step in _MICRO_STEPS:
        if np.all(np.mod(sample, step) == 0):
            return step
    return 1.0


class DatetimeEncoder(NumericEncoder):
    """DATE, TIME, TIMESTAMP (all precisions) and TIMESTAMP WITH TIME ZONE; tokens as numeric."""

    kind: ClassVar[str] = "datetime"

    def read_sql(self, column_sql: str, duckdb_type: str) -> str:
        unit = _unit(duckdb_type)
        if unit == "days":
            return f"CAST({column_sql} - DATE '1970-01-01' AS DOUBLE)"
        if unit == "ns":
            return f"CAST(epoch_ns({column_sql}) AS DOUBLE)"
        return f"CAST(epoch_us({column_sql}) AS DOUBLE)"

    def write_sql(self, column_sql: str, duckdb_type: str) -> str:
        v = f"CAST({column_sql} AS BIGINT)"
        if duckdb_type == "DATE":
            return f"CAST(DATE '1970-01-01' + CAST({column_sql} AS INTEGER) AS DATE)"
        if duckdb_type == "TIME":
            return f"CAST(TIME '00:00:00' + to_microseconds({v}) AS TIME)"
        if duckdb_type == "TIMESTAMP_NS":
            return f"make_timestamp_ns({v})"
        if duckdb_type == "TIMESTAMP WITH TIME ZONE":
            return f"make_timestamptz({v})"
        return f"CAST(make_timestamp({v}) AS {duckdb_type})"

    def write_arrow(self, values: pl.Series, duckdb_type: str) -> pa.Array | None:
        return None  # dates and times take the SQL conversion

    def analyze(self, values: pl.Series, duckdb_type: str) -> NumericState:
        arr, masks = split_specials(values)
        finite = arr[~masks.get("null", np.zeros(arr.shape, bool))]
        return analyze_array(arr, masks, None, detect_step(finite, _unit(duckdb_type)))


register(DatetimeEncoder())
