"""Validator rules: named SQL predicates over one record, stored in duck_synth.rules.

CHECK semantics: a record fails a rule only when its predicate is FALSE (NULL passes).
Rules come from the source table's CHECK and NOT NULL constraints and from the profile
(value domains), both captured after training (origin 'constraint' / 'profile'), and from
users (``add_rule`` or a plain INSERT, origin 'user').

Rule text never reaches a query as typed: DuckDB parses it, it must be exactly one
per-record boolean expression over the model's columns, and only DuckDB's own rendering of
that expression is spliced into SQL. So no rule can end its predicate and start a statement.

Generation uses ``fill_block``: records failing a rule are sampled again until the block is
full or the ``max_invalid`` budget is spent. ``validate`` and ``violations_sql`` check any
table against a model: its schema and its rules. The checks are the ``.sql`` files in ``sql/``.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import math
import re
import threading
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import duckdb
import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from .artifacts import trained_models
from .catalog import (
    CatalogState, Relation, atomic, catalog_state, ensure_schema, fetch_one, has_schema, load_sql, quote, registered, resolve_relation,
    target_name,
)
from .errors import DuckSynthError, InvalidArgument, ModelNotFound, TableNotFound, TooManyInvalid, interruptible

log = logging.getLogger(__name__)

ORIGINS = ("constraint", "profile", "user")
CAPTURED = ("constraint", "profile")
MAX_REPEAT = 64
"""At most this many candidates are sampled per missing record in one resampling round."""

_WRAP_PREFIX = "SELECT "
_WRAP_SUFFIX = " AS duck_synth_rule FROM duck_synth_record"


class InvalidRule(DuckSynthError):
    """A rule is not one valid per-record boolean SQL expression over the model's columns."""


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


# --- models and their columns -------------------------------------------------------------

def model_columns(con: duckdb.DuckDBPyConnection, model: str, trained: bool = True) -> list[tuple[str, str]]:
    """The source columns (name, DuckDB type) of a model, in order.

    Raises:
        ModelNotFound: no such model (or, with ``trained``, not trained yet).
    """
    row = None
    if isinstance(model, str) and has_schema(con):
        row = fetch_one(con, "SELECT status FROM duck_synth.models WHERE model = ?", [model])
    if row is None or (trained and row[0] != "trained"):
        known = trained_models(con)
        hint = f"; trained models: {', '.join(map(repr, known))}" if known else "; no model is trained in this database"
        state = " is planned but not trained" if row else " does not exist"
        raise ModelNotFound(f"model {model!r}{state}{hint}")
    return [(r[0], r[1]) for r in con.execute(
        "SELECT column_name, duckdb_type FROM duck_synth.columns WHERE model = ? ORDER BY ordinal", [model]).fetchall()]


def has_rules_table(con: duckdb.DuckDBPyConnection, state: CatalogState | None = None) -> bool:
    """True when duck_synth.rules exists (databases from before rules existed lack it)."""
    return "rules" in (state or catalog_state(con)).tables


# --- compiling a predicate ------------------------------------------------------------------

def _parse(con: duckdb.DuckDBPyConnection, sql: str) -> dict:
    return json.loads(fetch_one(con, "SELECT json_serialize_sql(?)", [sql])[0])


def _strip_locations(tree: object) -> object:
    if isinstance(tree, dict):
        return {k: _strip_locations(v) for k, v in tree.items() if not k.startswith("query_location")}
    if isinstance(tree, list):
        return [_strip_locations(v) for v in tree]
    return tree


def _has_star(tree: object) -> bool:
    if isinstance(tree, dict):
        return tree.get("class") == "STAR" or any(_has_star(v) for v in tree.values())
    if isinstance(tree, list):
        return any(_has_star(v) for v in tree)
    return False


IMPURE_FUNCTIONS = frozenset({"nextval", "currval", "setseed", "getenv", "current_setting", "query", "query_table",
                              "read_text", "read_blob", "sql_auto_complete"})
"""Functions a rule may not call: they change state, or read outside the record being checked."""


def _outside_the_record(tree: object) -> str | None:
    """What in an expression tree reaches beyond one record (a subquery, an impure function), or None."""
    if isinstance(tree, dict):
        if tree.get("class") == "SUBQUERY":
            return "a subquery"
        if tree.get("class") == "FUNCTION" and str(tree.get("function_name", "")).lower() in IMPURE_FUNCTIONS:
            return f"the function {tree['function_name']}()"
        found = (_outside_the_record(v) for v in tree.values())
    elif isinstance(tree, list):
        found = (_outside_the_record(v) for v in tree)
    else:
        return None
    return next((f for f in found if f), None)


