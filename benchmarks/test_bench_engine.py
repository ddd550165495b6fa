"""pytest-benchmark timings (not tests): `make bench`, or
`.venv/bin/python -m pytest benchmarks/test_bench_engine.py --benchmark-only`.

Size knob: DUCK_SYNTH_BENCH_ROWS (default 20000): the diamonds rows of the generation model,
and the cap on each development dataset's rows in the per-dataset training benchmark
(``DUCK_SYNTH_BENCH_ROWS=3000`` for a quick smoke run). Threads are fixed to 2 so figures
compare across runs on this 2-core machine, and OpenMP threads wait passively
(``OMP_WAIT_POLICY=PASSIVE`` unless set): with the default spinning, two torch threads on a
2-core machine that runs anything else train 20-40x slower (one diamonds epoch on 2,400 rows:
0.26 s passive, 6-10 s spinning, under a load of one busy process).
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # read when torch loads OpenMP: before `import torch`

import pytest  # noqa: E402
import torch  # noqa: E402

import duck_synth as ds  # noqa: E402
from duck_synth.datasets import load  # noqa: E402

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


def _median(benchmark) -> float:
    """Median seconds of the timed rounds (NaN when benchmarks are disabled)."""
    return benchmark.stats.stats.median if benchmark.stats else float("nan")


@pytest.fixture(scope="module")
def dev_con(tmp_path_factory):
    """The development datasets, each capped at ROWS rows (a seed-0 sample), in one DuckDB file."""
    c = ds.connect(str(tmp_path_factory.mktemp("bench_dev") / "dev.duckdb"))
    for name in ("diamonds", "mlc_churn", "cps1988"):
        frame = load(name)
        if frame.height > ROWS:
            frame = frame.sample(ROWS, seed=0)
        c.register("src", frame.to_arrow())
        c.execute(f"CREATE TABLE {name} AS SELECT * FROM src")
        c.unregister("src")
    yield c
    c.close()


@pytest.mark.parametrize("dataset", ["diamonds", "mlc_churn", "cps1988"])
def test_train_epoch_rows_per_s(benchmark, dev_con, dataset):
    """One training epoch per development dataset; rows/s per epoch in extra_info.

    The timed call is all of ``ds.train(epochs=1)`` (profile, encode, fit, store).
    ``fit_rows_per_s`` counts the epoch alone: rows trained on over the summed seconds of each
    batch's one epoch (the progress callback's clock, validation included).
    """
    epoch_seconds: list[float] = []

    def one_epoch():
        epoch_seconds.clear()
        return ds.train(dev_con, dataset, model=f"bench_{dataset}", epochs=1, seed=0, replace=True,
                        progress=lambda p: epoch_seconds.append(p.seconds))

    result = benchmark.pedantic(one_epoch, rounds=3, warmup_rounds=1)
    source_rows, columns = dev_con.execute(
        f"SELECT (SELECT count(*) FROM {dataset}),"
        f" (SELECT count(*) FROM duckdb_columns() WHERE table_name = '{dataset}')").fetchall()[0]
    median = _median(benchmark)
    benchmark.extra_info.update({
        "source_rows": source_rows, "columns": columns, "batches": len(result.batches),
        "rows_per_epoch": result.rows,  # rows trained on (the source less any holdout)
        "train_call_rows_per_s": result.rows / median,
        "epoch_seconds": sum(epoch_seconds),
        "fit_rows_per_s": result.rows / sum(epoch_seconds),
    })


@pytest.mark.parametrize("n", [100_000])
def test_generate_sql(benchmark, con, n):
    """Rows/s of SQL ``SELECT * FROM generate_synthetic('diamonds', n)`` into Arrow (a fresh seed each run).

    The SQL functions are those ``ds.connect`` registered (``ds.train`` registers them again).
    """
    benchmark.extra_info["rows"] = n
    query = f"SELECT * FROM generate_synthetic('diamonds', {n})"
    table = benchmark.pedantic(lambda: con.sql(query).to_arrow_table(), rounds=3, warmup_rounds=1)
    assert table.num_rows == n
    benchmark.extra_info["rows_per_s"] = n / _median(benchmark)
