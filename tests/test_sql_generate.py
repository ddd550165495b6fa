"""generate_synthetic() and synth_<model>() in SQL, against a real trained model in a DuckDB file."""

from __future__ import annotations

import shutil

import duckdb
import pytest

import duck_synth as ds
from tests.conftest import load_frame
from tests.test_rules import pristine_copy

SOURCE_TYPES = [
    ("carat", "DOUBLE"), ("cut", "VARCHAR"), ("color", "VARCHAR"), ("clarity", "VARCHAR"), ("depth", "DOUBLE"),
    ("table", "DOUBLE"), ("price", "BIGINT"), ("x", "DOUBLE"), ("y", "DOUBLE"), ("z", "DOUBLE"),
]


@pytest.fixture(scope="module")
def path(trained_db, tmp_path_factory):
    """A private copy of the trained diamonds database (these tests add tables and rules)."""
    return pristine_copy(trained_db, tmp_path_factory.mktemp("sql") / "diamonds.duckdb")


@pytest.fixture(scope="module")
def con(path):
    con = ds.connect(path)
    yield con
    con.close()


def _describe(con, sql: str) -> list[tuple[str, str]]:
    return [(r[0], r[1]) for r in con.execute(f"DESCRIBE {sql}").fetchall()]


def _error(con, sql: str) -> str:
    with pytest.raises(duckdb.Error) as info:
        con.execute(sql).fetchall()
    return str(info.value).splitlines()[0]  # DuckDB adds the query's LINE for bind errors


UDF = "Invalid Input Error: Python exception occurred while executing the UDF: "


def _copy_model(con, source: str, target: str) -> None:
    """Store the trained model ``source`` again under the name ``target`` (no training needed)."""
    for table in ("models", "columns", "batches", "artifacts"):
        columns = [r[0] for r in con.execute(f"DESCRIBE duck_synth.{table}").fetchall()]
        select = ", ".join("?" if c == "model" else f'"{c}"' for c in columns)
        con.execute(f"INSERT INTO duck_synth.{table} SELECT {select} FROM duck_synth.{table} WHERE model = ?",
                    [target, source])


def test_design_statements_run_verbatim(path, con):
    """DESIGN.md §2 'SQL' verbatim, on a database opened with ds.connect: a model 'customers', seeds 'vip_seeds'."""
    _copy_model(con, "diamonds", "customers")
    con.execute("CREATE TABLE vip_seeds AS SELECT * FROM (VALUES ('Ideal', 'E'), ('Fair', 'J')) v(cut, color)")
    opened = ds.connect(path)
    try:
        opened.execute(
            "CREATE TABLE customers_synth AS SELECT * FROM generate_synthetic('customers', 10000, seed := 42);")
        seeded = opened.execute("SELECT * FROM generate_synthetic_seeded('customers', 'vip_seeds', seed := 7);"
                                ).fetchall()
        counts = opened.execute(
            "SELECT rule, count(*) FROM synthetic_violations('customers', 'customers_synth') GROUP BY ALL;").fetchall()
        for table in ("models", "batches", "rules"):
            assert opened.execute(f"SELECT * FROM duck_synth.{table};").fetchall()
    finally:
        opened.close()
        ds.drop_model(con, "customers")
    assert con.execute("SELECT count(*) FROM customers_synth").fetchall() == [(10000,)]
    assert [(r[1], r[2]) for r in seeded] == [("Ideal", "E"), ("Fair", "J")]
    assert counts == []


def test_odd_model_names(con):
    _copy_model(con, "diamonds", 'my "odd" model')
    try:
        ds.register(con)
        assert len(con.execute("SELECT * FROM generate_synthetic('my \"odd\" model', 3, seed := 1)").fetchall()) == 3
        assert con.execute('SELECT * FROM "synth_my ""odd"" model"(3, seed := 1)').fetchall() == \
            con.execute("SELECT * FROM synth_diamonds(3, seed := 1)").fetchall()
    finally:
        ds.drop_model(con, 'my "odd" model')
        ds.register(con)


def test_columns_named_and_typed_as_source(con):
    assert _describe(con, "SELECT * FROM diamonds") == SOURCE_TYPES
    assert _describe(con, "SELECT * FROM generate_synthetic('diamonds', 10, seed := 1)") == SOURCE_TYPES
    assert _describe(con, "SELECT * FROM synth_diamonds(10)") == SOURCE_TYPES
    con.execute("CREATE TABLE typed_out AS SELECT * FROM generate_synthetic('diamonds', 100, seed := 1)")
    assert _describe(con, "SELECT * FROM typed_out") == SOURCE_TYPES