def _single_expression(tree: dict) -> dict | None:
    """The one select expression of ``SELECT (<expr>) AS r FROM duck_synth_record``, or None."""
    if tree.get("error") or len(tree.get("statements", [])) != 1:
        return None
    node = tree["statements"][0]["node"]
    source = node.get("from_table") or {}
    plain = (
        node.get("type") == "SELECT_NODE" and len(node.get("select_list", [])) == 1
        and not node.get("modifiers") and not (node.get("cte_map") or {}).get("map")
        and node.get("where_clause") is None and not node.get("group_expressions")
        and node.get("having") is None and node.get("qualify") is None and node.get("sample") is None
        and source.get("type") == "BASE_TABLE" and source.get("table_name") == "duck_synth_record"
        and not source.get("schema_name") and not source.get("catalog_name")
    )
    expr = node["select_list"][0] if plain else None
    return None if expr is None or _has_star(expr) else _strip_locations(expr)


def _wrap(expression: str) -> str:
    # newlines end any trailing "--" comment inside the rule
    return f"{_WRAP_PREFIX}(\n{expression}\n){_WRAP_SUFFIX}"


def canonical_expression(con: duckdb.DuckDBPyConnection, predicate: str, what: str) -> str:
    """DuckDB's own rendering of ``predicate``, which must be exactly one SQL expression.

    Args:
        what: how to name the rule in messages, e.g. ``"rule 'adult' of model 'customers'"``.

    Raises:
        InvalidRule: not valid SQL (with DuckDB's message), several statements, or more than
            one expression.
    """
    if not isinstance(predicate, str) or not predicate.strip():
        raise InvalidRule(f"{what}: the predicate must be a non-empty SQL expression, got {predicate!r}")
    try:
        statements = con.extract_statements(_WRAP_PREFIX + predicate)
    except duckdb.Error as exc:
        raise InvalidRule(f"{what} is not valid SQL: {_first_line(exc)}") from exc
    if len(statements) != 1:
        raise InvalidRule(f"{what} must be one SQL expression, not several statements: {predicate!r}")
    tree = _parse(con, _wrap(predicate))
    if tree.get("error"):
        raise InvalidRule(f"{what} is not valid SQL: {tree.get('error_message')}")
    expr = _single_expression(tree)
    if expr is None:
        raise InvalidRule(f"{what} must be one boolean SQL expression over a record's columns: {predicate!r}")
    outside = _outside_the_record(expr)
    if outside:
        raise InvalidRule(f"{what} may only read the record's own columns, but uses {outside}: {predicate!r}")
    rendered = fetch_one(con, "SELECT json_deserialize_sql(?)", [json.dumps(tree)])[0]
    canonical = rendered[len(_WRAP_PREFIX):-len(_WRAP_SUFFIX)]
    # the rendering must parse back to the very same expression, so splicing it is exactly the rule
    if (not rendered.startswith(_WRAP_PREFIX) or not rendered.endswith(_WRAP_SUFFIX)
            or _single_expression(_parse(con, _wrap(canonical))) != expr):
        raise InvalidRule(f"{what} must be one boolean SQL expression over a record's columns: {predicate!r}")
    return canonical


_COMPILED: dict[tuple[str, tuple[tuple[str, str], ...]], str] = {}


def compile_predicate(
    con: duckdb.DuckDBPyConnection, predicate: str, columns: list[tuple[str, str]], what: str
) -> str:
    """Check that ``predicate`` is a per-record boolean expression over ``columns``; return the
    expression text that is safe to splice into SQL.

    Raises:
        InvalidRule: with DuckDB's message when it does not parse or bind, or when it is not
            BOOLEAN (aggregates and window functions are refused).
    """
    key = (predicate, tuple(columns))
    if key in _COMPILED:
        return _COMPILED[key]
    expression = canonical_expression(con, predicate, what)
    try:
        described = _bind(con, [expression], columns)
    except duckdb.Error as exc:
        raise InvalidRule(f"{what} is not valid: {_first_line(exc)}") from exc
    dtype = described[0][1]
    if dtype != "BOOLEAN":
        raise InvalidRule(f"{what} must be a boolean predicate, but {predicate!r} is {dtype}")
    return _remember(predicate, columns, expression)


def compile_predicates(
    con: duckdb.DuckDBPyConnection, items: list[tuple[str, str]], columns: list[tuple[str, str]]
) -> list[str | InvalidRule]:
    """``compile_predicate`` for many ``(predicate, what)`` at once: the expression, or the
    ``InvalidRule`` it raised, per item.

    One bind query checks them all (a wide table's hundreds of profile rules would otherwise
    bind hundreds of times against every column); any failure is then retried alone, so each
    error names its own rule.
    """
    results: list[str | InvalidRule | None] = [_COMPILED.get((p, tuple(columns))) for p, _ in items]
    todo = {}
    for i, (predicate, what) in enumerate(items):
        if results[i] is None:
            try:
                todo[i] = canonical_expression(con, predicate, what)
            except InvalidRule as exc:
                results[i] = exc
    if len(todo) > 1:
        try:
            described = _bind(con, list(todo.values()), columns)
        except duckdb.Error:
            described = []
        for (i, expression), row in zip(list(todo.items()), described):
            if row[1] == "BOOLEAN":
                results[i] = _remember(items[i][0], columns, expression)
    for i, (predicate, what) in enumerate(items):
        if results[i] is None:
            try:
                results[i] = compile_predicate(con, predicate, columns, what)
            except InvalidRule as exc:
                results[i] = exc
    return results


