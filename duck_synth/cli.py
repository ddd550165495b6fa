"""The ``duck-synth`` command line: thin click wrappers over the library.

Each command opens the database, calls one library function and prints its result: a short
human summary on stdout, or with ``--json`` one JSON document on stdout and nothing else
there. Progress goes to stderr (``--quiet`` silences it). Library errors become one line
``Error: ...`` on stderr with exit status 1 (2 for bad arguments); ``--debug`` shows the
traceback instead.
"""

from __future__ import annotations

import contextlib
import csv
import datetime
import decimal
import json
import logging
import math
import os
import sys
import time
import uuid
import warnings
from collections.abc import Callable, Iterator, Sequence
from functools import wraps
from typing import Any

import click
import duckdb

import duck_synth

from . import api, report as reports
from .catalog import fetch_one, resolve_relation
from .demo import DEFAULT_ROWS, run_demo
from .errors import DuckSynthError, InvalidArgument, is_interrupt
from .sampling import fresh_seed
from .training import Progress

# ---------------------------------------------------------------------------------------------
# Errors, logging and the database connection


class Failure(click.ClickException):
    """A command failed: ``Error: ...`` on stderr, exit status 1."""

    exit_code = 1


class BadArgument(click.ClickException):
    """The library rejected an argument: one ``Error: ...`` line, exit status 2 (usage)."""

    exit_code = 2


class Interrupted(click.ClickException):
    """Ctrl-C: exit status 130, as shells report SIGINT."""

    exit_code = 130


def _one_line(message: str) -> str:
    """DuckDB messages span lines (caret diagrams); keep the sentences, drop the diagram."""
    lines = []
    for line in str(message).splitlines():
        if not line.strip() or line.startswith("LINE "):
            break
        lines.append(line.strip())
    return " ".join(lines) or str(message).strip()


def _message(exc: BaseException) -> str:
    """The library's message in one line, with Python keyword hints turned into CLI flags."""
    return _one_line(str(exc)).replace("pass replace=True", "pass --replace")


def _debug() -> bool:
    ctx = click.get_current_context(silent=True)
    return bool(ctx and ctx.find_root().params.get("debug"))


def _click_error(exc: BaseException) -> click.ClickException:
    """The one-line error (and exit status) a library or DuckDB exception becomes."""
    if is_interrupt(exc):
        return Interrupted("interrupted")
    if isinstance(exc, InvalidArgument):
        return BadArgument(_message(exc))
    if isinstance(exc, (DuckSynthError, duckdb.Error, OSError)):
        return Failure(_message(exc))
    return Failure(f"unexpected {type(exc).__name__}: {_one_line(str(exc))} (run with --debug for details)")


def _errors(fn: Callable) -> Callable:
    """Turn library errors into one ``Error: ...`` line and a non-zero exit (tracebacks with --debug)."""

    @wraps(fn)
    def wrapper(*args, **kwargs):
        debug = _debug()
        try:
            with warnings.catch_warnings():
                if not debug:  # the library logs what matters (shown as "Warning: ..."); the rest is noise
                    warnings.simplefilter("ignore")
                return fn(*args, **kwargs)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except BrokenPipeError:  # the reader went away (`duck-synth sql ... | head`): stop quietly
            with contextlib.suppress(OSError, ValueError):
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            raise click.exceptions.Exit(1) from None
        except (Exception, KeyboardInterrupt) as exc:
            if debug:
                raise
            raise _click_error(exc) from exc

    return wrapper


class _EchoHandler(logging.Handler):
    """Library log records as ``Warning: ...`` lines on the current stderr."""

    def emit(self, record: logging.LogRecord) -> None:
        prefix = {"WARNING": "Warning", "ERROR": "Error", "CRITICAL": "Error"}.get(
            record.levelname, record.levelname.lower())
        click.echo(f"{prefix}: {record.getMessage()}", err=True)


_HANDLER = _EchoHandler()


def _setup_logging(debug: bool) -> None:
    logger = logging.getLogger("duck_synth")
    if _HANDLER not in logger.handlers:
        logger.addHandler(_HANDLER)
    logger.setLevel(logging.DEBUG if debug else logging.WARNING)
    logger.propagate = False


