"""The ``duck-synth`` command line: thin click wrappers over the library."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from functools import wraps

import click

from . import api
from .errors import DuckSynthError, InvalidArgument


def _errors(fn: Callable) -> Callable:
    """Turn library errors into one 'Error: ...' line and a non-zero exit."""

    @wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except InvalidArgument as exc:
            raise click.UsageError(str(exc)) from exc
        except DuckSynthError as exc:
            raise click.ClickException(str(exc)) from exc

    return wrapper


def _epoch_printer(quiet: bool) -> api.ProgressCallback | None:
    if quiet:
        return None

    def show(p) -> None:
        val = "-" if p.val_loss is None else f"{p.val_loss:.4f}"
        click.echo(f"batch {p.batch + 1}/{p.n_batches} epoch {p.epoch}/{p.epochs} "
                   f"loss {p.loss:.4f} val {val} ({p.seconds:.0f}s)", err=True)

    return show


@click.group()
@click.version_option(package_name="duck_synth")
def main() -> None:
    """duck_synth: synthetic data for DuckDB tables."""


@main.command()
@click.option("--db", default="demo.duckdb", show_default=True, help="DuckDB file to create or reuse.")
@click.option("--dataset", default="diamonds", show_default=True, help="diamonds, mlc_churn or cps1988.")
@click.option("--epochs", type=int, default=None, help="Fixed epochs (default: automatic, early stopping).")
@click.option("--retrain", is_flag=True, help="Train again even if the model exists.")
@click.option("--quiet", is_flag=True, help="No progress output.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON on stdout.")
@_errors
def demo(db: str, dataset: str, epochs: int | None, retrain: bool, quiet: bool, as_json: bool) -> None:
    """Run the whole product on a real dataset, in a local DuckDB file.

    Example: duck-synth demo --db demo.duckdb
    """
    from .demo import run_demo

    r = run_demo(db, dataset, epochs=epochs, retrain=retrain, progress=_epoch_printer(quiet or as_json))
    summary = {
        "db": r.db, "dataset": r.dataset, "synthetic_table": r.synthetic_table,
        "train_rows": r.train_rows, "holdout_rows": r.holdout_rows, "trained": r.trained,
        "train_seconds": round(r.train_seconds, 1), "generate_rows_per_s": round(r.generate_rows_per_s),
        "fidelity": round(r.fidelity.score, 4), "column_shapes": round(r.fidelity.shape_score, 4),
        "column_pair_trends": round(r.fidelity.pair_score, 4),
        "holdout_fidelity": round(r.holdout_fidelity.score, 4),
        "exact_copy_rate": round(r.privacy.exact_copy_rate, 4),
        "holdout_copy_rate": round(r.privacy.holdout_copy_rate, 4),
        "dcr_share": round(r.privacy.dcr_share, 4),
    }
    if as_json:
        click.echo(json.dumps(summary))
        return
    click.echo(f"\n{r.dataset}: {r.train_rows} training rows -> table {r.synthetic_table} in {r.db}")
    for key, value in summary.items():
        if key not in ("db", "dataset", "synthetic_table"):
            click.echo(f"  {key:22s} {value}")
    click.echo(f"\nTry: duckdb {r.db} \"SELECT * FROM {r.synthetic_table} LIMIT 5\"")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
