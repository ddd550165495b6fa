"""duck_synth in SQL: ``register(con)`` puts every function on a DuckDB connection.

DuckDB 2.0 cannot register Python table functions (DESIGN.md §3), so each table function is
a TEMP table macro over vectorised Arrow UDFs:

``synth_<model>(n, seed := NULL, max_invalid := NULL)``
    Typed per model: ``SELECT s.* FROM (SELECT sample(i, ...) AS s FROM range(n) t(i))``
    where the UDF returns, for each row index ``i``, row ``i`` of the generation
    ``(model, n, seed)`` as a STRUCT of the source's columns and types. Rows come in blocks
    of ``CHUNK_ROWS``, each derived from ``(seed, block)`` alone (``api.typed_chunks``), so
    whichever 2048-row vector DuckDB hands over is answered from one cached block, in any
    order, and SQL returns exactly the rows ``ds.generate`` returns. ``n`` may be a subquery
    or a LATERAL reference.
``generate_synthetic(model, n, ...)``, ``generate_synthetic_seeded(model, seed_table, ...)``, ``synthetic_violations(model, table)``
    Generic over models, so their column types depend on an argument: they run
    ``query(<sql>)`` with the SQL text built at bind time by a Python UDF (constant
    arguments are folded), which is also where bad arguments are refused with the library's
    messages. Seeded generation aggregates the seed rows into one list, so its rows equal
    ``ds.generate(seeds=...)``'s.

A UDF lives in the database instance's catalog, but its Python code belongs to the
connection that registered it (closing that connection frees the code) and a name cannot be
registered twice in one instance. So every registration uses its own name prefix, and only
the TEMP macros of the same connection refer to those names. A cursor is a connection of its
own: register it too (the dbt plugin does, for every cursor). A UDF must not query the
connection that calls it, so each registration keeps a private cursor for reading models and
rules and for typing generated records.
"""

from __future__ import annotations

import atexit
import logging
import threading
import uuid
import weakref
from collections import OrderedDict
from dataclasses import dataclass

import duckdb
import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
from duckdb.sqltypes import BIGINT, VARCHAR

from . import api
from .artifacts import TrainedModel, load_model, trained_models
from .catalog import fetch_one, has_schema, quote, resolve_relation, target_name
from .errors import DuckSynthError, InvalidArgument, TableNotFound, interruptible
from .rules import (
    InvalidBudget, RuleSet, check_max_invalid, check_seeds, default_max_invalid, ensure_captured, load_rules,
    model_columns, violations_sql,
)
from .sampling import CHUNK_ROWS
from .training import resolve_device

log = logging.getLogger(__name__)

_NONCE = "CAST(floor(random() * 9007199254740992) AS BIGINT)"
"""A fresh random number per query (per outer row under LATERAL): the seed when none is given."""

_N_CHECK = ("CASE WHEN {n} IS NULL OR {n} < 1 OR {n} <> floor({n}) THEN error('n must be a positive integer, got '"
            " || coalesce(CAST({n} AS VARCHAR), 'NULL')) ELSE CAST({n} AS BIGINT) END")

_NO_LIMIT = -(2**63)
_CACHED_BLOCKS = 16
"""Generated blocks kept per registration (more than are made at once: api.blocks_made_together)."""
_CACHED_QUERIES = 64


def _sample_query(function: str, n: str, seed: str, max_invalid: str) -> str:
    """``SELECT s.* ...`` over the per-model sampling UDF; arguments are SQL expressions.

    ``p`` comes first so that under LATERAL the nonce is drawn once per outer row (DuckDB
    would evaluate an uncorrelated ``random()`` subquery once per generated row there). The
    dependent join does not keep ``range``'s order, hence ORDER BY on the bare indexes, which
    DuckDB sorts before the UDF runs: ``LIMIT`` still generates only what it returns.
    """
    return (
        f"SELECT s.* FROM (SELECT {quote(function)}(q.i, q.duck_synth_n, {seed}, q.duck_synth_nonce, {max_invalid}) AS s"
        f" FROM (SELECT t.i, p.duck_synth_n, p.duck_synth_nonce"
        f" FROM (SELECT {_N_CHECK.format(n=n)} AS duck_synth_n, {_NONCE} AS duck_synth_nonce) AS p,"
        f" range(p.duck_synth_n) AS t(i) ORDER BY t.i) AS q)"
    )


