"""gretel-synthetics' ``batch`` API on duck_synth's engine: a drop-in for existing notebooks.

``DataFrameBatch``, ``Batch``, ``RecordFactory``, ``GenerationSummary``,
``GenerationProgress`` and ``GenerationResult`` keep gretel's names, signatures and
documented behaviour. Underneath, a ``DataFrameBatch`` is one duck_synth model stored in
``<checkpoint_dir>/model.duckdb`` (plus gretel's ``batch_N`` directories), so the same
model serves SQL (``to_duckdb``) and a model trained from SQL serves this API
(``from_duckdb``). Where we do better than gretel:

- values come back typed (the DataFrame's dtypes), not as strings;
- batch k is generated conditionally on the earlier batches' values, so correlations that
  cross a batch boundary survive (gretel's batches are independent);
- ``seed_fields`` may name any columns, not only the leading columns of batch 0, and a list
  of seeds works with any ``parallelism``;
- ``config["seed"]`` makes output reproducible;
- validators are never pickled: ``set_validator(fn, save=True)`` stores an importable
  reference (``module:qualname``) or SQL rule text, and warns when a callable (a lambda, a
  closure) cannot be saved.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import importlib
import io
import json
import logging
import os
import re
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import polars as pl
import pyarrow as pa

from . import api
from .artifacts import TrainedModel, load_model
from .catalog import ensure_schema, fetch_one, quote, registered, transaction
from .encoders.text import TextEncoder
from .errors import ArtifactError, DuckSynthError, InvalidArgument, ModelExists, TooManyInvalid, warn_caller
from .planning import read_batches
from .rules import (
    Checked, InvalidBudget, InvalidRule, Rule, RuleSet, add_rule, check_max_invalid, compile_predicate, load_rules,
)
from .sampling import derive_seed, fresh_seed
from .training import Progress, TrainConfig, resolve_device

log = logging.getLogger(__name__)

MAX_INVALID = 1000
BATCH_SIZE = 15
PATH_HOLDER = "___path_holder___"
READ, WRITE = "read", "write"
MODEL = "dataframe_batch"
"""Name of the model inside a checkpoint's database."""
DB_FILE = "model.duckdb"
HEADER_FILE = "headers.json"
ORIG_HEADERS = "original_headers.json"
DTYPES_FILE = "dtypes.json"
CONFIG_FILE = "model_params.json"
TRAIN_FILE = "train.csv"
VALIDATOR_FILE = "validator.json"
SOURCE_VIEW = "duck_synth_dataframe"
_IDENTIFIER = re.compile(r'"(?:[^"]|"")*"|[A-Za-z_][A-Za-z0-9_$]*')


class TooManyInvalidError(TooManyInvalid, RuntimeError):
    """Too many invalid lines or records (a RuntimeError too, as gretel raised)."""


# --- config ---------------------------------------------------------------------------------

_GRETEL_ONLY = frozenset({
    "training_data_path", "field_delimiter_token", "model_type", "max_line_len", "best_model_metric",
    "batch_size", "buffer_size", "seq_length", "embedding_dim", "rnn_units", "dropout_rate", "rnn_initializer",
    "vocab_size", "character_coverage", "pretrain_sentence_count", "dp_learning_rate", "dp_noise_multiplier",
    "dp_l2_norm_clip", "dp_microbatches", "gen_temp", "gen_chars", "predict_batch_size", "save_all_checkpoints",
    "save_best_model", "learning_rate", "optimizer", "validation_split", "reset_states", "early_stopping_min_delta",
    "max_training_time_seconds",
})
"""TensorFlowConfig knobs of gretel's LSTM that have no meaning here: accepted and ignored."""


@dataclass
class BatchConfig:
    """The config template (gretel's ``TensorFlowConfig`` keys that matter here, plus ours).

    Args:
        checkpoint_dir: where the model and the ``batch_N`` directories live.
        input_data_path: ignored (``PATH_HOLDER`` is fine); kept for gretel configs.
        field_delimiter: joins a batch's values into the line its validator receives.
        gen_lines: lines to generate when ``num_lines`` is not given (default: the df's rows).
        max_lines: train on the first ``max_lines`` rows only (0 = all).
        epochs: maximum epochs per batch; None picks a step budget from the table size.
        early_stopping: stop a batch when validation loss stops improving.
        early_stopping_patience: epochs without improvement before stopping.
        overwrite: replace an existing checkpoint in ``checkpoint_dir``.
        seed: makes training and generation reproducible (None: random generation).
        device: 'auto', 'cpu' or 'cuda'.
        epoch_callback: called after every epoch with an ``EpochState``.
        dp: differential privacy is not offered; True is refused rather than ignored.
    """

    checkpoint_dir: str | None = None
    input_data_path: str | None = None
    field_delimiter: str = ","
    gen_lines: int | None = None
    max_lines: int = 0
    epochs: int | None = None
    early_stopping: bool = True
    early_stopping_patience: int = 6
    overwrite: bool = False
    seed: int | None = None
    device: str = "auto"
    epoch_callback: Callable | None = None
    dp: bool = False
    ignored: dict = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        d = self.field_delimiter
        if not isinstance(d, str) or len(d) != 1 or d in "\r\n\"":
            raise InvalidArgument(f"config field_delimiter must be one character (not a quote or newline), got {d!r}")
        for key in ("gen_lines", "epochs"):
            value = getattr(self, key)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise InvalidArgument(f"config {key} must be a positive integer or None, got {value!r}")
        if isinstance(self.max_lines, bool) or not isinstance(self.max_lines, int) or self.max_lines < 0:
            raise InvalidArgument(f"config max_lines must be a non-negative integer, got {self.max_lines!r}")
        if self.seed is not None and (isinstance(self.seed, bool) or not isinstance(self.seed, int)):
            raise InvalidArgument(f"config seed must be an integer or None, got {self.seed!r}")
        if self.dp:
            raise InvalidArgument("config dp=True: differential privacy is not available in duck_synth; remove it")
        if self.epoch_callback is not None and not callable(self.epoch_callback):
            raise InvalidArgument("config epoch_callback must be callable")
        self.device = resolve_device(self.device) if self.device != "auto" else "auto"
        TrainConfig(early_stopping=self.early_stopping, patience=self.early_stopping_patience)  # validates

    @classmethod
    def from_any(cls, config: Any) -> BatchConfig:
        """A BatchConfig from a dict, a BatchConfig, or a gretel-style config object.

        Raises:
            InvalidArgument: a key no config knows, naming it.
        """
        if config is None:
            return cls()
        if isinstance(config, BatchConfig):
            return dataclasses.replace(config)
        if hasattr(config, "as_dict"):
            config = config.as_dict()
        elif dataclasses.is_dataclass(config):
            config = dataclasses.asdict(config)
        if not isinstance(config, dict):
            raise InvalidArgument(f"config must be a dict or a config object, got {type(config).__name__}")
        known = {f.name for f in dataclasses.fields(cls)} - {"ignored"}
        unknown = sorted(k for k in config if k not in known and k not in _GRETEL_ONLY)
        if unknown:
            raise InvalidArgument(
                f"unknown config key {unknown[0]!r}" + (f" (and {', '.join(map(repr, unknown[1:]))})" if unknown[1:] else "")
                + f"; duck_synth.batch understands {', '.join(sorted(known))}"
            )
        ignored = {k: v for k, v in config.items() if k in _GRETEL_ONLY}
        if ignored:
            log.info("config keys of gretel's LSTM that duck_synth does not use: %s", ", ".join(sorted(ignored)))
        return cls(**{k: v for k, v in config.items() if k in known}, ignored=ignored)

    def as_dict(self) -> dict:
        """The config as JSON-ready key/values (the callback is not saved)."""
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name not in ("ignored", "epoch_callback")}
        return {**self.ignored, **out}


