"""Summaries of what is stored and what was generated: ``duck-synth report`` and ``models show``.

* ``quality_report``: fidelity and privacy of a synthetic table against the source table of
  the model that made it, scored with ``duck_synth.evaluation`` (DESIGN.md section 6).
* ``render_html``: that report as one self-contained HTML page (minimal for now).
* ``describe_model``: a stored model's metadata, columns, batches and validator rules.
"""

from __future__ import annotations

import html
import json
import logging
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import duckdb
import polars as pl

from .artifacts import trained_models
from .catalog import fetch_one, has_schema, resolve_relation
from .errors import InvalidArgument, ModelNotFound
from .rules import has_rules_table, load_rules, model_columns

if TYPE_CHECKING:  # evaluation pulls in scikit-learn (seconds); the CLI imports this module at start
    from . import evaluation

log = logging.getLogger(__name__)

DEFAULT_MAX_ROWS = 100_000
"""Rows read from each table at most; larger tables are sampled (seeded reservoir)."""


@dataclass(frozen=True)
class QualityReport:
    """Fidelity and privacy of a synthetic table, as ``duck-synth report`` prints them.

    Attributes:
        model: the model whose source the table is compared with.
        source_table: that model's source table (the rows it learned from).
        table: the synthetic table.
        holdout_table: real rows the model never saw, if given.
        source_rows, synthetic_rows, holdout_rows: row counts of the whole tables.
        sampled: True when a table had more than ``max_rows`` rows and was sampled.
        fidelity: synthetic vs source (``evaluation.fidelity``).
        holdout_fidelity: holdout vs source, the score real unseen rows reach (a ceiling).
        exact_copy_rate: share of synthetic rows equal to a source row in every column.
        privacy: DCR statistics (``evaluation.privacy``), only with a holdout table.
    """

    model: str
    source_table: str
    table: str
    holdout_table: str | None
    source_rows: int
    synthetic_rows: int
    holdout_rows: int | None
    sampled: bool
    fidelity: evaluation.FidelityReport
    holdout_fidelity: evaluation.FidelityReport | None
    exact_copy_rate: float
    privacy: evaluation.PrivacyReport | None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (NaN becomes None)."""
        out: dict[str, Any] = {
            "model": self.model, "source_table": self.source_table, "table": self.table,
            "holdout_table": self.holdout_table, "source_rows": self.source_rows,
            "synthetic_rows": self.synthetic_rows, "holdout_rows": self.holdout_rows,
            "sampled": self.sampled, "fidelity": _fidelity_dict(self.fidelity),
            "holdout_fidelity": _fidelity_dict(self.holdout_fidelity) if self.holdout_fidelity else None,
            "exact_copy_rate": self.exact_copy_rate,
            "privacy": vars(self.privacy).copy() if self.privacy else None,
        }
        return _finite(out)


def _fidelity_dict(f: evaluation.FidelityReport) -> dict[str, Any]:
    return {
        "score": f.score, "column_shapes": f.shape_score, "column_pair_trends": f.pair_score,
        "shapes": dict(f.shapes), "pairs": {f"{a} / {b}": v for (a, b), v in f.pairs.items()},
    }


def _finite(value: Any) -> Any:
    """Replace NaN/inf floats (not valid JSON) by None, recursively."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def model_source(con: duckdb.DuckDBPyConnection, model: str) -> str:
    """The source table a stored model learned from (as the user named it).

    Raises:
        ModelNotFound: no model of that name is stored in this database.
    """
    row = fetch_one(con, "SELECT source_table FROM duck_synth.models WHERE model = ?", [model]) \
        if has_schema(con) else None
    if row is None:
        known = trained_models(con)
        hint = f"; trained models: {', '.join(map(repr, known))}" if known else "; no model is trained in this database"
        raise ModelNotFound(f"model {model!r} does not exist{hint}")
    return row[0]


def _read(con: duckdb.DuckDBPyConnection, name: str, max_rows: int, seed: int) -> tuple[pl.DataFrame, int]:
    """A table's rows (sampled down to ``max_rows``) and its full row count."""
    relation = resolve_relation(con, name)
    total = fetch_one(con, f"SELECT count(*) FROM {relation.sql}")[0]
    sample = f" USING SAMPLE reservoir({max_rows} ROWS) REPEATABLE ({seed})" if total > max_rows else ""
    return pl.from_arrow(con.sql(f"SELECT * FROM {relation.sql}{sample}").to_arrow_table()), total


