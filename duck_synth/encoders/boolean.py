"""BOOLEAN: tokens false, true, and NULL when the source has NULLs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import polars as pl

from .base import SimpleSQL, register, with_nulls


@dataclass(frozen=True)
class BooleanState:
    """Whether the column has NULLs (token 2)."""

    has_null: bool


class BooleanEncoder(SimpleSQL):
    kind: ClassVar[str] = "boolean"
    state_type: ClassVar[type] = BooleanState

    def analyze(self, values: pl.Series, duckdb_type: str) -> BooleanState:
        return BooleanState(has_null=values.null_count() > 0)

    def encode(self, state: BooleanState, values: pl.Series) -> np.ndarray:
        b = values.cast(pl.Boolean)
        codes = b.fill_null(False).cast(pl.Int64).to_numpy().copy()
        codes[b.is_null().to_numpy()] = 2 if state.has_null else 0
        return codes[:, None]

    def decode(self, state: BooleanState, codes: np.ndarray, rng: np.random.Generator) -> pl.Series:
        t = codes[:, 0]
        return with_nulls(pl.Series(t == 1, dtype=pl.Boolean), t == 2)

    def cardinalities(self, state: BooleanState) -> list[int]:
        return [3 if state.has_null else 2]


register(BooleanEncoder())
