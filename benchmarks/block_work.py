"""The CPU work of a generated block besides sampling, per stage, and how it scales with threads.

    .venv/bin/python benchmarks/block_work.py                         # diamonds, 3 epochs
    .venv/bin/python benchmarks/block_work.py --dataset cps1988 --threads 1,2,4

On a GPU the network samples a block of 16,384 rows in a few milliseconds; what remains is CPU
work: decoding tokens into values (numpy, polars), typing them in Arrow like the source and
checking the model's rules. This script trains one model on the CPU (full dataset, seed 0),
samples ``--blocks`` blocks once, then times, on those cached tokens:

- each stage per block on one thread (decode per column, ``_typed_arrow``, ``check_typed``);
- the whole of it on ``--threads`` threads at once, each with its own DuckDB cursor and block,
  in rows/s. Throughput that falls as threads are added means the work holds Python's lock.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout without installing

import duck_synth as ds  # noqa: E402
from duck_synth import api, sampling  # noqa: E402
from duck_synth.artifacts import load_model  # noqa: E402
from duck_synth.datasets import load  # noqa: E402
from duck_synth.rules import check_typed, load_rules  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="diamonds")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--blocks", type=int, default=8, help="distinct blocks of tokens sampled once")
    parser.add_argument("--rounds", type=int, default=6, help="passes over the blocks per timing")
    parser.add_argument("--threads", default="1,2,4")
    args = parser.parse_args()

    con = ds.connect(str(Path(tempfile.mkdtemp()) / "block_work.duckdb"))
    con.register("src", load(args.dataset).to_arrow())
    con.execute("CREATE TABLE src_t AS SELECT * FROM src")
    ds.train(con, "src_t", model="m", epochs=args.epochs, seed=0, device="cpu")
    tm = load_model(con, "m", "cpu")
    rules = load_rules(con, "m", tm.source_columns)
    schema = api._arrow_types(con.cursor(), tm)
    checks = rules.arrow_checks(tm.source_columns)
    rows = sampling.CHUNK_ROWS
    tokens = [sampling.sample_tokens(tm, rows, sampling.chunk_generator(0, k), {}, "cpu") for k in range(args.blocks)]
    specs = sorted(tm.columns.values(), key=lambda s: s.ordinal)
    print(f"{args.dataset}: {len(specs)} modelled columns, {len(rules.rules)} rules"
          f" ({sum(c is None for c in checks)} evaluated by DuckDB), blocks of {rows:,} rows")

    def decode(k: int, spent: dict[str, float] | None = None) -> pl.DataFrame:
        columns = {}
        for spec in specs:
            start = time.perf_counter()
            rng = np.random.default_rng(sampling.derive_seed(0, k, spec.ordinal + 1))
            columns[spec.name] = spec.encoder.decode(spec.state, tokens[k % args.blocks][spec.name], rng)
            if spent is not None:
                spent[spec.name] = spent.get(spec.name, 0.0) + time.perf_counter() - start
        return pl.DataFrame(columns)

    def block(k: int, cur) -> None:
        typed = api._typed_arrow(tm, decode(k), schema)
        if typed is None:
            raise SystemExit("a column needs DuckDB's cast; this script times the Arrow path only")
        check_typed(cur, rules, checks, typed)

    spent: dict[str, float] = {}
    cur = con.cursor()
    n = args.blocks * args.rounds
    for k in range(n):
        start = time.perf_counter()
        frame = decode(k, spent)
        spent["(decode)"] = spent.get("(decode)", 0.0) + time.perf_counter() - start
        start = time.perf_counter()
        typed = api._typed_arrow(tm, frame, schema)
        spent["(typed)"] = spent.get("(typed)", 0.0) + time.perf_counter() - start
        start = time.perf_counter()
        check_typed(cur, rules, checks, typed)
        spent["(check)"] = spent.get("(check)", 0.0) + time.perf_counter() - start
    print("ms per block, one thread: " + ", ".join(f"{k} {v / n * 1e3:.2f}" for k, v in spent.items()))
    total = spent["(decode)"] + spent["(typed)"] + spent["(check)"]
    print(f"one thread, stages alone: {n * rows / total:,.0f} rows/s")

    for threads in (int(t) for t in args.threads.split(",")):
        cursors = [con.cursor() for _ in range(threads)]
        rates = []
        for _ in range(3):
            start = time.perf_counter()
            with concurrent.futures.ThreadPoolExecutor(threads) as pool:
                list(pool.map(lambda i: [block(k, cursors[i]) for k in range(i, n, threads)], range(threads)))
            rates.append(n * rows / (time.perf_counter() - start))
        print(f"{threads} thread(s): {statistics.median(rates):,.0f} rows/s (median of 3)")


if __name__ == "__main__":
    main()
