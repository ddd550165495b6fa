"""The Python API: connect, plan, train, generate, models, drop_model.

Reads like DESIGN.md's data flow: profile (SQL) -> plan batches (SQL) -> read (Arrow ->
Polars) -> encode -> one model per batch -> artifacts in the database; and for generation
load -> sample in chunks -> cast to source types (SQL) -> DuckDB table in one transaction.
"""

from __future__ import annotations

import collections
import concurrent.futures
import contextlib
import ctypes
import ctypes.util
import dataclasses
import functools
import itertools
import json
import logging
import os
import queue
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import duckdb
import numpy as np
import polars as pl
import pyarrow as pa
import torch

from . import __version__, encoders
from ._wire import read_message, write_message
from .artifacts import BatchArtifact, ColumnSpec, TrainedModel, load_model, save_batch
from .catalog import (
    Relation, catalog_state, ensure_schema, execute_through_interrupts, fetch_one, has_schema, quote, registered,
    resolve_relation, table_exists, target_name, transaction,
)
from .context import choose_context
from .errors import (
    DatabaseLocked, DuckSynthError, EmptyTable, InvalidArgument, ModelExists, ModelNotFound, TableExists,
    UnsupportedColumnType, interruptible, warn_caller,
)
from .encoders.text import READ_CHARS
from .model import INPUT_DROPOUT, TOKEN_DROPOUT, BatchModel, ModelConfig
from .planning import plan_batches, read_batches
from .profile import count_rows, profile_columns, read_columns
from .sampling import first_chunks_together, fresh_seed, sample_chunks
from .sampling import CHUNK_ROWS, derive_seed
from .rules import (
    Checked, InvalidBudget, RuleSet, capture_source_rules, check_max_invalid, check_records, check_seeds, check_typed,
    default_max_invalid, ensure_captured, fill_block, first_round_seed, has_rules_table, load_rules,
)
from .training import TRAIN_MAX_ROWS, FitResult, Progress, TrainConfig, fit, resolve_device, size_for

log = logging.getLogger(__name__)

ProgressCallback = Callable[[Progress], None]


LOCK_POLL_SECONDS = 0.25


@interruptible
def connect(path: str = ":memory:", read_only: bool = False, wait: float = 0.0) -> duckdb.DuckDBPyConnection:
    """Open a DuckDB database for use with duck_synth, with its SQL functions registered.

    DuckDB lets one process at a time open a file for writing (and no other process read it
    meanwhile). Another process holding the file is a ``DatabaseLocked`` error naming it, or,
    with ``wait``, a wait of up to that many seconds for it to close the file.

    Args:
        path: database file (created if missing) or ``:memory:``.
        read_only: open the file read-only (generation into Python frames still works).
        wait: seconds to wait for another process to release the file (0: fail at once).
    """
    if isinstance(wait, bool) or not isinstance(wait, (int, float)) or not wait >= 0:
        raise InvalidArgument(f"wait must be a number of seconds >= 0, got {wait!r}")
    deadline = time.monotonic() + wait
    while True:
        try:
            con = duckdb.connect(path, read_only=read_only)
            break
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower():
                raise DuckSynthError(f"cannot open database {path!r}: {exc}") from exc
            if time.monotonic() >= deadline:
                waited = f" after waiting {wait:g}s" if wait else ""
                raise DatabaseLocked(f"database {path!r} is in use by another process{waited} (DuckDB allows one"
                                     f" writing process per file; pass wait= / --wait to wait for it): {exc}") from exc
            time.sleep(LOCK_POLL_SECONDS)
        except duckdb.Error as exc:
            raise DuckSynthError(f"cannot open database {path!r}: {exc}") from exc
    from .sql_functions import register  # sql_functions builds on this module

    register(con)
    return con


def _check_name(name: object, what: str) -> str:
    if not isinstance(name, str) or not name.strip():
        raise InvalidArgument(f"{what} must be a non-empty string, got {name!r}")
    return name


def _model_status(con: duckdb.DuckDBPyConnection, model: str) -> str | None:
    if not has_schema(con):
        return None
    row = fetch_one(con, "SELECT status FROM duck_synth.models WHERE model = ?", [model])
    return row[0] if row else None


def _delete_model_rows(con: duckdb.DuckDBPyConnection, model: str) -> None:
    tables = ("rules", "artifacts", "batches", "columns", "models") if has_rules_table(con) else (
        "artifacts", "batches", "columns", "models")
    for table in tables:
        con.execute(f"DELETE FROM duck_synth.{table} WHERE model = ?", [model])


def _write_plan(con, model: str, relation: Relation, table: str, n_rows: int, n_held: int, batch_size: int,
                batch_headers: list[list[str]] | None, target: str | None) -> None:
    if target is not None and batch_headers is not None:
        raise InvalidArgument(f"target {target!r} and batch_headers cannot both be given: put the target"
                              " first in batch_headers instead")
    con.execute(
        "INSERT INTO duck_synth.models (model, source_table, status, batch_size, n_rows, duck_synth_version,"
        " holdout, holdout_rows, target) VALUES (?, ?, 'planned', ?, ?, ?, ?, ?, ?)",
        [model, table, batch_size if batch_headers is None else None, n_rows, __version__,
         relation.holdout if relation.part != "all" else 0.0, n_held, target],
    )
    columns = profile_columns(con, model, relation, n_rows)
    supported = [c for c in columns if c.encoder != "unsupported"]
    if not supported:
        detail = ", ".join(f"{c.name!r} ({c.duckdb_type})" for c in columns)
        raise UnsupportedColumnType(
            f"table {table!r} has no column duck_synth can model: {detail}; supported are numbers,"
            " booleans, dates/times/timestamps, strings, ENUM and UUID (not LIST, STRUCT, MAP, BLOB, UNION)"
        )
    if target is not None and target not in {c.name for c in supported}:
        raise InvalidArgument(f"target {target!r} is not a column of {table!r} that duck_synth models; its columns"
                              f" are {', '.join(repr(c.name) for c in supported)}")
    plan_batches(con, model, batch_size, batch_headers, first=target)


DEFAULT_HOLDOUT = 0.2
"""Share of a source's rows ``train`` keeps aside (never profiled or trained on) for ``evaluate``."""

