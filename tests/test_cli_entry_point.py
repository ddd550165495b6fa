"""The installed ``duck-synth`` entry point in real subprocesses: end to end, and Ctrl-C."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import duck_synth as ds
from tests.conftest import load_frame


def entry_point() -> str:
    """The console script installed next to this interpreter (the venv's), else on PATH."""
    local = Path(sys.executable).parent / "duck-synth"
    found = str(local) if local.exists() else shutil.which("duck-synth")
    if not found:
        pytest.skip("the duck-synth console script is not installed (pip install -e .)")
    return found


def cli(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run([entry_point(), *args], capture_output=True, text=True, timeout=300)
    if check:
        assert result.returncode == 0, result.stderr
    return result


def test_train_generate_validate_report_end_to_end(tmp_path, diamonds):
    """The main job on real data (a diamonds sample) through the installed script, JSON all the way."""
    db = str(tmp_path / "e2e.duckdb")
    con = ds.connect(db)
    load_frame(con, "diamonds", diamonds.sample(600, seed=5))
    load_frame(con, "holdout", diamonds.sample(150, seed=6))
    con.close()

    trained = json.loads(cli("train", "--db", db, "--table", "diamonds", "--epochs", "2", "--json").stdout)
    assert trained["model"] == "diamonds" and trained["rows"] + trained["holdout_rows"] == 600
    assert trained["epochs"] == [2] and trained["holdout_rows"] > 60

    generated = json.loads(cli("generate", "--db", db, "--model", "diamonds", "--rows", "600",
                               "--into", "diamonds_synth", "--seed", "1", "--json").stdout)
    assert generated["rows"] == 600 and generated["rows_per_s"] > 0

    validated = cli("validate", "--db", db, "--model", "diamonds", "--table", "diamonds_synth")
    assert validated.stdout.startswith("OK: 0 of 600 rows of 'diamonds_synth' fail the rules of model 'diamonds'")

    html = tmp_path / "report.html"
    reported = json.loads(cli("report", "--db", db, "--model", "diamonds", "--table", "diamonds_synth",
                              "--holdout", "holdout", "--html", str(html), "--json").stdout)
    assert reported["synthetic_rows"] == 600 and 0.5 < reported["fidelity"]["score"] <= 1
    assert reported["exact_copy_rate"] < 0.05
    assert html.read_text().startswith("<!doctype html>")


def test_ctrl_c_during_generation_leaves_no_partial_table(trained_db, tmp_path):
    db = str(tmp_path / "interrupt.duckdb")
    shutil.copyfile(trained_db, db)
    proc = subprocess.Popen(
        [entry_point(), "generate", "--db", db, "--model", "diamonds", "--rows", "50000000", "--into", "big",
         "--seed", "1"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        first = proc.stderr.readline()  # printed once the model is loaded and generation starts
        assert first.startswith("generating 50,000,000 rows with model 'diamonds' into 'big'"), first
        time.sleep(6)  # well into the transaction: the first chunks are written by now
        assert proc.poll() is None, "generation finished before it could be interrupted"
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, err
    assert err == "Error: interrupted\n"
    assert out == ""
    con = ds.connect(db)
    try:
        tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
        assert "big" not in tables
        ds.generate(con, "diamonds", n=20, seed=1, into="big")  # the model still works
        assert con.execute("SELECT count(*) FROM big").fetchall() == [(20,)]
    finally:
        con.close()
