"""Cross-check duck_synth.evaluation.fidelity against SDMetrics' QualityReport.

duck_synth reimplements SDMetrics' quality formulas (sdmetrics pins pandas<3, so it cannot be a
runtime dependency). This script scores the same synthetic stand-ins with both and prints them
side by side; the two should agree to within 0.005 on every line.

Run it in the peers' environment (built by ``bash benchmarks/setup_peers.sh``):

    benchmarks/.venv-peers/bin/python benchmarks/crosscheck_sdmetrics.py

Real data is the training part of ``evaluation.split`` (80%, seed 0): small enough that
sdmetrics does not subsample rows for contingency tables (it does above 50,000 rows). The
synthetic stand-ins, as many rows as train:

* ``independent``: each column of train shuffled on its own (DESIGN.md's floor);
* ``noisy``: train with Gaussian noise of 0.1 standard deviations on numeric columns (rounded
  back for integers) and 10% of each categorical column redrawn from its marginal;
* ``noisy+nulls``: real and synthetic with 5% and 8% NULLs punched into every column, to
  check that both sides treat missing values alike;
* ``holdout``: the real holdout rows (a quarter as many), what real data scores. On diamonds
  its pair score is far below 1 because QualityReport bins each frame over its own range, so
  a few extreme values (train has y up to 58.9, the holdout 31.8) shift every bin.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import polars as pl

from duck_synth import datasets, evaluation

warnings.filterwarnings("ignore", category=FutureWarning)  # the single-table report's deprecation
from sdmetrics.reports.single_table import QualityReport  # noqa: E402

SDTYPES = {"numeric": "numerical", "datetime": "datetime", "categorical": "categorical", "id": "id"}
TOLERANCE = 0.005


def independent(train: pl.DataFrame, rng: np.random.Generator) -> pl.DataFrame:
    """Each column permuted on its own: perfect shapes, no dependence."""
    return pl.DataFrame([train.get_column(c)[rng.permutation(train.height)] for c in train.columns])


def noisy(train: pl.DataFrame, kinds: dict[str, str], rng: np.random.Generator) -> pl.DataFrame:
    """Numbers jittered by 0.1 sd, 10% of categories redrawn from the column's marginal."""
    columns = []
    for name in train.columns:
        column = train.get_column(name)
        if kinds[name] == "numeric":
            values = column.cast(pl.Float64).to_numpy()
            values = values + rng.normal(0.0, 0.1 * np.nanstd(values), values.size)
            jittered = pl.Series(name, values)
            columns.append(
                jittered.round().cast(column.dtype) if column.dtype.is_integer() else jittered
            )
        else:
            redraw = pl.Series(rng.random(train.height) < 0.1)
            donors = column[rng.integers(0, train.height, train.height)]
            columns.append(
                pl.select(pl.when(redraw).then(donors).otherwise(column)).to_series().rename(name)
            )
    return pl.DataFrame(columns)


def with_nulls(frame: pl.DataFrame, share: float, rng: np.random.Generator) -> pl.DataFrame:
    """Every column NULL at random in about ``share`` of the rows."""
    return frame.with_columns(
        pl.when(pl.Series(rng.random(frame.height) < share))
        .then(None)
        .otherwise(pl.col(c))
        .alias(c)
        for c in frame.columns
    )


def sdmetrics_scores(real: pl.DataFrame, synth: pl.DataFrame, kinds: dict[str, str]) -> dict:
    """QualityReport with every pair kept (both thresholds 0), plus its per-item details."""
    metadata = {"columns": {name: {"sdtype": SDTYPES[kind]} for name, kind in kinds.items()}}
    report = QualityReport()
    report.real_correlation_threshold = 0
    report.real_association_threshold = 0
    report.generate(real.to_pandas(), synth.to_pandas(), metadata, verbose=False)
    properties = report.get_properties().set_index("Property")["Score"]
    shapes = report.get_details("Column Shapes").set_index("Column")["Score"].to_dict()
    pairs = report.get_details("Column Pair Trends")
    pairs = {
        (a, b): s
        for a, b, s in zip(pairs["Column 1"], pairs["Column 2"], pairs["Score"], strict=True)
    }
    return {
        "shape": properties["Column Shapes"],
        "pair": properties["Column Pair Trends"],
        "overall": report.get_score(),
        "shapes": shapes,
        "pairs": pairs,
    }


