"""SQL vs Python generation throughput: generate_synthetic() against ds.generate(), same model and n.

    .venv/bin/python benchmarks/sql_vs_python.py --rows 200000 --repeat 3

Trains a small diamonds model (3,000 rows, like the test fixture) unless ``--db``/``--model``
name an existing one. Each variant runs once to warm up, then the variants take turns
``--repeat`` times with fresh seeds (so no cached block is reused); the median is reported.
Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import duck_synth as ds
from duck_synth.datasets import load


def _trained(path: str) -> None:
    con = ds.connect(path)
    frame = load("diamonds").sample(3000, seed=0)
    con.register("src", frame.to_arrow())
    con.execute("CREATE TABLE diamonds AS SELECT * FROM src")
    ds.train(con, "diamonds", batch_size=5, epochs=1, seed=0)
    con.close()


def _medians(variants: dict, rows: int, repeat: int) -> dict[str, float]:
    """Median rows/s of each variant; the variants take turns, so load drift on a shared machine hits all alike."""
    for run in variants.values():
        run(10_000)  # warm-up: loads the model, fills caches
    times: dict[str, list[float]] = {name: [] for name in variants}
    for i in range(repeat):
        for j, (name, run) in enumerate(variants.items()):
            start = time.perf_counter()
            run(1_000 + 10 * i + j)  # a fresh seed for every run: no cached block is reused
            times[name].append(time.perf_counter() - start)
    return {name: rows / statistics.median(t) for name, t in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--db", help="DuckDB file with a trained model (default: train one in a temp dir)")
    parser.add_argument("--model", default="diamonds")
    parser.add_argument("--threads", type=int, default=2, help="DuckDB threads")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        path = args.db or str(Path(tmp) / "bench.duckdb")
        if not args.db:
            _trained(path)
        con = ds.connect(path)
        con.execute(f"SET threads = {args.threads}")
        n, m = args.rows, args.model
        variants = {
            "Python `ds.generate(con, m, n, seed)` -> Polars": lambda s: ds.generate(con, m, n=n, seed=s),
            "SQL `SELECT * FROM generate_synthetic(m, n, seed := s)` -> Arrow":
                lambda s: con.sql(f"SELECT * FROM generate_synthetic('{m}', {n}, seed := {s})").to_arrow_table(),
            "Python `ds.generate(..., into=t, replace=True)`":
                lambda s: ds.generate(con, m, n=n, seed=s, into="bench_py", replace=True),
            "SQL `CREATE OR REPLACE TABLE t AS SELECT * FROM generate_synthetic(...)`":
                lambda s: con.execute(f"CREATE OR REPLACE TABLE bench_sql AS SELECT * FROM generate_synthetic("
                                      f"'{m}', {n}, seed := {s})"),
        }
        results = _medians(variants, n, args.repeat)
        con.close()

    names = list(results)
    print(f"| variant (n = {n:,}, model {m!r}, median of {args.repeat}) | rows/s |")
    print("|---|---:|")
    for name in names:
        print(f"| {name} | {results[name]:,.0f} |")
    print(f"\nSQL / Python, to memory: {results[names[1]] / results[names[0]]:.0%};"
          f" into a table: {results[names[3]] / results[names[2]]:.0%}")


if __name__ == "__main__":
    main()
