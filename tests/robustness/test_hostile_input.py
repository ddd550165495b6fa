"""Random schemas, values and names (hypothesis): train and generate the right types, or one
DuckSynthError naming the table or column; never a traceback, never a wrong type."""

from __future__ import annotations

import datetime as dt
import warnings

from hypothesis import given
from hypothesis import strategies as st

import duck_synth as ds
from duck_synth.catalog import quote

from .conftest import catalog_problems

I64 = 2**63
UTC = dt.timezone.utc
VALUES = {
    "BOOLEAN": st.booleans(),
    "TINYINT": st.integers(-128, 127),
    "SMALLINT": st.integers(-(2**15), 2**15 - 1),
    "INTEGER": st.integers(-(2**31), 2**31 - 1),
    "BIGINT": st.integers(-I64, I64 - 1),
    "HUGEINT": st.integers(-(2**127), 2**127 - 1),
    "UTINYINT": st.integers(0, 255),
    "UBIGINT": st.integers(0, 2**64 - 1),
    "FLOAT": st.floats(width=32),
    "DOUBLE": st.floats(allow_subnormal=True),
    "DECIMAL(18,3)": st.decimals(-(10**14), 10**14, places=3, allow_nan=False, allow_infinity=False),
    "VARCHAR": st.text(max_size=40),
    "DATE": st.dates(dt.date(1, 1, 1), dt.date(9999, 12, 31)),
    "TIME": st.times(),
    "TIMESTAMP": st.datetimes(dt.datetime(1, 1, 2), dt.datetime(9999, 12, 30)),
    "TIMESTAMPTZ": st.datetimes(dt.datetime(1, 1, 2), dt.datetime(9999, 12, 30), timezones=st.just(UTC)),
    "INTERVAL": st.timedeltas(dt.timedelta(days=-10**5), dt.timedelta(days=10**5)),
    "UUID": st.uuids(),
    "ENUM('red', 'green', 'blue')": st.sampled_from(["red", "green", "blue"]),
    "BLOB": st.binary(max_size=16),
    "INTEGER[]": st.lists(st.integers(-5, 5), max_size=3),
    "STRUCT(a INTEGER, b VARCHAR)": st.fixed_dictionaries({"a": st.integers(-5, 5), "b": st.text(max_size=5)}),
}
NAMES = ["a", 'say "hi"', "it's", "dot.ted", "with space", "select", "from", "ünïcödé", "🦆", "", "x" * 100,
         "'; DROP TABLE victim; --", "duck_synth.h", "rowid"]


@st.composite
def tables(draw):
    types = draw(st.lists(st.sampled_from(list(VALUES)), min_size=1, max_size=6))
    names = [f"{draw(st.sampled_from(NAMES))}_{i}" for i in range(len(types))]  # DuckDB names are case-blind
    n_rows = draw(st.integers(1, 40))
    columns = []
    for t in types:
        null_share = draw(st.sampled_from([0.0, 0.0, 0.3, 1.0]))
        value = VALUES[t]
        if draw(st.booleans()):  # few distinct values: categorical or constant columns
            value = st.sampled_from(draw(st.lists(value, min_size=1, max_size=3)))
        cells = draw(st.lists(st.one_of(st.none(), value) if null_share == 0.3 else
                              (st.none() if null_share == 1.0 else value), min_size=n_rows, max_size=n_rows))
        columns.append(cells)
    return names, types, [list(row) for row in zip(*columns)]


def _create(con, table: str, names, types, rows) -> None:
    con.execute(f"CREATE TABLE {quote(table)} ({', '.join(f'{quote(n)} {t}' for n, t in zip(names, types))})")
    con.executemany(f"INSERT INTO {quote(table)} VALUES ({', '.join('?' for _ in names)})", rows)


@given(tables())
def test_random_schemas_train_and_generate_the_right_types_or_fail_clearly(tmp_path_factory, counts, table):
    names, types, rows = table
    counts["schemas"] += 1
    con = ds.connect(str(tmp_path_factory.mktemp("hostile") / "h.duckdb"))
    try:
        con.execute("CREATE TABLE victim AS SELECT 1 AS x")
        _create(con, "src table", names, types, rows)
        source_types = con.execute('DESCRIBE "src table"').fetchall()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # unsupported columns are announced with a warning
                ds.train(con, "src table", model="m", epochs=1, seed=0, holdout=0)
                ds.generate(con, "m", n=25, seed=0, into="out")
        except ds.DuckSynthError as exc:
            assert any(n in str(exc) for n in ["src table", *names]), f"{exc} names no table or column"
            return
        except Exception:
            counts["tracebacks"] += 1
            raise
        # same names and exact types, 25 rows; unsupported columns come back NULL
        assert con.execute("DESCRIBE out").fetchall() == source_types
        assert con.execute("SELECT count(*) FROM out").fetchall() == [(25,)]
        unsupported = [n for n, enc in con.execute(
            "SELECT column_name, encoder FROM duck_synth.columns WHERE model = 'm'").fetchall() if enc == "unsupported"]
        for n in unsupported:
            assert con.execute(f"SELECT count({quote(n)}) FROM out").fetchall() == [(0,)]
        # and SQL generation agrees with Python
        assert con.execute("SELECT count(*) FROM (SELECT * FROM out EXCEPT ALL"
                           " SELECT * FROM generate_synthetic('m', 25, seed := 0))").fetchall() == [(0,)]
        assert con.execute("SELECT x FROM victim").fetchall() == [(1,)]
        assert catalog_problems(con) == []
    finally:
        con.close()
