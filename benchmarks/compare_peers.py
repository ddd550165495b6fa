"""Compare duck_synth with its peers on the development datasets, by DESIGN.md section 6.

For each dataset: split 80/20 with a fixed seed, train every system on the train part,
generate as many rows as train, and score the output with ``duck_synth.evaluation``
(fidelity against train, privacy against train and holdout). One table comes out, with the
holdout itself as a reference row (``holdout(ref)``: real rows the systems never saw) and two
floors: ``independent`` (each column of train shuffled on its own) and SDV's GaussianCopula.

Runs in the peers' environment (``bash benchmarks/setup_peers.sh``), which has SDV and
mostlyai-engine; ``duck_synth`` and ``independent`` also run in the dev venv.
TabularARGN's training is capped by ``--argn-minutes`` (default 10 per dataset): with the
engine's own default (100 epochs, early stopping) it takes hours on diamonds with 2 CPU cores.
Generation speed comes in two columns: ``gen_rows/s``, the scored call right after fitting (it
pays each system's first-call costs in the process), and ``gen_warm_rows/s``, the median of
``--gen-repeats`` further calls with other seeds, timed the same way for every system.

    benchmarks/.venv-peers/bin/python benchmarks/compare_peers.py       # all datasets, default systems
    benchmarks/.venv-peers/bin/python benchmarks/compare_peers.py \\
        --datasets mlc_churn --systems independent,gaussian_copula --sample 2000
    benchmarks/.venv-peers/bin/python benchmarks/compare_peers.py --systems all --out results.md
"""

from __future__ import annotations

import argparse
import functools
import importlib.metadata
import logging
import math
import sys
import tempfile
import time
import traceback
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from duck_synth import datasets
from duck_synth.evaluation import column_kinds, detection_auc, fidelity, privacy, split, utility

log = logging.getLogger("compare_peers")

# A fitted system: generate(n, seed) -> rows typed like train.
Generator = Callable[[int, int], pl.DataFrame]


@dataclass(frozen=True)
class System:
    """A synthesizer under comparison: how to fit it, and which packages it is."""

    name: str
    packages: tuple[str, ...]
    fit: Callable[[pl.DataFrame, argparse.Namespace], Generator]


@dataclass(frozen=True)
class Row:
    """One line of the result table."""

    dataset: str
    system: str
    n_train: int
    score: float = math.nan
    shape: float = math.nan
    pair: float = math.nan
    exact_copy: float = math.nan
    holdout_copy: float = math.nan
    dcr_share: float = math.nan
    detection: float = math.nan
    utility: float = math.nan
    min_num_shape: float = math.nan  # worst numeric/datetime column's shape score (bar: >= 0.95)
    fit_s: float = math.nan
    rows_per_s: float = math.nan  # the first (scored) call after fitting
    warm_rows_per_s: float = math.nan  # median of --gen-repeats further calls, other seeds
    error: str = ""


# ---------------------------------------------------------------------------------------------
# Type alignment: every system's output is scored as a polars frame typed like train.


def like_train(frame, train: pl.DataFrame) -> pl.DataFrame:
    """Polars frame with train's columns, in train's order and dtypes (pandas accepted)."""
    if not isinstance(frame, pl.DataFrame):
        frame = pl.from_pandas(frame.reset_index(drop=True))
    return frame.select(_cast(frame.get_column(name), dtype) for name, dtype in train.schema.items())


def _cast(series: pl.Series, dtype: pl.DataType) -> pl.Series:
    if series.dtype == dtype:
        return series
    if series.dtype.is_float():
        series = series.fill_nan(None)
        if dtype.is_integer():
            series = series.round(0)
    if dtype == pl.String and series.dtype != pl.String:
        series = series.cast(pl.String)
    return series.cast(dtype)  # strict: a value that does not fit is a bug worth seeing


def to_pandas(train: pl.DataFrame):
    """Plain pandas for SDV/mostlyai: numpy ints/floats, object strings."""
    return train.to_pandas()


# ---------------------------------------------------------------------------------------------
# The systems


def fit_independent(train: pl.DataFrame, args: argparse.Namespace) -> Generator:
    """The floor: each column of train resampled on its own (perfect shapes, no dependence)."""

    def generate(n: int, seed: int) -> pl.DataFrame:
        rng = np.random.default_rng(seed)
        if n == train.height:  # a shuffle, as DESIGN.md defines the floor
            picks = [rng.permutation(train.height) for _ in train.columns]
        else:
            picks = [rng.integers(0, train.height, n) for _ in train.columns]
        return pl.DataFrame([train.get_column(c)[idx] for c, idx in zip(train.columns, picks)])

    return generate


