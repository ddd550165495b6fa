"""generate_synthetic_seeded(): conditional generation from a seed table, in SQL."""

from __future__ import annotations

import duckdb
import polars as pl
import pytest

import duck_synth as ds
from tests.test_rules import pristine_copy

UDF = "Invalid Input Error: Python exception occurred while executing the UDF: "


@pytest.fixture(scope="module")
def con(trained_db, tmp_path_factory):
    con = ds.connect(pristine_copy(trained_db, tmp_path_factory.mktemp("seeded") / "diamonds.duckdb"))
    yield con
    con.close()


def _frame(con, sql: str) -> pl.DataFrame:
    return pl.from_arrow(con.sql(sql).to_arrow_table())


def _tv(a: pl.Series, b: pl.Series) -> float:
    """Total variation distance between two empirical distributions."""
    pa_, pb = a.value_counts(normalize=True), b.value_counts(normalize=True)
    joined = pa_.join(pb, on=a.name, how="full", coalesce=True).fill_null(0)
    return 0.5 * float((joined["proportion"] - joined["proportion_right"]).abs().sum())


def test_conditional_distribution_follows_the_seed(con):
    """P(table | cut) of seeded output is close to the training data's, far closer than unconditional sampling.

    ``table`` (the top facet's width) depends strongly on the cut in diamonds, and the two sit in
    different batches, so this measures conditioning across batches, not seed values pasted in.
    The seed table is the training data's own cut column, so each cut is weighted by its share.
    """
    con.execute("CREATE OR REPLACE TABLE cut_seeds AS SELECT cut FROM diamonds")
    seeded = _frame(con, "SELECT * FROM generate_synthetic_seeded('diamonds', 'cut_seeds', seed := 1)")
    free = _frame(con, "SELECT * FROM generate_synthetic('diamonds', 3000, seed := 2)")
    real = _frame(con, "SELECT * FROM diamonds")
    assert seeded["cut"].to_list() == real["cut"].to_list()  # seed values kept, in order
    distances = {}
    for cut in real["cut"].unique().sort().to_list():
        want = real.filter(pl.col("cut") == cut)["table"].round(0)
        got = seeded.filter(pl.col("cut") == cut)["table"].round(0)
        distances[cut] = (want.len(), _tv(want, got), _tv(want, free["table"].round(0)))
    weight = sum(n for n, _, _ in distances.values())
    conditional = sum(n * c for n, c, _ in distances.values()) / weight
    unconditional = sum(n * u for n, _, u in distances.values()) / weight
    assert conditional < 0.6 * unconditional, distances
    # the largest group alone, where sampling noise is smallest
    _, ideal, ideal_free = distances["Ideal"]
    assert ideal < 0.5 * ideal_free, distances


def test_seeded_sql_equals_python_and_is_reproducible(con):
    con.execute("CREATE OR REPLACE TABLE vip AS SELECT * FROM (VALUES ('Fair', 'D'), ('Ideal', 'J'), ('Good', NULL))"
                " v(cut, color)")
    sql = "SELECT * FROM generate_synthetic_seeded('diamonds', 'vip', seed := 3)"
    rows = con.execute(sql).fetchall()
    assert rows == con.execute(sql).fetchall()
    assert rows == ds.generate(con, "diamonds", seeds="vip", seed=3).rows()
    assert [(r[1], r[2]) for r in rows] == [("Fair", "D"), ("Ideal", "J"), ("Good", None)]
    described = con.execute(f"DESCRIBE {sql}").fetchall()
    assert [(r[0], r[1]) for r in described] == [(r[0], r[1]) for r in con.execute("DESCRIBE diamonds").fetchall()]


def test_seed_views_temp_tables_and_empty_seeds(con):
    con.execute("CREATE OR REPLACE TEMP TABLE temp_seeds AS SELECT 'Premium' AS cut, 1000 AS price FROM range(4)")
    rows = con.execute("SELECT cut, price FROM generate_synthetic_seeded('diamonds', 'temp_seeds')").fetchall()
    assert rows == [("Premium", 1000)] * 4  # INTEGER seeds fit the BIGINT column
    con.execute("CREATE OR REPLACE VIEW no_seeds AS SELECT 'Fair' AS cut WHERE false")
    assert con.execute("SELECT * FROM generate_synthetic_seeded('diamonds', 'no_seeds')").fetchall() == []


@pytest.mark.parametrize(("setup", "message"), [
    ("CREATE OR REPLACE TABLE bad_seeds AS SELECT 'Fair' AS cut, 1 AS foo, 2 AS bar",
     UDF + "InvalidArgument: seed columns 'foo', 'bar' are not columns of model 'diamonds'; its columns are"
           " 'carat', 'cut', 'color', 'clarity', 'depth', 'table', 'price', 'x', 'y', 'z'"),
    ("CREATE OR REPLACE TABLE bad_seeds AS SELECT * FROM (VALUES ('1200'), ('cheap')) v(price)",
     UDF + "InvalidArgument: seed column 'price' is VARCHAR, model has BIGINT: 1 values cannot be cast, e.g. 'cheap'"),
    ("CREATE OR REPLACE TABLE bad_seeds AS SELECT DATE '2020-01-01' AS carat",
     UDF + "InvalidArgument: seed column 'carat' is DATE, model has DOUBLE: 1 values cannot be cast, e.g. '2020-01-01'"),
    ("CREATE OR REPLACE TABLE bad_seeds AS SELECT [1.5] AS carat",
     UDF + "InvalidArgument: seed column 'carat' is DECIMAL(2,1)[], model has DOUBLE"),
    ("CREATE OR REPLACE TABLE bad_seeds AS SELECT {'a': 1} AS cut",
     UDF + "InvalidArgument: seed column 'cut' is STRUCT(a INTEGER), model has VARCHAR"),
])
def test_bad_seed_tables_name_the_columns_and_write_nothing(con, setup, message):
    con.execute(setup)
    for sql in ("SELECT * FROM generate_synthetic_seeded('diamonds', 'bad_seeds')",
                "CREATE TABLE seeded_out AS SELECT * FROM generate_synthetic_seeded('diamonds', 'bad_seeds')"):
        with pytest.raises(duckdb.Error) as info:
            con.execute(sql)
        assert str(info.value) == message
    assert con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'seeded_out'").fetchall() == [(0,)]
    # the Python API says the same
    with pytest.raises(ds.InvalidArgument) as info:
        ds.generate(con, "diamonds", seeds="bad_seeds")
    assert str(info.value) == message.removeprefix(UDF + "InvalidArgument: ")


def test_unknown_seed_table_and_model(con):
    with pytest.raises(duckdb.CatalogException, match="Table with name no_such_seeds does not exist"):
        con.execute("SELECT * FROM generate_synthetic_seeded('diamonds', 'no_such_seeds')")
    with pytest.raises(duckdb.Error) as info:
        con.execute("SELECT * FROM generate_synthetic_seeded('nope', 'vip')")
    assert str(info.value).splitlines()[0] == (
        UDF + "ModelNotFound: model 'nope' does not exist; trained models: 'diamonds'")