@dataclass
class EpochState:
    """What ``config["epoch_callback"]`` receives after each epoch (epochs count from 0, as gretel's)."""

    epoch: int
    loss: float
    val_loss: float | None
    batch: int
    accuracy: float | None = None
    val_accuracy: float | None = None


# --- results --------------------------------------------------------------------------------

@dataclass
class GenerationSummary:
    """Valid and invalid lines generated for one batch, and whether all requested lines came."""

    valid_lines: int = 0
    invalid_lines: int = 0
    is_valid: bool = False


@dataclass
class GenerationProgress:
    """Progress of ``RecordFactory.generate_all``, passed to its callback."""

    current_valid_count: int = 0
    current_invalid_count: int = 0
    new_valid_count: int = 0
    new_invalid_count: int = 0
    completion_percent: float = 0.0
    timestamp: float = field(default_factory=time.time)


@dataclass
class GenerationResult:
    """Records from ``generate_all`` (list of dicts or a DataFrame) and the exception that stopped it, if any."""

    records: Any
    exception: Exception | None = None


@dataclass
class GenText:
    """One generated line, as gretel's ``generate_text`` yielded it."""

    valid: bool | None = None
    text: str | None = None
    explain: str | None = None
    delimiter: str | None = None

    def values_as_list(self) -> list[str]:
        if not self.text:
            return []
        return next(csv.reader([self.text], delimiter=self.delimiter or ","), [])

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


# --- frames ---------------------------------------------------------------------------------

def _as_polars(df: Any) -> tuple[pl.DataFrame, str, dict[str, str]]:
    """(frame, 'pandas'|'polars', pandas dtypes by column) for a pandas or Polars DataFrame."""
    if isinstance(df, pl.DataFrame):
        frame, flavor, dtypes = df, "polars", {}
    elif type(df).__name__ == "DataFrame" and hasattr(df, "dtypes") and hasattr(df, "columns"):
        names = list(df.columns)
        bad = [c for c in names if not isinstance(c, str)]
        if bad or len(set(names)) != len(names):
            raise InvalidArgument(f"df column names must be unique strings; got {names!r}")
        for name in names:
            try:
                pa.array(df[name], from_pandas=True)
            except (pa.ArrowException, TypeError, ValueError) as exc:
                raise InvalidArgument(f"df column {name!r} mixes value types duck_synth cannot store: {exc}") from exc
        frame, flavor = pl.from_pandas(df), "pandas"
        dtypes = {c: str(t) for c, t in df.dtypes.items()}
    else:
        raise InvalidArgument(f"df must be a pandas or Polars DataFrame, got {type(df).__name__}")
    if frame.height == 0 or frame.width == 0:
        raise InvalidArgument(f"df has {frame.height} rows and {frame.width} columns; there is nothing to learn from")
    return frame, flavor, dtypes


def _output(frame: pl.DataFrame, flavor: str, dtypes: dict[str, str]) -> Any:
    """A frame in the caller's flavor; pandas columns get the source df's dtypes back."""
    if flavor == "polars":
        return frame
    out = frame.to_pandas()
    for name in out.columns:
        dtype = dtypes.get(name)
        if dtype and str(out[name].dtype) != dtype:
            with contextlib.suppress(TypeError, ValueError):
                out[name] = out[name].astype(dtype)
    return out


def _lines(table: pa.Table, delimiter: str) -> list[str]:
    """Each row as one delimited line (CSV quoting where a value holds the delimiter)."""
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=delimiter, lineterminator="\n")
    out = []
    for row in pl.from_arrow(table).select(pl.all().cast(pl.String)).iter_rows():
        buf.seek(0)
        buf.truncate()
        writer.writerow(["" if v is None else v for v in row])
        out.append(buf.getvalue()[:-1])
    return out


_SCRATCH = threading.local()


def _scratch() -> duckdb.DuckDBPyConnection:
    """A private in-memory DuckDB (one per thread) for parsing lines and checking SQL validators."""
    con = getattr(_SCRATCH, "con", None)
    if con is None:
        con = _SCRATCH.con = duckdb.connect()
    return con


def _parse_lines(lines: list[str], types: list[tuple[str, str]], delimiter: str, what: str) -> pl.DataFrame:
    """Delimited lines back to typed rows (empty field = NULL), cast by DuckDB."""
    rows = [next(csv.reader([line], delimiter=delimiter), []) for line in lines]
    for line, row in zip(lines, rows):
        if len(row) != len(types):
            raise InvalidArgument(f"{what}: line {line!r} has {len(row)} values, expected {len(types)}")
    raw = pl.DataFrame({name: [r[i] for r in rows] for i, (name, _) in enumerate(types)},
                       schema={name: pl.String for name, _ in types})
    con = _scratch()
    con.register("duck_synth_lines", raw.to_arrow())
    try:
        select = ", ".join(f"CAST(NULLIF({quote(n)}, '') AS {t}) AS {quote(n)}" for n, t in types)
        return pl.from_arrow(con.sql(f"SELECT {select} FROM duck_synth_lines").to_arrow_table())
    except duckdb.Error as exc:
        raise InvalidArgument(f"{what}: values do not fit the column types: {str(exc).splitlines()[0]}") from exc
    finally:
        con.unregister("duck_synth_lines")


def _seed_frame(seed_fields: Any, columns: list[str]) -> pl.DataFrame | None:
    """seed_fields (a dict, or a list of dicts) as a frame: one row for a dict, one per dict for a list."""
    if seed_fields is None:
        return None
    single = isinstance(seed_fields, dict)
    seeds = [seed_fields] if single else seed_fields
    if not isinstance(seeds, list) or not seeds or not all(isinstance(s, dict) for s in seeds):
        raise InvalidArgument(f"seed_fields must be a dict or a non-empty list of dicts, got {seed_fields!r:.80}")
    keys = list(seeds[0])
    for i, seed in enumerate(seeds):
        if set(seed) != set(keys):
            raise InvalidArgument(f"seed_fields[{i}] has fields {sorted(seed)}, but seed_fields[0] has {sorted(keys)};"
                                  " every seed must name the same fields")
    unknown = [k for k in keys if k not in columns]
    if unknown:
        raise InvalidArgument(f"seed_fields name {', '.join(map(repr, unknown))}, not columns of this model;"
                              f" its columns are {', '.join(map(repr, columns))}")
    if not keys:
        return None
    try:
        return pl.DataFrame({k: [s[k] for s in seeds] for k in keys}, strict=False)
    except (TypeError, ValueError, pl.exceptions.PolarsError) as exc:
        raise InvalidArgument(f"seed_fields values cannot form a table: {exc}") from exc