def worst_difference(ours: dict, theirs: dict) -> tuple[float, object]:
    """The largest per-column or per-pair gap (NaN on both sides counts as agreement)."""
    worst, where = 0.0, None
    for key in set(ours) | set(theirs):
        a, b = ours.get(key, np.nan), theirs.get(key, np.nan)
        gap = 0.0 if np.isnan(a) and np.isnan(b) else abs(a - b)
        if not gap <= worst:  # NaN on one side only is a gap too
            worst, where = gap, key
    return worst, where


def crosscheck(name: str, seed: int) -> list[dict]:
    train, holdout = evaluation.split(datasets.load(name), seed=seed)
    kinds = evaluation.column_kinds(train)
    rng = np.random.default_rng(seed)
    noisy_train = noisy(train, kinds, rng)
    cases = {
        "independent": (train, independent(train, rng)),
        "noisy": (train, noisy_train),
        "noisy+nulls": (with_nulls(train, 0.05, rng), with_nulls(noisy_train, 0.08, rng)),
        "holdout": (train, holdout),
    }
    rows = []
    for case, (real, synth) in cases.items():
        start = time.perf_counter()
        ours = evaluation.fidelity(real, synth, kinds)
        ours_s = time.perf_counter() - start
        start = time.perf_counter()
        theirs = sdmetrics_scores(real, synth, kinds)
        theirs_s = time.perf_counter() - start
        gap, where = max(
            worst_difference(ours.shapes, theirs["shapes"]),
            worst_difference(ours.pairs, theirs["pairs"]),
            key=lambda found: found[0],
        )
        rows.append(
            {
                "dataset": name,
                "synthetic": case,
                "ours": (ours.shape_score, ours.pair_score, ours.score),
                "theirs": (theirs["shape"], theirs["pair"], theirs["overall"]),
                "worst": (gap, where),
                "seconds": (ours_s, theirs_s),
            }
        )
    return rows


def print_table(rows: list[dict]) -> bool:
    header = (
        f"{'dataset':<10} {'synthetic':<12} | {'shape ours':>10} {'sdm':>7} {'diff':>8} | "
        f"{'pair ours':>9} {'sdm':>7} {'diff':>8} | {'overall':>7} {'sdm':>7} {'diff':>8} | "
        f"{'worst item diff':<48} | {'s ours':>6} {'s sdm':>6}"
    )
    print(header)
    print("-" * len(header))
    agree = True
    for row in rows:
        cells = []
        for ours, theirs in zip(row["ours"], row["theirs"], strict=True):
            cells.append(f"{ours:>7.4f} {theirs:>7.4f} {ours - theirs:>+8.5f}")
            agree &= abs(ours - theirs) <= TOLERANCE
        gap, where = row["worst"]
        worst = f"{gap:.2e} {where}" if where is not None else "0"
        print(
            f"{row['dataset']:<10} {row['synthetic']:<12} |    {cells[0]} |  {cells[1]} | "
            f"{cells[2]} | {worst:<48} | {row['seconds'][0]:>6.2f} {row['seconds'][1]:>6.1f}"
        )
    return agree


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=list(datasets.DATASETS))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rows = [row for name in args.datasets for row in crosscheck(name, args.seed)]
    agree = print_table(rows)
    print(f"\nall scores within {TOLERANCE}: {'yes' if agree else 'NO'}")
    raise SystemExit(0 if agree else 1)


if __name__ == "__main__":
    main()