def _stream_query(function: str, n: int, seed: str, max_invalid: str) -> str:
    """``_sample_query`` for an ``n`` known when the query is built (``generate_synthetic``):
    ``range`` over a constant keeps its order by itself, so no index is sorted and a billion
    rows stream (``LIMIT`` stops them); the nonce is one uncorrelated scalar subquery, drawn
    once per query."""
    return (
        f"SELECT s.* FROM (SELECT {quote(function)}(t.i, {n}, {seed}, (SELECT {_NONCE}), {max_invalid}) AS s"
        f" FROM range({n}) AS t(i))"
    )


def _seeded_query(function: str, relation: str, seed: str, max_invalid: str) -> str:
    return (
        f"SELECT s.* FROM (SELECT unnest({quote(function)}("
        f"(SELECT list(duck_synth_seed) FROM {relation} AS duck_synth_seed), {seed}, p.duck_synth_nonce, {max_invalid}))"
        f" AS s FROM (SELECT {_NONCE} AS duck_synth_nonce) AS p)"
    )


@dataclass
class _Model:
    """One registered model: its UDF names, and the loaded model once a query needs it."""

    name: str
    columns: list[tuple[str, str]]  # source columns, as the STRUCT the UDFs return
    sample_fn: str
    seeded_fn: str
    trained_at: object = None
    tm: TrainedModel | None = None


@dataclass
class _Generation:
    """State shared by every UDF call of one generation (one query, or one LATERAL row)."""

    tm: TrainedModel
    version: object
    rules: RuleSet
    budget: InvalidBudget