def _workers(parallelism: Any) -> int:
    """gretel's parallelism: 1 = none, <= 0 = CPUs + x, a float = that fraction of the CPUs."""
    cpus = os.cpu_count() or 1
    if isinstance(parallelism, bool) or not isinstance(parallelism, (int, float)):
        raise InvalidArgument(f"parallelism must be a number, got {parallelism!r}")
    if isinstance(parallelism, float):
        if not 0 < parallelism <= 1:
            raise InvalidArgument(f"parallelism as a fraction of the CPUs must be in (0, 1], got {parallelism!r}")
        return max(1, int(cpus * parallelism))
    return max(1, cpus + parallelism if parallelism <= 0 else parallelism)


@contextlib.contextmanager
def _threads(parallelism: Any) -> Iterator[None]:
    """Generation is vectorised, so gretel's worker processes become CPU threads for torch."""
    import torch

    workers, before = _workers(parallelism), torch.get_num_threads()
    torch.set_num_threads(workers)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _importable(fn: Callable) -> str | None:
    """``module:qualname`` when importing that gives back ``fn`` itself, else None."""
    module, qualname = getattr(fn, "__module__", None), getattr(fn, "__qualname__", None)
    if not module or not qualname or "<" in qualname or module == "__main__":
        return None
    try:
        return f"{module}:{qualname}" if _resolve(f"{module}:{qualname}") is fn else None
    except (ImportError, AttributeError):
        return None


def _resolve(ref: str) -> Callable:
    module, _, qualname = ref.partition(":")
    obj: Any = importlib.import_module(module)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return obj


# --- where the model lives ------------------------------------------------------------------