def _check_same_columns(source: pl.DataFrame, synth: pl.DataFrame, model: str, table: str, source_table: str) -> None:
    missing = [c for c in source.columns if c not in synth.columns]
    extra = [c for c in synth.columns if c not in source.columns]
    if missing or extra:
        parts = ([f"lacks columns {', '.join(map(repr, missing))}"] if missing else []) + (
            [f"has extra columns {', '.join(map(repr, extra))}"] if extra else [])
        raise InvalidArgument(
            f"table {table!r} {' and '.join(parts)} compared with {source_table!r}, the source of model {model!r}")


def quality_report(
    con: duckdb.DuckDBPyConnection,
    model: str,
    table: str,
    holdout: str | None = None,
    max_rows: int = DEFAULT_MAX_ROWS,
    seed: int = 0,
) -> QualityReport:
    """Score a synthetic table against the source table of ``model``.

    Args:
        con: connection holding the model and the tables.
        model: the model that generated ``table``.
        table: synthetic table (or view) with the source's columns.
        holdout: real rows the model did not train on; adds the holdout fidelity
            (the ceiling to compare with) and the DCR share (0.5 is ideal).
        max_rows: tables with more rows are sampled down to this many (seeded).
        seed: seed of those samples and of the DCR samples.

    Raises:
        ModelNotFound: the model does not exist.
        TableNotFound: the source, synthetic or holdout table does not exist.
        InvalidArgument: the columns differ, a table is empty, or max_rows < 1.
    """
    from . import evaluation

    if max_rows < 1:
        raise InvalidArgument(f"max_rows must be at least 1, got {max_rows}")
    source_table = model_source(con, model)
    source, n_source = _read(con, source_table, max_rows, seed)
    synth, n_synth = _read(con, table, max_rows, seed)
    _check_same_columns(source, synth, model, table, source_table)
    synth = synth.select(source.columns)
    fid = evaluation.fidelity(source, synth)
    if holdout is None:
        # evaluation.privacy needs a holdout; without one only the exact-copy rate is defined.
        aligned = evaluation._aligned([synth, source])  # noqa: SLF001 (no public copy-rate function yet)
        copies, priv, hold_fid, n_hold = evaluation._copy_rate(*aligned), None, None, None  # noqa: SLF001
    else:
        hold, n_hold = _read(con, holdout, max_rows, seed)
        _check_same_columns(source, hold, model, holdout, source_table)
        hold = hold.select(source.columns)
        priv = evaluation.privacy(source, hold, synth, seed=seed)
        copies, hold_fid = priv.exact_copy_rate, evaluation.fidelity(source, hold)
    sampled = max(n_source, n_synth, n_hold or 0) > max_rows
    log.info("report of %r against model %r: fidelity %.4f", table, model, fid.score)
    return QualityReport(model, source_table, table, holdout, n_source, n_synth, n_hold, sampled,
                         fid, hold_fid, copies, priv)


_CSS = """body{font-family:system-ui,sans-serif;max-width:60em;margin:2em auto;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left}
td.n{text-align:right;font-variant-numeric:tabular-nums}"""


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return "-" if not math.isfinite(value) else f"{value:.4f}"
    return "-" if value is None else str(value)


