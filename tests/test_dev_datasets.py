"""Each development dataset: train on an 80% split, generate as many rows; every value is valid.

Samples of 3,000 rows and a few epochs keep this fast; full-size quality comparisons against
SDV and TabularARGN live in benchmarks/compare_peers.py.
"""

from __future__ import annotations

import polars as pl
import pytest

import duck_synth as ds
from duck_synth.datasets import load
from duck_synth.evaluation import split
from tests.conftest import load_frame


def invalid_values(con, source: str, synth: str) -> dict[str, int]:
    """Per column, synthetic values no valid record of the source could hold: numbers or dates
    outside the source's range, categories the source never had, NULLs where it has none."""
    out = {}
    for name, dtype, *_ in con.execute(f'DESCRIBE "{source}"').fetchall():
        q = f'"{name}"'
        kind = con.execute("SELECT encoder FROM duck_synth.columns WHERE column_name = ?", [name]).fetchall()[0][0]
        nullable = con.execute(f'SELECT count(*) > count({q}) FROM "{source}"').fetchall()[0][0]
        checks = [f"({q} IS NULL AND NOT {nullable})"]
        if kind in ("numeric", "datetime"):
            checks.append(f'({q} < (SELECT min({q}) FROM "{source}") OR {q} > (SELECT max({q}) FROM "{source}"))')
        if kind == "categorical":
            checks.append(f'({q} NOT IN (SELECT {q} FROM "{source}" WHERE {q} IS NOT NULL) AND {q} <> \'_RARE_\')')
        out[name] = con.execute(f'SELECT count(*) FROM "{synth}" WHERE {" OR ".join(checks)}').fetchall()[0][0]
    return out


@pytest.mark.parametrize("name", ["diamonds", "mlc_churn", "cps1988"])
def test_dev_dataset_end_to_end(db, name):
    train, _ = split(load(name).sample(3000, seed=0), 0.8, 0)
    load_frame(db, "src", train)
    ds.train(db, "src", model=name, epochs=3, seed=0)
    ds.generate(db, name, n=train.height, seed=1, into="synth")
    assert db.execute("DESCRIBE synth").fetchall() == db.execute("DESCRIBE src").fetchall()
    assert db.execute("SELECT count(*) FROM synth").fetchall() == [(train.height,)]
    assert invalid_values(db, "src", "synth") == {c: 0 for c in train.columns}
