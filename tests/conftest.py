"""Shared fixtures: real DuckDB files with real (small) datasets."""

from __future__ import annotations

import polars as pl
import pytest

import duck_synth as ds
from duck_synth.datasets import load


def load_frame(con, table: str, frame: pl.DataFrame) -> None:
    """Create ``table`` in ``con`` from a Polars frame (Arrow, no row-by-row Python)."""
    con.register("fixture_src", frame.to_arrow())
    con.execute(f'CREATE TABLE "{table}" AS SELECT * FROM fixture_src')
    con.unregister("fixture_src")


@pytest.fixture(scope="session")
def diamonds() -> pl.DataFrame:
    return load("diamonds")


@pytest.fixture(scope="session")
def cps() -> pl.DataFrame:
    return load("cps1988")


@pytest.fixture
def db(tmp_path):
    """A fresh DuckDB file."""
    con = ds.connect(str(tmp_path / "test.duckdb"))
    yield con
    con.close()


@pytest.fixture(scope="session")
def trained_db(tmp_path_factory, diamonds):
    """A DuckDB file holding 3,000 diamonds rows and a model 'diamonds' trained on them (2 batches)."""
    path = str(tmp_path_factory.mktemp("trained") / "diamonds.duckdb")
    con = ds.connect(path)
    load_frame(con, "diamonds", diamonds.sample(3000, seed=0))
    # holdout=0: the shared model learns every row; tests that score it bring their own holdout
    ds.train(con, "diamonds", batch_size=5, epochs=8, seed=0, holdout=0)
    con.close()
    return path
