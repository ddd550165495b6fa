"""Where a dataset's fidelity falls short of its holdout reference: the worst pairs and shapes.

    PYTHONPATH=. .venv/bin/python benchmarks/pair_gaps.py cps1988 [--epochs N] [--top 12]

Trains duck_synth at its defaults on the compare_peers split (seed 0, generation seed 1) and
prints the pairs and shapes with the largest gap to the holdout's score, then, for each numeric
column in those pairs, the range of train, holdout and synthetic values and their shares in the
10 own-range bins that ContingencySimilarity uses.
"""

from __future__ import annotations

import argparse

import numpy as np

import duck_synth as ds
from duck_synth import datasets
from duck_synth.evaluation import _bin_labels, column_kinds, fidelity, split


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset")
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--top", type=int, default=12)
    args = parser.parse_args()
    train, holdout = split(datasets.load(args.dataset), 0.8, 0)
    con = ds.connect()
    con.register("source", train.to_arrow())
    con.execute("CREATE TABLE t AS SELECT * FROM source")
    ds.train(con, "t", seed=0, holdout=0, epochs=args.epochs)
    synth = ds.generate(con, "t", n=train.height, seed=1)
    fs, fh = fidelity(train, synth), fidelity(train, holdout)
    print(f"fidelity {fs.score:.4f} (holdout {fh.score:.4f}), shape {fs.shape_score:.4f} ({fh.shape_score:.4f}),"
          f" pair {fs.pair_score:.4f} ({fh.pair_score:.4f})")
    gaps = sorted(fs.pairs, key=lambda k: fs.pairs[k] - fh.pairs[k])[: args.top]
    for a, b in gaps:
        print(f"pair {a} x {b}: {fs.pairs[(a, b)]:.4f} (holdout {fh.pairs[(a, b)]:.4f})")
    for c in sorted(fs.shapes, key=lambda c: fs.shapes[c] - fh.shapes[c])[: args.top]:
        print(f"shape {c}: {fs.shapes[c]:.4f} (holdout {fh.shapes[c]:.4f})")
    kinds = column_kinds(train)
    for c in dict.fromkeys(x for pair in gaps for x in pair):
        if kinds[c] != "numeric":
            continue
        for name, frame in (("train", train), ("holdout", holdout), ("synthetic", synth)):
            v = frame[c].cast(float).drop_nulls().to_numpy()
            v = v[~np.isnan(v)]
            shares = np.bincount(_bin_labels(v), minlength=12)[1:4] / max(v.size, 1)
            print(f"{c} {name:9s} min {v.min():.4g} max {v.max():.4g} top {np.sort(v)[-5:].round(2).tolist()}"
                  f" first bins {shares.round(3).tolist()}")


if __name__ == "__main__":
    main()