def fit_duck_synth(train: pl.DataFrame, args: argparse.Namespace, with_target: bool = False) -> Generator:
    """duck_synth at its defaults; ``with_target`` also names the dataset's target (``train(target=)``)."""
    import duck_synth as ds

    workdir = tempfile.TemporaryDirectory(prefix="compare_peers_")
    con = ds.connect(str(Path(workdir.name) / "bench.duckdb"))
    con.register("tmp_train", train.to_arrow())
    con.execute("CREATE TABLE train AS SELECT * FROM tmp_train")
    con.unregister("tmp_train")
    ds.train(con, "train", model="m", epochs=args.epochs, seed=args.seed, holdout=0,  # the split is shared
             target=args.target if with_target else None)

    def generate(n: int, seed: int) -> pl.DataFrame:
        _ = workdir  # keep the database alive as long as the generator
        return like_train(ds.generate(con, "m", n=n, seed=seed), train)

    return generate


def fit_tabularargn(train: pl.DataFrame, args: argparse.Namespace) -> Generator:
    from mostlyai.engine import TabularARGN, set_random_state

    workdir = tempfile.TemporaryDirectory(prefix="compare_peers_argn_")
    argn = TabularARGN(device="cpu", workspace_dir=workdir.name, random_state=args.seed,
                       **({"max_training_time": args.argn_minutes} if args.argn_minutes else {}))
    argn.fit(to_pandas(train))

    def generate(n: int, seed: int) -> pl.DataFrame:
        _ = workdir
        set_random_state(seed)
        return like_train(argn.sample(n_samples=n, device="cpu"), train)

    return generate


# SDV detects some categorical columns as PII (mlc_churn's `state` as administrative_unit and
# `voice_mail_plan` as email) and would replace them with Faker values. They are not PII.
_SDV_KEEP = {"numerical", "categorical", "boolean", "datetime", "ordinal", "id"}


def _sdv_metadata(train: pl.DataFrame, pdf):
    from sdv.metadata import Metadata

    metadata = Metadata.detect_from_dataframes({"train": pdf}, infer_keys="primary_only")
    table = metadata.tables["train"]
    kinds = column_kinds(train)
    for name, spec in table.columns.items():
        if spec.get("sdtype") not in _SDV_KEEP and kinds[name] != "id":
            log.info("SDV detected %r as %s; using categorical", name, spec["sdtype"])
            metadata.update_column(name, table_name="train", sdtype="categorical")
    return metadata


def _fit_sdv(cls_name: str) -> Callable[[pl.DataFrame, argparse.Namespace], Generator]:
    def fit(train: pl.DataFrame, args: argparse.Namespace) -> Generator:
        import torch
        from sdv import single_table

        pdf = to_pandas(train)
        np.random.seed(args.seed)
        torch.manual_seed(args.seed)
        synthesizer = getattr(single_table, cls_name)(_sdv_metadata(train, pdf))
        synthesizer.fit({"train": pdf})  # SDV 2 takes and returns {table name: frame}

        def generate(n: int, seed: int) -> pl.DataFrame:
            # SDV samples with its own fixed seed (no public seed argument); `seed` is unused.
            return like_train(synthesizer.sample(num_rows=n)["train"], train)

        return generate

    return fit


SYSTEMS: dict[str, System] = {
    s.name: s
    for s in [
        System("duck_synth", ("duck_synth", "torch"), fit_duck_synth),
        System("duck_synth_target", ("duck_synth", "torch"), functools.partial(fit_duck_synth, with_target=True)),
        System("tabularargn", ("mostlyai-engine", "torch"), fit_tabularargn),
        System("gaussian_copula", ("sdv", "copulas", "rdt"), _fit_sdv("GaussianCopulaSynthesizer")),
        System("tvae", ("sdv", "ctgan", "torch"), _fit_sdv("TVAESynthesizer")),
        System("independent", ("polars",), fit_independent),
    ]
}
DEFAULT_SYSTEMS = ["duck_synth", "tabularargn", "gaussian_copula", "independent"]


# ---------------------------------------------------------------------------------------------
# One run


