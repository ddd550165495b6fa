"""One duck_synth operation in its own process, to be killed part-way by test_faults.py.

    python tests/robustness/victim.py OP DB_PATH SEED

Prints ``start`` when the operation begins (after the imports and opening the file) and
``done`` when it has returned and closed the file; the parent may kill it in between.
"""

from __future__ import annotations

import re
import resource
import sys
from pathlib import Path

import duck_synth as ds

OUT_ROWS = 150_000


def main(op: str, path: str, seed: int) -> None:
    con = ds.connect(path, wait=120 if op.startswith("train_model:") else 0)
    print("start", flush=True)
    if op.startswith("train_model:"):  # another model on the same file (test_concurrency)
        ds.train(con, "gems", model=op.partition(":")[2], epochs=3, seed=seed, holdout=0)
    elif op == "train":  # retrain over the existing model: old weights or new, never a mix
        ds.train(con, "gems", model="gems", batch_size=5, epochs=3, seed=seed, holdout=0, replace=True)
    elif op == "generate":  # replace a 5-row table with OUT_ROWS rows
        ds.generate(con, "gems", n=OUT_ROWS, seed=seed, into="out", replace=True)
    elif op == "generate_sql":
        con.execute(f"CREATE OR REPLACE TABLE out AS SELECT * FROM generate_synthetic('gems', {OUT_ROWS}, seed := {seed})")
    elif op == "drop_model":
        ds.drop_model(con, "spare")
    elif op == "add_rule":
        ds.add_rule(con, "gems", f"rule_{seed}", "carat > 0")
    elif op == "generate_billion":  # test_resources: streams until interrupted
        ds.generate(con, "gems", n=10**9, seed=seed, into="huge")
    elif op == "train_big_text":  # one 100 MB value among short ones
        con.execute("CREATE TABLE notes AS SELECT i AS id, CASE WHEN i = 7 THEN repeat('long text ', 10 * 1024 * 1024)"
                    " ELSE 'note ' || (i % 50) || ' of a kind' END AS body FROM range(400) t(i)")
        ds.train(con, "notes", epochs=1, seed=seed, holdout=0)
        ds.generate(con, "notes", n=400, seed=seed, into="notes_out")
    elif op == "train_many_categories":  # 10^6 distinct labels
        con.execute("CREATE TABLE labels AS SELECT 'label-' || i AS label, i % 97 AS k FROM range(1000000) t(i)")
        ds.train(con, "labels", epochs=1, seed=seed, holdout=0, max_rows=20_000)
        ds.generate(con, "labels", n=20_000, seed=seed, into="labels_out")
    else:
        raise SystemExit(f"unknown op {op!r}")
    con.close()
    print("done", flush=True)
    print(f"peak_rss_mib {peak_rss_mib():.0f}", flush=True)


def peak_rss_mib(pid: int | str = "self") -> float:
    """A process's own peak resident memory so far (``VmHWM``), in MiB.

    Not ``getrusage(RUSAGE_SELF).ru_maxrss``: Linux carries that figure across fork and exec, so
    it reports the parent's size at fork time (a 3 GiB pytest process made every victim "3100 MiB"
    in CI). ``VmHWM`` belongs to the address space the exec created. Without /proc, this process's
    ``ru_maxrss`` is the fallback.
    """
    status = Path(f"/proc/{pid}/status")
    if pid == "self" and not status.exists():
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return int(re.search(r"VmHWM:\s+(\d+) kB", status.read_text()).group(1)) / 1024


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
