"""Names and rule text that try to break out of their SQL position never execute anything."""

from __future__ import annotations

import duckdb
import pytest
from click.testing import CliRunner

import duck_synth as ds
from duck_synth.catalog import quote
from duck_synth.cli import main

from .conftest import catalog_problems

HOSTILE = [
    "'; DROP TABLE victim; --",
    '"; DROP TABLE victim; --',
    "x\"); DROP TABLE victim; --",
    "a') UNION SELECT 1; --",
    "/* comment */ victim",
    "victim; DELETE FROM victim",
    "$$; DROP TABLE victim; $$",
]
HOSTILE_RULES = [
    "true; DROP TABLE victim",
    "true) OR (SELECT count(*) FROM victim) > 0 OR (true",
    "'; DROP TABLE victim; --",
    "(DELETE FROM victim RETURNING 1) IS NULL",
    "carat > (SELECT max(x) FROM victim)",
    "query('DROP TABLE victim') IS NULL",
]


def _tables(con) -> list[tuple]:
    return con.execute("SELECT schema_name, table_name FROM duckdb_tables() WHERE schema_name <> 'duck_synth'"
                       " ORDER BY ALL").fetchall()


@pytest.fixture
def con(tmp_path, diamonds):
    con = ds.connect(str(tmp_path / "inject.duckdb"))
    con.execute("CREATE TABLE victim AS SELECT 42 AS x")
    yield con
    con.close()


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_table_column_model_and_output_names_stay_names(con, diamonds, counts, name):
    counts["bad_inputs"] += 1
    frame = diamonds.head(300).select("carat", "cut", "price").rename({"cut": name + "_col"})
    con.register("frame", frame.to_arrow())
    con.execute(f"CREATE TABLE {quote(name)} AS SELECT * FROM frame")
    con.unregister("frame")
    ds.train(con, name, model=name, epochs=1, holdout=0)
    if '"' in name:  # output names may be schema-qualified and quoted: a stray quote is refused
        with pytest.raises(ds.InvalidArgument, match="has an unbalanced double quote"):
            ds.generate(con, name, n=50, seed=0, into=name + "_out")
    out = quote(name + "_out")  # the quoted form always names exactly this table
    ds.generate(con, name, n=50, seed=0, into=out)
    got = con.execute("SELECT count(*) FROM generate_synthetic(?, 50, seed := 0)", [name]).fetchall()
    assert got == [(50,)]
    assert ds.validate(con, name, out).failed_rows == 0
    ds.add_rule(con, name, name, "carat > 0")
    ds.drop_model(con, name)
    assert con.execute("SELECT x FROM victim").fetchall() == [(42,)]
    assert _tables(con) == sorted([("main", "victim"), ("main", name), ("main", name + "_out")])
    assert catalog_problems(con) == []


@pytest.mark.parametrize("rule", HOSTILE_RULES)
def test_rules_are_one_predicate_over_the_record_never_a_statement(con, diamonds, counts, rule):
    counts["bad_inputs"] += 1
    con.register("frame", diamonds.head(300).select("carat", "price").to_arrow())
    con.execute("CREATE TABLE gems AS SELECT * FROM frame")
    ds.train(con, "gems", epochs=1, holdout=0)
    with pytest.raises(ds.InvalidRule, match="rule 'r' of model 'gems'"):
        ds.add_rule(con, "gems", "r", rule)
    # written into the rules table by hand, it is refused at generation, not run
    con.execute("INSERT INTO duck_synth.rules (model, rule, predicate) VALUES ('gems', 'r', ?)", [rule])
    with pytest.raises((ds.InvalidRule, duckdb.Error), match="rule 'r'"):
        ds.generate(con, "gems", n=10, seed=0)
    assert con.execute("SELECT x FROM victim").fetchall() == [(42,)]


def test_a_trailing_comment_stays_a_comment(con, diamonds, counts):
    counts["bad_inputs"] += 1
    con.register("frame", diamonds.head(300).select("carat", "price").to_arrow())
    con.execute("CREATE TABLE gems AS SELECT * FROM frame")
    ds.train(con, "gems", epochs=1, holdout=0)
    ds.add_rule(con, "gems", "r", "carat > 0 -- ; DROP TABLE victim")
    assert ds.generate(con, "gems", n=20, seed=0).height == 20
    assert con.execute("SELECT x FROM victim").fetchall() == [(42,)]


def test_hostile_names_through_the_cli(tmp_path, diamonds, counts):
    counts["bad_inputs"] += 1
    path = str(tmp_path / "cli.duckdb")
    name = HOSTILE[0]
    with ds.connect(path) as con:
        con.execute("CREATE TABLE victim AS SELECT 42 AS x")
        con.register("frame", diamonds.head(300).select("carat", "price").to_arrow())
        con.execute(f"CREATE TABLE {quote(name)} AS SELECT * FROM frame")
    runner = CliRunner()
    for args in (["train", "--db", path, "--table", name, "--epochs", "1", "--holdout", "0"],
                 ["generate", "--db", path, "--model", name, "--rows", "20", "--into", name + "2"],
                 ["validate", "--db", path, "--model", name, "--table", name + "2"],
                 ["models", "--db", path, "drop", name]):
        result = runner.invoke(main, args, prog_name="duck-synth")
        assert result.exit_code == 0 and "Traceback" not in result.output, (args, result.output)
    with ds.connect(path) as con:
        assert con.execute("SELECT x FROM victim").fetchall() == [(42,)]
        assert con.execute(f"SELECT count(*) FROM {quote(name + '2')}").fetchall() == [(20,)]