def test_types_round_trip_through_sql(con):
    con.execute("""
        CREATE TABLE typed AS SELECT
            CAST(i % 100 AS TINYINT) AS tiny, CAST(i * 1000 AS HUGEINT) AS huge, CAST(i / 7 AS DECIMAL(10, 3)) AS dec,
            CAST(['a', 'b', 'c'][i % 3 + 1] AS ENUM('a', 'b', 'c')) AS e, DATE '2020-01-01' + CAST(i AS INTEGER) AS day,
            TIMESTAMP '2020-01-01' + to_hours(i) AS ts, i % 2 = 0 AS flag, uuid() AS id, CAST(i % 5 AS FLOAT) AS f,
            [i] AS unsupported
        FROM range(200) AS r(i)""")
    with pytest.warns(UserWarning, match="skipping columns of unsupported types"):
        ds.train(con, "typed", epochs=1, seed=0)
    try:
        ds.register(con)
        source = _describe(con, "SELECT * FROM typed")
        assert _describe(con, "SELECT * FROM generate_synthetic('typed', 50, seed := 1)") == source
        con.execute("CREATE TABLE typed_synth AS SELECT * FROM synth_typed(300, seed := 1)")
        assert _describe(con, "SELECT * FROM typed_synth") == source
        assert con.execute("SELECT * FROM typed_synth").fetchall() == \
            con.execute("SELECT * FROM generate_synthetic('typed', 300, seed := 1)").fetchall()
        ds.generate(con, "typed", n=300, seed=1, into="typed_py")
        assert con.execute("SELECT * FROM typed_synth EXCEPT ALL SELECT * FROM typed_py").fetchall() == []
    finally:
        ds.drop_model(con, "typed")
        ds.register(con)


def test_same_seed_same_rows_and_equal_to_python(con):
    first = con.execute("SELECT * FROM generate_synthetic('diamonds', 3000, seed := 42)").fetchall()
    again = con.execute("SELECT * FROM generate_synthetic('diamonds', 3000, seed := 42)").fetchall()
    macro = con.execute("SELECT * FROM synth_diamonds(3000, seed := 42)").fetchall()
    python = ds.generate(con, "diamonds", n=3000, seed=42).rows()
    assert len(first) == 3000
    assert first == again == macro == python


def test_rows_beyond_one_block_match_python(con):
    n = 20_000  # two blocks of 16,384
    sql = con.execute(f"SELECT * FROM synth_diamonds({n}, seed := 5)").fetchall()
    assert sql == ds.generate(con, "diamonds", n=n, seed=5).rows()
    assert con.execute(f"SELECT * FROM synth_diamonds({n}, seed := 5) LIMIT 3").fetchall() == sql[:3]


def test_no_seed_differs_between_calls(con):
    a = con.execute("SELECT * FROM generate_synthetic('diamonds', 200)").fetchall()
    b = con.execute("SELECT * FROM generate_synthetic('diamonds', 200)").fetchall()
    c = con.execute("SELECT * FROM synth_diamonds(200)").fetchall()
    assert len(a) == len(b) == len(c) == 200
    assert a != b and a != c


def test_macro_takes_n_from_a_subquery_and_joins_lateral(con):
    assert con.execute("SELECT count(*) FROM synth_diamonds((SELECT 17))").fetchall() == [(17,)]
    rows = con.execute(
        "SELECT o.k, count(*), count(DISTINCT s.price) > 1 FROM (VALUES (2), (5)) AS o(k),"
        " LATERAL synth_diamonds(o.k, seed := o.k) AS s GROUP BY ALL ORDER BY 1").fetchall()
    assert rows == [(2, 2, True), (5, 5, True)]
    # a LATERAL generation equals the stand-alone one with the same n and seed
    lateral = con.execute(
        "SELECT s.* FROM (VALUES (5)) AS o(k), LATERAL synth_diamonds(o.k, seed := 9) AS s").fetchall()
    assert sorted(lateral) == sorted(con.execute("SELECT * FROM synth_diamonds(5, seed := 9)").fetchall())


