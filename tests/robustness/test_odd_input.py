"""Odd but legal tables, each built in SQL: every one trains and generates values of the source's types."""

from __future__ import annotations

import warnings

import pytest

import duck_synth as ds

from .conftest import catalog_problems

CASES = {
    "constant columns": "SELECT 1 AS a, 'same' AS b, DATE '2020-02-29' AS c, 2.5::DOUBLE AS d, true AS e,"
                        " NULL::INTEGER AS f FROM range(60)",
    "single row": "SELECT 7 AS a, 'only' AS b, 3.25::DOUBLE AS c, TIMESTAMP '2024-01-01 10:00' AS d",
    "enum, every value rare": "SELECT CAST(['green', 'blue', 'red'][i + 1] AS ENUM('red', 'green', 'blue')) AS e"
                              " FROM range(3) t(i)",
    "two rows": "SELECT i AS a, ['x', 'y'][i + 1] AS b FROM range(2) t(i)",
    "extreme integers": "SELECT CASE i % 4 WHEN 0 THEN -9223372036854775808 WHEN 1 THEN 9223372036854775807"
                        " WHEN 2 THEN 0 ELSE -1 END::BIGINT AS big,"
                        " CASE i % 3 WHEN 0 THEN 0 WHEN 1 THEN 18446744073709551615 ELSE 1 END::UBIGINT AS ubig,"
                        " CASE i % 3 WHEN 0 THEN -170141183460469231731687303715884105728"
                        " WHEN 1 THEN 170141183460469231731687303715884105727 ELSE 5 END::HUGEINT AS huge,"
                        " (i % 256)::UTINYINT AS tiny, (i - 128)::TINYINT AS signed_tiny FROM range(200) t(i)",
    "extreme floats": "SELECT [5e-324, -5e-324, 1.7976931348623157e308, -1.7976931348623157e308, 'nan'::DOUBLE,"
                      " 'inf'::DOUBLE, '-inf'::DOUBLE, 0.0, -0.0, 2.2250738585072014e-308][i % 10 + 1] AS d,"
                      " [3.4028235e38, -3.4028235e38, 1e-45, 'nan', 0][i % 5 + 1]::FLOAT AS f,"
                      " (i * 123456789.123)::DECIMAL(38, 3) AS wide_decimal FROM range(300) t(i)",
    "texts": "SELECT ['', ' ', 'ünïcödé', '🦆🦆 duck', 'tab\there', 'new\nline', repeat('long ', 2000),"
             " 'quote '' and \"', NULL, 'x'][i % 10 + 1] AS t, i % 3 AS k FROM range(300) t(i)",
    "odd names": "SELECT i AS \"select\", i * 2 AS \"from\", 'v' || (i % 4) AS \"with space\","
                 " i % 2 = 0 AS \"dot.ted\", i::DOUBLE AS \"say \"\"hi\"\"\", i AS \"ünï🦆\" FROM range(100) t(i)",
    "temporal edges": "SELECT [DATE '0001-01-01', DATE '9999-12-31', DATE '1970-01-01'][i % 3 + 1] AS d,"
                      " [TIME '00:00:00', TIME '23:59:59.999999'][i % 2 + 1] AS t,"
                      " [TIMESTAMPTZ '2000-01-01 00:00:00+00', TIMESTAMPTZ '2262-04-11 23:47:16+00'][i % 2 + 1] AS tz,"
                      " [INTERVAL '1 day', INTERVAL '-5 years'][i % 2 + 1] AS iv, uuid() AS id FROM range(100) t(i)",
}


@pytest.fixture
def con(tmp_path):
    con = ds.connect(str(tmp_path / "odd.duckdb"))
    yield con
    con.close()


@pytest.mark.parametrize("case", list(CASES))
def test_odd_tables_train_and_generate_their_own_types(con, counts, case):
    counts["bad_inputs"] += 1
    con.execute(f"CREATE TABLE src AS {CASES[case]}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # INTERVAL columns are skipped with a warning
        ds.train(con, "src", epochs=1, seed=0)
        ds.generate(con, "src", n=40, seed=0, into="out")
    assert con.execute("DESCRIBE out").fetchall() == con.execute("DESCRIBE src").fetchall()
    assert con.execute("SELECT count(*) FROM out").fetchall() == [(40,)]
    # every value lies inside the source's range (no overflow, no wrapped integers)
    for name, dtype in con.execute("SELECT column_name, column_type FROM (DESCRIBE src)").fetchall():
        if dtype in ("BOOLEAN", "VARCHAR", "UUID", "INTERVAL") or dtype.startswith("FLOAT") or dtype == "DOUBLE":
            continue
        q = '"' + name.replace('"', '""') + '"'
        outside = con.execute(f"SELECT count(*) FROM out WHERE {q} < (SELECT min({q}) FROM src)"
                              f" OR {q} > (SELECT max({q}) FROM src)").fetchall()[0][0]
        assert outside == 0, f"{case}: {outside} values of {name} outside the source's range"
    assert catalog_problems(con) == []


def test_a_thousand_column_table(con, counts):
    counts["bad_inputs"] += 1
    columns = ", ".join(f"(i * {k}) % 17 AS n{k}" if k % 3 else f"'v' || ((i + {k}) % 5) AS s{k}" for k in range(1000))
    con.execute(f"CREATE TABLE wide AS SELECT {columns} FROM range(40) t(i)")
    ds.train(con, "wide", epochs=1, seed=0, batch_size=15)
    ds.generate(con, "wide", n=30, seed=0, into="wide_out")
    assert con.execute("DESCRIBE wide_out").fetchall() == con.execute("DESCRIBE wide").fetchall()
    assert catalog_problems(con) == []