class _Registration:
    """The UDFs and macros that one ``register`` call put on one connection."""

    def __init__(self, con: duckdb.DuckDBPyConnection, token: str) -> None:
        self.token = token
        self.cursor = con.cursor()
        self.lock = threading.RLock()
        self.device = resolve_device("auto")
        self.models: dict[str, _Model] = {}
        self.functions: list[str] = []
        self.macros: list[str] = []
        self._blocks: OrderedDict[tuple, pa.StructArray] = OrderedDict()
        self._generations: OrderedDict[tuple, _Generation] = OrderedDict()

    # -- bind time: SQL text for the generic macros ------------------------------------------

    def build_sql(self, kind: str, model: object, arg: object, seed: object, max_invalid: object) -> str:
        with self.lock:
            if kind == "violations":
                return violations_sql(self.cursor, _name(model, "model"), _name(arg, "table"))
            entry = self._entry(model)
            seed_sql = "NULL" if seed is None else str(_integer(seed, "seed"))
            if max_invalid is not None and (not isinstance(max_invalid, int) or max_invalid < 0):
                raise InvalidArgument(f"max_invalid must be a non-negative integer, got {_shown(max_invalid)}")
            limit = max_invalid
            limit_sql = "NULL" if limit is None else str(limit)
            if kind == "generate":
                if isinstance(arg, bool) or not isinstance(arg, int) or arg < 1:
                    raise InvalidArgument(f"n must be a positive integer, got {_shown(arg)}")
                return _stream_query(entry.sample_fn, arg, seed_sql, limit_sql)
            return _seeded_query(entry.seeded_fn, self._relation(_name(arg, "seed_table")), seed_sql, limit_sql)

    def _entry(self, model: object) -> _Model:
        name = _name(model, "model")
        if name in self.models:
            return self.models[name]
        model_columns(self.cursor, name)  # raises ModelNotFound unless trained
        raise DuckSynthError(
            f"model {name!r} was trained after duck_synth.register() ran on this connection;"
            " run duck_synth.register(con) again to use it in SQL"
        )

    def _relation(self, name: str) -> str:
        try:
            return resolve_relation(self.cursor, name).sql
        except TableNotFound:  # e.g. a TEMP table of the calling connection: it resolves the name
            return target_name(name)

    # -- run time: one generation per (model, nonce, n, seed, max_invalid) --------------------

    def _generation(self, entry: _Model, key: tuple, n: int, max_invalid: int | None) -> _Generation:
        if key in self._generations:
            self._generations.move_to_end(key)
            return self._generations[key]
        row = fetch_one(self.cursor, "SELECT status, trained_at FROM duck_synth.models WHERE model = ?", [entry.name])
        if row is None or row[0] != "trained":
            model_columns(self.cursor, entry.name)  # raises ModelNotFound with the usual hint
        if entry.tm is None or entry.trained_at != row[1]:
            tm = load_model(self.cursor, entry.name, self.device)
            if tm.source_columns != entry.columns:
                raise DuckSynthError(
                    f"model {entry.name!r} was retrained with other columns after duck_synth.register() ran on this"
                    " connection; run duck_synth.register(con) again"
                )
            entry.tm, entry.trained_at = tm, row[1]
        rules = load_rules(self.cursor, entry.name, entry.columns)
        limit = default_max_invalid(n) if max_invalid is None else check_max_invalid(max_invalid)
        generation = _Generation(entry.tm, entry.trained_at, rules, InvalidBudget(entry.name, limit, rules.names))
        self._generations[key] = generation
        while len(self._generations) > _CACHED_QUERIES:
            self._generations.popitem(last=False)
        return generation

    def _block(self, entry: _Model, gen: _Generation, n: int, seed: int, block: int) -> pa.StructArray:
        def key(k: int) -> tuple:
            return entry.name, gen.version, gen.rules.fingerprint, n, seed, k

        if key(block) not in self._blocks:
            # the next blocks are made with this one (api.blocks_made_together: side by side, or a pair
            # in turn), as DuckDB asks for a generation's rows mostly in order
            blocks = -(-n // CHUNK_ROWS)
            together = api.blocks_made_together(api.block_workers(self.device, blocks - block))
            todo = [k for k in range(block, min(block + together, blocks)) if key(k) not in self._blocks]
            chunks = api.typed_chunks(self.cursor, gen.tm, n, seed, self.device, rules=gen.rules,
                                      budget=gen.budget, blocks=todo)
            for k, chunk in zip(todo, chunks):
                self._blocks[key(k)] = chunk.to_struct_array().combine_chunks()
            while len(self._blocks) > _CACHED_BLOCKS:
                self._blocks.popitem(last=False)
        self._blocks.move_to_end(key(block))
        return self._blocks[key(block)]

    def sample(self, entry: _Model, index, n, seed, nonce, max_invalid) -> pa.Array:
        """Rows ``index`` of the generations ``(n, seed or nonce, max_invalid)``, as STRUCTs."""
        with self.lock:
            idx = _ints(index)
            if idx.size == 0:
                return self._empty(entry)
            ns, nonces = _ints(n), _ints(nonce)
            seeds = _ints(pc.if_else(pc.is_null(seed), nonce, seed))
            # _NO_LIMIT stands for NULL (the default budget); a negative max_invalid is refused in _generation
            limits = _ints(pc.fill_null(max_invalid, _NO_LIMIT))
            keys = np.stack([ns, seeds, nonces, limits], axis=1)
            uniform = bool((keys == keys[0]).all())  # one generation: all but LATERAL calls
            pieces, order = [], []
            for key in [keys[0].tolist()] if uniform else np.unique(keys, axis=0).tolist():
                rows = np.arange(idx.size) if uniform else np.flatnonzero((keys == key).all(axis=1))
                n_, seed_, nonce_, limit = key
                limit = None if limit == _NO_LIMIT else limit
                gen = self._generation(entry, (entry.name, nonce_, n_, seed_, limit), n_, limit)
                blocks = idx[rows] // CHUNK_ROWS
                for block in np.unique(blocks):
                    mine = rows[blocks == block]
                    part = self._block(entry, gen, n_, seed_, int(block))
                    offsets = idx[mine] - block * CHUNK_ROWS
                    contiguous = offsets[-1] - offsets[0] == offsets.size - 1 and np.all(np.diff(offsets) == 1)
                    pieces.append(part.slice(int(offsets[0]), offsets.size) if contiguous else part.take(offsets))
                    order.append(mine)
            out = pieces[0] if len(pieces) == 1 else pa.concat_arrays(pieces)
            positions = np.concatenate(order)
            if np.any(positions != np.arange(positions.size)):
                out = out.take(np.argsort(positions))
            return out

    def seeded(self, entry: _Model, seed_lists, seed, nonce, max_invalid) -> pa.Array:
        """One list of generated STRUCTs per list of seed rows."""
        with self.lock:
            lists = seed_lists.combine_chunks() if isinstance(seed_lists, pa.ChunkedArray) else seed_lists
            seeds, nonces = _ints(pc.if_else(pc.is_null(seed), nonce, seed)), _ints(nonce)
            limits = max_invalid.to_pylist()
            outputs = []
            for i, value in enumerate(lists):
                rows = value.values if value.is_valid else None
                outputs.append(self._seeded_rows(entry, rows, int(seeds[i]), int(nonces[i]), limits[i]))
            offsets = np.concatenate([[0], np.cumsum([len(o) for o in outputs])]).astype(np.int32)
            values = pa.concat_arrays(outputs) if outputs else self._empty(entry)
            return pa.ListArray.from_arrays(pa.array(offsets), values)

    def _seeded_rows(self, entry: _Model, rows: pa.StructArray | None, seed: int, nonce: int, max_invalid) -> pa.Array:
        if rows is None or len(rows) == 0:
            return self._empty(entry)
        table = pa.Table.from_struct_array(rows)
        gen = self._generation(entry, (entry.name, nonce, len(rows), seed, max_invalid), len(rows), max_invalid)
        modelled = [(c, t) for c, t in gen.tm.source_columns if c in gen.tm.columns]
        check_seeds(self.cursor, entry.name, modelled, table)
        frame = api.read_seeds(self.cursor, gen.tm, pl.from_arrow(table))
        chunks = api.typed_chunks(self.cursor, gen.tm, frame.height, seed, self.device, frame,
                                  rules=gen.rules, budget=gen.budget)
        return pa.concat_tables(list(chunks)).to_struct_array().combine_chunks()

    def _empty(self, entry: _Model) -> pa.Array:
        columns = ", ".join(f"CAST(NULL AS {dtype}) AS {quote(name)}" for name, dtype in entry.columns)
        return self.cursor.sql(f"SELECT {columns} LIMIT 0").to_arrow_table().to_struct_array().combine_chunks()

    def close(self, con: duckdb.DuckDBPyConnection) -> None:
        """Remove this registration's UDFs from ``con`` (its TEMP macros are replaced or dropped)."""
        for name in self.functions:
            try:
                con.remove_function(name)
            except duckdb.Error as exc:
                log.debug("could not remove %s: %s", name, exc)
        try:
            self.cursor.close()
        except duckdb.Error:
            pass


def _name(value: object, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidArgument(f"{what} must be a non-empty string, got {_shown(value)}")
    return value


def _shown(value: object) -> str:
    """A SQL value as a user typed it: NULL, 'text', 2.5."""
    return "NULL" if value is None else repr(value) if isinstance(value, str) else str(value)


def _integer(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise InvalidArgument(f"{what} must be an integer, got {_shown(value)}")
    return int(value)


def _ints(values) -> np.ndarray:
    array = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    return array.to_numpy(zero_copy_only=False).astype(np.int64, copy=False)


_REGISTRATIONS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


@atexit.register
def _unregister_all() -> None:
    # UDFs still registered when the interpreter exits make duckdb's bindings report leaks on stderr
    for con, reg in list(_REGISTRATIONS.items()):
        reg.close(con)


def _trained(con: duckdb.DuckDBPyConnection) -> list[tuple[str, list[tuple[str, str]]]]:
    if not has_schema(con):
        return []
    out = []
    for name in trained_models(con):
        ensure_captured(con, name)
        out.append((name, model_columns(con, name)))
    return out


def _register_model(con, reg: _Registration, index: int, name: str, columns: list[tuple[str, str]]) -> None:
    struct = duckdb.struct_type({column: duckdb.sqltype(dtype) for column, dtype in columns})
    entry = _Model(name, columns, f"duck_synth_{reg.token}_sample_{index}", f"duck_synth_{reg.token}_seeded_{index}")

    def sample(i, n, seed, nonce, max_invalid):
        return reg.sample(entry, i, n, seed, nonce, max_invalid)

    def seeded(rows, seed, nonce, max_invalid):
        return reg.seeded(entry, rows, seed, nonce, max_invalid)

    con.create_function(entry.sample_fn, sample, [BIGINT] * 5, struct, type="arrow",
                        null_handling="special", side_effects=True)
    reg.functions.append(entry.sample_fn)
    # untyped parameters: the seed rows arrive as a LIST of whatever STRUCT the seed table has
    con.create_function(entry.seeded_fn, seeded, None, duckdb.list_type(struct), type="arrow",
                        null_handling="special", side_effects=True)
    reg.functions.append(entry.seeded_fn)
    macro = f"synth_{name}"
    con.execute(
        f"CREATE OR REPLACE TEMP MACRO {quote(macro)}(n, seed := NULL, max_invalid := NULL) AS TABLE "
        + _sample_query(entry.sample_fn, "n", "seed", "max_invalid")
    )
    reg.macros.append(macro)
    reg.models[name] = entry


def _register_generic(con, reg: _Registration) -> None:
    builder = f"duck_synth_{reg.token}_sql"

    def build(kind, model, arg, seed, max_invalid):
        rows = zip(*(a.to_pylist() for a in (kind, model, arg, seed, max_invalid)))
        return pa.array([reg.build_sql(*row) for row in rows], pa.string())

    con.create_function(builder, build, None, VARCHAR, type="arrow", null_handling="special")
    reg.functions.append(builder)
    call = f"{quote(builder)}({{kind}}, model, {{arg}}, {{seed}}, {{max_invalid}})"
    macros = {
        "generate_synthetic": ("(model, n, seed := NULL, max_invalid := NULL)",
                               call.format(kind="'generate'", arg="n", seed="seed", max_invalid="max_invalid")),
        "generate_synthetic_seeded": ("(model, seed_table, seed := NULL, max_invalid := NULL)",
                                      call.format(kind="'seeded'", arg="seed_table", seed="seed",
                                                  max_invalid="max_invalid")),
        "synthetic_violations": ("(model, table_name)",
                                 call.format(kind="'violations'", arg="table_name", seed="NULL", max_invalid="NULL")),
    }
    for macro, (params, sql) in macros.items():
        con.execute(f"CREATE OR REPLACE TEMP MACRO {macro}{params} AS TABLE FROM query({sql})")
        reg.macros.append(macro)


def refresh(con: duckdb.DuckDBPyConnection) -> None:
    """Register again where duck_synth's functions are registered, so SQL sees a model just
    trained, retrained or dropped through this connection (``train`` and ``drop_model`` call it)."""
    if con in _REGISTRATIONS:
        register(con)


@interruptible
def register(con: duckdb.DuckDBPyConnection) -> None:
    """Register duck_synth's SQL functions on a connection (or cursor) for every trained model.

    Registers ``generate_synthetic(model, n, seed := NULL, max_invalid := NULL)``,
    ``generate_synthetic_seeded(model, seed_table, seed := NULL, max_invalid := NULL)``,
    ``synthetic_violations(model, table_name)`` and, per model, ``synth_<model>(n, seed := NULL,
    max_invalid := NULL)``. ``ds.train`` and ``ds.drop_model`` register again by themselves on
    the connection they ran on; after training through another connection, run it again (it
    replaces the previous registration). Cursors are separate connections: register each.

    Args:
        con: a DuckDB connection or cursor (read-only works).
    """
    previous = _REGISTRATIONS.pop(con, None)
    reg = _Registration(con, uuid.uuid4().hex[:12])
    try:
        _register_generic(con, reg)
        for index, (name, columns) in enumerate(_trained(con)):
            try:
                _register_model(con, reg, index, name, columns)
            except (duckdb.Error, DuckSynthError) as exc:
                log.warning("model %r is not available in SQL: %s", name, exc)
    except BaseException:
        reg.close(con)
        raise
    if previous is not None:
        for macro in set(previous.macros) - set(reg.macros):
            con.execute(f"DROP MACRO TABLE IF EXISTS temp.main.{quote(macro)}")
        previous.close(con)
    _REGISTRATIONS[con] = reg