@contextlib.contextmanager
def _connect(
    db: str, access: str = "read", purpose: str = "", create: bool = False
) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open ``db`` for one command and close it afterwards.

    Args:
        db: the database file.
        access: ``read`` opens the file read-only (so that reading commands work on read-only
            files and next to other readers); ``write`` needs a writable file; ``any`` opens
            it for writing when the file allows it, else read-only (``sql``).
        purpose: what a writing command would do, for the read-only error message.
        create: the command may create the file (train); otherwise a missing file is an
            error instead of a silently created empty database.
    """
    memory = db == ":memory:"
    if not memory and not os.path.exists(db):
        if not create:
            raise DuckSynthError(f"database file {db!r} does not exist")
        read_only = False
    else:
        writable = memory or os.access(db, os.W_OK)
        if access == "write" and not writable:
            raise DuckSynthError(f"database file {db!r} is read-only; cannot {purpose}")
        read_only = not memory and (access == "read" or not writable)
    ctx = click.get_current_context(silent=True)
    wait = ctx.find_root().params.get("wait", 0.0) if ctx else 0.0  # the group's --wait
    con = api.connect(db, read_only=read_only, wait=wait)
    try:
        yield con
    finally:
        con.close()


def _cleanup_new_db(fn: Callable) -> Callable:
    """A command that may create the database file leaves none behind when it fails."""

    @wraps(fn)
    def wrapper(*args, **kwargs):
        db = kwargs["db"]
        created = db != ":memory:" and not os.path.exists(db)
        try:
            return fn(*args, **kwargs)
        except BaseException:
            if created:
                for path in (db, f"{db}.wal"):
                    with contextlib.suppress(OSError):
                        os.remove(path)
            raise

    return wrapper


# ---------------------------------------------------------------------------------------------
# Output


def _jsonable(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, (datetime.date, datetime.time, datetime.datetime)):
        return value.isoformat()
    if isinstance(value, (decimal.Decimal, uuid.UUID, datetime.timedelta)):
        return str(value)
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def _print_json(data: Any) -> None:
    click.echo(json.dumps(_jsonable(data), indent=2))


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4f}" if math.isfinite(value) else str(value)
    return str(value)


def _format_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
    line = lambda values: "  ".join(v.ljust(w) for v, w in zip(values, widths)).rstrip()  # noqa: E731
    return "\n".join([line(headers), line(["-" * w for w in widths])] + [line(r) for r in cells])


def _duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


class TrainingProgress:
    """Shows batch, epoch, loss and ETA on stderr: in place on a terminal, one line per epoch otherwise.

    The ETA assumes later batches take as long per epoch as the current one; with automatic
    epochs it is an upper bound (``<``), as early stopping may end a batch sooner.
    """

    def __init__(self, fixed_epochs: bool) -> None:
        self.fixed_epochs = fixed_epochs
        self.tty = sys.stderr.isatty()
        self.width = 0
        self.batch, self.batch_seconds, self.earlier_seconds = 0, 0.0, 0.0

    def __call__(self, p: Progress) -> None:
        if p.batch != self.batch:  # p.seconds counts from the start of its batch
            self.batch, self.earlier_seconds = p.batch, self.earlier_seconds + self.batch_seconds
        self.batch_seconds = p.seconds
        per_epoch = p.seconds / max(1, p.epoch)
        left = ((p.epochs - p.epoch) + (p.n_batches - p.batch - 1) * p.epochs) * per_epoch
        val = "-" if p.val_loss is None else f"{p.val_loss:.4f}"
        eta = ("" if self.fixed_epochs else "<") + _duration(left)
        text = (f"batch {p.batch + 1}/{p.n_batches}  epoch {p.epoch}/{p.epochs}  loss {p.loss:.4f}"
                f"  val {val}  {_duration(self.earlier_seconds + p.seconds)}  ETA {eta}")
        if not self.tty:
            click.echo(text, err=True)
            return
        if p.epoch == 1 and self.width:
            click.echo(err=True)  # keep the previous batch's last line
        click.echo("\r" + text.ljust(self.width), err=True, nl=False)
        self.width = len(text)

    def close(self) -> None:
        if self.tty and self.width:
            click.echo(err=True)
            self.width = 0


def _say(quiet: bool) -> Callable[[str], None]:
    return (lambda message: None) if quiet else (lambda message: click.echo(f"{message} ...", err=True))


# ---------------------------------------------------------------------------------------------
# Shared options and completion


def _complete_from_db(names: Callable[[duckdb.DuckDBPyConnection], list[str]]) -> Callable:
    """A shell-completion callback offering ``names`` from the --db given so far."""

    def complete(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[str]:
        db = ctx.params.get("db")
        if not db or not os.path.exists(db):
            return []
        try:
            con = duckdb.connect(db, read_only=True)
            try:
                found = names(con)
            finally:
                con.close()
        except Exception:  # noqa: BLE001 - completion must never fail loudly
            return []
        return sorted(n for n in found if n.startswith(incomplete))

    return complete


_complete_models = _complete_from_db(lambda con: api.models(con)["model"].to_list())
_complete_tables = _complete_from_db(lambda con: [r[0] for r in con.execute(
    "SELECT table_name FROM duckdb_tables() WHERE schema_name <> 'duck_synth'"
    " UNION SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall()])


def _db_option(help: str = "DuckDB database file (must exist).") -> Callable:
    return click.option("--db", required=True, type=click.Path(dir_okay=False), help=help)


def _model_option(required: bool = True, help: str = "Name of the trained model.") -> Callable:
    return click.option("--model", required=required, shell_complete=_complete_models, help=help)


def _output_options(fn: Callable) -> Callable:
    fn = click.option("--json", "as_json", is_flag=True,
                      help="Print the result as JSON on stdout (and nothing else).")(fn)
    return click.option("--quiet", "-q", is_flag=True, help="Do not show progress on stderr.")(fn)


_DEVICE = click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True,
                       help="Where the model runs; auto uses CUDA when present.")


# ---------------------------------------------------------------------------------------------
# Commands


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="duck_synth")
@click.option("--debug", is_flag=True, envvar="DUCK_SYNTH_DEBUG",
              help="Show tracebacks and debug logging instead of one-line errors.")
@click.option("--wait", type=click.FloatRange(min=0), default=0.0, envvar="DUCK_SYNTH_WAIT", show_default=True,
              help="Seconds to wait for another process to release the database file (DuckDB allows one"
                   " writing process per file).")
def main(debug: bool, wait: float) -> None:
    """duck_synth: synthetic data for DuckDB tables.

    Learn a table, then write back a synthetic table with the same columns, types and
    statistics. Start with `duck-synth demo`.

    \b
    Shell completion (bash; zsh and fish likewise with zsh_source, fish_source):
      eval "$(_DUCK_SYNTH_COMPLETE=bash_source duck-synth)"
    """
    _setup_logging(debug)


@main.command()
@_db_option("DuckDB database file holding the table (the model is stored there too).")
@click.option("--table", required=True, shell_complete=_complete_tables, help="Source table or view to learn.")
@_model_option(required=False, help="Model name (default: the table's name).")
@click.option("--batch-size", type=click.IntRange(min=1), default=15, show_default=True,
              help="Columns per batch model.")
@click.option("--epochs", type=click.IntRange(min=1), default=None,
              help="Fixed number of epochs (default: automatic, with early stopping).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed that makes training repeatable.")
@_DEVICE
@click.option("--replace", is_flag=True, help="Retrain over an existing model of that name.")
@click.option("--holdout", type=click.FloatRange(0, 0.5), default=None,
              help="Share of rows kept aside, never trained on, for `duck-synth report` [default: 0.2;"
                   " 0 trains on every row; a planned model keeps its own].")
@click.option("--max-rows", type=click.IntRange(min=1), default=api.TRAIN_MAX_ROWS, show_default=True,
              help="Train on a seeded sample of this many rows when the table has more.")
@click.option("--target", help="Column you will predict from the synthetic table: modelled first, so the"
                               " others are generated conditionally on it; `report` scores utility on it.")
@_output_options
@_errors
@_cleanup_new_db
def train(db: str, table: str, model: str | None, batch_size: int, epochs: int | None, seed: int,
          device: str, replace: bool, holdout: float | None, max_rows: int, target: str | None, quiet: bool,
          as_json: bool) -> None:
    """Learn a table and store the model in the database.

    \b
    Example:
      duck-synth train --db shop.duckdb --table customers --epochs 20
    """
    show = None if quiet or as_json else TrainingProgress(fixed_epochs=epochs is not None)
    with _connect(db, "write", f"store model {model or table!r} in it", create=True) as con:
        try:
            r = api.train(con, table, model=model, batch_size=batch_size, epochs=epochs, seed=seed,
                          device=device, replace=replace, progress=show, holdout=holdout, max_rows=max_rows,
                          target=target)
        finally:
            if show:
                show.close()
    if as_json:
        _print_json({"model": r.model, "table": table, "rows": r.rows, "holdout_rows": r.holdout_rows,
                     "batches": r.batches,
                     "skipped_columns": r.skipped_columns, "device": r.device,
                     "seconds": round(r.seconds, 3), "epochs": r.epochs, "val_loss": r.val_loss})
        return
    kept = f" ({r.holdout_rows:,} more kept aside as its holdout)" if r.holdout_rows else ""
    click.echo(f"Trained model {r.model!r} on {r.rows:,} rows of {table!r}{kept}: {len(r.batches)} batch(es), "
               f"epochs {', '.join(map(str, r.epochs))}, {r.seconds:.1f}s on {r.device}")


@main.command()
@_db_option()
@_model_option()
@click.option("--rows", type=click.IntRange(min=1), help="Number of records to generate.")
@click.option("--into", required=True, help="Table to create with the records.")
@click.option("--seed", type=int, default=None,
              help="Same model, rows and seed give identical records (default: random).")
@click.option("--seed-table", shell_complete=_complete_tables,
              help="Table or view of seed values: one record per row, keeping its columns.")
@click.option("--replace", is_flag=True, help="Replace the --into table if it exists.")
@click.option("--max-invalid", type=click.IntRange(min=0), default=None,
              help="Records that may fail the model's rules and be resampled before giving up "
                   "[default: max(1000, rows)].")
@_DEVICE
@_output_options
@_errors
def generate(db: str, model: str, rows: int | None, into: str, seed: int | None, seed_table: str | None,
             replace: bool, max_invalid: int | None, device: str, quiet: bool, as_json: bool) -> None:
    """Generate synthetic records into a new table (all or nothing).

    \b
    Example:
      duck-synth generate --db shop.duckdb --model customers --rows 10000 --into customers_synth
    """
    if (rows is None) == (seed_table is None):
        raise click.UsageError("give either --rows N, or --seed-table T for one record per seed row")
    seed = fresh_seed() if seed is None else seed  # chosen here so that it can be reported
    say = _say(quiet or as_json)
    with _connect(db, "write", f"write table {into!r} into it") as con:
        say(f"generating {f'{rows:,} rows' if rows else f'one row per row of {seed_table!r}'}"
            f" with model {model!r} into {into!r}")
        start = time.perf_counter()
        api.generate(con, model, n=rows, seed=seed, into=into, replace=replace, device=device, seeds=seed_table,
                     max_invalid=max_invalid)
        seconds = time.perf_counter() - start
        n = rows or fetch_one(con, f"SELECT count(*) FROM {resolve_relation(con, into).sql}")[0]
    rate = n / seconds if seconds > 0 else float("inf")
    if as_json:
        _print_json({"model": model, "table": into, "rows": n, "seed": seed,
                     "seconds": round(seconds, 3), "rows_per_s": round(rate)})
        return
    click.echo(f"Wrote {n:,} rows into {into!r} in {seconds:.1f}s ({rate:,.0f} rows/s, seed {seed})")


@main.command()
@_db_option()
@_model_option(help="Model whose rules and schema the table is checked against.")
@click.option("--table", required=True, shell_complete=_complete_tables, help="Table to check.")
@_output_options
@_errors
def validate(db: str, model: str, table: str, quiet: bool, as_json: bool) -> None:
    """Check a table against a model's validator rules and column types.

    Exit status 1 when any rule fails or the schema differs, 0 otherwise.

    \b
    Example:
      duck-synth validate --db shop.duckdb --model customers --table customers_synth
    """
    with _connect(db) as con:
        s = duck_synth.validate(con, model, table)
    result = {"model": model, "table": table, "ok": bool(s.ok), "total_rows": s.total_rows,
              "failed_rows": s.failed_rows, "by_rule": dict(s.by_rule), "schema_problems": list(s.schema_problems)}
    if as_json:
        _print_json(result)
    else:
        status = "OK" if s.ok else "FAILED"
        click.echo(f"{status}: {s.failed_rows:,} of {s.total_rows:,} rows of {table!r} fail the rules of model"
                   f" {model!r} ({len(s.by_rule)} rules checked)")
        for rule, count in s.by_rule.items():
            if count:
                click.echo(f"  rule {rule}: {count:,} rows")
        for problem in s.schema_problems:
            click.echo(f"  schema: {problem}")
    if not s.ok:
        raise click.exceptions.Exit(1)


@main.command()
@_db_option()
@_model_option(help="Model that generated the table; its source table is the reference.")
@click.option("--table", required=True, shell_complete=_complete_tables, help="Synthetic table to score.")
@click.option("--holdout", shell_complete=_complete_tables,
              help="Real rows the model never saw [default: the rows `train` kept aside]: for the holdout"
                   " fidelity and the DCR share.")
@click.option("--html", "html_file", type=click.Path(dir_okay=False, writable=True), help="Also write an HTML report.")
@click.option("--max-rows", type=click.IntRange(min=1), default=reports.DEFAULT_MAX_ROWS, show_default=True,
              help="Larger tables are sampled down to this many rows.")
@click.option("--target", help="Column to predict for the utility score (train on synthetic vs real; needs a holdout).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the samples and classifiers.")
@_output_options
@_errors
def report(db: str, model: str, table: str, holdout: str | None, html_file: str | None, max_rows: int,
           target: str | None, seed: int, quiet: bool, as_json: bool) -> None:
    """Fidelity, privacy and utility of a synthetic table against the model's source table.

    The report is also stored in duck_synth.reports.

    \b
    Example:
      duck-synth report --db shop.duckdb --model customers --table customers_synth \\
        --holdout customers_holdout --target churn --html report.html
    """
    with _connect(db, "any") as con:
        _say(quiet or as_json)(f"scoring {table!r} against the source of model {model!r}")
        r = reports.evaluate(con, model, table, holdout=holdout, target=target, seed=seed, max_rows=max_rows)
        if html_file:
            page = reports.render_html(r, con)
            with open(html_file, "w", encoding="utf-8") as f:
                f.write(page)
    if as_json:
        _print_json(r.to_dict())
        return
    f = r.fidelity
    sampled = " (sampled)" if r.sampled else ""
    click.echo(f"{table!r}: {r.synthetic_rows:,} rows vs {r.source_rows:,} rows of {r.source_table!r}{sampled}")
    lines = [("fidelity", f.score), ("  column shapes", f.shape_score), ("  column pair trends", f.pair_score)]
    if r.holdout_fidelity:
        lines.append(("holdout fidelity", r.holdout_fidelity.score))
    lines.append(("detection AUC", r.detection_auc))
    if r.holdout_detection_auc is not None:
        lines.append(("holdout detection AUC", r.holdout_detection_auc))
    if r.utility:
        lines.append((f"utility ratio ({r.utility.target})", r.utility.ratio))
    lines.append(("exact copy rate", r.exact_copy_rate))
    if r.privacy:
        lines += [("holdout copy rate", r.privacy.holdout_copy_rate), ("DCR share (0.5 ideal)", r.privacy.dcr_share)]
    for label, value in lines:
        click.echo(f"  {label:24s}{_cell(value)}")
    worst = sorted(((v, k) for k, v in f.shapes.items() if not math.isnan(v)))[:3]
    if worst:
        click.echo("  weakest columns         " + ", ".join(f"{k} {v:.3f}" for v, k in worst))
    if html_file:
        click.echo(f"HTML report written to {html_file}")


@main.command()
@_db_option()
@click.argument("action", required=False, type=click.Choice(["show", "drop"]), metavar="[show|drop]")
@click.argument("name", required=False, shell_complete=_complete_models)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON on stdout (and nothing else).")
@_errors
def models(db: str, action: str | None, name: str | None, as_json: bool) -> None:
    """List the models in a database, show one, or drop one.

    \b
    Examples:
      duck-synth models --db shop.duckdb
      duck-synth models --db shop.duckdb show customers
      duck-synth models --db shop.duckdb drop customers
    """
    if action and not name:
        raise click.UsageError(f"'models {action}' needs a model NAME")
    if name and not action:
        raise click.UsageError(f"unexpected {name!r}: use 'models show {name}' or 'models drop {name}'")
    if action == "drop":
        with _connect(db, "write", f"drop model {name!r} from it") as con:
            api.drop_model(con, name)
        if as_json:
            _print_json({"dropped": name})
        else:
            click.echo(f"Dropped model {name!r}")
    elif action == "show":
        with _connect(db) as con:
            d = reports.describe_model(con, name)
        _show_model(d, as_json)
    else:
        with _connect(db) as con:
            frame = api.models(con)
        if as_json:
            _print_json(frame.to_dicts())
        elif frame.is_empty():
            click.echo(f"No models in {db}")
        else:
            cols = [c for c in ("model", "source_table", "status", "n_rows", "device", "trained_at")
                    if c in frame.columns]
            click.echo(_format_table(cols, frame.select(cols).rows()))


def _show_model(d: reports.ModelDescription, as_json: bool) -> None:
    if as_json:
        _print_json(d.to_dict())
        return
    click.echo(f"model {d.model!r}: {d.status}, source {d.source_table!r}, {d.n_rows or 0:,} rows"
               + (f", trained {d.trained_at} on {d.device} (seed {d.seed})" if d.trained_at else ""))
    click.echo("\nColumns:")
    click.echo(_format_table(["name", "type", "encoder", "null_rate", "cardinality"],
                             [[c[k] for k in ("name", "type", "encoder", "null_rate", "cardinality")]
                              for c in d.columns]))
    click.echo("\nBatches:")
    epochs = (d.training or {}).get("epochs", [])
    for i, batch in enumerate(d.batches):
        trained = f" ({epochs[i]} epochs)" if i < len(epochs) else ""
        click.echo(f"  {i}: {', '.join(batch)}{trained}")
    click.echo("\nRules:")
    if d.rules:
        click.echo(_format_table(["rule", "origin", "enabled", "predicate"],
                                 [[r["rule"], r["origin"], r["enabled"], r["predicate"]] for r in d.rules]))
    else:
        click.echo("  (none)")


@main.command()
@_db_option()
@click.argument("query")
@click.option("--json", "as_json", is_flag=True, help="Rows as a JSON list of objects.")
@click.option("--csv", "as_csv", is_flag=True, help="Rows as CSV with a header.")
@_errors
def sql(db: str, query: str, as_json: bool, as_csv: bool) -> None:
    """Run SQL with the duck_synth functions registered and print the result.

    \b
    Example:
      duck-synth sql --db shop.duckdb "SELECT * FROM generate_synthetic('customers', 5, seed := 1)"
    """
    if as_json and as_csv:
        raise click.UsageError("--json and --csv cannot be combined")
    with _connect(db, "any") as con:  # api.connect registers the SQL functions (duck_synth.register)
        rel = con.sql(query)
        if rel is None:  # a statement without a result (CREATE, SET, ...)
            headers, rows = [], []
        else:
            headers, rows = list(rel.columns), rel.fetchall()
    if as_json:
        _print_json([dict(zip(headers, row)) for row in rows])
    elif as_csv:
        writer = csv.writer(click.get_text_stream("stdout"), lineterminator="\n")
        writer.writerow(headers)
        writer.writerows([[_jsonable(v) for v in row] for row in rows])
    elif headers:
        click.echo(_format_table(headers, rows))


@main.command()
@click.option("--db", default="demo.duckdb", show_default=True, type=click.Path(dir_okay=False),
              help="DuckDB file to create or reuse.")
@click.option("--dataset", default="diamonds", show_default=True,
              type=click.Choice(["diamonds", "mlc_churn", "cps1988"]), help="Real dataset to learn.")
@click.option("--rows", type=click.IntRange(min=10), default=DEFAULT_ROWS, show_default=True,
              help="Rows of the dataset to use (a seeded sample), so that it runs in minutes on a CPU.")
@click.option("--all-rows", is_flag=True, help="Use the whole dataset instead of --rows (slow on a CPU).")
@click.option("--epochs", type=click.IntRange(min=1), default=None,
              help="Fixed epochs (default: automatic, early stopping).")
@click.option("--retrain", is_flag=True, help="Train again even if the model exists.")
@_output_options
@_errors
def demo(db: str, dataset: str, rows: int, all_rows: bool, epochs: int | None, retrain: bool,
         quiet: bool, as_json: bool) -> None:
    """Run the whole product on a real dataset, in a local DuckDB file.

    Loads the dataset (80% train, 20% holdout), trains a model, generates as many rows as the
    training part, validates them and prints a short quality summary. Running it again reuses
    the trained model.

    \b
    Example:
      duck-synth demo --db demo.duckdb
    """
    if db != ":memory:" and os.path.exists(db) and not os.access(db, os.W_OK):
        raise DuckSynthError(f"database file {db!r} is read-only; cannot write the demo tables into it")
    show = None if quiet or as_json else TrainingProgress(fixed_epochs=epochs is not None)
    try:
        r = run_demo(db, dataset, rows=None if all_rows else rows, epochs=epochs, retrain=retrain,
                     progress=show, stage=_say(quiet or as_json))
    finally:
        if show:
            show.close()
    summary = {
        "db": r.db, "dataset": r.dataset, "synthetic_table": r.synthetic_table,
        "train_rows": r.train_rows, "holdout_rows": r.holdout_rows, "trained": r.trained,
        "train_seconds": round(r.train_seconds, 1), "generate_rows_per_s": round(r.generate_rows_per_s),
        "fidelity": r.fidelity.score, "column_shapes": r.fidelity.shape_score,
        "column_pair_trends": r.fidelity.pair_score, "holdout_fidelity": r.holdout_fidelity.score,
        "exact_copy_rate": r.privacy.exact_copy_rate, "holdout_copy_rate": r.privacy.holdout_copy_rate,
        "dcr_share": r.privacy.dcr_share,
        "validation_ok": r.validation.ok, "validation_failed_rows": r.validation.failed_rows,
    }
    if as_json:
        _print_json(summary)
        return
    f, p = r.fidelity, r.privacy
    lines = [
        ("training", f"{r.train_seconds:.1f}s" if r.trained else "reused the trained model"),
        ("generation", f"{r.generate_rows_per_s:,.0f} rows/s"),
        ("fidelity", f"{f.score:.4f}  (column shapes {f.shape_score:.4f}, pair trends {f.pair_score:.4f})"),
        ("holdout fidelity", f"{r.holdout_fidelity.score:.4f}  (real rows the model never saw)"),
        ("exact copy rate", f"{p.exact_copy_rate:.4f}  (holdout rows: {p.holdout_copy_rate:.4f})"),
        ("DCR share", f"{p.dcr_share:.4f}  (0.5 is ideal; 1.0 means memorised)"),
    ]
    v = r.validation
    lines.append(("validation", f"{v.failed_rows:,} of {v.total_rows:,} rows fail the model's {len(v.by_rule)} rules"
                  + (f"; {len(v.schema_problems)} schema problem(s)" if v.schema_problems else "")))
    click.echo(f"\n{r.dataset}: {r.train_rows:,} training rows, {r.holdout_rows:,} holdout rows"
               f" -> table {r.synthetic_table} in {r.db}")
    for label, value in lines:
        click.echo(f"  {label:18s}{value}")
    click.echo(f"\nTry: duck-synth sql --db {r.db} \"SELECT * FROM {r.synthetic_table} LIMIT 5\"")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