def _bind(con: duckdb.DuckDBPyConnection, expressions: list[str], columns: list[tuple[str, str]]) -> list[tuple]:
    """DESCRIBE rows (name, type, ...) of ``expressions`` bound against ``columns``, one per expression."""
    return con.execute(load_sql("rule_bind.sql").format(
        select=", ".join(f"({e}) AS duck_synth_rule_{i}" for i, e in enumerate(expressions)),
        typed_nulls=", ".join(f"CAST(NULL AS {dtype}) AS {quote(name)}" for name, dtype in columns),
        where=" AND ".join(f"({e})" for e in expressions))).fetchall()


def _remember(predicate: str, columns: list[tuple[str, str]], expression: str) -> str:
    if len(_COMPILED) > 4096:
        _COMPILED.clear()
    _COMPILED[(predicate, tuple(columns))] = expression
    return expression


# --- rule sets ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Rule:
    """One validator rule: ``expression`` is DuckDB's rendering of ``predicate``, safe to splice."""

    name: str
    predicate: str
    expression: str
    origin: str


@dataclass(frozen=True)
class RuleSet:
    """The enabled rules of a model, compiled against its columns."""

    model: str
    rules: tuple[Rule, ...] = ()

    @property
    def fingerprint(self) -> str:
        """Changes whenever the rules change (keys caches of generated records)."""
        text = json.dumps([(r.name, r.expression) for r in self.rules])
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]

    @property
    def names(self) -> list[str]:
        return [r.name for r in self.rules]

    def arrow_checks(self, columns: list[tuple[str, str]]) -> list[ArrowCheck | None]:
        """Per rule, its evaluation in Arrow (``arrow_check``), or None where DuckDB must evaluate it."""
        key = tuple(columns)
        return [_arrow_check_for(r.predicate, key) for r in self.rules]

    def flags_sql(self, alias_prefix: str = "duck_synth_fail_", only: list[int] | None = None) -> list[str]:
        """One ``(<expr>) IS FALSE AS "<prefix>i"`` select item per rule (or per rule in ``only``)."""
        return [f"({self.rules[i].expression}) IS FALSE AS {quote(alias_prefix + str(i))}"
                for i in (range(len(self.rules)) if only is None else only)]


StoredRules = list[tuple[str, str, str, bool]]
"""Rows of duck_synth.rules for one model: (rule, predicate, origin, enabled)."""


def _stored_rules(con: duckdb.DuckDBPyConnection, model: str, state: CatalogState | None = None) -> StoredRules:
    if not has_rules_table(con, state):
        return []
    return [tuple(r) for r in con.execute(
        "SELECT rule, predicate, origin, enabled FROM duck_synth.rules WHERE model = ? ORDER BY created_at, rule",
        [model]).fetchall()]


def load_rules(
    con: duckdb.DuckDBPyConnection, model: str, columns: list[tuple[str, str]] | None = None,
    state: CatalogState | None = None, stored: StoredRules | None = None,
) -> RuleSet:
    """The enabled rules of ``model``, compiled. Never writes.

    A model whose source rules were never captured (trained before capture existed, or read
    through a read-only connection) gets them derived on the fly. ``state`` and ``stored``
    (what ``ensure_captured`` returned) spare the queries that would read them again.

    Raises:
        InvalidRule: a stored rule (e.g. inserted with plain SQL) is not a valid predicate.
    """
    columns = model_columns(con, model) if columns is None else columns
    stored = _stored_rules(con, model, state) if stored is None else stored
    rows = [(n, p, o) for n, p, o, enabled in stored if enabled]
    if not any(o in CAPTURED for _, _, o, _ in stored):
        names = {n for n, *_ in stored}
        rows += [r for r in derive_source_rules(con, model, columns) if r[0] not in names]
    compiled = compile_predicates(
        con, [(p, f"rule {n!r} of model {model!r} (duck_synth.rules)") for n, p, _ in rows], columns)
    for result in compiled:
        if isinstance(result, InvalidRule):
            raise result
    return RuleSet(model, tuple(Rule(n, p, e, o) for (n, p, o), e in zip(rows, compiled)))


