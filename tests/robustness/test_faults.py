"""Processes killed part-way (SIGKILL, SIGINT) leave the old state or the new one, never a part.

Each case copies a database holding a trained model ``gems``, a second model ``spare`` and a
5-row table ``out``, starts ``victim.py OP`` on it, kills it at a seeded random moment of the
operation, then reopens the file: the catalog must be whole (``catalog_problems``), the
operation's own objects must be exactly as before or exactly as after, and the operation
must then succeed. Interrupted training is restarted, not resumed: nothing of the killed run
is kept, so running the same call again is all there is to do.
"""

from __future__ import annotations

import random
import shutil
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest

import duck_synth as ds
from duck_synth import catalog

from .conftest import catalog_problems, start_victim
from .victim import OUT_ROWS

CASES = [("train", signal.SIGKILL, s) for s in (1, 2, 3)] + [("train", signal.SIGINT, 4)] + \
        [("generate", signal.SIGKILL, s) for s in (1, 2)] + [("generate", signal.SIGINT, 3)] + \
        [("generate_sql", signal.SIGKILL, s) for s in (1, 2)] + \
        [("drop_model", signal.SIGKILL, s) for s in (1, 2)] + [("add_rule", signal.SIGKILL, s) for s in (1, 2)]
_DURATION: dict[str, float] = {}  # seconds an uninterrupted run of each op takes after "start"


def _snapshot(con) -> dict:
    def rows(sql, *params):
        return con.execute(sql, list(params)).fetchall()

    return {
        "gems": rows("SELECT batch_index, sha256 FROM duck_synth.artifacts WHERE model = 'gems' ORDER BY 1"),
        "gems_status": rows("SELECT status FROM duck_synth.models WHERE model = 'gems'"),
        "spare": [rows(f"SELECT count(*) FROM duck_synth.{t} WHERE model = 'spare'")[0][0]
                  for t in ("models", "columns", "batches", "artifacts", "rules")],
        "out": rows("SELECT count(*) FROM out")[0][0] if rows(
            "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'out'")[0][0] else None,
        "rules": rows("SELECT rule, predicate FROM duck_synth.rules WHERE model = 'gems' ORDER BY rule"),
    }


def _duration(op: str, base: Path, tmp_path: Path) -> float:
    """Run ``op`` once to the end on a copy (it must succeed) and time it."""
    if op not in _DURATION:
        path = tmp_path / f"measure_{op}.duckdb"
        shutil.copy(base, path)
        proc, started = start_victim(op, path, 0)
        done = proc.stdout.readline()
        _DURATION[op] = time.monotonic() - started  # to "done", not to the end of the process
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0 and done == "done\n", err
    return _DURATION[op]


def _expected(op: str, before: dict, after: dict, seed: int) -> bool:
    """Is ``after`` the complete old state or the complete new state of ``op``?"""
    if op == "train":
        return after["gems_status"] == [("trained",)] and len(after["gems"]) == len(before["gems"])
    if op in ("generate", "generate_sql"):
        return after["out"] in (before["out"], OUT_ROWS)
    if op == "drop_model":
        return after["spare"] in (before["spare"], [0] * 5)
    if op == "add_rule":
        return after["rules"] in (before["rules"], sorted(before["rules"] + [(f"rule_{seed}", "carat > 0")]))
    raise AssertionError(op)


def _run_again(con, op: str, seed: int) -> None:
    """The same operation after the kill, to the end."""
    if op == "train":
        ds.train(con, "gems", batch_size=5, epochs=1, seed=seed, holdout=0, replace=True)
    elif op == "generate":
        ds.generate(con, "gems", n=1000, seed=seed, into="out", replace=True)
    elif op == "generate_sql":
        con.execute(f"CREATE OR REPLACE TABLE out AS SELECT * FROM generate_synthetic('gems', 1000, seed := {seed})")
    elif op == "drop_model":
        if _snapshot(con)["spare"][0]:
            ds.drop_model(con, "spare")
    elif op == "add_rule":
        ds.add_rule(con, "gems", f"again_{seed}", "carat > 0")
    assert ds.generate(con, "gems", n=50, seed=seed).height == 50


