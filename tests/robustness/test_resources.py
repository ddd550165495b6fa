"""Huge requests stream within memory bounds, can be interrupted, or are refused clearly."""

from __future__ import annotations

import re
import signal
import time
from pathlib import Path

import pytest

import duck_synth as ds

from .conftest import catalog_problems, start_victim
from .victim import peak_rss_mib

MIB = 1024


def test_a_billion_rows_from_sql_stream(base_copy, counts):
    counts["bad_inputs"] += 1
    with ds.connect(str(base_copy)) as con:
        started = time.monotonic()
        rows = con.sql("SELECT carat FROM generate_synthetic('gems', 1000000000, seed := 0) LIMIT 10").fetchall()
        assert len(rows) == 10 and time.monotonic() - started < 60


def test_a_billion_rows_into_python_memory_are_refused_before_any_work(base_copy, counts):
    counts["bad_inputs"] += 1
    with ds.connect(str(base_copy)) as con:
        with pytest.raises(ds.InvalidArgument, match=r"n=1,000,000,000 rows of model 'gems' \(about \d+ GiB\) would"
                                                     r" not fit in memory as a DataFrame .*into="):
            ds.generate(con, "gems", n=10**9, seed=0)


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc")
def test_a_billion_rows_into_a_table_stream_in_bounded_memory_and_stop_on_ctrl_c(base_copy, counts):
    proc, _ = start_victim("generate_billion", base_copy, 0)
    time.sleep(8)
    peak = peak_rss_mib(proc.pid)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    counts["kill_attempts"] += 1
    counts["kills"] += "done" not in out
    assert "done" not in out and proc.returncode != 0  # Ctrl-C: KeyboardInterrupt (or DuckDB's interrupt error)
    assert peak < 2 * MIB, f"peak RSS {peak:.0f} MiB"
    with ds.connect(str(base_copy)) as con:  # rolled back: no partial table
        assert con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'huge'").fetchall() == [(0,)]
        assert catalog_problems(con) == []


@pytest.mark.parametrize(("op", "limit_mib"), [("train_big_text", 3 * MIB), ("train_many_categories", 3 * MIB)])
def test_a_100_mb_value_and_a_million_categories_train_in_bounded_memory(base_copy, counts, op, limit_mib):
    counts["bad_inputs"] += 1
    proc, _ = start_victim(op, base_copy, 0)
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 0 and "Traceback" not in err, err[-3000:]
    peak = float(re.search(r"peak_rss_mib (\d+)", out).group(1))
    assert peak < limit_mib, f"{op}: peak RSS {peak:.0f} MiB"
    with ds.connect(str(base_copy)) as con:
        table, column = {"train_big_text": ("notes_out", "body"), "train_many_categories": ("labels_out", "label")}[op]
        longest = con.execute(f"SELECT max(length({column})) FROM {table}").fetchall()[0][0]
        assert longest < 10_000  # no 100 MB value copied out; labels are generated text
        assert catalog_problems(con) == []