@interruptible
def add_rule(con: duckdb.DuckDBPyConnection, model: str, name: str, sql: str) -> None:
    """Add a validator rule to a model: a SQL boolean expression over one record's columns.

    Generated records that make the predicate FALSE are rejected and sampled again; NULL
    passes (CHECK semantics). ``synthetic_violations`` and ``validate`` check any table
    against it.

    Args:
        con: DuckDB connection holding the model.
        model: model name.
        name: rule name, unique per model.
        sql: the predicate, e.g. ``"age BETWEEN 18 AND 120"``.

    Raises:
        ModelNotFound: no such model.
        InvalidRule: the name is taken, or the predicate is not one valid per-record boolean
            expression over the model's columns (DuckDB's message says why).
    """
    columns = model_columns(con, model, trained=False)
    if not isinstance(name, str) or not name.strip():
        raise InvalidArgument(f"rule name must be a non-empty string, got {name!r}")
    ensure_captured(con, model)
    if any(n == name for n, *_ in _stored_rules(con, model)):
        raise InvalidRule(f"model {model!r} already has a rule named {name!r}")
    compile_predicate(con, sql, columns, f"rule {name!r} of model {model!r}")
    with atomic(con):
        ensure_schema(con)
        con.execute("INSERT INTO duck_synth.rules (model, rule, predicate, origin) VALUES (?, ?, ?, 'user')",
                    [model, name, sql])


# --- rules captured from the source -----------------------------------------------------------

def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _constraint_rules(con: duckdb.DuckDBPyConnection, relation: Relation) -> list[tuple[str, str, str]]:
    rows = con.execute(load_sql("source_constraints.sql"),
                       {"database": relation.database, "schema": relation.schema, "table": relation.name}).fetchall()
    out = []
    for kind, expression, column_names, constraint_name in rows:
        if kind == "NOT NULL":
            column = column_names[0]
            out.append((constraint_name or f"not_null_{column}", f"{quote(column)} IS NOT NULL", "constraint"))
        elif expression:
            out.append((constraint_name or f"check_{len(out)}", expression, "constraint"))
    return out


def _domain_predicate(column: str, values: list[str]) -> str:
    return f"{quote(column)} IN ({', '.join(map(_literal, values))})"


def _range_predicate(column: str, dtype: str, lo: str, hi: str) -> str:
    return f"{quote(column)} BETWEEN CAST({_literal(lo)} AS {dtype}) AND CAST({_literal(hi)} AS {dtype})"


def _profile_rules(con: duckdb.DuckDBPyConnection, model: str) -> list[tuple[str, str, str]]:
    out = []
    for name, dtype, encoder, lo, hi, categories in con.execute(load_sql("profile_domains.sql"), {"model": model}).fetchall():
        if dtype.startswith("ENUM"):
            continue
        if encoder == "categorical":
            if categories:
                out.append((f"domain_{name}", _domain_predicate(name, categories), "profile"))
        else:
            out.append((f"range_{name}", _range_predicate(name, dtype, lo, hi), "profile"))
    return out


# --- captured rules evaluated in Arrow ---------------------------------------------------------
# Generation checks every block of candidates against the rules. Most rules are the captured
# domains, ranges and NOT NULLs in the exact text duck_synth writes; those are evaluated in Arrow
# on the typed block, which saves a query whose planning costs more than the check (about 0.5 ms
# per rule). A predicate is taken this way only when rendering what was parsed gives back its
# stored text, so an edited rule, or any other, is evaluated by DuckDB.

_IDENT = r'"(?:[^"]|"")+"'
_RANGE = re.compile(rf"({_IDENT}) BETWEEN CAST\('([^']*)' AS ([A-Z]+)\) AND CAST\('([^']*)' AS \3\)")
_DOMAIN = re.compile(rf"({_IDENT}) IN \((.*)\)", re.S)
_NOT_NULL = re.compile(rf"({_IDENT}) IS NOT NULL")
_STRING = re.compile(r"'((?:[^']|'')*)'")
_RANGE_TYPES = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER", "DOUBLE"}

_NUMPY_COMPARED = {pa.float64(), pa.int64(), pa.int32()}
"""Types whose NULL-free ranges are checked in numpy (a third of the time of Arrow's kernels)."""

ArrowCheck = Callable[[pa.Table], np.ndarray]
"""A typed block -> bool per record, True where the record fails the rule."""


def _unquote(identifier: str) -> str:
    return identifier[1:-1].replace('""', '"')


def _bound(text: str, dtype: str) -> int | float | None:
    """The value of ``CAST('text' AS dtype)`` when Python reads it the same way, else None."""
    try:
        if dtype == "DOUBLE":
            value = float(text)
            return None if math.isnan(value) else value
        value = int(text)
        return value if str(value) == text else None
    except ValueError:
        return None


@functools.lru_cache(maxsize=4096)
def _arrow_check_for(predicate: str, columns: tuple[tuple[str, str], ...]) -> ArrowCheck | None:
    """``arrow_check``, parsed once per rule text and columns (the SQL functions ask per block)."""
    return arrow_check(predicate, dict(columns))


