"""The sampler of another git revision against this checkout's, side by side in one process.

    .venv/bin/python benchmarks/sampler_ab.py ed81e4c            # diamonds, 3 epochs, 8 x 16,384 rows
    .venv/bin/python benchmarks/sampler_ab.py ed81e4c --dataset mlc_churn --blocks 16

Trains one model (full dataset, seed 0), then alternates the two samplers (``BatchModel``'s methods
from ``REV:duck_synth/model.py`` and from the working tree) over the same blocks and seeds,
``--rounds`` rounds each (3), and prints rows/s of each and the share of identical tokens. Only the network's
sampling is timed (``sampling.sample_tokens``), not decoding or DuckDB.
"""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

import duck_synth as ds
from duck_synth import sampling
from duck_synth.artifacts import load_model
from duck_synth.datasets import load
from duck_synth.model import BatchModel


def _methods(cls) -> dict:
    """The functions a class defines itself (``sample`` and whatever it calls on ``self``)."""
    return {name: fn for name, fn in vars(cls).items() if callable(fn) and not name.startswith("__")}


def _sampler_at(rev: str) -> dict:
    """``BatchModel``'s methods as defined in ``rev``'s duck_synth/model.py (the sampler and its
    helpers; module-level helpers resolve in that file)."""
    text = subprocess.run(["git", "show", f"{rev}:duck_synth/model.py"], check=True, capture_output=True,
                          text=True).stdout
    path = Path(tempfile.mkdtemp()) / "model_at_rev.py"
    path.write_text(text, encoding="utf-8")
    spec = importlib.util.spec_from_file_location("model_at_rev", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up while being built
    spec.loader.exec_module(module)
    return _methods(module.BatchModel)


def _run(tm, methods: dict, blocks: int, rows: int = sampling.CHUNK_ROWS) -> tuple[list[dict[str, np.ndarray]], float]:
    for name, fn in methods.items():
        setattr(BatchModel, name, fn)
    gen = torch.Generator().manual_seed(0)
    start = time.perf_counter()
    out = [sampling.sample_tokens(tm, rows, gen, {}, "cpu") for _ in range(blocks)]
    return out, blocks * rows / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rev", help="git revision whose sampler is the baseline")
    parser.add_argument("--dataset", default="diamonds")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--blocks", type=int, default=8)
    parser.add_argument("--rows", type=int, default=sampling.CHUNK_ROWS, help="rows per block")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds (more on a noisy machine)")
    args = parser.parse_args()
    torch.set_num_threads(2)
    con = ds.connect()
    con.register("src", load(args.dataset).to_arrow())
    con.execute("CREATE TABLE t AS SELECT * FROM src")
    ds.train(con, "t", epochs=args.epochs, seed=0, holdout=0)
    tm = load_model(con, "t")
    baseline, current = _sampler_at(args.rev), _methods(BatchModel)
    rates: dict[str, list[float]] = {"baseline": [], "current": []}
    for _ in range(args.rounds):
        old, rate_old = _run(tm, baseline, args.blocks, args.rows)
        new, rate_new = _run(tm, current, args.blocks, args.rows)
        rates["baseline"].append(rate_old)
        rates["current"].append(rate_new)
    same = np.mean([np.mean(o[c] == n[c]) for o, n in zip(old, new) for c in o])
    b, c = np.median(rates["baseline"]), np.median(rates["current"])
    print(f"{args.dataset}: {args.rev} {b:,.0f} rows/s, working tree {c:,.0f} rows/s ({c / b:.2f}x);"
          f" identical tokens {same:.4%} (median of {args.rounds} alternating rounds of {args.blocks} x"
          f" {args.rows:,} rows)")


if __name__ == "__main__":
    sys.exit(main())
