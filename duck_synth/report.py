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
from .catalog import Relation, fetch_one, has_schema, resolve_relation
from .errors import InvalidArgument, ModelNotFound, interruptible
from .profile import count_rows
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
    seed: int = 0
    max_rows: int = DEFAULT_MAX_ROWS
    detection_auc: float | None = None
    holdout_detection_auc: float | None = None
    utility: evaluation.UtilityReport | None = None

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
            "seed": self.seed, "max_rows": self.max_rows, "detection_auc": self.detection_auc,
            "holdout_detection_auc": self.holdout_detection_auc,
            "utility": vars(self.utility).copy() if self.utility else None,
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


def model_split(con: duckdb.DuckDBPyConnection, model: str, strict: bool = True) -> tuple[Relation, Relation | None]:
    """The rows ``model`` trained on and the rows ``ds.train`` kept aside (None if it kept none).

    The split is re-derived from row contents, then checked against the row counts stored
    at training: a source changed since then raises (``strict``) or warns.

    Raises:
        ModelNotFound: no such model.
        TableNotFound: its source table is gone.
        InvalidArgument: (``strict``) the source changed, so the held-out rows are unknown.
    """
    source_table = model_source(con, model)
    whole = resolve_relation(con, source_table)
    share, n_train, n_held, _ = _model_settings(con, model)
    if not share:
        return whole, None
    train, hold = whole.split(share, "train"), whole.split(share, "holdout")
    now = train.split_counts(con)
    if now != (n_train, n_held):
        msg = (f"table {source_table!r} changed since model {model!r} was trained: its {share:.0%} holdout split"
               f" now has {now[0]:,} training and {now[1]:,} held-out rows, not {n_train:,} and {n_held:,}, so"
               " the rows the model never saw are no longer known")
        if strict:
            raise InvalidArgument(msg + "; pass holdout= a table of real rows the model never saw")
        log.warning(msg)
    return train, hold


def _model_settings(con: duckdb.DuckDBPyConnection, model: str) -> tuple[float, int | None, int, str | None]:
    """(holdout share, training rows, held-out rows, target) stored for ``model`` at training."""
    try:
        return fetch_one(con, "SELECT coalesce(holdout, 0), n_rows, coalesce(holdout_rows, 0), target"
                              " FROM duck_synth.models WHERE model = ?", [model])
    except duckdb.BinderException:  # a database made before these columns existed, opened read-only
        return 0.0, None, 0, None


@interruptible
def holdout(con: duckdb.DuckDBPyConnection, model: str) -> pl.DataFrame:
    """The real rows ``ds.train`` kept aside for ``model``: never profiled or trained on.

    Raises:
        InvalidArgument: the model kept no holdout (trained with ``holdout=0``, or on a source
            under 100 rows), or its source changed since training.
    """
    _, hold = model_split(con, model)
    if hold is None:
        raise InvalidArgument(f"model {model!r} kept no holdout: it was trained on every row of"
                              f" {model_source(con, model)!r} (holdout=0, or fewer than 100 rows)")
    return pl.from_arrow(con.sql(f"SELECT * FROM {hold.sql}").to_arrow_table())


