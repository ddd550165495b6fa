"""The protocol every column encoder follows, and the registry that picks one by kind.

A column is encoded as ``k`` integer sub-columns ("tokens"), each with its own vocabulary.
NULL (and NaN/±inf for floats) are explicit tokens, so every sampled token decodes to a
valid value of the column's type. Encoder state is a frozen dataclass that round-trips
through JSON; nothing is pickled.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any, ClassVar, Protocol

import numpy as np
import polars as pl
import pyarrow as pa

from ..errors import ArtifactError


class State(Protocol):
    """Marker for an encoder's frozen, JSON-serialisable dataclass."""


class Encoder(Protocol):
    """What a column-kind module provides; see ``numeric.py`` for the reference implementation."""

    kind: ClassVar[str]
    state_type: ClassVar[type]

    def read_sql(self, column_sql: str, duckdb_type: str) -> str:
        """SQL expression that reads the column in the form ``analyze``/``encode`` expect."""

    def write_arrow(self, values: pl.Series, duckdb_type: str) -> pa.Array | None:
        """The same values ``write_sql`` gives, computed in Arrow without a query (generation's
        fast path), or None where only the SQL cast is exact."""

    def write_sql(self, column_sql: str, duckdb_type: str) -> str:
        """SQL expression that turns decoded values back into the source's DuckDB type."""

    def analyze(self, values: pl.Series, duckdb_type: str) -> Any:
        """Learn the encoder state (vocabularies, bins, bounds) from training values."""

    def encode(self, state: Any, values: pl.Series) -> np.ndarray:
        """Values to tokens, shape ``(n, len(cardinalities(state)))``, dtype int64."""

    def decode(self, state: Any, codes: np.ndarray, rng: np.random.Generator) -> pl.Series:
        """Tokens back to values (the type ``read_sql`` produced)."""

    def cardinalities(self, state: Any) -> list[int]:
        """Vocabulary size of each sub-column."""


REGISTRY: dict[str, Encoder] = {}


def register(encoder: Encoder) -> Encoder:
    """Add an encoder instance to the registry under its ``kind``."""
    REGISTRY[encoder.kind] = encoder
    return encoder


def get(kind: str) -> Encoder:
    """The encoder for a kind; an unknown kind is a plan error the user can fix with SQL."""
    from ..errors import InvalidPlan

    try:
        return REGISTRY[kind]
    except KeyError:
        raise InvalidPlan(
            f"unknown encoder {kind!r}; duck_synth.columns.encoder must be one of "
            + ", ".join(sorted(REGISTRY))
        ) from None


def state_to_json(kind: str, state: Any) -> str:
    """Serialise encoder state (a dataclass) with its kind."""
    return json.dumps({"kind": kind, "state": dataclasses.asdict(state)}, allow_nan=False)


def state_from_json(text: str) -> tuple[Encoder, Any]:
    """Rebuild (encoder, state) from ``state_to_json`` output; never executes code."""
    try:
        payload = json.loads(text)
        encoder = get(payload["kind"])
        return encoder, encoder.state_type(**payload["state"])
    except (ValueError, KeyError, TypeError) as exc:
        raise ArtifactError(f"stored encoder state is corrupt: {exc}") from exc


def with_nulls(series: pl.Series, null: np.ndarray) -> pl.Series:
    """Set the positions where ``null`` is True to NULL."""
    return series.scatter(np.flatnonzero(null), None) if null.any() else series


class SimpleSQL:
    """Default SQL round trip: read the column as is, cast back to the source type."""

    def read_sql(self, column_sql: str, duckdb_type: str) -> str:
        return column_sql

    def write_sql(self, column_sql: str, duckdb_type: str) -> str:
        return f"CAST({column_sql} AS {duckdb_type})"

    def write_arrow(self, values: pl.Series, duckdb_type: str) -> pa.Array | None:
        return write_arrow_varchar(values, duckdb_type)


def write_arrow_varchar(values: pl.Series, duckdb_type: str) -> pa.Array | None:
    """Decoded strings as a VARCHAR column (the cast is the identity); None for other types."""
    if duckdb_type != "VARCHAR" or values.dtype != pl.String:
        return None
    return values.to_arrow()
