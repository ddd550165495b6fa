"""The duck_synth schema inside the user's database, and safe handling of SQL names.

Everything that touches metadata goes through here: quoting identifiers, resolving the
table a user named, loading the shipped ``.sql`` files, and all-or-nothing transactions.
"""

from __future__ import annotations

import contextlib
import importlib.resources
import logging
from collections.abc import Iterator
from dataclasses import dataclass, replace
from functools import cache

import duckdb

from .errors import DuckSynthError, InvalidArgument, TableNotFound, as_keyboard_interrupt, is_interrupt

log = logging.getLogger(__name__)

SCHEMA = "duck_synth"


@cache
def load_sql(name: str) -> str:
    """Return the text of a ``.sql`` file shipped in the package (``sql/`` in the repository)."""
    return importlib.resources.files("duck_synth.sql").joinpath(name).read_text(encoding="utf-8")


def fetch_one(con: duckdb.DuckDBPyConnection, sql: str, params: list | dict | None = None) -> tuple | None:
    """First row of a query, or None; drains the result (DuckDB 2.0 blocks a connection
    that still holds a partly fetched result, which ``fetchone`` would leave behind)."""
    rows = con.execute(sql, params).fetchall() if params is not None else con.execute(sql).fetchall()
    return rows[0] if rows else None


def quote(identifier: str) -> str:
    """Quote one SQL identifier so that any name (spaces, quotes, unicode, keywords) is safe."""
    if "\x00" in identifier:
        raise InvalidArgument(f"identifier {identifier!r} contains a NUL character")
    return '"' + identifier.replace('"', '""') + '"'


def split_name(name: str) -> list[str]:
    """Split ``schema.table`` on dots outside double quotes; unquote each part.

    A quoted part keeps its dots: ``"my.table"`` is the single part ``my.table``, and a
    doubled quote inside quotes stands for one quote character.
    """
    parts: list[str] = []
    buf: list[str] = []
    i, quoted = 0, False
    while i < len(name):
        ch = name[i]
        if ch == '"':
            if quoted and i + 1 < len(name) and name[i + 1] == '"':
                buf.append('"')
                i += 1
            else:
                quoted = not quoted
        elif ch == "." and not quoted:
            parts.append("".join(buf))
            buf = []
        else:
            buf.append(ch)
        i += 1
    if quoted:
        raise InvalidArgument(f"name {name!r} has an unbalanced double quote")
    parts.append("".join(buf))
    if not all(parts) or len(parts) > 3:
        raise InvalidArgument(f"{name!r} is not a valid table name")
    return parts


def qualified(parts: list[str] | tuple[str, ...]) -> str:
    """Quote and join the parts of a qualified name."""
    return ".".join(quote(p) for p in parts)


HOLDOUT_BUCKETS = 1_000_000
"""Rows are split by a hash of their contents into this many buckets (see ``Relation.split``)."""


@dataclass(frozen=True)
class Relation:
    """A table or view found in the database, whole or one side of its train/holdout split."""

    database: str
    schema: str
    name: str
    kind: str  # 'table' or 'view'
    holdout: float = 0.0  # share of rows on the holdout side
    part: str = "all"  # 'all', 'train' or 'holdout'

    @property
    def name_sql(self) -> str:
        """The fully qualified, quoted name of the whole table, safe to splice into SQL."""
        return qualified((self.database, self.schema, self.name))

    @property
    def sql(self) -> str:
        """The rows of this part: the quoted name, or a parenthesised query for one side of a split.

        A row's side is decided by a hash of its values and of its occurrence number among
        identical rows, so the split needs no stored row ids, survives any physical reordering,
        and sends duplicates to both sides at the natural rate. Rows come back in a fixed
        order (by that hash), so reading a side is deterministic. The row travels as one
        STRUCT while the hash and bucket are added beside it, so no source column name can
        clash with them.
        """
        if self.part == "all":
            return self.name_sql
        keep = f"< {self._cut}" if self.part == "holdout" else f">= {self._cut}"
        return f"(SELECT r.* FROM {self._bucketed} WHERE u {keep} ORDER BY u, h)"

    @property
    def _cut(self) -> int:
        return round(self.holdout * HOLDOUT_BUCKETS)

    @property
    def _bucketed(self) -> str:
        """Every row of the table as a STRUCT ``r`` with its hash ``h`` and split bucket ``u``."""
        return (f"(SELECT r, h, hash(h, row_number() OVER (PARTITION BY h)) % {HOLDOUT_BUCKETS} AS u"
                f" FROM (SELECT r, hash(r) AS h FROM (SELECT struct_pack(*COLUMNS(*)) AS r FROM {self.name_sql})))")

    def split_counts(self, con: duckdb.DuckDBPyConnection) -> tuple[int, int]:
        """(training rows, held-out rows) of this table's split, in one pass."""
        return fetch_one(con, f"SELECT count(*) FILTER (WHERE u >= {self._cut}), count(*) FILTER (WHERE u < {self._cut})"
                              f" FROM {self._bucketed}")

    def split(self, holdout: float, part: str) -> Relation:
        """This table's ``part`` ('train' or 'holdout') when ``holdout`` of its rows are held out."""
        return replace(self, holdout=holdout, part=part if holdout > 0 else "all")


