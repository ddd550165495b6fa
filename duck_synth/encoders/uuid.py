"""UUID: identifiers carry no statistics worth learning and copying them would leak rows.

The model learns only whether the value is NULL; each non-NULL output is a fresh random
(version 4) UUID drawn from the sampling seed, so output stays reproducible.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import polars as pl
import pyarrow as pa

from .base import register, with_nulls


@dataclass(frozen=True)
class UuidState:
    """Whether the column has NULLs (token 1)."""

    has_null: bool


def random_uuid4(n: int, rng: np.random.Generator) -> pl.Series:
    """n random version-4 UUID strings from the generator (vectorised)."""
    raw = rng.integers(0, 256, size=(n, 16), dtype=np.uint8)
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80
    digits = np.frombuffer(b"0123456789abcdef", dtype="S1")
    chars = np.empty((n, 32), dtype="S1")
    chars[:, 0::2], chars[:, 1::2] = digits[raw >> 4], digits[raw & 15]
    h = pl.col("h").str
    parts = [h.slice(0, 8), h.slice(8, 4), h.slice(12, 4), h.slice(16, 4), h.slice(20, 12)]
    frame = pl.DataFrame({"h": pl.Series(chars.view("S32").ravel()).cast(pl.String)})
    return frame.select(pl.concat_str(parts, separator="-")).to_series()


class UuidEncoder:
    kind: ClassVar[str] = "uuid"
    state_type: ClassVar[type] = UuidState

    def read_sql(self, column_sql: str, duckdb_type: str) -> str:
        return f"CAST({column_sql} AS VARCHAR)"

    def write_sql(self, column_sql: str, duckdb_type: str) -> str:
        return f"CAST({column_sql} AS UUID)"

    def write_arrow(self, values: pl.Series, duckdb_type: str) -> pa.Array | None:
        return None  # Arrow has no UUID type: DuckDB's cast

    def analyze(self, values: pl.Series, duckdb_type: str) -> UuidState:
        return UuidState(has_null=values.null_count() > 0)

    def encode(self, state: UuidState, values: pl.Series) -> np.ndarray:
        return values.is_null().cast(pl.Int64).to_numpy()[:, None] if state.has_null else np.zeros((values.len(), 1), np.int64)

    def decode(self, state: UuidState, codes: np.ndarray, rng: np.random.Generator) -> pl.Series:
        return with_nulls(random_uuid4(codes.shape[0], rng), codes[:, 0] == 1)

    def cardinalities(self, state: UuidState) -> list[int]:
        return [2 if state.has_null else 1]


register(UuidEncoder())