class _Store:
    """The DuckDB database holding the model: a checkpoint's file, or a caller's connection."""

    def __init__(self, path: Path | None = None, con: duckdb.DuckDBPyConnection | None = None,
                 model: str = MODEL) -> None:
        self.path, self.con, self.model = path, con, model
        self.source: pl.DataFrame | None = None  # the training rows (write mode only)
        self._loaded: tuple[tuple, TrainedModel] | None = None

    def load(self, con: duckdb.DuckDBPyConnection, device: str) -> TrainedModel:
        """The model's trained batches, loaded once and again only when its weights change.

        Generating batch after batch would otherwise read and checksum every weight blob
        each time; the key (status and artifact checksums) is one small query.
        """
        key = (device,) + fetch_one(
            con, "SELECT (SELECT status FROM duck_synth.models WHERE model = $m),"
                 " (SELECT list(sha256 ORDER BY batch_index) FROM duck_synth.artifacts WHERE model = $m)",
            {"m": self.model})
        if self._loaded is None or self._loaded[0] != key:
            self._loaded = (key, load_model(con, self.model, device, partial=True))
        return self._loaded[1]

    @contextlib.contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection for one operation (a checkpoint's file is not held open in between)."""
        if self.con is not None:
            cur = self.con.cursor()
        else:
            try:
                cur = duckdb.connect(str(self.path))
            except duckdb.Error as exc:
                raise DuckSynthError(f"cannot open checkpoint database {str(self.path)!r}: {exc}") from exc
        try:
            if self.source is not None:
                cur.register(SOURCE_VIEW, self.source.to_arrow())
            yield cur
        finally:
            cur.close()


class Batch:
    """One batch of columns: its directory, headers, config, validator and generated data.

    Created by ``DataFrameBatch``; not meant to be built directly.
    """

    def __init__(self, checkpoint_dir: str | None, input_data_path: str | None, headers: list[str],
                 config: BatchConfig, gen_data_count: int = 0) -> None:
        self.checkpoint_dir = checkpoint_dir
        self.input_data_path = input_data_path
        self.headers = list(headers)
        self.config = config
        self.gen_data_count = gen_data_count
        self.training_df = None
        self.validator: Callable | str | None = None
        self.gen_data_invalid: list[GenText] = []
        self._frames: list[pl.DataFrame] = []
        self._types: list[tuple[str, str]] = []  # (column, DuckDB type), set by DataFrameBatch
        self._output: Callable[[pl.DataFrame], Any] = lambda f: f.to_pandas()
        self._rules: Callable[[str], None] | None = None  # stores SQL validators as model rules
        self.reset_gen_data()

    # data ------------------------------------------------------------------------------------
    def reset_gen_data(self) -> None:
        """Forget generated lines, invalid lines and counts."""
        self._frames, self.gen_data_invalid, self.gen_data_count = [], [], 0

    def add_valid_data(self, data: GenText) -> None:
        """Append one generated line (a ``GenText``) to this batch's data, typed by the batch's columns."""
        text = data.text if isinstance(data, GenText) else data
        if not isinstance(text, str):
            raise InvalidArgument(f"add_valid_data takes a GenText (or a line of text), got {data!r:.80}")
        self._add(_parse_lines([text], self._types, self.config.field_delimiter, f"batch {self._name}"))

    def _add(self, frame: pl.DataFrame) -> None:
        self._frames.append(frame)
        self.gen_data_count += frame.height

    @property
    def _name(self) -> str:
        return Path(self.checkpoint_dir).name if self.checkpoint_dir else "batch"

    def _frame(self) -> pl.DataFrame:
        if not self._frames:
            return pl.DataFrame(schema={name: pl.String for name in self.headers})
        return pl.concat(self._frames, how="vertical_relaxed")

    @property
    def synthetic_df(self) -> Any:
        """The generated lines as a DataFrame, typed like the source (empty when none)."""
        return self._output(self._frame())

    # validators ------------------------------------------------------------------------------
    def _basic_validator(self, raw_line: str) -> bool:
        return len(next(csv.reader([raw_line], delimiter=self.config.field_delimiter), [])) == len(self.headers)

    def get_validator(self) -> Callable[[str], Any]:
        """The custom validator if one is set, else the built-in one: the line has one value per header."""
        if self.validator is None:
            return self._basic_validator
        if isinstance(self.validator, str):
            return self._sql_validator(self.validator)
        return self.validator

    def _sql_validator(self, sql: str) -> Callable[[str], bool]:
        def check(line: str) -> bool:
            row = _parse_lines([line], self._types, self.config.field_delimiter, f"batch {self._name}")
            con = _scratch()
            con.register("duck_synth_line", row.to_arrow())
            try:
                return con.sql(f"SELECT ({sql}) IS NOT FALSE FROM duck_synth_line").fetchall()[0][0]
            finally:
                con.unregister("duck_synth_line")
        return check

    def set_validator(self, fn: Callable | str, save: bool = True) -> None:
        """Validate this batch's lines with ``fn`` (a callable on the line text, or SQL over its columns).

        With ``save``, the validator is stored in the batch directory for read mode: a
        module-level function as ``module:qualname``, SQL text as is (and as a rule of the
        model, so SQL generation honours it too). Nothing is pickled; a callable that cannot
        be imported back (a lambda, a closure, a function in ``__main__``) is used in this
        session only, with a warning.
        """
        if isinstance(fn, str):
            self._check_sql(fn)
        elif not callable(fn):
            raise InvalidArgument(f"validator must be callable or SQL text, got {fn!r:.80}")
        self.validator = fn
        if not save:
            return
        if isinstance(fn, str):
            self._save_validator({"sql": fn})
            if self._rules:
                self._rules(fn)
            return
        ref = _importable(fn)
        if ref is None or self.checkpoint_dir is None:
            why = ("only module-level functions (saved as module:qualname) or SQL text can be saved, never pickles"
                   if ref is None else "there is no checkpoint_dir")
            msg = f"{self._name}: validator {getattr(fn, '__name__', type(fn).__name__)!r} cannot be saved ({why});" \
                  " it is used in this session only"
            log.warning(msg)
            warn_caller(msg)
            return
        self._save_validator({"python": ref})

    def _check_sql(self, sql: str) -> None:
        compile_predicate(_scratch(), sql, self._types, f"validator of {self._name}")

    def _save_validator(self, payload: dict) -> None:
        if self.checkpoint_dir is not None:
            (Path(self.checkpoint_dir) / VALIDATOR_FILE).write_text(json.dumps(payload))

    def load_validator_from_file(self, trust: bool = False) -> None:
        """Load a saved validator (``module:qualname`` or SQL text) if this batch has one.

        A Python reference is imported only with ``trust``: the name comes from a file, and
        importing and calling it runs whatever code it names. Untrusted, it is left out with a
        warning and the default validator is used.
        """
        path = Path(self.checkpoint_dir) / VALIDATOR_FILE if self.checkpoint_dir else None
        if path is None or not path.exists():
            return
        try:
            saved = json.loads(path.read_text())
            if not isinstance(saved, dict) or not isinstance(saved.get("sql", saved.get("python")), str):
                raise ValueError("expected {\"sql\": text} or {\"python\": \"module:qualname\"}")
        except ValueError as exc:
            raise ArtifactError(f"{self._name}: {path} is not a saved validator: {exc}") from exc
        if "sql" in saved:
            if self._types:  # a predicate over this batch's columns, never a statement
                self._check_sql(saved["sql"])
            self.validator = saved["sql"]
            return
        ref = saved["python"]
        why = None
        if not trust:
            why = ("not imported: importing a name read from the checkpoint runs the code it names;"
                   " pass trust_validators=True to DataFrameBatch if you saved it")
        else:
            try:
                fn = _resolve(ref)
                if not callable(fn):
                    raise TypeError(f"{ref} is not callable")
                self.validator = fn
            except (ImportError, AttributeError, TypeError, ValueError) as exc:
                why = f"cannot be imported ({exc})"
        if why:
            msg = f"{self._name}: saved validator {ref!r} {why}; using the default"
            log.warning(msg)
            warn_caller(msg)

    def _line_check(self, table: pa.Table, valid: np.ndarray) -> tuple[np.ndarray, list[GenText]]:
        """Run the custom validator on this batch's line of each still-valid record."""
        bad = np.zeros(table.num_rows, dtype=bool)
        invalid: list[GenText] = []
        if self.validator is None or not valid.any():
            return bad, invalid
        fn, delim = self.get_validator(), self.config.field_delimiter
        rows = np.flatnonzero(valid)
        for k, line in zip(rows, _lines(table.select(self.headers).take(pa.array(rows)), delim)):
            explain = None
            try:
                ok = fn(line) is not False
            except Exception as exc:  # noqa: BLE001 - gretel: a validator that raises marks the line invalid
                ok, explain = False, f"{type(exc).__name__}: {exc}"
            if not ok:
                bad[k] = True
                invalid.append(GenText(False, line, explain, delim))
        return bad, invalid


# --- the batch handler ----------------------------------------------------------------------

class DataFrameBatch:
    """Train and generate a DataFrame as batches of columns, gretel's way, on duck_synth's engine.

    In write mode the df is profiled and its columns split into batches at once; the model
    and the ``batch_N`` directories are created under ``config["checkpoint_dir"]``. Read
    mode reopens such a directory and generates without retraining.

    Example::

        my_batch = DataFrameBatch(df=my_df, config=my_config)
        my_batch.create_training_data()
        my_batch.train_all_batches()
        my_batch.generate_all_batch_lines()
        synthetic_df = my_batch.batches_to_df()

    Args:
        df: the source DataFrame (pandas or Polars; never modified).
        batch_size: columns per batch when ``batch_headers`` is not given, split as evenly
            as possible (gretel's ``ceil(columns / batch_size)`` batches).
        batch_headers: explicit batches, one list of column names per batch.
        config: a dict, a ``BatchConfig`` or a gretel config object (``as_dict()``); see
            ``BatchConfig`` for the keys. Unknown keys are refused, naming them.
        tokenizer: a ``TokenizerTrainer`` for text columns (default: byte-level BPE).
        mode: 'write' (train) or 'read' (reopen a checkpoint_dir and generate).
        checkpoint_dir: the directory for read mode (or write mode, when the config has none).
        trust_validators: re-import the Python validators saved in the checkpoint
            (``module:qualname``). Off by default: importing a name read from a directory runs
            code that directory chose, so only trust checkpoints you wrote. SQL validators
            (predicates, never statements) are always restored.
    """

    def __init__(self, *, df: Any = None, batch_size: int = BATCH_SIZE, batch_headers: list[list[str]] | None = None,
                 config: Any = None, tokenizer: Any = None, mode: str = WRITE, checkpoint_dir: str | None = None,
                 trust_validators: bool = False, _store: _Store | None = None) -> None:
        if mode not in (READ, WRITE):
            raise InvalidArgument(f"mode must be 'read' or 'write', got {mode!r}")
        if tokenizer is not None and not isinstance(tokenizer, TokenizerTrainer):
            raise InvalidArgument(f"tokenizer must be a duck_synth.batch TokenizerTrainer, got {type(tokenizer).__name__}")
        self.mode, self.tokenizer = mode, tokenizer
        self.batch_size = batch_size
        self._trust_validators = bool(trust_validators)
        self._flavor, self._dtypes = "pandas", {}
        if _store is not None:  # from_duckdb
            self.config = BatchConfig.from_any(config)
            self._store, self._dir = _store, None
            self._open_existing()
            return
        self._given_keys = set(config) if isinstance(config, dict) else set()
        cfg = BatchConfig.from_any(config)
        directory = cfg.checkpoint_dir or checkpoint_dir
        if not directory:
            raise InvalidArgument("checkpoint_dir is required: put it in the config or pass checkpoint_dir=")
        self.config = dataclasses.replace(cfg, checkpoint_dir=str(directory))
        self._dir = Path(directory)
        self._store = _Store(self._dir / DB_FILE)
        if mode == READ:
            self._open_checkpoint()
        else:
            self._create(df, batch_size, batch_headers)

    # write mode ------------------------------------------------------------------------------
    def _create(self, df: Any, batch_size: int, batch_headers: list[list[str]] | None) -> None:
        if df is None:
            raise InvalidArgument("df is required in write mode")
        frame, self._flavor, self._dtypes = _as_polars(df)
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise InvalidArgument(f"batch_size must be an integer >= 1, got {batch_size!r}")
        if self.config.max_lines:
            frame = frame.head(self.config.max_lines)
        self._prepare_directory()
        self._store.source = frame
        if self.config.gen_lines is None:
            self.config.gen_lines = frame.height
        self.original_headers = list(frame.columns)
        self.master_header_list = list(frame.columns)
        try:
            with self._store.connect() as con:
                api.plan(con, SOURCE_VIEW, model=MODEL, batch_size=batch_size, holdout=0,  # gretel trains on every row
                         batch_headers=[list(b) for b in batch_headers] if batch_headers is not None else None)
                headers, types = read_batches(con, MODEL), self._types(con)
        except BaseException:
            self._remove_checkpoint()
            raise
        self.batch_headers = headers
        self._write_json(ORIG_HEADERS, self.original_headers)
        self._write_json(DTYPES_FILE, {"flavor": self._flavor, "dtypes": self._dtypes})
        self.batches = self._build_batches(headers, types)
        for batch in self.batches.values():
            Path(batch.checkpoint_dir, HEADER_FILE).write_text(json.dumps(batch.headers))
            Path(batch.checkpoint_dir, CONFIG_FILE).write_text(json.dumps(batch.config.as_dict(), default=str))

    def _prepare_directory(self) -> None:
        path = self._dir
        if path.exists() and not path.is_dir():
            raise InvalidArgument(f"checkpoint_dir {str(path)!r} is a file, not a directory")
        if path.is_dir() and any(path.iterdir()):
            if not self.config.overwrite:
                raise InvalidArgument(f"checkpoint_dir {str(path)!r} already exists and is not empty; set overwrite=True"
                                      " in the config to replace a checkpoint there, or choose another directory")
            if not (path / DB_FILE).exists():
                raise InvalidArgument(f"checkpoint_dir {str(path)!r} is not empty and holds no duck_synth checkpoint;"
                                      " refusing to delete it even with overwrite=True")
            self._remove_checkpoint()
        path.mkdir(parents=True, exist_ok=True)

    def _remove_checkpoint(self) -> None:
        """Delete what a checkpoint consists of (and nothing else) from the directory."""
        for item in self._dir.glob("batch_*"):
            if item.is_dir():
                shutil.rmtree(item)
        for name in (DB_FILE, DB_FILE + ".wal", ORIG_HEADERS, DTYPES_FILE):
            with contextlib.suppress(FileNotFoundError):
                (self._dir / name).unlink()

    def _write_json(self, name: str, value: Any) -> None:
        (self._dir / name).write_text(json.dumps(value))

    def _types(self, con: duckdb.DuckDBPyConnection) -> dict[str, str]:
        return dict(con.execute("SELECT column_name, duckdb_type FROM duck_synth.columns WHERE model = ?",
                                [self._store.model]).fetchall())

    def _build_batches(self, headers: list[list[str]], types: dict[str, str]) -> dict[int, Batch]:
        out = {}
        for i, cols in enumerate(headers):
            directory = None
            if self._dir is not None:
                directory = self._dir / f"batch_{i}"
                directory.mkdir(exist_ok=True)
            cfg = dataclasses.replace(self.config, checkpoint_dir=str(directory) if directory else None,
                                      input_data_path=str(directory / TRAIN_FILE) if directory else None)
            batch = Batch(cfg.checkpoint_dir, cfg.input_data_path, cols, cfg)
            batch._types = [(c, types[c]) for c in cols]
            batch._output = lambda f: _output(f, self._flavor, self._dtypes)
            batch._rules = lambda sql, i=i: self._save_rule(i, sql)
            batch.load_validator_from_file(trust=self._trust_validators)
            out[i] = batch
        return out

    # read mode -------------------------------------------------------------------------------
    def _open_checkpoint(self) -> None:
        path = self._dir
        if not path.is_dir():
            raise InvalidArgument(f"checkpoint_dir {str(path)!r} does not exist")
        if not (path / DB_FILE).is_file():
            hint = " (it looks like a gretel-synthetics checkpoint: its TensorFlow models cannot be loaded; retrain" \
                   " with duck_synth.batch)" if any(path.glob("batch_*")) else ""
            raise InvalidArgument(f"{str(path)!r} is not a duck_synth checkpoint: it has no {DB_FILE}{hint}")
        stored = path / "batch_0" / CONFIG_FILE
        if stored.is_file():  # the saved config, with what the caller passed on top
            saved = json.loads(stored.read_text())
            mine = self.config.as_dict()
            saved.update({k: mine[k] for k in self._given_keys if k in mine})
            callback = self.config.epoch_callback
            self.config = dataclasses.replace(BatchConfig.from_any(saved), checkpoint_dir=str(path),
                                              epoch_callback=callback)
        with contextlib.suppress(FileNotFoundError):
            meta = json.loads((path / DTYPES_FILE).read_text())
            self._flavor, self._dtypes = meta["flavor"], meta["dtypes"]
        self._open_existing()
        for i, batch in self.batches.items():
            on_disk = path / f"batch_{i}" / HEADER_FILE
            if not on_disk.is_file() or json.loads(on_disk.read_text()) != batch.headers:
                raise InvalidArgument(f"checkpoint {str(path)!r}: batch_{i}/{HEADER_FILE} does not match"
                                      f" duck_synth.batches in {DB_FILE} ({batch.headers})")
        with contextlib.suppress(FileNotFoundError):
            self.original_headers = json.loads((path / ORIG_HEADERS).read_text())

    def _open_existing(self) -> None:
        """Batches, headers and types from a trained model in the store."""
        with self._store.connect() as con:
            try:
                load_model(con, self._store.model)
            except DuckSynthError as exc:
                raise InvalidArgument(f"cannot open for generation: {exc}") from exc
            headers, types = read_batches(con, self._store.model), self._types(con)
            order = [r[0] for r in con.execute("SELECT column_name FROM duck_synth.columns WHERE model = ?"
                                               " AND encoder <> 'unsupported' ORDER BY ordinal",
                                               [self._store.model]).fetchall()]
        if self.config.gen_lines is None:
            self.config.gen_lines = 1000
        self.batch_headers = headers
        self.original_headers = order
        self.master_header_list = [c for b in headers for c in b]
        self.batches = self._build_batches(headers, types)

    @classmethod
    def from_duckdb(cls, con: duckdb.DuckDBPyConnection, model: str, config: Any = None) -> DataFrameBatch:
        """A read-mode DataFrameBatch over a model trained in a DuckDB database (SQL, CLI or ``to_duckdb``).

        Generation runs on ``con``; output frames are pandas, typed by the model's DuckDB types.
        """
        return cls(mode=READ, config=config, _store=_Store(con=con, model=api._check_name(model, "model")))

    def to_duckdb(self, con: duckdb.DuckDBPyConnection, model_name: str, replace: bool = False) -> str:
        """Copy this trained model into ``con``'s database as ``model_name``, so SQL can use it.

        Afterwards ``generate_synthetic('<model_name>', n)`` and the CLI serve the same model.
        One transaction: on error the target database is unchanged.

        Raises:
            ModelExists: ``model_name`` exists there and ``replace`` is False.
        """
        name = api._check_name(model_name, "model_name")
        tables = ("models", "columns", "batches", "artifacts", "rules")
        with self._store.connect() as src:
            load_model(src, self._store.model)  # trained and intact
            rows = {t: src.sql(f"SELECT * REPLACE (? AS model) FROM duck_synth.{t} WHERE model = ?",
                               params=[name, self._store.model]).to_arrow_table() for t in tables}
        with transaction(con):
            ensure_schema(con)
            if api._model_status(con, name) is not None:
                if not replace:
                    raise ModelExists(f"model {name!r} already exists in the target database; pass replace=True")
                api._delete_model_rows(con, name)
            for table, arrow in rows.items():
                with registered(con, "duck_synth_copy", arrow):
                    con.execute(f"INSERT INTO duck_synth.{table} BY NAME SELECT * FROM duck_synth_copy")
        from .sql_functions import register

        register(con)  # the model's SQL macros (synth_<model>) on this connection
        return name

    # training --------------------------------------------------------------------------------
    def _writable(self, what: str) -> None:
        if self.mode == READ:
            raise InvalidArgument(f"{what} cannot be used in read mode")

    def _batch(self, batch_idx: Any) -> Batch:
        if isinstance(batch_idx, bool) or batch_idx not in self.batches:
            raise InvalidArgument(f"batch_idx {batch_idx!r} is invalid; batches are 0..{len(self.batches) - 1}")
        return self.batches[batch_idx]

    def create_training_data(self) -> None:
        """Give each batch its columns as ``training_df`` and write them to ``batch_N/train.csv``.

        Training reads the rows from DuckDB, so this step is optional here (gretel required it).
        """
        self._writable("create_training_data")
        source = self._store.source
        for batch in self.batches.values():
            part = source.select(batch.headers)
            batch.training_df = _output(part, self._flavor, self._dtypes)
            part.write_csv(batch.input_data_path, include_header=False, separator=self.config.field_delimiter)

    def _train(self, indices: list[int]) -> None:
        self._writable("training")
        cfg = self.config
        tc = TrainConfig(epochs=cfg.epochs, early_stopping=cfg.early_stopping, patience=cfg.early_stopping_patience,
                         seed=cfg.seed or 0, device=resolve_device(cfg.device))
        callback = cfg.epoch_callback

        def progress(p: Progress) -> None:
            if callback is not None:
                callback(EpochState(p.epoch - 1, p.loss, p.val_loss, p.batch))

        text = self.tokenizer.encoder() if self.tokenizer is not None else None
        with self._store.connect() as con:
            api.train_batches(con, self._store.model, indices, tc, SOURCE_VIEW, progress, text)

    def train_batch(self, batch_idx: int) -> None:
        """Train the model of one batch (conditioned on the real values of earlier batches' columns)."""
        self._batch(batch_idx)
        self._train([batch_idx])

    def train_all_batches(self) -> None:
        """Train every batch (one transaction)."""
        log.info("training %d batches of sizes %s", len(self.batches), [len(b.headers) for b in self.batches.values()])
        self._train(list(self.batches))

    # validators ------------------------------------------------------------------------------
    def set_batch_validator(self, batch_idx: int, validator: Callable | str) -> None:
        """Validate batch ``batch_idx``'s generated lines with ``validator`` (saved; see ``Batch.set_validator``)."""
        if not callable(validator) and not isinstance(validator, str):
            raise InvalidArgument(f"validator must be callable or SQL text, got {validator!r:.80}")
        self._batch(batch_idx).set_validator(validator)

    def _save_rule(self, index: int, sql: str) -> None:
        name = f"batch_{index}_validator"
        with self._store.connect() as con, transaction(con):
            con.execute("DELETE FROM duck_synth.rules WHERE model = ? AND rule = ?", [self._store.model, name])
            add_rule(con, self._store.model, name, sql)

    # generation ------------------------------------------------------------------------------
    def _seed(self, *keys: int) -> int:
        return fresh_seed() if self.config.seed is None else derive_seed(self.config.seed, *keys)

    def _rules_for(self, con: duckdb.DuckDBPyConnection, columns: list[tuple[str, str]], everything: list[tuple[str, str]],
                   batches: list[Batch]) -> RuleSet:
        """The model's rules that only read ``columns``, plus unsaved SQL validators of ``batches``."""
        keep = []
        outside = {c.lower() for c, _ in everything} - {c.lower() for c, _ in columns}
        for rule in load_rules(con, self._store.model, everything).rules:
            # a rule naming no outside column binds as it did over all columns; only the
            # others need binding again (compiling every rule costs a query each)
            names = {t.strip('"').replace('""', '"').lower() for t in _IDENTIFIER.findall(rule.expression)}
            if names & outside:
                try:
                    compile_predicate(con, rule.predicate, columns, f"rule {rule.name!r}")
                except InvalidRule:
                    continue
            keep.append(rule)
        names = {r.name for r in keep}
        for i, batch in enumerate(batches):
            sql = batch.validator if isinstance(batch.validator, str) else None
            name = f"{batch._name}_validator"
            if sql and name not in names:
                keep.append(Rule(name, sql, compile_predicate(con, sql, columns, f"validator of {batch._name}"), "user"))
        return RuleSet(self._store.model, tuple(keep))

    def _stream(self, upto: int, n: int, given: pl.DataFrame | None, check, max_invalid: int, seed: int,
                parallelism: Any, spent: list) -> Iterator[pa.Table]:
        """Valid records for the columns of batches 0..upto, block by block.

        Batches whose columns are all ``given`` are not sampled; the others must be trained.
        ``spent`` receives the invalid-record budget, to read its count.

        Raises:
            TooManyInvalid: after yielding the valid records of the block that ran out.
        """
        headers = [b.headers for b in self.batches.values()]
        device = resolve_device(self.config.device)
        with self._store.connect() as con, _threads(parallelism):
            tm = self._store.load(con, device)
            cols = [c for b in headers[: upto + 1] for c in b]
            given_cols = set(given.columns) if given is not None else set()
            needed = [j for j in range(upto + 1) if not set(headers[j]) <= given_cols]
            have = {b.index: b for b in tm.batches}
            missing = sorted((j for j in needed if j not in have), key=lambda j: (j != upto, j))
            if missing:
                why = "" if missing[0] == upto else f" (batch {upto} is generated conditionally on it)"
                raise InvalidArgument(f"batch {missing[0]} is not trained yet{why}; call train_batch({missing[0]})"
                                      " or train_all_batches() first")
            keep = set(cols)
            sub = dataclasses.replace(tm, columns={c: tm.columns[c] for c in cols},
                                      source_columns=[(c, t) for c, t in tm.source_columns if c in keep],
                                      batches=[have[j] for j in needed])
            rules = self._rules_for(con, sub.source_columns, tm.source_columns,
                                    [self.batches[j] for j in range(upto + 1)])
            budget = InvalidBudget(sub.name, max_invalid, rules.names + (["validator"] if check else []))
            spent.append(budget)
            seeds = api.read_seeds(con, sub, given) if given is not None else None
            try:
                yield from api.typed_chunks(con, sub, n, seed, device, seeds, rules=rules, budget=budget, check=check)
            except TooManyInvalid as exc:
                if exc.partial is not None and exc.partial.num_rows:
                    yield exc.partial
                raise

    def _generate(self, upto: int, n: int, given: pl.DataFrame | None, check, max_invalid: int, seed: int,
                  parallelism: Any) -> tuple[pa.Table, int, TooManyInvalid | None]:
        """All of ``_stream``: (valid records, invalid count, the budget error or None)."""
        tables, budget, error = [], [], None
        try:
            tables.extend(self._stream(upto, n, given, check, max_invalid, seed, parallelism, budget))
        except TooManyInvalid as exc:
            error = exc
        cols = [c for b in list(self.batches.values())[: upto + 1] for c in b.headers]
        out = pa.concat_tables(tables) if tables else pa.schema([(c, pa.null()) for c in cols]).empty_table()
        return out, budget[0].spent if budget else 0, error

    def _num_lines(self, num_lines: Any, seeds: pl.DataFrame | None, seed_fields: Any) -> int:
        if isinstance(seed_fields, list) and seeds is not None:
            return seeds.height
        return _check_lines(self.config.gen_lines if num_lines is None else num_lines)

    def _given(self, batch_idx: int, n: int, seeds: pl.DataFrame | None) -> pl.DataFrame | None:
        """Values batch ``batch_idx`` is conditioned on: earlier batches' lines, then seed fields."""
        parts = []
        for j in range(batch_idx):
            data = self.batches[j]._frame()
            if data.height >= n and self.batches[j].gen_data_count:
                parts.append(data.head(n))
        given = pl.concat(parts, how="horizontal") if parts else None
        if seeds is not None:
            own = {c for j in range(batch_idx + 1) for c in self.batches[j].headers}
            cols = [c for c in seeds.columns if c in own and (given is None or c not in given.columns)]
            if cols:
                fixed = _broadcast(seeds.select(cols), n)
                given = fixed if given is None else pl.concat([given, fixed], how="horizontal")
        return given

    def generate_batch_lines(self, batch_idx: int, max_invalid: int = MAX_INVALID, raise_on_exceed_invalid: bool = False,
                             num_lines: int | None = None, seed_fields: dict | list[dict] | None = None,
                             parallelism: int | float = 0) -> GenerationSummary:
        """Generate lines for one batch (replacing its earlier lines); they are typed values.

        Batch k is conditioned on the lines of batches 0..k-1 when those hold at least
        ``num_lines`` lines (row i on row i), otherwise on values sampled for them on the fly.

        Args:
            batch_idx: the batch number.
            max_invalid: invalid lines tolerated (validator or rule failures) before stopping.
            raise_on_exceed_invalid: raise ``TooManyInvalidError`` then, instead of returning a
                summary with ``is_valid=False``.
            num_lines: lines to generate (default: ``config["gen_lines"]``).
            seed_fields: fixed values: a dict for every line, or a list of dicts, one line per
                dict (``num_lines`` becomes its length). Any columns, of any batch.
            parallelism: CPU threads for sampling: 1 = one, <= 0 = CPUs + x, a float = fraction.
        """
        batch = self._batch(batch_idx)
        limit = _check_max_invalid(max_invalid)
        seeds = _seed_frame(seed_fields, self.original_headers)
        n = self._num_lines(num_lines, seeds, seed_fields)
        _workers(parallelism)
        batch.reset_gen_data()
        invalid_lines: list[GenText] = []

        def check(checked: Checked) -> np.ndarray:
            bad, lines = batch._line_check(checked.table, checked.valid)
            invalid_lines.extend(lines)
            return bad

        table, spent, error = self._generate(batch_idx, n, self._given(batch_idx, n, seeds),
                                             check if batch.validator is not None else None, limit,
                                             self._seed(1000 + batch_idx), parallelism)
        batch._add(pl.from_arrow(table.select(batch.headers)) if table.num_rows else batch._frame().clear())
        batch.gen_data_invalid = invalid_lines
        summary = GenerationSummary(batch.gen_data_count, spent, batch.gen_data_count >= n)
        if error is not None and raise_on_exceed_invalid:
            raise TooManyInvalidError(f"batch {batch_idx}: {error}") from error
        return summary

    def generate_all_batch_lines(self, max_invalid: int = MAX_INVALID, raise_on_failed_batch: bool = False,
                                 num_lines: int | None = None, seed_fields: dict | list[dict] | None = None,
                                 parallelism: int | float = 0) -> dict[int, GenerationSummary]:
        """Generate lines for every batch in order, each conditioned on the ones before.

        Returns:
            ``{batch number: GenerationSummary}``. With ``raise_on_failed_batch``, a batch that
            cannot produce all its lines raises ``TooManyInvalidError`` instead.
        """
        out = {}
        for idx in self.batches:
            out[idx] = self.generate_batch_lines(idx, max_invalid, raise_on_failed_batch, num_lines, seed_fields,
                                                 parallelism)
        return out

    def batch_to_df(self, batch_idx: int) -> Any:
        """One batch's generated lines as a DataFrame."""
        return self._batch(batch_idx).synthetic_df

    def batches_to_df(self) -> Any:
        """All batches side by side (row i of each batch belong together), in the original column order."""
        frames = [b._frame() for b in self.batches.values()]
        height = max(f.height for f in frames)
        padded = [f if f.height == height else pl.concat(
            [f, pl.DataFrame({c: [None] * (height - f.height) for c in f.columns}, schema=f.schema)]) for f in frames]
        whole = pl.concat(padded, how="horizontal")
        order = [c for c in (self.original_headers or self.master_header_list) if c in whole.columns]
        return _output(whole.select(order), self._flavor, self._dtypes)

    def create_record_factory(self, *, num_lines: int, max_invalid: int = MAX_INVALID, validator: Callable | None = None,
                              seed_fields: dict | list[dict] | None = None, parallellism: int | float = 4,
                              **kwargs: Any) -> RecordFactory:
        """A ``RecordFactory`` producing whole records (all batches), one by one or all at once.

        ``parallellism`` keeps gretel's spelling; ``parallelism=`` works too.
        """
        if validator is not None and not callable(validator):
            raise InvalidArgument("validator must be callable")
        parallelism = kwargs.pop("parallelism", parallellism)
        return RecordFactory(num_lines=num_lines, batches=self.batches,
                             header_list=self.original_headers or self.master_header_list,
                             delimiter=self.config.field_delimiter, seed_fields=seed_fields, max_invalid=max_invalid,
                             validator=validator, parallelism=parallelism, _owner=self, **kwargs)


def _check_max_invalid(value: Any) -> int:
    limit = check_max_invalid(value)
    if limit is None:
        raise InvalidArgument("max_invalid must be a non-negative integer, got None")
    return limit


def _check_lines(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise InvalidArgument(f"num_lines must be a positive integer, got {value!r}")
    return int(value)


def _broadcast(seeds: pl.DataFrame, n: int) -> pl.DataFrame:
    """A one-row seed frame (a dict of seed_fields) repeated for ``n`` records."""
    return seeds if seeds.height == n else seeds.select(pl.all().repeat_by(n).explode())


# --- whole records --------------------------------------------------------------------------

class _Stopped(Exception):
    """Generation was asked to stop (the progress callback failed)."""


class _Progress:
    """Calls the user's callback with a GenerationProgress at most every ``interval`` seconds."""

    def __init__(self, callback: Callable, interval: float) -> None:
        self.callback, self.interval = callback, interval
        self.last_time = time.monotonic()
        self.last = GenerationProgress()
        self.lock = threading.Lock()

    def update(self, num_lines: int, valid: int, invalid: int, force: bool = False) -> None:
        with self.lock:
            now = time.monotonic()
            if not force and now - self.last_time < self.interval:
                return
            current = GenerationProgress(valid, invalid, valid - self.last.current_valid_count,
                                         invalid - self.last.current_invalid_count,
                                         0.0 if num_lines == 0 else round(valid / num_lines * 100, 2))
            self.last_time, self.last = now, current
        self.callback(current)


class RecordFactory:
    """Whole records (every batch) with validation, as gretel's RecordFactory, typed.

    Create it with ``DataFrameBatch.create_record_factory(num_lines=50)``. Iterate over it
    for records one at a time (dicts of typed values, in the original column order), or call
    ``generate_all()``. ``valid_count``, ``invalid_count`` and ``summary`` follow the
    progress; ``reset()`` starts over.

    Args:
        num_lines: records to produce (a list of ``seed_fields`` sets it to its length).
        batches, header_list, delimiter: from the DataFrameBatch.
        seed_fields: a dict (every record) or a list of dicts (one record each); any columns.
        max_invalid: invalid records tolerated; beyond it iteration raises ``TooManyInvalidError``.
        validator: called with each record dict; returning False or raising marks it invalid.
        parallelism: CPU threads for sampling (see ``generate_batch_lines``).
        invalid_cache_size: how many invalid records ``invalid_cache`` keeps.
    """

    def __init__(self, *, num_lines: int, batches: dict, header_list: list, delimiter: str,
                 seed_fields: dict | list | None = None, max_invalid: int = MAX_INVALID,
                 validator: Callable | None = None, parallelism: int | float = 4, invalid_cache_size: int = 100,
                 _owner: DataFrameBatch | None = None) -> None:
        if _owner is None:
            raise InvalidArgument("create a RecordFactory with DataFrameBatch.create_record_factory()")
        if validator is not None and not callable(validator):
            raise InvalidArgument("validator must be callable")
        self._owner, self._batches, self._header_list, self._delimiter = _owner, batches, header_list, delimiter
        self.max_invalid = _check_max_invalid(max_invalid)
        self.validator = validator
        _workers(parallelism)
        self._parallelism = parallelism
        self._invalid_cache_size = invalid_cache_size
        self._seeds = _seed_frame(seed_fields, list(header_list))
        if isinstance(seed_fields, list):
            num_lines = len(seed_fields)
        self.num_lines = _check_lines(num_lines)
        self.reset()

    @property
    def valid_count(self) -> int:
        return self._valid

    @property
    def invalid_count(self) -> int:
        return self._invalid

    @property
    def summary(self) -> dict:
        return {"num_lines": self.num_lines, "max_invalid": self.max_invalid,
                "valid_count": self._valid, "invalid_count": self._invalid}

    def reset(self) -> None:
        """Zero the counters and start a fresh stream of records."""
        self._valid = self._invalid = 0
        self.invalid_cache: list[dict] = []
        self._stop: threading.Event | None = None
        self._records = self._get_record()

    def __iter__(self) -> RecordFactory:
        return self

    def __next__(self) -> dict:
        return next(self._records)

    def _check(self, checked: Checked) -> np.ndarray:
        """Batch validators on each batch's line, then the record validator; counts invalid records."""
        if self._stop is not None and self._stop.is_set():
            raise _Stopped
        valid = checked.valid.copy()
        bad = np.zeros(checked.table.num_rows, dtype=bool)
        for batch in self._batches.values():
            batch_bad, _ = batch._line_check(checked.table, valid & ~bad)
            bad |= batch_bad
        self._invalid += int((~valid | bad).sum())
        if self.validator is not None:
            for k in np.flatnonzero(valid & ~bad):
                if self._stop is not None and self._stop.is_set():
                    raise _Stopped
                record = checked.table.slice(int(k), 1).to_pylist()[0]
                try:
                    bad[k] = self.validator(record) is False
                except Exception:  # noqa: BLE001 - gretel: a validator that raises marks the record invalid
                    bad[k] = True
                self._invalid += int(bad[k])
        rejected = ~valid | bad
        room = self._invalid_cache_size - len(self.invalid_cache)
        if room > 0 and rejected.any():
            self.invalid_cache += checked.table.take(pa.array(np.flatnonzero(rejected)[:room])).to_pylist()
        return bad

    def _get_record(self) -> Iterator[dict]:
        owner = self._owner
        seeds = _broadcast(self._seeds, self.num_lines) if self._seeds is not None else None
        stream = owner._stream(len(self._batches) - 1, self.num_lines, seeds, self._check, self.max_invalid,
                               owner._seed(2000), self._parallelism, [])
        try:
            for table in stream:
                for record in table.to_pylist():
                    if self._stop is not None and self._stop.is_set():
                        return
                    self._valid += 1
                    yield {h: record.get(h) for h in self._header_list}
        except _Stopped:
            return
        except TooManyInvalid as exc:
            raise TooManyInvalidError(str(exc)) from exc
        finally:
            stream.close()

    def generate_all(self, output: str | None = None, callback: Callable | None = None, callback_interval: float = 30,
                     callback_threading: bool = False) -> GenerationResult:
        """Generate all ``num_lines`` records into one collection (resets the factory first).

        Args:
            output: None for a list of dicts, 'df' for a DataFrame typed like the source.
            callback: called with a ``GenerationProgress`` at most every ``callback_interval``
                seconds while valid records arrive, and once at the end.
            callback_interval: seconds between callbacks.
            callback_threading: call the callback from a watchdog thread, so it runs even
                while no valid record arrives.

        Returns:
            ``GenerationResult(records, exception)``: when the callback raises or the invalid
            budget runs out, generation stops and the records so far come back with the exception.
        """
        if output not in (None, "df"):
            raise InvalidArgument(f"output must be None or 'df', got {output!r}")
        if callback_threading and callback is None:
            raise InvalidArgument("callback_threading needs a callback")
        progress = _Progress(callback, callback_interval) if callback else None
        self.reset()
        records: list[dict] = []
        failure: list[Exception] = []
        watchdog = None
        if callback_threading:
            self._stop = threading.Event()
            watchdog = threading.Thread(target=self._watch, args=(progress, failure), daemon=True)
            watchdog.start()
        try:
            for record in self._records:
                records.append(record)
                if progress and not callback_threading:
                    progress.update(self.num_lines, self._valid, self._invalid)
        except Exception as exc:  # noqa: BLE001 - returned in the result, as documented
            failure.append(exc)
        finally:
            if watchdog is not None:
                self._stop.set()
                watchdog.join()
        if progress and not failure:
            try:
                progress.update(self.num_lines, self._valid, self._invalid, force=True)
            except Exception as exc:  # noqa: BLE001
                failure.append(exc)
        if output == "df":
            frame = pl.DataFrame(records, schema=None, infer_schema_length=None) if records else pl.DataFrame(
                schema={h: pl.Null for h in self._header_list})
            records = _output(frame, self._owner._flavor, self._owner._dtypes)
        return GenerationResult(records, failure[0] if failure else None)

    def _watch(self, progress: _Progress, failure: list[Exception]) -> None:
        tick = min(1.0, max(0.01, progress.interval))
        while not self._stop.is_set():
            try:
                progress.update(self.num_lines, self._valid, self._invalid)
            except Exception as exc:  # noqa: BLE001 - a failing callback stops generation
                failure.append(exc)
                self._stop.set()
                return
            self._stop.wait(tick)


# --- tokenizers -----------------------------------------------------------------------------

@dataclass(frozen=True)
class TokenizerTrainer:
    """How text columns are tokenized (gretel's ``tokenizer`` argument).

    Args:
        vocab_size: BPE vocabulary per text column.
        max_tokens: tokens kept per value.
    """

    vocab_size: int = 1000
    max_tokens: int = 24

    def __post_init__(self) -> None:
        for key, low in (("vocab_size", 258), ("max_tokens", 1)):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise InvalidArgument(f"{type(self).__name__} {key} must be an integer >= {low}, got {value!r}")

    def encoder(self) -> TextEncoder:
        return TextEncoder(self.vocab_size, self.max_tokens)


@dataclass(frozen=True)
class SentencePieceTokenizerTrainer(TokenizerTrainer):
    """Subword tokens (gretel's default); here a byte-level BPE from HuggingFace ``tokenizers``."""


@dataclass(frozen=True)
class CharTokenizerTrainer(TokenizerTrainer):
    """One token per character (byte): no merges, longer sequences."""

    vocab_size: int = 258
    max_tokens: int = 64
