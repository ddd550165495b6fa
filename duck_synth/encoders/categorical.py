"""Low-cardinality strings and ENUMs: one token per frequent category, plus <rare> and NULL.

Categories seen fewer than ``min_count`` times are collapsed into one <rare> token and are
never reproduced verbatim (a value that occurs once can identify a person). <rare> decodes
to the placeholder ``RARE_PLACEHOLDER`` for VARCHAR columns; an ENUM cannot hold a
placeholder, so there it decodes to a frequent category drawn by frequency (or, when every
value is rare, to the type's first member).
"""

from __future__ import annotations

import dataclasses
import functools
import re
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import polars as pl
import pyarrow as pa

from .base import register, with_nulls, write_arrow_varchar

RARE_PLACEHOLDER = "_RARE_"


@dataclass(frozen=True)
class CategoricalState:
    """Vocabulary of a categorical column; token order: categories, <rare>?, NULL?."""

    categories: list[str]
    frequencies: list[float]  # share of each category among the frequent ones
    has_rare: bool
    has_null: bool
    rare_value: str | None  # None: <rare> decodes to a frequent category

    @functools.cached_property
    def names(self) -> pl.Series:
        """What each token decodes to (made once): the categories, then the <rare> placeholder
        (``rare_value``, or "" where a frequent category is drawn instead)."""
        return pl.Series(self.categories + [self.rare_value or ""], dtype=pl.String)


def min_count(n: int) -> int:
    """A category needs this many rows to be kept (2 for tiny tables, 5 from 1000 rows)."""
    return int(min(5, max(2, n // 200)))


def analyze_strings(values: pl.Series, rare_value: str | None) -> CategoricalState:
    """Learn a categorical vocabulary from string values (None = NULL)."""
    # renamed first: a column called "n" would collide with the count column
    counts = values.drop_nulls().rename("value").value_counts(sort=True, name="n")
    keep = counts.filter(pl.col("n") >= min_count(values.len())).sort(["n", "value"], descending=[True, False])
    categories = keep["value"].to_list()
    total = max(1, int(keep["n"].sum()))
    return CategoricalState(
        categories=categories,
        frequencies=[int(c) / total for c in keep["n"].to_list()],
        has_rare=keep.height < counts.height,
        has_null=values.null_count() > 0,
        rare_value=rare_value,
    )


def encode_strings(state: CategoricalState, values: pl.Series) -> np.ndarray:
    """Strings to tokens ``(n, 1)``; unseen or rare values (and NULL in a column that had none,
    e.g. in seed values) map to <rare>."""
    k = len(state.categories)
    lookup = pl.DataFrame({"v": state.categories, "code": np.arange(k, dtype=np.int64)},
                          schema={"v": pl.String, "code": pl.Int64})
    frame = pl.DataFrame({"v": values.cast(pl.String)})
    codes = frame.join(lookup, on="v", how="left", maintain_order="left")["code"]
    rare_code = k if state.has_rare else 0  # without a <rare> token unseen values map to the first
    null_code = k + int(state.has_rare) if state.has_null else rare_code
    out = codes.fill_null(rare_code).to_numpy().astype(np.int64)
    out[values.is_null().to_numpy()] = null_code
    return out[:, None]


def decode_strings(state: CategoricalState, codes: np.ndarray, rng: np.random.Generator) -> pl.Series:
    """Tokens to strings (None = NULL)."""
    k = len(state.categories)
    t = codes[:, 0]
    if not (state.has_null or state.has_rare):  # no masks: every token is a category
        return state.names.gather(np.minimum(t, k))  # a gather in polars, not a Python string per row
    null = state.has_null & (t == k + int(state.has_rare))
    rare = state.has_rare & (t == k)
    idx = np.where(t < k, t, k)  # <rare> and NULL: the placeholder (or "", nulled below)
    if rare.any() and state.rare_value is None and k:
        idx[rare] = rng.choice(k, size=int(rare.sum()), p=np.asarray(state.frequencies))
    return with_nulls(state.names.gather(idx), null)


def enum_members(duckdb_type: str) -> list[str]:
    """The members of ``ENUM('a', 'b''c')`` as DuckDB writes the type."""
    return [m.replace("''", "'") for m in re.findall(r"'((?:[^']|'')*)'", duckdb_type)]


def cardinality_of(state: CategoricalState) -> int:
    return max(1, len(state.categories) + int(state.has_rare) + int(state.has_null))


class CategoricalEncoder:
    """VARCHAR with few distinct values, and ENUM."""

    kind: ClassVar[str] = "categorical"
    state_type: ClassVar[type] = CategoricalState

    def read_sql(self, column_sql: str, duckdb_type: str) -> str:
        return f"CAST({column_sql} AS VARCHAR)"

    def write_sql(self, column_sql: str, duckdb_type: str) -> str:
        return f"CAST({column_sql} AS {duckdb_type})"

    def write_arrow(self, values: pl.Series, duckdb_type: str) -> pa.Array | None:
        return write_arrow_varchar(values, duckdb_type)  # ENUMs take the SQL cast

    def analyze(self, values: pl.Series, duckdb_type: str) -> CategoricalState:
        if not duckdb_type.startswith("ENUM"):
            return analyze_strings(values, RARE_PLACEHOLDER)
        state = analyze_strings(values, None)
        if not state.categories and state.has_rare:  # no frequent value to stand in: the type's first member
            state = dataclasses.replace(state, rare_value=enum_members(duckdb_type)[0])
        return state

    def encode(self, state: CategoricalState, values: pl.Series) -> np.ndarray:
        return encode_strings(state, values)

    def decode(self, state: CategoricalState, codes: np.ndarray, rng: np.random.Generator) -> pl.Series:
        return decode_strings(state, codes, rng)

    def cardinalities(self, state: CategoricalState) -> list[int]:
        return [cardinality_of(state)]


register(CategoricalEncoder())
