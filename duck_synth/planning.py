"""Column batches: derived by SQL from duck_synth.columns, editable by users, validated before training."""

from __future__ import annotations

import logging
from collections import Counter

import duckdb

from .catalog import load_sql
from .errors import InvalidArgument, InvalidPlan, warn_caller

log = logging.getLogger(__name__)


def plan_batches(
    con: duckdb.DuckDBPyConnection,
    model: str,
    batch_size: int = 15,
    batch_headers: list[list[str]] | None = None,
    first: str | None = None,
) -> None:
    """Write duck_synth.batches for a profiled model.

    Args:
        con: connection whose duck_synth.columns already holds the model's profile.
        model: model name.
        batch_size: columns per batch, split as evenly as possible in source order.
        batch_headers: explicit batches (lists of column names); overrides batch_size.
        first: a column to put first of all (the model's target), ahead of source order.
    """
    if batch_headers is not None:
        _insert_headers(con, model, batch_headers)
        return
    if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
        raise InvalidArgument(f"batch_size must be an integer >= 1, got {batch_size!r}")
    con.execute(load_sql("plan_batches.sql"), {"model": model, "batch_size": batch_size, "first": first})


def _insert_headers(con: duckdb.DuckDBPyConnection, model: str, headers: list[list[str]]) -> None:
    if not headers or not all(isinstance(h, (list, tuple)) and h for h in headers):
        raise InvalidPlan("batch_headers must be a non-empty list of non-empty lists of column names")
    rows = [(model, b, name, p) for b, h in enumerate(headers) for p, name in enumerate(h)]
    con.executemany(
        "INSERT INTO duck_synth.batches (model, batch_index, column_name, position) VALUES (?, ?, ?, ?)",
        rows,
    )


def read_batches(con: duckdb.DuckDBPyConnection, model: str) -> list[list[str]]:
    """The model's batches as lists of column names, checked against its profile.

    Batch indices need not be contiguous (a user may delete a batch with SQL); they are
    taken in increasing order. Columns of the profile that are in no batch are left out
    of the model with a warning.

    Raises:
        InvalidPlan: a column is unknown, unsupported, or listed in two batches; or no batches.
    """
    rows = con.execute(
        "SELECT batch_index, column_name FROM duck_synth.batches WHERE model = ?"
        " ORDER BY batch_index, position, column_name",
        [model],
    ).fetchall()
    kinds = dict(
        con.execute(
            "SELECT column_name, encoder FROM duck_synth.columns WHERE model = ?", [model]
        ).fetchall()
    )
    if not rows:
        raise InvalidPlan(f"model {model!r} has no rows in duck_synth.batches")
    unknown = [c for _, c in rows if c not in kinds]
    if unknown:
        raise InvalidPlan(
            f"duck_synth.batches for model {model!r} names columns that are not in the source: "
            + ", ".join(repr(c) for c in unknown)
        )
    unsupported = [c for _, c in rows if kinds[c] == "unsupported"]
    if unsupported:
        raise InvalidPlan(
            f"duck_synth.batches for model {model!r} names columns of unsupported types: "
            + ", ".join(repr(c) for c in unsupported)
        )
    twice = sorted(c for c, k in Counter(c for _, c in rows).items() if k > 1)
    if twice:
        raise InvalidPlan(
            f"duck_synth.batches for model {model!r} puts columns in more than one batch: "
            + ", ".join(repr(c) for c in twice)
        )
    batches: dict[int, list[str]] = {}
    for index, column in rows:
        batches.setdefault(index, []).append(column)
    planned = {c for _, c in rows}
    left_out = [c for c, k in kinds.items() if k != "unsupported" and c not in planned]
    if left_out:
        msg = f"model {model!r}: columns in no batch are not synthesized: {', '.join(map(repr, left_out))}"
        log.warning(msg)
        warn_caller(msg)
    return [batches[i] for i in sorted(batches)]
