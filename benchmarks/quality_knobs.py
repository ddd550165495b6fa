"""Try model knobs on one development dataset: fidelity, utility, detection AUC and DCR share per setting.

Each argument is a setting in keyword form (empty = the defaults). ``hidden`` and ``minibatch``
override ``training.size_for``; ``lr`` is the learning rate at width 64 (``training.learning_rate``
scales it up for narrower networks); ``seed`` is the training seed (generation uses ``seed + 1``;
the split is always seed 0); any other key overrides that ``ModelConfig`` field (``dropout``,
``input_dropout``, ``token_dropout``, ...), whatever ``train`` would pass.

    PYTHONPATH=. .venv/bin/python benchmarks/quality_knobs.py mlc_churn "" "hidden=128" "token_dropout=0.2,seed=1"
"""

from __future__ import annotations

import math
import sys
import time

import duck_synth as ds
import duck_synth.api as api
from duck_synth import datasets
from duck_synth.evaluation import column_kinds, detection_auc, fidelity, privacy, split, utility
from duck_synth.model import ModelConfig
from duck_synth.training import TrainConfig, size_for


def run(name: str, label: str, hidden: int | None = None, batch_size: int = 15, minibatch: int | None = None,
        epochs: int | None = None, seed: int = 0, lr: float | None = None, **config) -> None:
    train, holdout = split(datasets.load(name), 0.8, 0)

    def sized(n: int, n_columns: int) -> tuple[int, int, int]:
        b, h, e = size_for(n, n_columns)
        return minibatch or b, hidden or h, e

    api.size_for = sized
    api.ModelConfig = lambda **kw: ModelConfig(**{**kw, **config})  # the knobs win over train's values
    api.TrainConfig = lambda **kw: TrainConfig(**{**kw, **({"lr": lr} if lr else {})})
    con = ds.connect()
    con.register("source", train.to_arrow())
    con.execute("CREATE TABLE t AS SELECT * FROM source")
    start = time.perf_counter()
    ds.train(con, "t", batch_size=batch_size, seed=seed, holdout=0, epochs=epochs)
    fit = time.perf_counter() - start
    synth = ds.generate(con, "t", n=train.height, seed=seed + 1)
    u = utility(train, holdout, synth, datasets.DATASETS[name].target)
    fid = fidelity(train, synth)
    kinds = column_kinds(train)
    shapes = {c: v for c, v in fid.shapes.items() if kinds.get(c) in ("numeric", "datetime") and not math.isnan(v)}
    worst = min(shapes, key=shapes.get) if shapes else None
    print(f"{name} {label or 'default':36s} fidelity {fid.score:.4f} utility {u.ratio:.3f}"
          f" min_num_shape {shapes.get(worst, math.nan):.3f} ({worst})"
          f" detect_auc {detection_auc(train, synth):.3f} dcr_share {privacy(train, holdout, synth).dcr_share:.3f}"
          f" fit {fit:.1f}s", flush=True)


if __name__ == "__main__":
    dataset, *settings = sys.argv[1:]
    for setting in settings or [""]:
        kwargs = dict(item.split("=") for item in setting.split(",") if item)
        run(dataset, setting, **{k: (float(v) if "." in v else int(v)) for k, v in kwargs.items()})