def arrow_check(predicate: str, columns: dict[str, str]) -> ArrowCheck | None:
    """An Arrow evaluation of ``predicate`` (``columns``: name -> DuckDB type) with DuckDB's
    result, CHECK semantics included (NULL passes); None unless it is a captured rule's exact text."""
    if m := _NOT_NULL.fullmatch(predicate):
        column = _unquote(m.group(1))
        if column in columns and predicate == f"{quote(column)} IS NOT NULL":
            return lambda t: t.column(column).is_null().to_numpy(zero_copy_only=False)
    elif m := _RANGE.fullmatch(predicate):
        column, lo_text, dtype, hi_text = _unquote(m.group(1)), m.group(2), m.group(3), m.group(4)
        lo, hi = _bound(lo_text, dtype), _bound(hi_text, dtype)
        if (columns.get(column) == dtype and dtype in _RANGE_TYPES and lo is not None and hi is not None
                and predicate == _range_predicate(column, dtype, lo_text, hi_text)):
            def out_of_range(t: pa.Table) -> np.ndarray:
                values = t.column(column)
                if values.null_count == 0 and values.num_chunks == 1 and values.type in _NUMPY_COMPARED:
                    x = values.chunk(0).to_numpy()  # no copy; NaN fails as it does in Arrow and in DuckDB
                    return ~((x >= lo) & (x <= hi))
                inside = pc.and_kleene(pc.greater_equal(values, lo), pc.less_equal(values, hi))
                return pc.fill_null(pc.invert(inside), False).to_numpy(zero_copy_only=False)
            return out_of_range
    elif m := _DOMAIN.fullmatch(predicate):
        column = _unquote(m.group(1))
        allowed = [v.replace("''", "'") for v in _STRING.findall(m.group(2))]
        if columns.get(column) == "VARCHAR" and allowed and predicate == _domain_predicate(column, allowed):
            value_set = pa.array(allowed, pa.string())

            def outside(t: pa.Table) -> np.ndarray:
                values = t.column(column)
                return pc.and_(pc.invert(pc.is_in(values, value_set=value_set)), pc.is_valid(values)).to_numpy(
                    zero_copy_only=False)
            return outside
    return None


def derive_source_rules(
    con: duckdb.DuckDBPyConnection, model: str, columns: list[tuple[str, str]], relation: Relation | None = None
) -> list[tuple[str, str, str]]:
    """Rules (name, predicate, origin) from the source's CHECK / NOT NULL constraints and the profile.

    A source that no longer exists contributes no constraints; rules that do not compile
    against the model's columns are skipped with a warning.
    """
    if relation is None:
        source = fetch_one(con, "SELECT source_table FROM duck_synth.models WHERE model = ?", [model])
        try:
            relation = resolve_relation(con, source[0]) if source else None
        except (TableNotFound, InvalidArgument):
            relation = None
    derived = (_constraint_rules(con, relation) if relation is not None and relation.kind == "table" else [])
    derived += _profile_rules(con, model)
    out, seen = [], set()
    compiled = compile_predicates(con, [(p, f"rule {n!r} of model {model!r}") for n, p, _ in derived], columns)
    for (name, predicate, origin), result in zip(derived, compiled):
        if name in seen:
            continue
        if isinstance(result, InvalidRule):
            log.warning("skipping captured rule: %s", result)
            continue
        seen.add(name)
        out.append((name, predicate, origin))
    return out


def capture_source_rules(con: duckdb.DuckDBPyConnection, model: str, relation: Relation | None = None) -> list[str]:
    """(Re)write the model's captured rules: source CHECK / NOT NULL constraints and profile domains.

    Call it when training finishes, inside the training transaction. User rules are kept;
    a captured rule never replaces a user rule of the same name.

    Args:
        con: DuckDB connection.
        model: a profiled model.
        relation: the source table (default: resolve duck_synth.models.source_table).

    Returns:
        The names of the captured rules.
    """
    columns = model_columns(con, model, trained=False)
    ensure_schema(con)
    con.execute("DELETE FROM duck_synth.rules WHERE model = ? AND origin IN ('constraint', 'profile')", [model])
    users = {n for n, *_ in _stored_rules(con, model)}
    rows = [r for r in derive_source_rules(con, model, columns, relation) if r[0] not in users]
    if rows:
        values = ", ".join("(?, ?, ?, ?)" for _ in rows)
        con.execute(f"INSERT INTO duck_synth.rules (model, rule, predicate, origin) VALUES {values}",
                    [v for name, predicate, origin in rows for v in (model, name, predicate, origin)])
    return [r[0] for r in rows]


def is_read_only(con: duckdb.DuckDBPyConnection, state: CatalogState | None = None) -> bool:
    return (state or catalog_state(con)).read_only