def _html_table(headers: list[str], rows: list[list[Any]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(
            f'<td class="n">{_fmt(v)}</td>' if isinstance(v, (int, float)) else f"<td>{html.escape(_fmt(v))}</td>"
            for v in row) + "</tr>"
        for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def render_html(report: QualityReport) -> str:
    """The report as a self-contained HTML page (scores only; charts come later)."""
    f = report.fidelity
    summary = [["fidelity", f.score], ["column shapes", f.shape_score], ["column pair trends", f.pair_score],
               ["exact copy rate", report.exact_copy_rate]]
    if report.holdout_fidelity:
        summary.insert(1, ["holdout fidelity (real unseen rows)", report.holdout_fidelity.score])
    if report.privacy:
        summary.append(["DCR share (0.5 is ideal)", report.privacy.dcr_share])
    title = f"duck_synth report: {report.table} (model {report.model})"
    shapes = sorted(f.shapes.items(), key=lambda kv: (math.isnan(kv[1]), kv[1]))
    pairs = sorted(f.pairs.items(), key=lambda kv: (math.isnan(kv[1]), kv[1]))[:20]
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{_CSS}</style></head><body><h1>{html.escape(title)}</h1>"
        f"<p>{report.synthetic_rows} synthetic rows compared with {report.source_rows} rows of "
        f"{html.escape(report.source_table)}"
        + (f" and {report.holdout_rows} holdout rows of {html.escape(report.holdout_table)}"
           if report.holdout_table else "")
        + (" (sampled)" if report.sampled else "") + ".</p>"
        + "<h2>Summary</h2>" + _html_table(["measure", "value"], summary)
        + "<h2>Column shapes</h2>" + _html_table(["column", "score"], [[k, v] for k, v in shapes])
        + "<h2>Weakest column pairs</h2>" + _html_table(["pair", "score"], [[f"{a} / {b}", v] for (a, b), v in pairs])
        + "<script type='application/json' id='report'>"
        + json.dumps(report.to_dict()).replace("</", "<\\/")  # raw text: only "</" could end the script
        + "</script></body></html>\n"
    )


@dataclass(frozen=True)
class ModelDescription:
    """A stored model as ``duck-synth models show`` prints it."""

    model: str
    source_table: str
    status: str
    n_rows: int | None
    device: str | None
    seed: int | None
    trained_at: str | None
    duck_synth_version: str
    training: dict[str, Any] | None
    columns: list[dict[str, Any]] = field(default_factory=list)
    batches: list[list[str]] = field(default_factory=list)
    rules: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return _finite(vars(self).copy())


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: list) -> list[dict[str, Any]]:
    cur = con.execute(sql, params)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row)) for row in cur.fetchall()]


def describe_model(con: duckdb.DuckDBPyConnection, model: str) -> ModelDescription:
    """A model's metadata, profiled columns, batches and validator rules.

    Raises:
        ModelNotFound: no model of that name (trained or planned) in this database.
    """
    model_source(con, model)
    meta = _rows(con, "SELECT model, source_table, status, n_rows, device, seed,"
                      " CAST(date_trunc('second', trained_at) AS VARCHAR) AS trained_at, duck_synth_version,"
                      " training FROM duck_synth.models WHERE model = ?",
                 [model])[0]
    meta["training"] = json.loads(meta["training"]) if meta["training"] else None
    columns = _rows(con, "SELECT column_name AS name, duckdb_type AS type, encoder, null_rate, cardinality,"
                         " min_value, max_value FROM duck_synth.columns WHERE model = ? ORDER BY ordinal", [model])
    batch_rows = con.execute("SELECT batch_index, column_name FROM duck_synth.batches WHERE model = ?"
                             " ORDER BY batch_index, position", [model]).fetchall()
    batches: dict[int, list[str]] = {}
    for index, name in batch_rows:
        batches.setdefault(index, []).append(name)
    return ModelDescription(**meta, columns=columns, batches=list(batches.values()), rules=_model_rules(con, model))


def _model_rules(con: duckdb.DuckDBPyConnection, model: str) -> list[dict[str, Any]]:
    """The rules validation applies (stored ones, or the source's derived on the fly when none
    were captured yet), then the stored rules that are disabled."""
    enabled = [{"rule": r.name, "origin": r.origin, "enabled": True, "predicate": r.predicate}
               for r in load_rules(con, model, model_columns(con, model, trained=False)).rules]
    disabled = _rows(con, "SELECT rule, origin, enabled, predicate FROM duck_synth.rules WHERE model = ?"
                          " AND NOT enabled ORDER BY created_at, rule", [model]) if has_rules_table(con) else []
    return enabled + disabled


__all__ = ["DEFAULT_MAX_ROWS", "ModelDescription", "QualityReport", "describe_model", "model_source",
           "quality_report", "render_html"]