MIN_HOLDOUT_SOURCE_ROWS = 100
"""Smaller sources are trained whole: a holdout of under 20 rows would score nothing reliably."""


def _check_holdout(holdout: object) -> float:
    if isinstance(holdout, bool) or not isinstance(holdout, (int, float)) or not 0 <= holdout <= 0.5:
        raise InvalidArgument(f"holdout must be a share of rows from 0 to 0.5 (0 trains on every row), got {holdout!r}")
    return float(holdout)


def _planned(con, model: str, setting: str, given: object) -> object:
    """A planned model's stored ``setting`` (holdout, target); ``given`` must be None or equal it."""
    stored = fetch_one(con, f"SELECT {setting} FROM duck_synth.models WHERE model = ?", [model])[0]
    if given is not None and given != stored:
        raise InvalidArgument(f"model {model!r} was planned with {setting}={stored!r}; plan it again with"
                              f" replace=True and {setting}={given!r} to change it")
    return stored


def _planned_holdout(con, model: str, status: str | None, holdout: float | None) -> float:
    """The holdout share to train with: a planned model's stored one, else ``holdout`` or the default."""
    if status != "planned":
        return _check_holdout(DEFAULT_HOLDOUT if holdout is None else holdout)
    return _planned(con, model, "holdout", None if holdout is None else _check_holdout(holdout)) or 0.0


def _source(con: duckdb.DuckDBPyConnection, table: str, holdout: float = 0.0) -> tuple[Relation, int, int]:
    """The training side of ``table`` (all of it when ``holdout`` is 0), its rows, and the rows held out."""
    whole = resolve_relation(con, _check_name(table, "table"))
    total = count_rows(con, whole)
    if total == 0:
        raise EmptyTable(f"table {table!r} has no rows; there is nothing to learn from")
    if holdout and total < MIN_HOLDOUT_SOURCE_ROWS:
        log.info("table %r has %d rows (< %d): trained whole, no holdout kept", table, total, MIN_HOLDOUT_SOURCE_ROWS)
        holdout = 0.0
    relation = whole.split(holdout, "train")
    n_rows = relation.split_counts(con)[0] if holdout else total
    if n_rows == 0:
        raise EmptyTable(f"table {table!r}: no row is left for training after holding out {holdout:.0%}")
    return relation, n_rows, total - n_rows


@interruptible
def plan(
    con: duckdb.DuckDBPyConnection,
    table: str,
    model: str | None = None,
    batch_size: int = 15,
    batch_headers: list[list[str]] | None = None,
    replace: bool = False,
    holdout: float = DEFAULT_HOLDOUT,
    target: str | None = None,
) -> list[list[str]]:
    """Profile ``table`` and write its column batches to duck_synth.batches, without training.

    Edit duck_synth.batches (or duck_synth.columns.encoder) with SQL afterwards; ``train``
    uses the stored plan as it finds it. ``holdout`` is the share of rows kept aside and
    ``target`` the column put first, as in ``train``; the profile already leaves the held-out
    rows out.

    Returns:
        The planned batches as lists of column names.
    """
    relation, n_rows, n_held = _source(con, table, _check_holdout(holdout))
    model = _check_name(model or relation.name, "model")
    with transaction(con):
        ensure_schema(con)
        if _model_status(con, model) is not None:
            if not replace:
                raise ModelExists(f"model {model!r} already exists; pass replace=True to plan it again")
            _delete_model_rows(con, model)
        _write_plan(con, model, relation, table, n_rows, n_held, batch_size, batch_headers, target)
        return read_batches(con, model)


@dataclass(frozen=True)
class TrainResult:
    """Summary of a training run."""

    model: str
    batches: list[list[str]]
    skipped_columns: list[str]
    rows: int  # rows learned from: the training side, or its sample of ``max_rows``
    device: str
    seconds: float
    epochs: list[int]
    val_loss: list[float | None]
    holdout_rows: int = 0  # source rows kept aside (``ds.holdout``), not in ``rows``


def _read_source(con, relation: Relation, specs: list[tuple[str, str, str]], n_rows: int,
                 tc: TrainConfig) -> pl.DataFrame:
    """Source rows via Arrow into Polars, each column in its encoder's read form.

    More than ``tc.max_rows`` rows are sampled in DuckDB (a reservoir seeded by ``tc.seed``,
    in a fixed order), so only the sample is ever held in memory.
    """
    def read(name: str, dtype: str, kind: str) -> str:
        sql = encoders.get(kind).read_sql(quote(name), dtype)
        return f"left({sql}, {READ_CHARS})" if kind == "text" else sql  # tokens past MAX_TOKENS are cut anyway

    select = ", ".join(f"{read(name, dtype, kind)} AS {quote(name)}" for name, dtype, kind in specs)
    source = relation.sql
    if tc.max_rows is not None and n_rows > tc.max_rows:
        log.info("training on a sample of %d of %d rows (max_rows)", tc.max_rows, n_rows)
        source = (f"(SELECT * FROM {source} USING SAMPLE reservoir({tc.max_rows} ROWS) REPEATABLE ({tc.seed})"
                  " ORDER BY hash(*COLUMNS(*)))")
    return pl.from_arrow(con.sql(f"SELECT {select} FROM {source}").to_arrow_table())