def ensure_captured(con: duckdb.DuckDBPyConnection, model: str, state: CatalogState | None = None) -> StoredRules | None:
    """Capture the source rules of a model that has none stored yet, when the database is writable.

    Models trained before capture ran at training get their rules on first use. Disable a
    captured rule (``enabled = false``) rather than deleting it: a model with no captured
    rules at all is captured again.

    Returns:
        The model's stored rules when they were read and left as they are (``load_rules``
        takes them), else None.
    """
    try:
        if is_read_only(con, state):
            return None
        stored = _stored_rules(con, model, state)
        if any(o in CAPTURED for _, _, o, _ in stored):
            return stored
        status = fetch_one(con, "SELECT status FROM duck_synth.models WHERE model = ?", [model])
        if status and status[0] == "trained":
            with atomic(con):  # the old captured rules are deleted and the new ones inserted together
                capture_source_rules(con, model)
            return None
        return stored
    except duckdb.Error as exc:  # e.g. inside an aborted transaction: rules are then derived on the fly
        log.debug("could not capture rules of model %r: %s", model, exc)
        return None


# --- rejecting and resampling generated records ---------------------------------------------

@dataclass(frozen=True)
class Checked:
    """Candidate records typed like the source, and which rules each one fails."""

    table: pa.Table
    failed: np.ndarray  # (rows, rules) bool

    @property
    def valid(self) -> np.ndarray:
        return ~self.failed.any(axis=1)


def _run_rules(cur: duckdb.DuckDBPyConnection, rules: RuleSet, sql: str) -> pa.Table:
    try:
        return cur.sql(sql).to_arrow_table()
    except duckdb.Error as exc:
        raise InvalidRule(f"the rules of model {rules.model!r} cannot be evaluated on generated records: "
                          f"{_first_line(exc)}") from exc


def check_records(cur: duckdb.DuckDBPyConnection, rules: RuleSet, records_sql: str, width: int) -> Checked:
    """Run ``records_sql`` (typed records, ``width`` columns) and evaluate every rule on each record."""
    if not rules.rules:
        table = cur.sql(records_sql).to_arrow_table()
        return Checked(table, np.zeros((table.num_rows, 0), dtype=bool))
    sql = load_sql("check_records.sql").format(records=records_sql, flags=", ".join(rules.flags_sql()))
    out = _run_rules(cur, rules, sql)
    flags = [out.column(width + i).to_numpy(zero_copy_only=False) for i in range(len(rules.rules))]
    return Checked(out.select(list(range(width))), np.column_stack(flags).astype(bool))


def check_typed(cur: duckdb.DuckDBPyConnection, rules: RuleSet, checks: list[ArrowCheck | None],
                table: pa.Table) -> Checked:
    """Every rule on records already typed like the source (``table``): in Arrow where ``checks``
    has an evaluation, in one DuckDB query over the block for the rest."""
    failed = np.zeros((table.num_rows, len(rules.rules)), dtype=bool)
    in_sql = []
    for i, check in enumerate(checks):
        if check is None:
            in_sql.append(i)
        else:
            failed[:, i] = check(table)
    if in_sql:
        view = f"duck_synth_typed_{uuid.uuid4().hex}"
        with registered(cur, view, table):
            out = _run_rules(cur, rules, f"SELECT {', '.join(rules.flags_sql(only=in_sql))} FROM {quote(view)}")
        for k, i in enumerate(in_sql):
            failed[:, i] = out.column(k).to_numpy(zero_copy_only=False).astype(bool)
    return Checked(table, failed)


def default_max_invalid(n: int) -> int:
    """Invalid records a generation of ``n`` may reject before giving up, unless told otherwise."""
    return max(1000, n)


@dataclass
class InvalidBudget:
    """How many generated records may fail the rules before generation gives up."""

    model: str
    limit: int
    rules: list[str]
    spent: int = 0
    by_rule: Counter = field(default_factory=Counter)

    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def charge(self, checked: Checked) -> None:
        """Count a round's rejected records (blocks made on several threads charge one budget)."""
        rejected, counts = int((~checked.valid).sum()), checked.failed.sum(axis=0).tolist()
        with self._lock:
            self.spent += rejected
            for name, count in zip(self.rules, counts):
                self.by_rule[name] += int(count)

    def check(self) -> None:
        """Raise TooManyInvalid, naming the rules that failed most, once the budget is spent."""
        if self.spent <= self.limit:
            return
        worst = ", ".join(f"{name!r} ({count} records)" for name, count in self.by_rule.most_common(3) if count)
        raise TooManyInvalid(
            f"model {self.model!r}: {self.spent} generated records failed its rules, more than"
            f" max_invalid={self.limit}; rules that failed most: {worst}"
        )