def _read(con: duckdb.DuckDBPyConnection, name: str | Relation, max_rows: int, seed: int) -> tuple[pl.DataFrame, int]:
    """A table's rows (sampled down to ``max_rows``) and its full row count."""
    relation = resolve_relation(con, name) if isinstance(name, str) else name
    total = count_rows(con, relation)
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
    target: str | None = None,
) -> QualityReport:
    """Score a synthetic table against the source table of ``model``.

    Args:
        con: connection holding the model and the tables.
        model: the model that generated ``table``.
        table: synthetic table (or view) with the source's columns.
        holdout: real rows the model did not train on; adds the holdout fidelity
            (the ceiling to compare with) and the DCR share (0.5 is ideal). Default: the
            rows ``ds.train`` kept aside, if it kept any (the source is then the rows it
            trained on).
        max_rows: tables with more rows are sampled down to this many (seeded).
        seed: seed of those samples, the DCR samples and the classifiers.
        target: a column to predict for the utility score (needs a holdout). Default: the
            model's own target (``train(target=)``), if it has one.

    Raises:
        ModelNotFound: the model does not exist.
        TableNotFound: the source, synthetic or holdout table does not exist.
        InvalidArgument: the columns differ, a table is empty, or max_rows < 1.
    """
    from . import evaluation

    if max_rows < 1:
        raise InvalidArgument(f"max_rows must be at least 1, got {max_rows}")
    source_table = model_source(con, model)
    trained_on, kept = model_split(con, model, strict=holdout is None)
    held: str | Relation | None = holdout
    if holdout is None and kept is not None:
        holdout, held = f"{source_table} (holdout kept by ds.train)", kept
    if target is None and holdout is not None:
        target = _model_settings(con, model)[3]
    source, n_source = _read(con, trained_on, max_rows, seed)
    synth, n_synth = _read(con, table, max_rows, seed)
    _check_same_columns(source, synth, model, table, source_table)
    synth = synth.select(source.columns)
    fid = evaluation.fidelity(source, synth)
    if target is not None and holdout is None:
        raise InvalidArgument(f"target {target!r} needs a holdout table: utility is scored on real rows the model"
                              " never saw")
    detection = evaluation.detection_auc(source, synth, seed=seed)
    hold_detection = utility = None
    if holdout is None:
        # evaluation.privacy needs a holdout; without one only the exact-copy rate is defined.
        copies, priv, hold_fid, n_hold = evaluation.exact_copy_rate(synth, source), None, None, None
    else:
        hold, n_hold = _read(con, held, max_rows, seed)
        _check_same_columns(source, hold, model, holdout, source_table)
        hold = hold.select(source.columns)
        priv = evaluation.privacy(source, hold, synth, seed=seed)
        copies, hold_fid = priv.exact_copy_rate, evaluation.fidelity(source, hold)
        hold_detection = evaluation.detection_auc(source, hold, seed=seed)
        if target is not None:
            utility = evaluation.utility(source, hold, synth, target, seed=seed)
    sampled = max(n_source, n_synth, n_hold or 0) > max_rows
    log.info("report of %r against model %r: fidelity %.4f", table, model, fid.score)
    return QualityReport(model, source_table, table, holdout, n_source, n_synth, n_hold, sampled,
                         fid, hold_fid, copies, priv, seed, max_rows, detection, hold_detection, utility)


@interruptible
def evaluate(
    con: duckdb.DuckDBPyConnection,
    model: str,
    table: str,
    holdout: str | None = None,
    target: str | None = None,
    seed: int = 0,
    max_rows: int = DEFAULT_MAX_ROWS,
) -> QualityReport:
    """Score a synthetic table (DESIGN.md section 6) and store the report in duck_synth.reports.

    Fidelity (column shapes, all column-pair trends, a real-vs-synthetic classifier's AUC),
    privacy (exact copies, DCR share and distances: needs ``holdout``), utility (train on
    synthetic vs train on real, scored on ``holdout``: needs ``target``), and the holdout
    reference: the same fidelity figures for the holdout against the source, i.e. what
    new real rows would score. The same ``seed`` gives the same numbers.

    Args:
        con: a writable connection holding the model and the tables.
        model: the model that generated ``table``.
        table: the synthetic table.
        holdout: real rows the model did not train on. Default: the share ``ds.train`` kept
            aside (20% unless trained with ``holdout=0``).
        target: a column to predict for the utility score (default: the model's target).
        seed: seed of every sample and classifier.
        max_rows: larger tables are sampled down to this many rows.

    Raises:
        ModelNotFound, TableNotFound, InvalidArgument: as ``quality_report``. On a read-only
            connection the report is returned but not stored.
    """
    report = quality_report(con, model, table, holdout=holdout, max_rows=max_rows, seed=seed, target=target)
    from .catalog import ensure_schema, transaction
    from .rules import is_read_only

    if is_read_only(con):
        log.warning("database is read-only: the report of %r is not stored in duck_synth.reports", table)
        return report
    with transaction(con):
        ensure_schema(con)
        con.execute("INSERT INTO duck_synth.reports (model, table_name, holdout_table, target, seed, report)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    [model, table, report.holdout_table, report.utility.target if report.utility else target, seed,
                     json.dumps(report.to_dict())])
    return report