def run_system(system: System, dataset: str, train, holdout, args) -> Row:
    """Fit, generate len(train) rows, score. A failing system becomes an error row."""
    log.info("%s / %s: fitting on %d rows", dataset, system.name, train.height)
    args.target = datasets.DATASETS[dataset].target
    try:
        start = time.perf_counter()
        generate = system.fit(train, args)
        fit_s = time.perf_counter() - start
        start = time.perf_counter()
        synth = generate(train.height, args.seed + 1)
        gen_s = time.perf_counter() - start
        warm = []
        for k in range(args.gen_repeats):  # timed only; each system in the same way
            start = time.perf_counter()
            generate(train.height, args.seed + 2 + k)
            warm.append(train.height / (time.perf_counter() - start))
    except Exception as exc:  # one broken system must not sink the whole comparison
        log.error("%s / %s failed:\n%s", dataset, system.name, traceback.format_exc())
        return Row(dataset, system.name, train.height, error=f"{type(exc).__name__}: {exc}"[:120])
    if synth.height != train.height:
        log.warning("%s / %s: %d rows asked, %d generated", dataset, system.name, train.height, synth.height)
    log.info("%s / %s: fit %.1fs, generated %d rows in %.2fs", dataset, system.name, fit_s, synth.height, gen_s)
    fid = fidelity(train, synth)
    prv = privacy(train, holdout, synth, seed=args.seed)
    auc = detection_auc(train, synth, seed=args.seed)
    util = utility(train, holdout, synth, datasets.DATASETS[dataset].target, seed=args.seed)
    return Row(dataset, system.name, train.height, fid.score, fid.shape_score, fid.pair_score,
               prv.exact_copy_rate, prv.holdout_copy_rate, prv.dcr_share, auc, util.ratio,
               min_numeric_shape(fid, train), fit_s, synth.height / gen_s if gen_s > 0 else math.inf,
               float(np.median(warm)) if warm else math.nan)


def min_numeric_shape(fid, train: pl.DataFrame) -> float:
    """The lowest shape score among numeric and datetime columns (binning artefacts show here)."""
    kinds = column_kinds(train)
    scores = [v for c, v in fid.shapes.items() if kinds.get(c) in ("numeric", "datetime") and not math.isnan(v)]
    return min(scores) if scores else math.nan


def reference_row(dataset: str, train: pl.DataFrame, holdout: pl.DataFrame, args) -> Row:
    """The holdout scored as if synthetic: what real, unseen rows achieve."""
    fid = fidelity(train, holdout)
    prv = privacy(train, holdout, holdout, seed=args.seed)
    # DCR and utility of the holdout against itself are meaningless
    return Row(dataset, "holdout(ref)", train.height, fid.score, fid.shape_score, fid.pair_score,
               prv.exact_copy_rate, prv.holdout_copy_rate, detection=detection_auc(train, holdout, seed=args.seed),
               min_num_shape=min_numeric_shape(fid, train))


