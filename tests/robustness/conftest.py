"""Robustness suite (issue 8): counters for the summary line, hypothesis profiles, helpers.

Profiles: ``ci`` (default, a few examples per property, what ``make test`` runs) and
``release`` (hundreds; ``DUCK_SYNTH_HYPOTHESIS=release make test`` before a release).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, settings

import duck_synth as ds
from duck_synth.artifacts import load_model
from tests.conftest import load_frame

COUNTS: Counter = Counter()
"""kills (landed mid-operation), schemas, bad_inputs, data_loss, tracebacks: printed at the end."""

settings.register_profile("ci", max_examples=12, deadline=None, derandomize=True, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                                 HealthCheck.data_too_large])
settings.register_profile("release", parent=settings.get_profile("ci"), max_examples=300)
settings.load_profile(os.environ.get("DUCK_SYNTH_HYPOTHESIS", "ci"))

MODEL_TABLES = ("columns", "batches", "artifacts", "rules", "reports")
VICTIM = Path(__file__).with_name("victim.py")
ROOT = VICTIM.parents[2]


def start_victim(op: str, path: Path, seed: int, ready: bool = True) -> tuple[subprocess.Popen, float]:
    """Start ``victim.py OP`` on ``path``; with ``ready``, wait until it has opened the file and
    is about to begin (its "start" line). Returns the process and when it started."""
    proc = subprocess.Popen([sys.executable, str(VICTIM), op, str(path), str(seed)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if ready:
        line = proc.stdout.readline()
        assert line == "start\n", f"victim did not start: {line!r} {proc.stderr.read()}"
    return proc, time.monotonic()


def pytest_terminal_summary(terminalreporter) -> None:
    if not COUNTS:
        return
    terminalreporter.write_line(
        f"robustness: {COUNTS['kills']} kills survived ({COUNTS['kill_attempts']} tried), {COUNTS['schemas']}"
        f" random schemas tried, {COUNTS['bad_inputs']} bad inputs tried, {COUNTS['data_loss']} data losses,"
        f" {COUNTS['tracebacks']} tracebacks (hypothesis profile {settings._current_profile})")


def catalog_problems(con: duckdb.DuckDBPyConnection) -> list[str]:
    """What is inconsistent in duck_synth's metadata: orphaned rows, models trained without
    complete artifacts, artifacts that fail to load. Empty when the catalog is whole."""
    problems = []
    if not con.execute("SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'duck_synth'").fetchall()[0][0]:
        return problems
    models = dict(con.execute("SELECT model, status FROM duck_synth.models").fetchall())
    for table in MODEL_TABLES:
        for (model,) in con.execute(f"SELECT DISTINCT model FROM duck_synth.{table}").fetchall():
            if model not in models:
                problems.append(f"duck_synth.{table} has rows of model {model!r}, which does not exist")
    for model, status in models.items():
        batches = {b for (b,) in con.execute(
            "SELECT DISTINCT batch_index FROM duck_synth.batches WHERE model = ?", [model]).fetchall()}
        stored = [b for (b,) in con.execute(
            "SELECT batch_index FROM duck_synth.artifacts WHERE model = ?", [model]).fetchall()]
        if len(stored) != len(set(stored)):
            problems.append(f"model {model!r} has duplicate artifacts")
        if status == "trained":
            if set(stored) != batches:
                problems.append(f"trained model {model!r} has artifacts for {sorted(stored)}, batches {sorted(batches)}")
            try:
                load_model(con, model)
            except Exception as exc:  # noqa: BLE001 - reported as a problem
                problems.append(f"trained model {model!r} does not load: {exc}")
    return problems


@pytest.fixture(scope="session")
def base(tmp_path_factory, diamonds):
    """A file with a trained model `gems` (2 batches), a second model `spare` and a 5-row table `out`."""
    path = tmp_path_factory.mktemp("faults") / "base.duckdb"
    con = ds.connect(str(path))
    load_frame(con, "gems", diamonds.sample(1500, seed=3))
    ds.train(con, "gems", batch_size=5, epochs=2, seed=0, holdout=0)
    ds.train(con, "gems", model="spare", batch_size=5, epochs=1, seed=0, holdout=0)
    ds.generate(con, "gems", n=5, seed=0, into="out")
    con.close()
    return path


@pytest.fixture
def base_copy(base, tmp_path) -> Path:
    """A private copy of ``base``, safe to kill processes on."""
    path = tmp_path / "copy.duckdb"
    shutil.copy(base, path)
    return path


@pytest.fixture
def counts() -> Counter:
    return COUNTS
