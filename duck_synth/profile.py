"""Profile a source table with SQL: one pass of DuckDB aggregates, written to duck_synth.columns."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import duckdb

from .catalog import Relation, fetch_one, load_sql, quote

log = logging.getLogger(__name__)

# Types whose values DuckDB cannot min/max/count-distinct cheaply, or that we never model.
_NESTED_PREFIXES = ("STRUCT", "MAP", "UNION", "VARIANT")

MAX_CATEGORIES = 1000
"""A VARCHAR column with at most this many distinct values (and few relative to rows) is categorical."""
SHOWN_CHARS = 200
"""Characters of a column's min and max value kept in duck_synth.columns (``models show``)."""


@dataclass(frozen=True)
class ColumnProfile:
    """One row of duck_synth.columns as read back after profiling."""

    name: str
    ordinal: int
    duckdb_type: str
    encoder: str
    null_rate: float
    cardinality: int
    encoder_state: str | None = None  # JSON, once training has fitted the encoder


def describe(con: duckdb.DuckDBPyConnection, relation: Relation) -> list[tuple[str, str]]:
    """Column names and DuckDB types of a table or view, in order."""
    return [
        (r[0], r[1]) for r in con.execute(f"DESCRIBE SELECT * FROM {relation.sql}").fetchall()
    ]


def _is_scalar(duckdb_type: str) -> bool:
    return not (duckdb_type.endswith("]") or duckdb_type.startswith(_NESTED_PREFIXES))


def count_rows(con: duckdb.DuckDBPyConnection, relation: Relation) -> int:
    """Number of rows in the relation."""
    return int(fetch_one(con, f"SELECT count(*) FROM {relation.sql}")[0])


def profile_columns(
    con: duckdb.DuckDBPyConnection, model: str, relation: Relation, n_rows: int
) -> list[ColumnProfile]:
    """Profile every column in one SQL pass and insert the rows into duck_synth.columns.

    The encoder for each column is then chosen by ``sql/encoder_kinds.sql``.
    """
    columns = describe(con, relation)
    aggregates = []
    for i, (name, dtype) in enumerate(columns):
        q = quote(name)
        aggregates.append(f"count({q}) AS nn_{i}")
        if _is_scalar(dtype):
            aggregates.append(f"approx_count_distinct({q}) AS nd_{i}")
            # shown by `models show`; a text column's extreme may be huge (bounded here)
            aggregates.append(f"left(CAST(min({q}) AS VARCHAR), {SHOWN_CHARS}) AS lo_{i}")
            aggregates.append(f"left(CAST(max({q}) AS VARCHAR), {SHOWN_CHARS}) AS hi_{i}")
        else:
            aggregates.append(f"NULL AS nd_{i}, NULL AS lo_{i}, NULL AS hi_{i}")
    stats = fetch_one(con, f"SELECT {', '.join(aggregates)} FROM {relation.sql}")
    rows = []
    for i, (name, dtype) in enumerate(columns):
        nonnull, distinct, lo, hi = stats[4 * i : 4 * i + 4]
        null_rate = 1.0 - nonnull / n_rows if n_rows else 0.0
        rows.append((model, name, i, dtype, "unsupported", null_rate, distinct, lo, hi))
    con.executemany(
        "INSERT INTO duck_synth.columns (model, column_name, ordinal, duckdb_type, encoder,"
        " null_rate, cardinality, min_value, max_value) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
    con.execute(
        load_sql("encoder_kinds.sql"),
        {"model": model, "n_rows": n_rows, "max_categories": MAX_CATEGORIES},
    )
    return read_columns(con, model)


def read_columns(con: duckdb.DuckDBPyConnection, model: str) -> list[ColumnProfile]:
    """The profiled columns of a model, in source order."""
    rows = con.execute(
        "SELECT column_name, ordinal, duckdb_type, encoder, null_rate, cardinality, encoder_state"
        " FROM duck_synth.columns WHERE model = ? ORDER BY ordinal",
        [model],
    ).fetchall()
    return [ColumnProfile(r[0], r[1], r[2], r[3], r[4] or 0.0, r[5] or 0, r[6]) for r in rows]