def resolve_relation(con: duckdb.DuckDBPyConnection, name: str) -> Relation:
    """Find the table or view a user named.

    The exact string is tried first as a name in the current search path (so a table
    called ``my.table`` works unquoted), then as ``[database.][schema.]name``.

    Raises:
        TableNotFound: nothing of that name exists.
    """
    if not isinstance(name, str) or not name.strip():
        raise InvalidArgument(f"table name must be a non-empty string, got {name!r}")
    rows = con.execute(
        """
        SELECT database_name, schema_name, table_name, 'table' FROM duckdb_tables()
        UNION ALL
        SELECT database_name, schema_name, view_name, 'view' FROM duckdb_views() WHERE NOT internal
        """
    ).fetchall()
    current_db, current_schema = fetch_one(con, "SELECT current_database(), current_schema()")
    candidates = [Relation(*r) for r in rows]

    def pick(matches: list[Relation]) -> Relation | None:
        if not matches:
            return None
        # prefer the current database and schema, then temp objects, then anything
        def rank(r: Relation) -> tuple[int, int]:
            return (r.database != current_db and r.database != "temp", r.schema != current_schema)

        return sorted(matches, key=rank)[0]

    exact = pick([r for r in candidates if r.name == name])
    if exact:
        return exact
    try:
        parts = split_name(name)
    except InvalidArgument:
        parts = []
    found = None
    if len(parts) == 1:
        found = pick([r for r in candidates if r.name == parts[0]])
    elif len(parts) == 2:
        found = pick([r for r in candidates if (r.schema, r.name) == tuple(parts)]) or pick(
            [r for r in candidates if (r.database, r.name) == tuple(parts) and r.schema == "main"]
        )
    elif len(parts) == 3:
        found = pick([r for r in candidates if (r.database, r.schema, r.name) == tuple(parts)])
    if found is None:
        raise TableNotFound(f"table or view {name!r} does not exist")
    return found


def target_name(name: str) -> str:
    """Quote a user-given output table name (``table`` or ``schema.table``)."""
    if not isinstance(name, str) or not name.strip():
        raise InvalidArgument(f"output table name must be a non-empty string, got {name!r}")
    return qualified(split_name(name))


