"""pytest-benchmark timings (not tests): `make bench`, or
`.venv/bin/python -m pytest benchmarks/test_bench_engine.py --benchmark-only`.

Size knob: DUCK_SYNTH_BENCH_ROWS (default 20000 diamonds rows). Threads are fixed to 2 so
figures compare across runs on this 2-core machine.
"""

from __future__ import annotations

import os

import pytest
import torch

import duck_synth as ds
from duck_synth.datasets import load

ROWS = int(os.environ.get("DUCK_SYNTH_BENCH_ROWS", "20000"))
torch.set_num_threads(2)


@pytest.fixture(scope="module")
def con(tmp_path_factory):
    c = ds.connect(str(tmp_path_factory.mktemp("bench") / "bench.duckdb"))
    frame = load("diamonds").sample(ROWS, seed=0, with_replacement=ROWS > 53940)
    c.register("src", frame.to_arrow())
    c.execute("CREATE TABLE diamonds AS SELECT * FROM src")
    c.unregister("src")
    ds.train(c, "diamonds", epochs=2, seed=0)  # warm-up and the model the generation benchmarks use
    yield c
    c.close()


def test_train_one_epoch(benchmark, con):
    """Seconds for one epoch over ROWS rows (profile, encode and store included)."""
    benchmark.extra_info["rows"] = ROWS
    benchmark.pedantic(lambda: ds.train(con, "diamonds", model="bench_train", epochs=1, replace=True),
                       rounds=3, warmup_rounds=0)


@pytest.mark.parametrize("n", [100_000])
def test_generate_python(benchmark, con, n):
    """Rows/s of ds.generate into a Polars frame."""
    benchmark.extra_info["rows"] = n
    benchmark.pedantic(lambda: ds.generate(con, "diamonds", n=n, seed=1), rounds=3, warmup_rounds=1)


@pytest.mark.parametrize("n", [100_000])
def test_generate_into_table(benchmark, con, n):
    """Rows/s of ds.generate into a DuckDB table (one transaction)."""
    benchmark.extra_info["rows"] = n
    benchmark.pedantic(lambda: ds.generate(con, "diamonds", n=n, seed=1, into="bench_out", replace=True),
                       rounds=3, warmup_rounds=1)