@pytest.mark.parametrize(("op", "sig", "seed"), CASES, ids=[f"{o}-{s.name}-{k}" for o, s, k in CASES])
def test_a_killed_operation_leaves_the_old_or_the_new_state(base, base_copy, tmp_path, counts, op, sig, seed):
    duration = _duration(op, base, tmp_path)
    path = base_copy
    with ds.connect(str(path)) as con:
        before = _snapshot(con)
    proc, started = start_victim(op, path, seed)
    time.sleep(max(0.0, random.Random(f"{op}-{seed}").uniform(0.05, 1.0) * duration
                   - (time.monotonic() - started)))
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=120)
    counts["kill_attempts"] += 1
    landed = "done" not in out
    counts["kills"] += landed
    assert "Traceback" not in err or sig == signal.SIGINT and "KeyboardInterrupt" in err, err

    con = ds.connect(str(path))
    try:
        problems = catalog_problems(con)
        after = _snapshot(con)
        whole = not problems and _expected(op, before, after, seed)
        counts["data_loss"] += not whole
        assert not problems, problems
        assert _expected(op, before, after, seed), (before, after)
        _run_again(con, op, seed)
        assert catalog_problems(con) == []
    finally:
        con.close()


def test_an_interrupted_insert_surfaces_as_an_interrupt_and_writes_nothing(base_copy, counts):
    """Ctrl-C while DuckDB runs one of generate's INSERTs reaches Python as a query error and aborts
    the transaction. generate must roll back and raise an interrupt (the CLI's exit 130), not the
    follow-up "transaction is aborted" error of its own cleanup (a CI failure once). The moment
    the interrupt lands varies, so three runs."""
    con = ds.connect(str(base_copy))
    try:
        for attempt in range(3):
            outcome: dict = {}

            def run() -> None:
                try:
                    ds.generate(con, "gems", n=20_000_000, seed=attempt, into="big")
                except BaseException as exc:  # noqa: BLE001 - the test inspects it
                    outcome["exc"] = exc

            worker = threading.Thread(target=run)
            worker.start()
            time.sleep(1.5)  # past loading the model: the transaction is open and chunks are being written
            while worker.is_alive():
                con.interrupt()  # stops only a query running on con: the INSERTs (the sampler uses a cursor)
                time.sleep(0.001)
            worker.join()
            counts["kill_attempts"] += 1
            counts["kills"] += "exc" in outcome
            assert isinstance(outcome.get("exc"), (KeyboardInterrupt, duckdb.InterruptException)), outcome
            assert con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'big'").fetchall() == [(0,)]
            assert catalog_problems(con) == []
        assert ds.generate(con, "gems", n=50, seed=1).height == 50  # the connection is usable again
    finally:
        con.close()


class _Interrupted:
    """A real connection on which a Ctrl-C hits the statements ``hit`` picks, as DuckDB reports one
    that lands in its client: a bare ``RuntimeError("Query interrupted")`` (a COMMIT's once failed
    CI). With ``took`` the statement has run when the signal lands (a COMMIT that took)."""

    def __init__(self, con, hit: Callable[[str], bool], took: bool = False) -> None:
        self._con, self._hit, self._took = con, hit, took

    def execute(self, sql, *args, **kwargs):
        if self._hit(sql):
            if self._took:
                self._con.execute(sql, *args, **kwargs)
            raise RuntimeError("Query interrupted")
        return self._con.execute(sql, *args, **kwargs)

    sql = execute

    def __getattr__(self, name):
        return getattr(self._con, name)