@interruptible
def train(
    con: duckdb.DuckDBPyConnection,
    table: str,
    model: str | None = None,
    batch_size: int = 15,
    batch_headers: list[list[str]] | None = None,
    epochs: int | None = None,
    seed: int = 0,
    device: str = "auto",
    replace: bool = False,
    progress: ProgressCallback | None = None,
    holdout: float | None = None,
    max_rows: int | None = TRAIN_MAX_ROWS,
    target: str | None = None,
) -> TrainResult:
    """Learn ``table`` and store the model in the database.

    A model planned earlier with ``plan`` (and possibly edited with SQL) is trained as
    planned; otherwise the table is profiled and planned first. Everything is written in one
    transaction: on any error the database is left exactly as it was.

    A share of the rows (``holdout``, 20% by default) is kept aside: chosen by a hash of each
    row's values, never profiled or trained on, and found again by ``evaluate`` (and
    ``holdout``) to score the synthetic table against real rows the model never saw.
    Sources under 100 rows are trained whole.

    Args:
        con: DuckDB connection.
        table: source table or view.
        model: model name (default: the table's name).
        batch_size: columns per batch (split as evenly as possible).
        batch_headers: explicit batches, overriding batch_size.
        epochs: fixed number of epochs, or None for automatic with early stopping.
        seed: makes training deterministic on CPU.
        device: 'auto' (CUDA when present), 'cpu' or 'cuda'.
        replace: retrain over an existing trained model of that name.
        progress: called after every epoch of every batch.
        holdout: share of rows kept aside, 0 to 0.5 (default 0.2; a planned model keeps the
            share it was planned with). 0 trains on every row.
        max_rows: train on a seeded sample of this many rows when there are more (profiling
            and the holdout still cover every row); None reads them all.
        target: the column you mean to predict from the synthetic table (e.g. churn). It is
            modelled first, so every other column is generated conditionally on it, which
            keeps what predicts it; ``evaluate`` scores utility on it by default.
    """
    tc = TrainConfig(epochs=epochs, seed=seed, device=resolve_device(device), max_rows=max_rows)
    model = _check_name(model or resolve_relation(con, _check_name(table, "table")).name, "model")
    start = time.perf_counter()
    with transaction(con):
        ensure_schema(con)
        status = _model_status(con, model)
        if status == "trained" and not replace:
            raise ModelExists(f"model {model!r} already exists; pass replace=True to retrain it")
        relation, n_rows, n_held = _source(con, table, _planned_holdout(con, model, status, holdout))
        if status != "planned":
            _delete_model_rows(con, model)
            _write_plan(con, model, relation, table, n_rows, n_held, batch_size, batch_headers, target)
        else:
            _planned(con, model, "target", target)
        result = _train_planned(con, model, relation, table, n_rows, n_held, None, tc, progress)
    log.info("trained model %r on %d rows in %.1fs", model, n_rows, time.perf_counter() - start)
    _refresh_sql(con)
    return result


def _refresh_sql(con: duckdb.DuckDBPyConnection) -> None:
    from .sql_functions import refresh  # sql_functions builds on this module

    refresh(con)


@interruptible
def train_batches(
    con: duckdb.DuckDBPyConnection,
    model: str,
    indices: Iterable[int],
    config: TrainConfig | None = None,
    table: str | None = None,
    progress: ProgressCallback | None = None,
    text_encoder: encoders.Encoder | None = None,
) -> TrainResult:
    """Train (or retrain) some batches of a planned model; the other batches keep their weights.

    Batch ``k`` learns from the real values of earlier batches' columns, so batches can be
    trained in any order and separately. Encoders are fitted on the first call and reused
    after, so every batch sees the same encodings. The model becomes ``trained`` (usable from
    SQL) once every batch has weights. One transaction.

    Args:
        con: DuckDB connection holding the planned model.
        model: model name (planned with ``plan``).
        indices: batch numbers (0-based) to train.
        config: training knobs (default ``TrainConfig()``, device resolved).
        table: the source (default: the model's source table).
        progress: called after every epoch.
        text_encoder: an encoder for text columns other than the default (e.g. another tokenizer).
    """
    tc = config or TrainConfig(device=resolve_device("auto"))
    status = _model_status(con, _check_name(model, "model"))
    if status is None:
        raise ModelNotFound(f"model {model!r} does not exist; plan it first")
    source = table or fetch_one(con, "SELECT source_table FROM duck_synth.models WHERE model = ?", [model])[0]
    relation, n_rows, n_held = _source(con, source, _planned_holdout(con, model, "planned", None))
    n_batches = len(read_batches(con, model))
    wanted = sorted(set(indices))
    bad = [i for i in wanted if isinstance(i, bool) or not isinstance(i, (int, np.integer)) or not 0 <= i < n_batches]
    if bad or not wanted:
        raise InvalidArgument(f"model {model!r} has batches 0..{n_batches - 1}; cannot train batch {bad or wanted!r}")
    with transaction(con):
        if status == "trained":
            con.execute("UPDATE duck_synth.models SET status = 'planned' WHERE model = ?", [model])
        result = _train_planned(con, model, relation, source, n_rows, n_held, wanted, tc, progress, text_encoder)
    _refresh_sql(con)
    return result


def _train_planned(con, model: str, relation: Relation, table: str, n_rows: int, n_held: int,
                   indices: list[int] | None, tc: TrainConfig, progress, text_encoder=None) -> TrainResult:
    """Train batches ``indices`` (all when None) of a planned model, inside the caller's transaction."""
    start = time.perf_counter()
    batches = read_batches(con, model)
    indices = list(range(len(batches))) if indices is None else indices
    profile = {c.name: c for c in read_columns(con, model)}
    skipped = [c.name for c in profile.values() if c.encoder == "unsupported"]
    if skipped:
        msg = f"table {table!r}: skipping columns of unsupported types (output has them as NULL): " + ", ".join(
            f"{c!r} ({profile[c].duckdb_type})" for c in skipped)
        log.warning(msg)
        warn_caller(msg)
    names = [c for b in batches for c in b]
    specs = [(c, profile[c].duckdb_type, profile[c].encoder) for c in names]
    frame = _read_source(con, relation, specs, n_rows, tc)
    refit = len(indices) == len(batches) or any(profile[c].encoder_state is None for c in names)
    columns, tokens = _fit_encoders(con, model, frame, specs, profile, refit, text_encoder)
    con.execute(f"DELETE FROM duck_synth.artifacts WHERE model = ? AND batch_index IN ({', '.join(map(str, indices))})",
                [model])
    # built one at a time, as workers free up: only a few batches' token matrices exist at once
    jobs = (_batch_job(i, batches, columns, tokens, tc, frame.height) for i in indices)
    n_tokens = frame.height * sum(tokens[c].shape[1] + 1 for b in (batches[i] for i in indices) for c in b)
    fits = _fit_batches(con, model, jobs, indices, n_tokens, len(batches), tc, progress)
    summary = _training_summary(con, model, len(batches), fits)
    trained = fetch_one(con, "SELECT count(DISTINCT batch_index) FROM duck_synth.artifacts WHERE model = ?",
                        [model])[0] == len(batches)
    con.execute(
        "UPDATE duck_synth.models SET status = ?, seed = ?, device = ?, training = ?,"
        " trained_at = current_timestamp, n_rows = ?, holdout_rows = ?, duck_synth_version = ? WHERE model = ?",
        ["trained" if trained else "planned", tc.seed, tc.device, json.dumps(summary), n_rows, n_held, __version__,
         model],
    )
    if trained:
        capture_source_rules(con, model, relation)  # CHECK / NOT NULL constraints and profile domains
    return TrainResult(model, batches, skipped, frame.height, tc.device, time.perf_counter() - start,
                       [summary["epochs"][i] for i in indices], [summary["val_loss"][i] for i in indices], n_held)