def check_max_invalid(value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise InvalidArgument(f"max_invalid must be a non-negative integer, got {value!r}")
    return int(value)


Candidates = Callable[[int, int, "pl.DataFrame | None"], Checked]
"""(rows, seed, seed values or None) -> checked candidate records."""


def _round_seed(block_seed: int, attempt: int) -> int:
    from .sampling import derive_seed

    return derive_seed(block_seed, attempt)


def first_round_seed(block_seed: int) -> int:
    """The seed ``fill_block`` gives its first round of candidates."""
    return _round_seed(block_seed, 0)


def fill_block(
    rows: int, block_seed: int, seeds: pl.DataFrame | None, candidates: Candidates, budget: InvalidBudget, cap: int
) -> pa.Table:
    """``rows`` valid records: sample, reject what fails a rule, sample the missing ones again.

    Deterministic given its arguments (each round's seed derives from ``block_seed``), so a
    block can be regenerated alone. With ``seeds`` every output row keeps its seed row's
    values: a rejected record is replaced by one sampled for the same seed row.

    Raises:
        TooManyInvalid: the budget is spent while records are still missing.
    """
    first = candidates(rows, first_round_seed(block_seed), seeds)
    valid = first.valid
    if valid.all():
        return first.table
    budget.charge(first)
    pieces, offset = [first.table], rows
    out = np.arange(rows)
    missing = np.flatnonzero(~valid)
    accepted, tried, attempt = int(valid.sum()), rows, 1
    while missing.size:
        try:
            budget.check()
        except TooManyInvalid as exc:
            exc.partial = pa.concat_tables(pieces).take(pa.array(np.delete(out, missing)))
            raise
        # sample about 1.25 / acceptance candidates per missing record
        repeat = int(min(MAX_REPEAT, np.ceil(1.25 * tried / max(accepted, 1))))
        if seeds is None:
            batch = candidates(min(missing.size * repeat, cap), _round_seed(block_seed, attempt), None)
            take = np.flatnonzero(batch.valid)[: missing.size]
            out[missing[: take.size]] = offset + take
            missing = missing[take.size:]
        else:
            repeat = max(1, min(repeat, cap // missing.size))
            owners = np.repeat(missing, repeat)
            batch = candidates(owners.size, _round_seed(block_seed, attempt),
                               seeds.select(pl.all().gather(owners)))
            ok = batch.valid.reshape(missing.size, repeat)
            found = ok.any(axis=1)
            out[missing[found]] = offset + np.flatnonzero(found) * repeat + ok.argmax(axis=1)[found]
            missing = missing[~found]
        budget.charge(batch)
        pieces.append(batch.table)
        offset += batch.table.num_rows
        accepted += int(batch.valid.sum())
        tried += batch.table.num_rows
        attempt += 1
    return pa.concat_tables(pieces).take(pa.array(out))


# --- checking any table against a model -----------------------------------------------------

@dataclass(frozen=True)
class ValidationSummary:
    """A table checked against a model's schema and rules."""

    model: str
    table: str
    total_rows: int
    failed_rows: int  # rows failing at least one rule
    by_rule: dict[str, int]  # rule name -> failing rows (rules with 0 included)
    schema_problems: list[str]

    @property
    def ok(self) -> bool:
        """No failed rows and no schema problems."""
        return self.failed_rows == 0 and not self.schema_problems


def schema_problems(expected: list[tuple[str, str]], actual: list[tuple[str, str]]) -> list[str]:
    """Missing and extra columns, and type mismatches, of ``actual`` against the model's columns."""
    have, want = dict(actual), dict(expected)
    problems = [f"missing column {name!r}" for name, _ in expected if name not in have]
    problems += [f"extra column {name!r}" for name, _ in actual if name not in want]
    problems += [f"column {name!r} is {have[name]}, model has {dtype}"
                 for name, dtype in expected if name in have and have[name] != dtype]
    return problems


def _checkable(con, rules: RuleSet, relation_sql: str) -> tuple[RuleSet, list[str]]:
    """The rules that bind against the table, and a problem line for each that does not."""
    keep, problems = [], []
    for rule in rules.rules:
        try:
            con.execute(f"DESCRIBE SELECT ({rule.expression}) FROM {relation_sql} AS duck_synth_record").fetchall()
            keep.append(rule)
        except duckdb.Error as exc:
            problems.append(f"rule {rule.name!r} cannot be checked: {_first_line(exc)}")
    return RuleSet(rules.model, tuple(keep)), problems


@interruptible
def validate(con: duckdb.DuckDBPyConnection, model: str, table: str) -> ValidationSummary:
    """Check a table against a model: its columns and types, and every enabled rule.

    Args:
        con: DuckDB connection holding the model.
        model: model name.
        table: any table or view (synthetic output, real data, a hand-made table).

    Raises:
        ModelNotFound: no such model.
        TableNotFound: no such table.
        InvalidRule: a stored rule is not a valid predicate.
    """
    columns = model_columns(con, model, trained=False)
    relation = resolve_relation(con, table)
    ensure_captured(con, model)
    rules = load_rules(con, model, columns)
    actual = [(r[0], r[1]) for r in con.execute(f"DESCRIBE SELECT * FROM {relation.sql}").fetchall()]
    problems = schema_problems(columns, actual)
    checkable, unbound = _checkable(con, rules, relation.sql)
    problems += unbound
    flags = ["1 AS duck_synth_row"] + checkable.flags_sql("f")
    any_failed = " OR ".join(quote(f"f{i}") for i in range(len(checkable.rules))) or "false"
    per_rule = "".join(f", count(*) FILTER (WHERE {quote(f'f{i}')})" for i in range(len(checkable.rules)))
    row = fetch_one(con, load_sql("validate.sql").format(
        any_failed=any_failed, per_rule=per_rule, flags=", ".join(flags), relation=relation.sql))
    counts = dict(zip(checkable.names, row[2:]))
    by_rule = {name: int(counts.get(name, 0)) for name in rules.names}
    return ValidationSummary(model, table, int(row[0]), int(row[1]), by_rule, problems)


def violations_sql(con: duckdb.DuckDBPyConnection, model: str, table: str) -> str:
    """The query behind ``synthetic_violations(model, table)``: one row per (record, failed rule).

    ``table`` is resolved on ``con`` when it can be; otherwise (a TEMP table of another
    connection, say) it is quoted as given and the calling connection resolves it.
    """
    columns = model_columns(con, model, trained=False)
    rules = load_rules(con, model, columns)
    try:
        relation = resolve_relation(con, table).sql
        checkable, problems = _checkable(con, rules, relation)
        if problems:
            raise InvalidRule(f"table {table!r} cannot be checked against model {model!r}: " + "; ".join(problems))
    except TableNotFound:
        relation = target_name(table)
    flags = rules.flags_sql("f") or ["false AS f_none"]
    failures = ", ".join(f"({_literal(r.name)}, {quote(f'f{i}')})" for i, r in enumerate(rules.rules))
    return load_sql("violations.sql").format(
        flags=", ".join(flags), relation=relation, failures=failures or "(CAST(NULL AS VARCHAR), false)")


# --- seeds ----------------------------------------------------------------------------------

def check_seeds(
    con: duckdb.DuckDBPyConnection, model: str, modelled: list[tuple[str, str]], seeds: str | pl.DataFrame | pa.Table
) -> None:
    """Refuse seed columns the model does not generate and values that do not fit their types.

    Args:
        model: model name (for messages).
        modelled: the model's generated columns (name, DuckDB type) in order.
        seeds: a table/view name, or a frame / Arrow table.

    Raises:
        InvalidArgument: naming the unknown columns, or a column whose values cannot be cast.
        TableNotFound: no such seed table.
    """
    cur = con.cursor()
    try:
        if isinstance(seeds, str):
            source = resolve_relation(cur, seeds).sql
        else:
            cur.register("duck_synth_seed_check", seeds.to_arrow() if isinstance(seeds, pl.DataFrame) else seeds)
            source = "duck_synth_seed_check"
        _check_seed_relation(cur, model, modelled, source)
    finally:
        cur.close()


def _nested(duckdb_type: str) -> bool:
    return duckdb_type.endswith("]") or duckdb_type.startswith(("STRUCT", "MAP", "UNION"))


def _check_seed_relation(cur, model: str, modelled: list[tuple[str, str]], source: str) -> None:
    described = cur.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()
    names, types = [r[0] for r in described], {r[0]: r[1] for r in described}
    want = dict(modelled)
    unknown = [c for c in names if c not in want]
    if unknown or not names:
        raise InvalidArgument(
            f"seed columns {', '.join(map(repr, unknown))} are not columns of model {model!r}; "
            f"its columns are {', '.join(repr(c) for c, _ in modelled)}" if unknown else "seeds have no columns"
        )
    for name in names:
        if types[name] == want[name]:
            continue
        if _nested(types[name]) != _nested(want[name]):
            raise InvalidArgument(f"seed column {name!r} is {types[name]}, model has {want[name]}")
        q = quote(name)
        try:
            row = fetch_one(cur, f"SELECT count(*), any_value(CAST({q} AS VARCHAR)) FROM {source}"
                                 f" WHERE {q} IS NOT NULL AND TRY_CAST({q} AS {want[name]}) IS NULL")
        except duckdb.Error as exc:
            raise InvalidArgument(f"seed column {name!r} is {types[name]}, model has {want[name]}") from exc
        if row[0]:
            raise InvalidArgument(
                f"seed column {name!r} is {types[name]}, model has {want[name]}: {row[0]} values cannot be cast,"
                f" e.g. {row[1]!r}"
            )