@pytest.mark.parametrize(("sql", "message"), [
    ("SELECT * FROM generate_synthetic('nope', 10)",
     UDF + "ModelNotFound: model 'nope' does not exist; trained models: 'diamonds'"),
    ("SELECT * FROM generate_synthetic('diamonds', -1)", UDF + "InvalidArgument: n must be a positive integer, got -1"),
    ("SELECT * FROM generate_synthetic('diamonds', NULL)",
     UDF + "InvalidArgument: n must be a positive integer, got NULL"),
    ("SELECT * FROM generate_synthetic('diamonds', 0)", UDF + "InvalidArgument: n must be a positive integer, got 0"),
    ("SELECT * FROM generate_synthetic('diamonds', 10, max_invalid := -5)",
     UDF + "InvalidArgument: max_invalid must be a non-negative integer, got -5"),
    ("SELECT * FROM generate_synthetic(NULL, 10)", UDF + "InvalidArgument: model must be a non-empty string, got NULL"),
    ("SELECT * FROM synth_diamonds(-3)", "Invalid Input Error: n must be a positive integer, got -3"),
    ("SELECT * FROM synth_diamonds(NULL)", "Invalid Input Error: n must be a positive integer, got NULL"),
    ("SELECT * FROM synth_diamonds(2.5)", "Invalid Input Error: n must be a positive integer, got 2.5"),
])
def test_bad_arguments_are_clear_errors_and_write_nothing(con, sql, message):
    assert _error(con, sql) == message
    assert _error(con, f"CREATE TABLE bad_out AS {sql}") == message
    assert con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'bad_out'").fetchall() == [(0,)]


def test_cursors_and_read_only_connections(path, con):
    cur = con.cursor()
    with pytest.raises(duckdb.CatalogException):  # TEMP macros are per connection: a cursor needs register
        cur.execute("SELECT * FROM generate_synthetic('diamonds', 5, seed := 3)").fetchall()
    ds.register(cur)
    expected = con.execute("SELECT * FROM generate_synthetic('diamonds', 5, seed := 3)").fetchall()
    assert cur.execute("SELECT * FROM generate_synthetic('diamonds', 5, seed := 3)").fetchall() == expected
    cur.close()
    # the registering connection's functions survive its cursor being closed
    assert con.execute("SELECT * FROM synth_diamonds(5, seed := 3)").fetchall() == expected


def test_read_only_connection(con, tmp_path):
    expected = con.execute("SELECT * FROM synth_diamonds(50, seed := 8)").fetchall()
    con.execute("CHECKPOINT")
    copy = tmp_path / "read_only.duckdb"
    shutil.copy(con.execute("SELECT path FROM duckdb_databases() WHERE database_name = current_database()")
                .fetchall()[0][0], copy)
    ro = ds.connect(str(copy), read_only=True)
    try:
        assert ro.execute("SELECT * FROM generate_synthetic('diamonds', 50, seed := 8)").fetchall() == expected
    finally:
        ro.close()


def test_models_trained_here_are_in_sql_at_once_and_elsewhere_after_register(con, diamonds):
    load_frame(con, "small", diamonds.select("carat", "cut", "price").head(300))
    other = con.cursor()  # a connection of its own: its registration does not follow con's training
    ds.register(other)
    ds.train(con, "small", epochs=1, seed=0)
    assert _describe(con, "SELECT * FROM synth_small(5)") == [("carat", "DOUBLE"), ("cut", "VARCHAR"), ("price", "BIGINT")]
    assert con.execute("SELECT count(*) FROM generate_synthetic('small', 7, seed := 1)").fetchall() == [(7,)]
    message = _error(other, "SELECT * FROM generate_synthetic('small', 5)")
    assert message == UDF + ("DuckSynthError: model 'small' was trained after duck_synth.register() ran on this"
                             " connection; run duck_synth.register(con) again to use it in SQL")
    ds.register(other)
    assert other.execute("SELECT count(*) FROM generate_synthetic('small', 7, seed := 1)").fetchall() == [(7,)]
    other.close()
    before = _functions(con)
    ds.drop_model(con, "small")  # registers again: the dropped model's macro goes away
    after = _functions(con)
    assert len(before) == 5 and len(after) == 3 and not before & after  # SQL builder + sample/seeded per model
    assert _error(con, "SELECT * FROM synth_small(5)").startswith("Catalog Error: Table Function with name synth_small")


def _functions(con) -> set[str]:
    from duck_synth.sql_functions import _REGISTRATIONS

    mine = set(_REGISTRATIONS[con].functions)
    listed = {r[0] for r in con.execute("SELECT function_name FROM duckdb_functions()").fetchall()}
    assert mine <= listed
    return mine