def _training_summary(con, model: str, n_batches: int, fits: dict[int, FitResult]) -> dict[str, list]:
    """Per-batch epochs, best validation loss and seconds; batches not trained now keep earlier figures."""
    row = fetch_one(con, "SELECT training FROM duck_synth.models WHERE model = ?", [model])
    old = json.loads(row[0]) if row and row[0] else {}
    summary = {}
    for key, value in (("epochs", lambda f: f.epochs_run), ("val_loss", lambda f: f.best_val_loss),
                       ("seconds", lambda f: round(f.seconds, 3))):
        before = old.get(key) or []
        summary[key] = [value(fits[i]) if i in fits else (before[i] if i < len(before) else None)
                        for i in range(n_batches)]
    return summary


def _fit_encoders(con, model: str, frame: pl.DataFrame, specs, profile, refit: bool = True, text_encoder=None):
    """Fit (or reuse the stored) encoder of each column; return (specs, tokens per column)."""
    columns: dict[str, ColumnSpec] = {}
    tokens: dict[str, np.ndarray] = {}
    for name, dtype, kind in specs:
        enc = text_encoder if kind == "text" and text_encoder is not None else encoders.get(kind)
        stored = profile[name].encoder_state
        try:
            state = enc.analyze(frame[name], dtype) if refit or stored is None else encoders.state_from_json(stored)[1]
            tokens[name] = enc.encode(state, frame[name])
        except (ValueError, TypeError, OverflowError) as exc:
            raise DuckSynthError(f"column {name!r} ({dtype}, encoder {kind}) cannot be encoded: {exc}") from exc
        columns[name] = ColumnSpec(name, profile[name].ordinal, dtype, kind, state)
        if refit or stored is None:
            lower, upper = getattr(state, "lower", None), getattr(state, "upper", None)
            con.execute(
                "UPDATE duck_synth.columns SET encoder_state = ?, lower_bound = ?, upper_bound = ?"
                " WHERE model = ? AND column_name = ?",
                [encoders.state_to_json(kind, state), lower, upper, model, name],
            )
    return columns, tokens


PARALLEL_MIN_TOKENS = 2_000_000
"""On a CPU with several cores, batches are trained in parallel worker processes (one torch
thread each) once the batches to train hold this many tokens in all; smaller jobs stay in
process, where starting workers would cost more than it saves."""

BATCHES_PER_WORKER = 4
"""Each worker needs this many batches at least, or the largest batch, trained on one thread
instead of all of them, sets the pace (nycflights13's two unequal batches: 305 s in two
workers against 236 s in process)."""


@dataclass(frozen=True)
class _BatchJob:
    """One batch's training input, built in the main process."""

    index: int
    targets: list[str]
    context: list[str]
    cfg: ModelConfig
    matrix: np.ndarray
    minibatch: int
    epochs: int


def _batch_job(index: int, batches, columns, tokens, tc: TrainConfig, n_rows: int) -> _BatchJob:
    targets = batches[index]
    earlier = [c for b in batches[:index] for c in b]
    context = choose_context(earlier, targets, tokens)
    cards = {c: columns[c].encoder.cardinalities(columns[c].state) for c in targets + context}
    minibatch, hidden, max_epochs = size_for(n_rows, sum(len(b) for b in batches))
    ordinal = {c: columns[c].kind in ("numeric", "datetime") for c in targets + context}
    cfg = ModelConfig(
        context_cards=tuple(cards[c][0] for c in context),
        target_cards=tuple(v for c in targets for v in cards[c]),
        target_groups=tuple(i for i, c in enumerate(targets) for _ in cards[c]),
        ordinal=tuple(ordinal[c] for c in context) + tuple(ordinal[c] for c in targets for _ in cards[c]),
        hidden=hidden,
        input_dropout=INPUT_DROPOUT,
        token_dropout=TOKEN_DROPOUT,
    )
    matrix = np.concatenate([tokens[c][:, :1] for c in context] + [tokens[c] for c in targets], axis=1)
    return _BatchJob(index, targets, context, cfg, matrix, minibatch, tc.epochs or max_epochs)