def table_exists(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    """Whether the output name (``table``, ``schema.table`` or ``db.schema.table``) is taken."""
    parts = split_name(name)
    db, schema = fetch_one(con, "SELECT current_database(), current_schema()")
    full = {1: [db, schema], 2: [db], 3: []}[len(parts)] + parts
    row = fetch_one(
        con,
        "SELECT count(*) FROM (SELECT database_name, schema_name, table_name FROM duckdb_tables()"
        " UNION ALL SELECT database_name, schema_name, view_name FROM duckdb_views())"
        " WHERE database_name = ? AND schema_name = ? AND table_name = ?",
        full,
    )
    return bool(row[0])


_ADDED_COLUMNS = {"models": [("holdout", "DOUBLE DEFAULT 0"), ("holdout_rows", "BIGINT DEFAULT 0"),
                              ("target", "VARCHAR")]}
"""Columns newer than the first release, added to the tables of databases made before them."""


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create the duck_synth schema and its tables if they do not exist yet (or add newer columns)."""
    con.execute(load_sql("schema.sql"))
    for table, columns in _ADDED_COLUMNS.items():
        have = {r[0] for r in con.execute(
            "SELECT column_name FROM duckdb_columns() WHERE database_name = current_database()"
            " AND schema_name = ? AND table_name = ?", [SCHEMA, table]).fetchall()}
        for name, definition in columns:
            if name not in have:
                con.execute(f"ALTER TABLE {SCHEMA}.{table} ADD COLUMN {name} {definition}")


@dataclass(frozen=True)
class CatalogState:
    """Which duck_synth tables the current database holds and whether it is read-only, asked in one
    query. ``has_schema``, ``rules.has_rules_table`` and ``rules.is_read_only`` answer from it;
    generation asks once and passes it to all three (each query scans DuckDB's catalog, about 1.5 ms)."""

    tables: frozenset[str]
    read_only: bool


def catalog_state(con: duckdb.DuckDBPyConnection) -> CatalogState:
    row = fetch_one(
        con,
        "SELECT (SELECT list(table_name) FROM duckdb_tables() WHERE schema_name = ?"
        " AND database_name = current_database()),"
        " (SELECT readonly FROM duckdb_databases() WHERE database_name = current_database())",
        [SCHEMA],
    )
    return CatalogState(frozenset(row[0] or ()), bool(row[1]))


def has_schema(con: duckdb.DuckDBPyConnection, state: CatalogState | None = None) -> bool:
    """True when this database already holds duck_synth metadata."""
    return "models" in (state or catalog_state(con)).tables


@contextlib.contextmanager
def registered(con: duckdb.DuckDBPyConnection, name: str, data: object) -> Iterator[None]:
    """``data`` (Arrow) visible to SQL as the view ``name`` for the block. When the block fails
    inside a transaction DuckDB has aborted (an interrupted INSERT), unregistering fails too;
    that second error is dropped so the block's own error reaches the caller."""
    con.register(name, data)
    try:
        yield
    except BaseException:
        with contextlib.suppress(duckdb.Error):
            con.unregister(name)
        raise
    con.unregister(name)


CLEANUP_TRIES = 10


def execute_through_interrupts(con: duckdb.DuckDBPyConnection, sql: str) -> BaseException | None:
    """Run a cleanup statement (a ROLLBACK, a setting put back) without raising. A second Ctrl-C
    can interrupt the statement itself, so it is tried again; any other error is returned."""
    for _ in range(CLEANUP_TRIES):
        try:
            con.execute(sql)
            return None
        except (duckdb.Error, RuntimeError, KeyboardInterrupt) as failed:
            if not is_interrupt(failed):
                return failed
    return None


def _rollback(con: duckdb.DuckDBPyConnection) -> None:
    """End the open transaction, if any, without raising; a ROLLBACK left open (and aborted) by a
    second Ctrl-C is tried again."""
    failed = execute_through_interrupts(con, "ROLLBACK")
    if failed is not None:  # e.g. no transaction is active: the commit had taken
        log.debug("rollback: %s", failed)


@contextlib.contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """All or nothing: commit when the block finishes, roll back on any exception."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield
    except BaseException as exc:
        _rollback(con)
        raise as_keyboard_interrupt(exc)  # noqa: B904 - a Ctrl-C in DuckDB's form keeps it as cause
    try:
        con.execute("COMMIT")
    except BaseException as exc:
        # A Ctrl-C during COMMIT (DuckDB raises RuntimeError("Query interrupted") there) may land
        # before or after the commit took; a rollback leaves the old state if it had not.
        _rollback(con)
        if isinstance(exc, duckdb.Error) and not is_interrupt(exc):
            raise DuckSynthError(f"could not commit to the database: {exc}") from exc
        raise as_keyboard_interrupt(exc)  # noqa: B904 - the cause is set


def in_transaction(con: duckdb.DuckDBPyConnection) -> bool:
    """True inside an open transaction: there two statements share one transaction id (in
    autocommit mode each statement is its own). Trying ``BEGIN`` instead would abort it."""
    query = "SELECT txid_current()"
    return fetch_one(con, query)[0] == fetch_one(con, query)[0]


@contextlib.contextmanager
def atomic(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """``transaction``, or nothing inside a transaction the caller already opened (whose
    commit or rollback then covers the block)."""
    if in_transaction(con):
        yield
        return
    with transaction(con):
        yield