@pytest.mark.parametrize("took", [False, True], ids=["before-commit", "after-commit"])
def test_an_interrupted_commit_surfaces_as_an_interrupt_and_leaves_the_old_or_the_new_table(base_copy, took):
    con = ds.connect(str(base_copy))
    try:
        with pytest.raises(KeyboardInterrupt):
            commit = _Interrupted(con, lambda q: q.strip().upper() == "COMMIT", took)
            ds.generate(commit, "gems", n=2000, seed=3, into="out", replace=True)
        rows = con.execute("SELECT count(*) FROM out").fetchall()[0][0]
        assert rows == (2000 if took else 5)  # the new table whole, or the old one untouched
        assert catalog_problems(con) == []
        assert not catalog.in_transaction(con)  # no transaction left open behind the interrupt
        ds.generate(con, "gems", n=50, seed=1, into="out", replace=True)
        assert con.execute("SELECT count(*) FROM out").fetchall() == [(50,)]
    finally:
        con.close()


@pytest.mark.parametrize("call", [
    lambda con: ds.models(con),
    lambda con: ds.generate(con, "gems", n=10, seed=0),
    lambda con: ds.add_rule(con, "gems", "positive", "carat > 0"),
    lambda con: ds.validate(con, "gems", "out"),
], ids=["models", "generate", "add_rule", "validate"])
def test_a_ctrl_c_outside_a_transaction_reaches_python_callers_as_keyboard_interrupt(base_copy, call):
    con = ds.connect(str(base_copy))
    try:
        with pytest.raises(KeyboardInterrupt):
            call(_Interrupted(con, lambda q: True))
        assert catalog_problems(con) == []
    finally:
        con.close()


class _InterruptedScan:
    """Arrow data whose reading is hit by a Ctrl-C: DuckDB reports a KeyboardInterrupt raised in a
    Python callback as "reading the schema of the object registered as ... failed: KeyboardInterrupt"
    (an InvalidInputException), which once reached the CLI as an error with exit code 1."""

    def __arrow_c_schema__(self):
        raise KeyboardInterrupt

    def __arrow_c_stream__(self, requested_schema=None):
        raise KeyboardInterrupt


def _interrupt_reading_the_stream(monkeypatch, api):
    real = api.registered
    monkeypatch.setattr(api, "registered", lambda con, name, data: real(con, name, _InterruptedScan()))


def _interrupt_after_one_block(monkeypatch, api):
    """DuckDB has written the first block when the Ctrl-C lands in Python, making the second."""
    real = api.typed_chunks

    def first_block_then_ctrl_c(*args, **kwargs):
        blocks = real(*args, **kwargs)
        yield next(blocks)
        blocks.close()
        raise KeyboardInterrupt

    monkeypatch.setattr(api, "typed_chunks", first_block_then_ctrl_c)


def _interrupt_in_a_block_thread(monkeypatch, api):
    """Blocks are made side by side (as on a GPU); the third one, on a worker thread, is hit."""
    real, calls = api.sample_chunks, []

    def third_hit(*args, **kwargs):
        calls.append(threading.current_thread().name)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(api, "block_workers", lambda device, n_blocks: min(3, n_blocks))
    monkeypatch.setattr(api, "sample_chunks", third_hit)


@pytest.mark.parametrize("interrupt", [_interrupt_reading_the_stream, _interrupt_after_one_block,
                                       _interrupt_in_a_block_thread],
                         ids=["reading-the-stream", "after-one-block", "in-a-block-thread"])
def test_a_ctrl_c_while_duckdb_reads_the_generated_blocks_is_an_interrupt_and_writes_nothing(
        base_copy, monkeypatch, interrupt):
    from duck_synth import api

    interrupt(monkeypatch, api)
    con = ds.connect(str(base_copy))
    try:
        threads = con.execute("SELECT current_setting('threads')").fetchall()
        with pytest.raises(KeyboardInterrupt):
            ds.generate(con, "gems", n=40_000, seed=3, into="out", replace=True)
        assert con.execute("SELECT count(*) FROM out").fetchall() == [(5,)]  # the old table untouched
        assert catalog_problems(con) == [] and not catalog.in_transaction(con)
        assert con.execute("SELECT current_setting('threads')").fetchall() == threads  # set back
        assert not [t.name for t in threading.enumerate() if t.name.startswith("duck_synth_block")]
    finally:
        con.close()