def _workers(tc: TrainConfig, n_jobs: int, n_tokens: int) -> int:
    workers = min(os.cpu_count() or 1, n_jobs // BATCHES_PER_WORKER)
    return 1 if tc.device != "cpu" or workers < 2 or n_tokens < PARALLEL_MIN_TOKENS else workers


class _Worker:
    """One ``python -m duck_synth._fit_worker`` process: a job in, its result out, in turn."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "duck_synth._fit_worker"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def fit(self, job: _BatchJob, tc: TrainConfig, threads: int) -> tuple:
        """(weights, epochs run, best validation loss, last loss, seconds, per-epoch history)."""
        try:
            write_message(self.proc.stdin, {"cfg": job.cfg.to_dict(), "tc": dataclasses.asdict(tc),
                                            "minibatch": job.minibatch, "epochs": job.epochs, "threads": threads},
                          {"tokens": torch.from_numpy(np.ascontiguousarray(job.matrix))})
            meta, weights = read_message(self.proc.stdout)
        except (BrokenPipeError, EOFError, ValueError) as exc:
            self.proc.kill()
            detail = self.proc.stderr.read().decode("utf-8", "replace").strip().splitlines()
            raise DuckSynthError(f"a batch training worker failed: {detail[-1] if detail else exc}") from exc
        return (weights, meta["epochs_run"], meta["best"], meta["last"], meta["seconds"],
                [tuple(epoch) for epoch in meta["history"]])

    def close(self, kill: bool = False) -> None:
        if kill:
            self.proc.kill()
        elif self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.proc.wait()
        self.proc.stdout.close()
        self.proc.stderr.close()


def _fit_batches(con, model: str, jobs: Iterator[_BatchJob], indices: list[int], n_tokens: int, n_batches: int,
                 tc: TrainConfig, progress) -> dict[int, FitResult]:
    """Fit the jobs' batches (in worker processes when ``_workers`` says so) and store each one's
    weights as it finishes, in batch order; progress reports arrive per epoch either way (from
    workers, once their batch is done)."""

    def reporter(job: _BatchJob) -> Callable[[int, float, float | None, float], None]:
        def report(epoch: int, loss: float, val: float | None, seconds: float) -> None:
            log.info("model %r batch %d/%d epoch %d/%d loss %.4f val %s", model, job.index + 1, n_batches,
                     epoch, job.epochs, loss, "-" if val is None else f"{val:.4f}")
            if progress:
                progress(Progress(job.index, n_batches, epoch, job.epochs, loss, val, seconds))
        return report

    def store(job: _BatchJob, result: FitResult) -> None:
        fits[job.index] = result
        save_batch(con, model, BatchArtifact(job.index, job.targets, job.context, result.model))

    fits: dict[int, FitResult] = {}
    workers = _workers(tc, len(indices), n_tokens)
    if workers == 1:
        for job in jobs:
            store(job, fit(job.matrix, job.cfg, tc, job.minibatch, job.epochs, reporter(job)))
        return fits
    threads = max(1, (os.cpu_count() or 1) // workers)
    log.info("training %d batches of model %r in %d worker processes", len(indices), model, workers)
    lock, ready = threading.Lock(), threading.Condition()
    done: dict[int, tuple[_BatchJob | None, tuple | BaseException]] = {}  # -1: building a job failed

    def serve(worker: _Worker) -> None:  # one thread per worker: take the next job, fit it there, hand it over
        while True:
            job = None
            try:
                with lock:
                    job = next(jobs, None)
                if job is None:
                    return
                result: tuple | BaseException = worker.fit(job, tc, threads)
            except BaseException as exc:
                result = exc
            with ready:
                done[job.index if job is not None else -1] = (job, result)
                ready.notify_all()
            if isinstance(result, BaseException):
                return

    pool = [_Worker() for _ in range(workers)]
    serving = [threading.Thread(target=serve, args=(w,), daemon=True) for w in pool]
    failed = True
    try:
        for t in serving:
            t.start()
        for index in indices:  # stored and reported in batch order, whichever worker finishes first
            with ready:
                while index not in done and -1 not in done and any(t.is_alive() for t in serving):
                    ready.wait(timeout=1.0)
                job, result = done.pop(index, None) or done.get(-1) or (None, DuckSynthError(
                    f"the batch training workers of model {model!r} stopped before batch {index}"))
            if isinstance(result, BaseException):
                raise result
            weights, epochs_run, best, last, seconds, history = result
            net = BatchModel(job.cfg)
            net.load_state_dict(weights)
            for epoch in history:
                reporter(job)(*epoch)
            store(job, FitResult(net.eval(), epochs_run, best, last, seconds))
        failed = False
    finally:
        for w in pool:
            w.close(kill=failed)
    return fits


def _typed_select(tm: TrainedModel, source: str) -> str:
    """SELECT list casting decoded columns back to the source's DuckDB types (NULL for skipped ones)."""
    parts = []
    for name, dtype in tm.source_columns:
        spec = tm.columns.get(name)
        expr = spec.encoder.write_sql(quote(name), dtype) if spec else f"CAST(NULL AS {dtype})"
        parts.append(f"{expr} AS {quote(name)}")
    return f"SELECT {', '.join(parts)} FROM {source}"


_ARROW_TYPES: dict[tuple[str, ...], pa.Schema] = {}


def _arrow_types(cur: duckdb.DuckDBPyConnection, tm: TrainedModel) -> pa.Schema:
    """The Arrow schema DuckDB gives the source's columns (asked once per list of types)."""
    key = tuple(dtype for _, dtype in tm.source_columns)
    if key not in _ARROW_TYPES:
        select = ", ".join(f"CAST(NULL AS {dtype}) AS c{i}" for i, dtype in enumerate(key))
        _ARROW_TYPES[key] = cur.sql(f"SELECT {select} LIMIT 0").to_arrow_table().schema
    return _ARROW_TYPES[key]


def _typed_arrow(tm: TrainedModel, chunk: pl.DataFrame, schema: pa.Schema) -> pa.Table | None:
    """``_typed_select`` computed in Arrow (the encoders' ``write_arrow``), or None where a column
    needs DuckDB's cast."""
    arrays = []
    for (name, dtype), field in zip(tm.source_columns, schema):
        spec = tm.columns.get(name)
        if spec is None:
            arrays.append(pa.nulls(chunk.height, field.type))
            continue
        array = spec.encoder.write_arrow(chunk.get_column(name), dtype)
        if array is None:
            return None
        arrays.append(array if array.type == field.type else array.cast(field.type))
    return pa.Table.from_arrays(arrays, names=[name for name, _ in tm.source_columns])


def _check_n(n: object) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise InvalidArgument(f"n must be a positive integer, got {n!r}")
    return int(n)


def typed_chunks(
    con: duckdb.DuckDBPyConnection, tm: TrainedModel, n: int, seed: int, device: str,
    seeds: pl.DataFrame | None = None, *, rules: RuleSet | None = None, max_invalid: int | None = None,
    budget: InvalidBudget | None = None, blocks: Iterable[int] | None = None,
    check: Callable[[Checked], np.ndarray] | None = None,
) -> Iterator[pa.Table]:
    """Valid synthetic rows in blocks of ``CHUNK_ROWS``, as Arrow tables typed exactly like the source.

    Block ``k`` derives from ``(seed, k)`` alone, so any block can be generated by itself
    (the SQL functions do, and return exactly these rows). Records failing a rule are
    rejected and sampled again (``rules.fill_block``). Casting back to the source types and
    checking the rules happen in DuckDB on a private cursor, so the caller's connection and
    transaction are undisturbed. ``block_workers`` threads may make blocks side by side (a GPU's,
    or the CPU's from ``CPU_MIN_BLOCKS`` blocks), each on its own cursor; they come out in order
    all the same.

    Args:
        seeds: fixed values for some columns, one output row per seed row (then ``n`` is its height).
        rules: the rules to enforce (default: the model's rules, read through ``con``).
        max_invalid: rejected records allowed in all (default ``max(1000, n)``).
        budget: a budget shared with other calls (the SQL functions share one per query).
        blocks: generate only these blocks (default: all).
        check: a further test in Python: given the checked candidates, returns a bool per
            record, True where it is invalid (the gretel layer's validators); such records
            are rejected and resampled like rule failures, under the same budget.

    Raises:
        TooManyInvalid: the budget was spent before the rows were complete.
    """
    cur = con.cursor()
    try:
        rules = load_rules(cur, tm.name, tm.source_columns) if rules is None else rules
        total = seeds.height if seeds is not None else n
        if budget is None:
            limit = default_max_invalid(total) if max_invalid is None else max_invalid
            budget = InvalidBudget(tm.name, limit, rules.names + (["validator"] if check else []))

        schema = _arrow_types(cur, tm)
        arrow_checks = rules.arrow_checks(tm.source_columns)

        ready: dict[tuple[int, int], dict[str, np.ndarray]] = {}  # first rounds sampled together, by (rows, seed)

        def candidates(cur: duckdb.DuckDBPyConnection, rows: int, candidate_seed: int,
                       part: pl.DataFrame | None) -> Checked:
            first = ready.pop((rows, candidate_seed), None) if part is None else None
            chunk = pl.concat(list(sample_chunks(tm, rows, candidate_seed, device, part, first)), how="vertical")
            typed = _typed_arrow(tm, chunk, schema)
            if typed is not None:  # no query for the cast, and none for the rules Arrow evaluates
                checked = check_typed(cur, rules, arrow_checks, typed)
            else:
                view = f"duck_synth_chunk_{uuid.uuid4().hex}"
                with registered(cur, view, chunk.to_arrow()):
                    checked = check_records(cur, rules, _typed_select(tm, quote(view)), len(tm.source_columns))
            if check is None:
                return checked
            extra = np.asarray(check(checked), dtype=bool).reshape(-1, 1)
            return Checked(checked.table, np.hstack([checked.failed, extra]))

        def rows_of(k: int) -> int:
            return min(CHUNK_ROWS, total - k * CHUNK_ROWS)

        def block(k: int, cur: duckdb.DuckDBPyConnection) -> pa.Table:
            part = seeds.slice(k * CHUNK_ROWS, rows_of(k)) if seeds is not None else None
            return fill_block(rows_of(k), derive_seed(seed, k), part, functools.partial(candidates, cur), budget,
                              CHUNK_ROWS)

        order = range(-(-total // CHUNK_ROWS)) if blocks is None else list(blocks)
        workers = block_workers(device, len(order)) if check is None else 1  # validators are the caller's code

        def sample_first_rounds(ks: list[int]) -> None:  # the seeds ``block`` gives fill_block's first round
            calls = [(rows_of(k), first_round_seed(derive_seed(seed, k))) for k in ks]
            ready.update(zip(calls, first_chunks_together(tm, calls, device)))

        def one_after_another() -> Iterator[pa.Table]:
            ks, size = list(order), blocks_made_together(1)
            for at in range(0, len(ks), size):
                group = ks[at:at + size]
                if seeds is None and len(group) > 1:
                    sample_first_rounds(group)
                for k in group:
                    yield block(k, cur)

        if workers == 1:
            made = one_after_another()
        else:
            together = seeds is None and groups_sampled_together(device)
            made = _blocks_side_by_side(con, cur, order, block, workers, sample_first_rounds if together else None,
                                        torch_threads=device == "cpu")
        try:
            for count, table in enumerate(made, 1):
                if count % TRIM_EVERY_BLOCKS == 0:
                    release_freed_memory()
                yield table
        finally:
            made.close()
    finally:
        cur.close()


TRIM_EVERY_BLOCKS = 64
"""A long generation hands freed memory back to the system every this many blocks (about 1M rows)."""


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
    except (OSError, AttributeError):  # not glibc (macOS, musl): nothing to call
        return None


def release_freed_memory() -> None:
    """Return the C heap's free pages to the system (glibc's ``malloc_trim``; elsewhere nothing).

    Blocks allocate and free many large arrays; glibc keeps what they free for reuse, and with
    blocks made on two threads that kept memory grew with the rows written: 10M diamonds rows into
    a table peaked at 802 MiB of RSS, against 635 MiB trimming every 64 blocks (the rest of the
    growth is DuckDB's table data)."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


GPU_BLOCK_WORKERS = 2
"""Threads making blocks at once when sampling on a GPU. The GPU samples a group of blocks in
one pass; decoding, casting and checking them is CPU work, part of it outside Python's lock
(polars, numpy, Arrow). On the H100 machine, 2M diamonds rows as a frame: 2 threads 1.21M
rows/s, 4 threads 1.14M, 6 threads 0.96M (benchmarks/README.md, "GPU")."""


CPU_BLOCK_WORKERS = 2
"""Threads making blocks at once when sampling on the CPU, each running torch on its share of
torch's threads (one each on 2 cores) instead of every block on all of them: a block's many
small operations then need no hand-over between cores, and one block's decoding overlaps the
other's sampling. On this 2-core CPU, 200,000 rows to a frame: diamonds 1.18-1.21x, cps1988 1.18x;
through SQL 1.46x and 1.59x; 10M rows into a table 136,291-143,593 -> 235,493-292,083 rows/s
(the same rows; benchmarks/README.md, "Blocks side by side on the CPU")."""

CPU_MIN_BLOCKS = 3
"""Fewer blocks than this are made in turn on the CPU: of two blocks the second is usually short
(cps1988's 22,524 rows: 16,384 and 6,140), so its thread would idle while the first is made on
half the cores (0.95x measured). Three blocks measured 0.97-1.06x."""


def block_workers(device: str, n_blocks: int) -> int:
    """How many threads make blocks at once: on a GPU ``GPU_BLOCK_WORKERS``; on the CPU
    ``CPU_BLOCK_WORKERS`` from ``CPU_MIN_BLOCKS`` blocks when torch has a thread for each, else one."""
    if device == "cpu":
        if n_blocks < CPU_MIN_BLOCKS or torch.get_num_threads() < CPU_BLOCK_WORKERS:
            return 1
        return CPU_BLOCK_WORKERS
    return max(1, min(GPU_BLOCK_WORKERS, os.cpu_count() or 1, n_blocks))


def groups_sampled_together(device: str) -> bool:
    """Whether the consumer samples each group's first rounds in one pass (``_blocks_side_by_side``'s
    ``prepare``): on a GPU, where one pass of several blocks costs what one does; not on the CPU,
    where it would sample them all on one thread while the block threads wait."""
    return device != "cpu"


def blocks_made_together(workers: int) -> int:
    """Blocks handed out as one group, whose first rounds one pass of each network samples: two per
    thread, so each thread has its next block ready when it finishes one. Blocks made in turn go in
    pairs too: cps1988's 22,524 rows (blocks of 16,384 and 6,140) came out 1.05-1.08x faster on the
    CPU than block by block, with the same rows (benchmarks/README.md, "Session 12")."""
    return 2 * workers


def _blocks_side_by_side(con: duckdb.DuckDBPyConnection, cur: duckdb.DuckDBPyConnection, order: Iterable[int],
                         block: Callable[[int, duckdb.DuckDBPyConnection], pa.Table], workers: int,
                         prepare: Callable[[list[int]], None] | None = None,
                         torch_threads: bool = False) -> Iterator[pa.Table]:
    """``block(k, cursor)`` for each ``k`` of ``order`` on ``workers`` threads, each with a cursor of
    its own, yielded in order.

    Blocks are handed out in groups of ``blocks_made_together(workers)``, each group after ``prepare(group)`` ran
    on the consumer's thread (the GPU samples the group's first rounds in one pass there, while
    the workers decode the group before). At most two groups are out at a time, so memory stays
    bounded whatever the number of blocks. When the consumer stops (an error, a Ctrl-C, a closed
    generator) the blocks not started are dropped and the running ones are waited for before
    the cursors close.

    With ``torch_threads`` (the CPU) each thread runs torch on ``1 / workers`` of the calling
    thread's torch threads (``_share_torch_threads``); the process-wide count is put back after."""
    cursors: queue.SimpleQueue = queue.SimpleQueue()
    threads = torch.get_num_threads()
    share = max(1, threads // workers) if torch_threads else None
    extra = [con.cursor() for _ in range(workers - 1)]
    for c in [cur, *extra]:
        cursors.put(c)

    def task(k: int) -> pa.Table:
        if share is not None:
            _share_torch_threads(share)
        c = cursors.get()
        try:
            return block(k, c)
        finally:
            cursors.put(c)

    pool = concurrent.futures.ThreadPoolExecutor(workers, thread_name_prefix="duck_synth_block")
    pending: collections.deque[concurrent.futures.Future] = collections.deque()
    todo, size = iter(order), blocks_made_together(workers)

    def hand_out() -> None:
        group = list(itertools.islice(todo, size))
        if group and prepare is not None:
            prepare(group)
        pending.extend(pool.submit(task, k) for k in group)

    try:
        hand_out()
        hand_out()
        while pending:
            table = pending.popleft().result()
            if len(pending) < size:
                hand_out()
            yield table
    finally:
        for future in pending:
            future.cancel()
        pool.shutdown(wait=True)
        for c in extra:
            c.close()
        if share is not None:
            torch.set_num_threads(threads)  # the count new threads start with, which the block threads changed


_thread_torch = threading.local()


def _share_torch_threads(n: int) -> None:
    """Run this thread's torch operations on ``n`` threads. torch keeps the count per thread, but
    sets a new thread's from a process-wide value on its first parallel operation, so that first
    step is taken here before the count is set (else it would overwrite ours). Setting it also
    sets that process-wide value, which ``_blocks_side_by_side`` puts back when its blocks are
    made; until then a thread using torch for the first time starts with ``n``."""
    if getattr(_thread_torch, "threads", None) != n:
        torch.get_num_threads()
        torch.set_num_threads(n)
        _thread_torch.threads = n


def read_seeds(con: duckdb.DuckDBPyConnection, tm: TrainedModel, seeds: str | pl.DataFrame) -> pl.DataFrame:
    """Seed values (a table/view name or a frame) in the encoders' read form.

    Raises:
        InvalidArgument: a seed column is not a modelled column of the model, or its values
            cannot be cast to the column's type.
    """
    cur = con.cursor()
    try:
        if isinstance(seeds, str):
            source = resolve_relation(cur, seeds).sql
        else:
            cur.register("duck_synth_seeds", seeds.to_arrow())
            source = "duck_synth_seeds"
        names = [r[0] for r in cur.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()]
        unknown = [c for c in names if c not in tm.columns]
        if unknown or not names:
            raise InvalidArgument(
                f"seed columns {', '.join(map(repr, unknown))} are not columns of model {tm.name!r}; "
                f"its columns are {', '.join(map(repr, tm.columns))}" if unknown else "seeds have no columns"
            )
        types = dict(tm.source_columns)
        select = ", ".join(
            f"{tm.columns[c].encoder.read_sql(f'CAST({quote(c)} AS {types[c]})', types[c])} AS {quote(c)}"
            for c in names
        )
        try:
            return pl.from_arrow(cur.sql(f"SELECT {select} FROM {source}").to_arrow_table())
        except duckdb.ConversionException as exc:
            raise InvalidArgument(f"seed values do not fit the model's column types: {exc}") from exc
    finally:
        cur.close()


@interruptible
def generate(
    con: duckdb.DuckDBPyConnection,
    model: str,
    n: int | None = None,
    seed: int | None = None,
    into: str | None = None,
    replace: bool = False,
    device: str = "auto",
    seeds: str | pl.DataFrame | None = None,
    max_invalid: int | None = None,
) -> pl.DataFrame | str:
    """Generate synthetic records typed like the model's source table, valid under its rules.

    Args:
        con: DuckDB connection holding the model.
        model: model name.
        n: number of records (not needed with ``seeds``).
        seed: same model + n + seed => identical rows (on the same device); None = random.
        into: write a DuckDB table of this name (one transaction) and return its name;
            without it, return a Polars DataFrame.
        replace: replace an existing ``into`` table.
        device: 'auto', 'cpu' or 'cuda'.
        seeds: a table/view name or a frame whose columns are some of the model's columns:
            one record per seed row, keeping those values and generating the rest
            conditionally on them.
        max_invalid: how many generated records may fail the model's rules (duck_synth.rules)
            and be sampled again before giving up; default ``max(1000, n)``.

    Raises:
        TooManyInvalid: the ``max_invalid`` budget was spent; names the rules that failed
            most. Nothing is written.
    """
    seed = fresh_seed() if seed is None else int(seed)
    max_invalid = check_max_invalid(max_invalid)
    dev = resolve_device(device)
    state = catalog_state(con)
    tm = load_model(con, _check_name(model, "model"), dev, state=state)
    if seeds is not None:
        check_seeds(con, tm.name, [(c, t) for c, t in tm.source_columns if c in tm.columns], seeds)
    seed_frame = read_seeds(con, tm, seeds) if seeds is not None else None
    n = seed_frame.height if seed_frame is not None else _check_n(n)
    stored = ensure_captured(con, tm.name, state)
    rules = load_rules(con, tm.name, tm.source_columns, state, stored)
    start = time.perf_counter()

    def chunks() -> Iterator[pa.Table]:
        return typed_chunks(con, tm, n, seed, dev, seed_frame, rules=rules, max_invalid=max_invalid)

    if into is None:
        _check_fits_in_memory(tm, n)
        parts = list(chunks())
        out = pl.from_arrow(pa.concat_tables(parts)) if parts else pl.DataFrame()
        log.info("generated %d rows in %.2fs", n, time.perf_counter() - start)
        return out
    target = target_name(into)
    with duckdb_threads_beside_torch(con, dev), transaction(con):
        if table_exists(con, into):
            if not replace:
                raise TableExists(f"table {into!r} already exists; pass replace=True to overwrite it")
            con.execute(f"DROP TABLE {target}")
        # explicit DDL: Arrow has no HUGEINT/UUID/ENUM, so the insert casts to the exact source types
        columns = ", ".join(f"{quote(name)} {dtype}" for name, dtype in tm.source_columns)
        con.execute(f"CREATE TABLE {target} ({columns})")
        insert_stream(con, target, chunks())
    log.info("wrote %d rows into %s in %.2fs", n, into, time.perf_counter() - start)
    return into


def insert_stream(con: duckdb.DuckDBPyConnection, target: str, chunks: Iterator[pa.Table]) -> None:
    """Append every block of ``chunks`` to the table ``target`` (quoted) in one INSERT, which pulls
    the blocks from an Arrow stream while it writes (only the block being made is held here).

    One INSERT per block kept every appended row in memory until the transaction committed (10M
    diamonds rows: peak RSS 1.8 GiB, against 0.6 GiB streamed) and cost about 11 ms a statement.
    An exception raised while making a block (a spent ``max_invalid`` budget, a Ctrl-C that
    landed in Python) reaches the caller as itself, not as DuckDB's error about the stream.
    """
    first = next(chunks, None)
    if first is None:
        return
    failed: list[BaseException] = []

    def batches() -> Iterator[pa.RecordBatch]:
        try:
            yield from first.to_batches()
            for chunk in chunks:
                yield from (chunk if chunk.schema == first.schema else chunk.cast(first.schema)).to_batches()
        except GeneratorExit:
            raise
        except BaseException as exc:
            failed.append(exc)
            raise

    stream = pa.RecordBatchReader.from_batches(first.schema, batches())
    try:
        with registered(con, "duck_synth_typed_stream", stream):
            con.execute(f"INSERT INTO {target} SELECT * FROM duck_synth_typed_stream")
    except BaseException as exc:
        if failed and failed[0] is not exc:
            raise failed[0] from None
        raise
    finally:
        with contextlib.suppress(ValueError):  # a generator still running cannot be closed; it ends with DuckDB's scan
            chunks.close()


_THREADS_LOCK = threading.Lock()


@contextlib.contextmanager
def duckdb_threads_beside_torch(con: duckdb.DuckDBPyConnection, device: str) -> Iterator[None]:
    """While a CPU ``generate`` streams into a table, DuckDB runs on the cores torch's threads leave
    free (at least one): its writer threads otherwise compete with the sampler's, which made the
    streaming INSERT 2x slower on 2 cores. ``threads`` is a setting of the whole database, so the
    old value comes back afterwards, and writes that lower it take turns within a process."""
    want = max(1, (os.cpu_count() or 1) - torch.get_num_threads())
    if device != "cpu" or int(fetch_one(con, "SELECT current_setting('threads')")[0]) <= want:
        yield
        return
    with _THREADS_LOCK:  # read again: a write that held the lock has put its value back
        before = int(fetch_one(con, "SELECT current_setting('threads')")[0])
        con.execute(f"SET threads = {min(want, before)}")
        try:
            yield
        finally:
            failed = execute_through_interrupts(con, f"SET threads = {before}")
            if failed is not None:
                log.warning("could not set DuckDB's threads back to %d: %s", before, failed)


FRAME_BYTES_PER_VALUE = 16
"""Rough size of one generated value in a Polars frame (8 bytes, validity, string headers)."""


def _check_fits_in_memory(tm: TrainedModel, n: int) -> None:
    """Refuse a DataFrame that could not fit in half the machine's memory (``into=`` streams instead)."""
    need = n * len(tm.source_columns) * FRAME_BYTES_PER_VALUE
    try:
        have = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):  # no sysconf (Windows): no check
        return
    if need > have / 2:
        raise InvalidArgument(
            f"n={n:,} rows of model {tm.name!r} (about {need / 2**30:,.0f} GiB) would not fit in memory as a"
            f" DataFrame ({have / 2**30:,.0f} GiB here); write them into a table with into=, or stream them"
            " with SQL generate_synthetic(), which keep memory bounded"
        )


@interruptible
def models(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """The models stored in this database (duck_synth.models), as a Polars frame."""
    if not has_schema(con):
        return pl.DataFrame(schema={"model": pl.String, "source_table": pl.String, "status": pl.String})
    return pl.from_arrow(con.sql(
        "SELECT model, source_table, status, n_rows, batch_size, device, seed, trained_at, duck_synth_version"
        " FROM duck_synth.models ORDER BY model").to_arrow_table())


@interruptible
def drop_model(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """Delete a model and all its metadata, in one transaction."""
    if _model_status(con, _check_name(name, "model")) is None:
        raise ModelNotFound(f"model {name!r} does not exist")
    with transaction(con):
        _delete_model_rows(con, name)
    _refresh_sql(con)
