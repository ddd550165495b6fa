"""The main job, end to end on real data: load, train, generate, validate, measure (``duck-synth demo``)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import duckdb
import polars as pl

from . import api, datasets, report
from .catalog import fetch_one, quote, table_exists
from .errors import InvalidArgument
from .rules import ValidationSummary, validate
from .training import Progress

if TYPE_CHECKING:  # evaluation pulls in scikit-learn; imported when the demo runs
    from . import evaluation

DEFAULT_ROWS = 5_000
"""Rows of the dataset the demo uses by default, so that it runs in a few minutes on a 2-core CPU."""


@dataclass(frozen=True)
class DemoResult:
    """What the demo did and measured."""

    db: str
    dataset: str
    train_rows: int
    holdout_rows: int
    synthetic_table: str
    trained: bool
    train_seconds: float
    generate_rows_per_s: float
    fidelity: evaluation.FidelityReport
    holdout_fidelity: evaluation.FidelityReport
    privacy: evaluation.PrivacyReport
    validation: ValidationSummary


def _load_split(con: duckdb.DuckDBPyConnection, name: str, rows: int | None, seed: int) -> tuple[str, str, bool]:
    """Write ``<name>_train`` / ``<name>_holdout`` unless they already hold this sample; True if (re)written."""
    train_t, hold_t = f"{name}_train", f"{name}_holdout"
    frame = datasets.load(name)
    if rows is not None and rows < frame.height:
        frame = frame.sample(rows, seed=seed)
    if table_exists(con, train_t) and table_exists(con, hold_t):
        have = fetch_one(
            con, f"SELECT (SELECT count(*) FROM {quote(train_t)}) + (SELECT count(*) FROM {quote(hold_t)})")
        if have[0] == frame.height:
            return train_t, hold_t, False
    from .evaluation import split

    train, hold = split(frame, 0.8, seed)
    for table, part in ((train_t, train), (hold_t, hold)):
        con.register("duck_synth_demo_src", part.to_arrow())
        con.execute(f"CREATE OR REPLACE TABLE {quote(table)} AS SELECT * FROM duck_synth_demo_src")
        con.unregister("duck_synth_demo_src")
    return train_t, hold_t, True


def _is_trained(con: duckdb.DuckDBPyConnection, model: str) -> bool:
    return model in set(api.models(con).filter(pl.col("status") == "trained")["model"])


def run_demo(
    db: str = "demo.duckdb",
    dataset: str = "diamonds",
    rows: int | None = DEFAULT_ROWS,
    epochs: int | None = None,
    seed: int = 0,
    retrain: bool = False,
    progress: api.ProgressCallback | None = None,
    stage: Callable[[str], None] | None = None,
) -> DemoResult:
    """Load a real dataset into ``db``, train (or reuse) a model, generate, validate and measure.

    Tables written: ``<dataset>_train`` (80% of the sample), ``<dataset>_holdout`` (20%, never
    trained on), ``<dataset>_synth`` (as many rows as train); model ``<dataset>``. Running it
    again reuses the tables and the trained model unless ``rows`` changed or ``retrain``.

    Args:
        db: DuckDB file, created if missing.
        dataset: one of ``duck_synth.datasets.DATASETS``.
        rows: rows of the dataset to use (a seeded sample); None for all of them.
        epochs: fixed epochs, or None for automatic.
        seed: seed of the sample, the split, training and generation.
        retrain: train again even if the model exists.
        progress: training progress callback (per epoch).
        stage: called with a short message as each step starts.
    """
    if rows is not None and rows < 10:
        raise InvalidArgument(f"rows must be at least 10, got {rows}")
    say = stage or (lambda message: None)
    con = api.connect(db)
    try:
        say(f"loading dataset {dataset!r} into {db}")
        train_t, hold_t, reloaded = _load_split(con, dataset, rows, seed)
        n_train = fetch_one(con, f"SELECT count(*) FROM {quote(train_t)}")[0]
        trained = retrain or reloaded or not _is_trained(con, dataset)
        start = time.perf_counter()
        if trained:
            say(f"training model {dataset!r} on {n_train:,} rows of {train_t}")
            api.train(con, train_t, model=dataset, epochs=epochs, seed=seed, replace=True, progress=progress,
                      holdout=0)  # the demo keeps its own holdout table
        else:
            say(f"reusing the trained model {dataset!r} (retrain to train it again)")
        train_seconds = time.perf_counter() - start
        synth_t = f"{dataset}_synth"
        say(f"generating {n_train:,} rows into {synth_t}")
        start = time.perf_counter()
        api.generate(con, dataset, n=n_train, seed=seed + 1, into=synth_t, replace=True)
        rate = n_train / (time.perf_counter() - start)
        say(f"validating {synth_t} against the rules of model {dataset!r}")
        validation = validate(con, dataset, synth_t)
        say("measuring fidelity and privacy against the holdout")
        quality = report.quality_report(con, dataset, synth_t, holdout=hold_t, seed=seed)
        return DemoResult(
            db, dataset, n_train, quality.holdout_rows, synth_t, trained, train_seconds, rate,
            quality.fidelity, quality.holdout_fidelity, quality.privacy, validation,
        )
    finally:
        con.close()


__all__ = ["DEFAULT_ROWS", "DemoResult", "Progress", "run_demo"]