def load_split(name: str, args) -> tuple[pl.DataFrame, pl.DataFrame]:
    train, holdout = split(datasets.load(name), 0.8, args.seed)
    if args.sample and train.height > args.sample:
        # train is already shuffled; keep the 80/20 proportion for the holdout
        train, holdout = train.head(args.sample), holdout.head(max(1, args.sample // 4))
    return train, holdout


# ---------------------------------------------------------------------------------------------
# Output

COLUMNS = ["dataset", "system", "n_train", "fidelity", "shape", "pair", "exact_copy",
           "holdout_copy", "dcr_share", "detect_auc", "utility", "min_num_shape", "fit_s", "gen_rows/s",
           "gen_warm_rows/s"]


def _fmt(value: float, spec: str) -> str:
    return "–" if value is None or (isinstance(value, float) and math.isnan(value)) else format(value, spec)


def cells(row: Row) -> list[str]:
    if row.error:
        return [row.dataset, row.system, str(row.n_train), "error: " + row.error] + [""] * (len(COLUMNS) - 4)
    return [row.dataset, row.system, str(row.n_train), _fmt(row.score, ".4f"), _fmt(row.shape, ".4f"),
            _fmt(row.pair, ".4f"), _fmt(row.exact_copy, ".4f"), _fmt(row.holdout_copy, ".4f"),
            _fmt(row.dcr_share, ".3f"), _fmt(row.detection, ".3f"), _fmt(row.utility, ".3f"),
            _fmt(row.min_num_shape, ".3f"), _fmt(row.fit_s, ".1f"), _fmt(row.rows_per_s, ",.0f"),
            _fmt(row.warm_rows_per_s, ",.0f")]


def text_table(rows: list[Row]) -> str:
    body = [COLUMNS] + [cells(r) for r in rows]
    ok = [b for b, r in zip(body[1:], rows) if not r.error]
    widths = [max(len(line[i]) for line in [COLUMNS] + ok) for i in range(len(COLUMNS))]
    out = []
    for line in body:
        if line[3].startswith("error: "):
            out.append("  ".join(c.ljust(w) for c, w in zip(line[:3], widths)) + "  " + line[3])
        else:
            out.append("  ".join(c.ljust(w) if i < 2 else c.rjust(w)
                                 for i, (c, w) in enumerate(zip(line, widths))))
    return "\n".join(out)


def markdown_table(rows: list[Row]) -> str:
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "|".join(["---"] * 2 + ["---:"] * (len(COLUMNS) - 2)) + "|"]
    lines += ["| " + " | ".join(cells(r)) + " |" for r in rows]
    return "\n".join(lines)


def versions(systems: list[System]) -> str:
    names = ["duck_synth", "duckdb", "polars", "pandas", "numpy", "torch", "scikit-learn"]
    names += [p for s in systems for p in s.packages]
    out = []
    for name in dict.fromkeys(names):
        try:
            out.append(f"{name} {importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            out.append(f"{name} (not installed)")
    return ", ".join(out)


# ---------------------------------------------------------------------------------------------
# CLI


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--datasets", default=",".join(datasets.DATASETS),
                   help="comma-separated (default: all: %(default)s)")
    p.add_argument("--systems", default=",".join(DEFAULT_SYSTEMS),
                   help=f"comma-separated from {', '.join(SYSTEMS)}, or 'all' (default: %(default)s;"
                        " tvae is slow)")
    p.add_argument("--sample", type=int, default=None, help="cap train at N rows (holdout at N/4)")
    p.add_argument("--epochs", type=int, default=None,
                   help="duck_synth epochs (default: automatic, early stopping)")
    p.add_argument("--argn-minutes", type=float, default=10.0,
                   help="cap TabularARGN's training time, its max_training_time (default: %(default)s;"
                        " 0: the engine's default, 100 epochs with early stopping: hours on 2 cores)")
    p.add_argument("--seed", type=int, default=0, help="split and training seed (generation: seed+1)")
    p.add_argument("--gen-repeats", type=int, default=3,
                   help="further timed generate calls per system after the scored one (other seeds);"
                        " gen_warm_rows/s is their median (default: %(default)s; 0: none)")
    p.add_argument("--out", type=Path, default=None, help="also write the table as markdown here")
    p.add_argument("-v", "--verbose", action="store_true",
                   help="also log the systems' own messages (duck_synth's epochs, peers' warnings)")
    args = p.parse_args(argv)
    args.datasets = [d.strip() for d in args.datasets.split(",") if d.strip()]
    names = list(SYSTEMS) if args.systems == "all" else [s.strip() for s in args.systems.split(",") if s.strip()]
    unknown = [n for n in names + args.datasets if n not in SYSTEMS and n not in datasets.DATASETS]
    if unknown:
        p.error(f"unknown system or dataset: {', '.join(unknown)}")
    args.systems = [SYSTEMS[n] for n in names]
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    if not args.verbose:
        warnings.filterwarnings("ignore")
        for noisy in ("duck_synth", "mostlyai", "sdv", "rdt", "copulas", "ctgan", "SingleTableSynthesizer"):
            logging.getLogger(noisy).setLevel(logging.ERROR)
    header = f"versions: {versions(args.systems)}"
    print(header, flush=True)
    started = time.perf_counter()
    rows: list[Row] = []
    for name in args.datasets:
        train, holdout = load_split(name, args)
        rows.append(reference_row(name, train, holdout, args))
        log.info("row: %s", " | ".join(cells(rows[-1])))  # partial results survive a kill
        for system in args.systems:
            rows.append(run_system(system, name, train, holdout, args))
            log.info("row: %s", " | ".join(cells(rows[-1])))
    wall = time.perf_counter() - started
    footer = (f"seed {args.seed}; fidelity/shape/pair vs train; exact_copy: synthetic rows equal to"
              f" a train row; holdout_copy: holdout rows equal to a train row; dcr_share: 0.5 ideal;"
              f" wall {wall / 60:.1f} min")
    print("\n" + text_table(rows) + "\n" + footer, flush=True)
    if args.out:
        args.out.write_text(f"{header}\n\n{markdown_table(rows)}\n\n{footer}\n")
    return 1 if any(r.error for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
