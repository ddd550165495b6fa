"""Several processes and threads on one database: a clear error or a wait, never corruption."""

from __future__ import annotations

import subprocess
import sys
import threading

import pytest

import duck_synth as ds

from .conftest import ROOT, catalog_problems, start_victim



def test_a_second_process_gets_a_clear_error_or_waits_for_the_writer(base_copy, counts):
    writer, _ = start_victim("train_model:a", base_copy, 1)  # holds the file while it trains
    try:
        for read_only in (False, True):  # DuckDB: no other process may open a file being written
            counts["bad_inputs"] += 1
            with pytest.raises(ds.DatabaseLocked, match=rf"database '{base_copy}' is in use by another process"
                                                        r" \(DuckDB allows one writing process per file; pass wait="):
                ds.connect(str(base_copy), read_only=read_only)
        # a second trainer that waits: it starts once the first has closed the file
        waiter, _ = start_victim("train_model:b", base_copy, 2, ready=False)  # blocked on the lock until A closes
        out_a, err_a = writer.communicate(timeout=300)
        out_b, err_b = waiter.communicate(timeout=300)
    finally:
        writer.kill()
    assert writer.returncode == 0 and out_a.startswith("done\n"), err_a
    assert waiter.returncode == 0 and out_b.startswith("start\ndone\n"), err_b
    with ds.connect(str(base_copy), read_only=True) as con:
        assert catalog_problems(con) == []
        assert con.execute("SELECT model FROM duck_synth.models WHERE status = 'trained' ORDER BY 1").fetchall() == [
            ("a",), ("b",), ("gems",), ("spare",)]
        assert ds.generate(con, "b", n=20, seed=0).height == 20


def test_the_cli_waits_with_wait(base_copy):
    writer, _ = start_victim("train_model:a", base_copy, 1)
    try:
        cli = [sys.executable, "-m", "duck_synth.cli"]
        refused = subprocess.run(cli + ["models", "--db", str(base_copy)], capture_output=True, text=True, cwd=ROOT)
        waited = subprocess.run(cli + ["--wait", "300", "models", "--db", str(base_copy)], capture_output=True,
                                text=True, cwd=ROOT)
    finally:
        writer.communicate(timeout=300)
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert refused.stderr.startswith(f"Error: database '{base_copy}' is in use by another process"), refused.stderr
    assert waited.returncode == 0 and "a" in waited.stdout.split(), waited.stderr


def test_many_threads_generate_on_cursors_of_one_connection(base_copy):
    con = ds.connect(str(base_copy))
    try:
        seeds = range(8)
        expected = {s: con.sql(f"SELECT * FROM generate_synthetic('gems', 3000, seed := {s})").fetchall()
                    for s in seeds}
        got: dict[int, object] = {}

        def work(seed: int) -> None:
            cur = con.cursor()
            try:
                ds.register(cur)  # a cursor is a connection of its own (README, SQL)
                got[seed] = cur.sql(f"SELECT * FROM generate_synthetic('gems', 3000, seed := {seed})").fetchall()
                got[-seed - 1] = ds.generate(cur, "gems", n=500, seed=seed).rows()
            except Exception as exc:  # noqa: BLE001 - compared below
                got[seed] = exc
            finally:
                cur.close()

        threads = [threading.Thread(target=work, args=(s,)) for s in seeds]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=300)
        for s in seeds:
            assert got[s] == expected[s], f"seed {s}: {got[s]!r:.200}"
            assert got[-s - 1] == ds.generate(con, "gems", n=500, seed=s).rows()
        assert catalog_problems(con) == []
    finally:
        con.close()
