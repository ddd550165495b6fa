"""The main job, end to end on real data: load, train, generate, measure (``duck-synth demo``)."""

from __future__ import annotations

import time
from dataclasses import dataclass

import polars as pl

from . import api, datasets, evaluation
from .catalog import quote
from .training import Progress


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


def _load_split(con, name: str, seed: int) -> tuple[str, str]:
    train_t, hold_t = f"{name}_train", f"{name}_holdout"
    exists = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main'").fetchall()}
    if train_t not in exists or hold_t not in exists:
        train, hold = evaluation.split(datasets.load(name), 0.8, seed)
        for table, frame in ((train_t, train), (hold_t, hold)):
            con.register("duck_synth_demo_src", frame.to_arrow())
            con.execute(f"CREATE OR REPLACE TABLE {quote(table)} AS SELECT * FROM duck_synth_demo_src")
            con.unregister("duck_synth_demo_src")
    return train_t, hold_t


def run_demo(
    db: str = "demo.duckdb",
    dataset: str = "diamonds",
    epochs: int | None = None,
    seed: int = 0,
    retrain: bool = False,
    progress: api.ProgressCallback | None = None,
) -> DemoResult:
    """Load a real dataset into ``db``, train (or reuse) a model, generate and measure it.

    Tables written: ``<dataset>_train`` (80%), ``<dataset>_holdout`` (20%, never trained on),
    ``<dataset>_synth`` (as many rows as train); model ``<dataset>``.
    """
    con = api.connect(db)
    try:
        train_t, hold_t = _load_split(con, dataset, seed)
        trained = retrain or dataset not in set(api.models(con).filter(pl.col("status") == "trained")["model"])
        start = time.perf_counter()
        if trained:
            api.train(con, train_t, model=dataset, epochs=epochs, seed=seed, replace=True, progress=progress)
        train_seconds = time.perf_counter() - start
        train = pl.from_arrow(con.sql(f"SELECT * FROM {quote(train_t)}").to_arrow_table())
        hold = pl.from_arrow(con.sql(f"SELECT * FROM {quote(hold_t)}").to_arrow_table())
        synth_t = f"{dataset}_synth"
        start = time.perf_counter()
        api.generate(con, dataset, n=train.height, seed=seed + 1, into=synth_t, replace=True)
        rate = train.height / (time.perf_counter() - start)
        synth = pl.from_arrow(con.sql(f"SELECT * FROM {quote(synth_t)}").to_arrow_table())
        return DemoResult(
            db, dataset, train.height, hold.height, synth_t, trained, train_seconds, rate,
            evaluation.fidelity(train, synth), evaluation.fidelity(train, hold),
            evaluation.privacy(train, hold, synth),
        )
    finally:
        con.close()


__all__ = ["DemoResult", "Progress", "run_demo"]