_CSS = """body{font-family:system-ui,sans-serif;max-width:64em;margin:2em auto;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left}
td.n{text-align:right;font-variant-numeric:tabular-nums}figure{display:inline-block;margin:.3em}
img{max-width:100%}.note{color:#555;font-size:.9em}"""

MAX_PLOTTED_COLUMNS = 40
"""Distribution plots and the heatmap show at most this many columns (the weakest first)."""


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


def _pyplot():
    """matplotlib's pyplot on the file-only Agg backend (no display needed), imported on first use."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _png(fig) -> str:
    """A matplotlib figure as an inline <img> (base64 PNG), closing the figure."""
    import base64
    import io

    plt = _pyplot()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=80, bbox_inches="tight")
    plt.close(fig)
    return f"<img alt='' src='data:image/png;base64,{base64.b64encode(buf.getvalue()).decode('ascii')}'>"


def _distribution(name: str, kind: str, real: pl.Series, synth: pl.Series) -> str:
    """Real vs synthetic: overlaid histograms for numbers and times, paired bars for categories."""
    import numpy as np

    from . import evaluation

    fig, ax = _pyplot().subplots(figsize=(3.6, 2.4))
    if kind in ("numeric", "datetime"):
        r, s_ = evaluation.as_float(name, real), evaluation.as_float(name, synth)
        r, s_ = r[np.isfinite(r)], s_[np.isfinite(s_)]
        if r.size and s_.size:
            edges = np.histogram_bin_edges(np.r_[r, s_], bins=30)
            ax.hist(r, bins=edges, density=True, alpha=0.5, label="real")
            ax.hist(s_, bins=edges, density=True, alpha=0.5, label="synthetic")
    else:
        # renamed first: a column called "share" would collide with the share column
        r = real.cast(pl.String).fill_null("NULL").rename("value").value_counts(normalize=True, name="share")
        top = r.sort("share", descending=True).head(10).get_column("value").to_list()
        s_ = synth.cast(pl.String).fill_null("NULL").rename("value").value_counts(normalize=True, name="share")
        share = {k: dict(zip(*f.get_columns())) for k, f in (("real", r), ("synthetic", s_))}
        x = np.arange(len(top))
        ax.bar(x - 0.2, [share["real"].get(v, 0) for v in top], 0.4, label="real")
        ax.bar(x + 0.2, [share["synthetic"].get(v, 0) for v in top], 0.4, label="synthetic")
        ax.set_xticks(x, [str(v)[:12] for v in top], rotation=60, fontsize=7)
    ax.set_title(name, fontsize=9)
    ax.tick_params(labelsize=7)
    ax.legend(fontsize=7)
    return _png(fig)


def _heatmap(names: list[str], pairs: dict[tuple[str, str], float]) -> str:
    """1 - pair trend score for every pair of columns: where the synthetic relationships differ."""
    import numpy as np

    plt = _pyplot()
    index = {n: i for i, n in enumerate(names)}
    grid = np.full((len(names), len(names)), np.nan)
    for (a, b), score in pairs.items():
        if a in index and b in index:
            grid[index[a], index[b]] = grid[index[b], index[a]] = 1 - score
    size = max(4.0, 0.22 * len(names))
    fig, ax = plt.subplots(figsize=(size + 1, size))
    im = ax.imshow(grid, cmap="Reds", vmin=0, vmax=max(0.2, float(np.nanmax(grid)) if np.isfinite(grid).any() else 0.2))
    ax.set_xticks(range(len(names)), names, rotation=90, fontsize=7)
    ax.set_yticks(range(len(names)), names, fontsize=7)
    fig.colorbar(im, ax=ax, label="1 - pair trend score")
    return _png(fig)


def _headline(report: QualityReport) -> list[list[Any]]:
    f, h = report.fidelity, report.holdout_fidelity
    rows = [["fidelity (mean of shapes and pair trends)", f.score, h.score if h else None],
            ["column shapes", f.shape_score, h.shape_score if h else None],
            ["column pair trends", f.pair_score, h.pair_score if h else None],
            ["detection AUC (0.5: indistinguishable)", report.detection_auc, report.holdout_detection_auc]]
    if report.utility:
        u = report.utility
        rows.append([f"utility: {u.task} on {u.target!r} (train-on-synthetic / train-on-real)", u.ratio, 1.0])
    return rows


def _privacy_rows(report: QualityReport) -> list[list[Any]]:
    rows = [["exact copies of source rows (share of synthetic rows)", report.exact_copy_rate]]
    if report.privacy:
        p = report.privacy
        rows += [["holdout rows equal to a source row (the natural rate)", p.holdout_copy_rate],
                 ["DCR share: synthetic rows nearer the source than the holdout (0.5 ideal)", p.dcr_share],
                 ["median distance, synthetic to closest source row", p.dcr_synth_median],
                 ["median distance, holdout to closest source row (reference)", p.dcr_holdout_median]]
    return rows


def render_html(report: QualityReport, con: duckdb.DuckDBPyConnection | None = None) -> str:
    """The report as one self-contained HTML page (plots inline as PNG).

    Sections: headline scores beside the holdout reference, privacy, utility, per-column
    distributions (real vs synthetic), a heatmap of pair-trend differences, the weakest
    columns and pairs. With ``con`` the plots are drawn from the same (seeded) samples the
    scores used; without it the page has the numbers only.
    """
    f = report.fidelity
    title = f"duck_synth report: {report.table} (model {report.model})"
    shapes = sorted(f.shapes.items(), key=lambda kv: (math.isnan(kv[1]), kv[1]))
    pairs = sorted(f.pairs.items(), key=lambda kv: (math.isnan(kv[1]), kv[1]))[:20]
    intro = (f"<p>{report.synthetic_rows} synthetic rows compared with {report.source_rows} rows of "
             f"{html.escape(report.source_table)}"
             + (f" and {report.holdout_rows} holdout rows of {html.escape(report.holdout_table)}"
                if report.holdout_table else "") + (" (sampled)" if report.sampled else "") + ".</p>")
    reference = ("<p class='note'>The holdout column scores real rows the model never saw in the same way: the"
                 " level new real data reaches.</p>" if report.holdout_table else
                 "<p class='note'>No holdout table was given, so there is no reference column, DCR or utility.</p>")
    parts = [f"<h1>{html.escape(title)}</h1>", intro, "<h2>Headline scores</h2>",
             _html_table(["measure", "synthetic", "holdout reference"], _headline(report)), reference,
             "<h2>Privacy</h2>", _html_table(["measure", "value"], _privacy_rows(report))]
    if con is not None:
        parts += _plots(report, con, [name for name, _ in shapes])
    parts += ["<h2>Weakest columns</h2>", _html_table(["column", "shape score"], [[k, v] for k, v in shapes[:20]]),
              "<h2>Weakest column pairs</h2>",
              _html_table(["pair", "pair trend score"], [[f"{a} / {b}", v] for (a, b), v in pairs])]
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{_CSS}</style></head><body>" + "".join(parts)
        + "<script type='application/json' id='report'>"
        + json.dumps(report.to_dict()).replace("</", "<\\/")  # raw text: only "</" could end the script
        + "</script></body></html>\n"
    )


def _plots(report: QualityReport, con: duckdb.DuckDBPyConnection, weakest_first: list[str]) -> list[str]:
    from . import evaluation

    source, _ = _read(con, report.source_table, report.max_rows, report.seed)
    synth, _ = _read(con, report.table, report.max_rows, report.seed)
    source, synth = evaluation.aligned([source, synth.select(source.columns)])
    kinds = evaluation.column_kinds(source)
    shown = [c for c in weakest_first if kinds.get(c) != "id"][:MAX_PLOTTED_COLUMNS]
    note = (f"<p class='note'>The {len(shown)} weakest of {len(weakest_first)} columns.</p>"
            if len(shown) < len(weakest_first) else "")
    figures = "".join(f"<figure>{_distribution(c, kinds[c], source[c], synth[c])}</figure>" for c in shown)
    heat_names = [c for c in source.columns if c in set(shown)]
    return ["<h2>Column distributions: real vs synthetic</h2>", note, figures,
            "<h2>Column pair trends: where the synthetic relationships differ</h2>",
            _heatmap(heat_names, report.fidelity.pairs)]


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
