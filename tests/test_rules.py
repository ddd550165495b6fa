"""Validator rules: storing and checking SQL predicates, rejecting and resampling, validating tables."""

from __future__ import annotations

import shutil
import threading

import duckdb
import polars as pl
import pytest
import torch

import duck_synth as ds
from duck_synth.catalog import in_transaction, quote
from duck_synth.rules import InvalidRule, capture_source_rules
from tests.conftest import load_frame

UDF = "Invalid Input Error: Python exception occurred while executing the UDF: "


def pristine_copy(trained_db: str, path) -> str:
    """Copy the session's trained database to ``path`` as the fixture describes it: the table and the
    model 'diamonds' with its captured rules only (other test modules write tables and rules into it)."""
    shutil.copy(trained_db, path)
    con = duckdb.connect(str(path))
    try:
        for kind, schema, name in con.execute(
                "SELECT 'TABLE', schema_name, table_name FROM duckdb_tables() WHERE schema_name <> 'duck_synth'"
                " AND table_name <> 'diamonds' UNION ALL SELECT 'VIEW', schema_name, view_name FROM duckdb_views()"
                " WHERE NOT internal").fetchall():
            con.execute(f"DROP {kind} {quote(schema)}.{quote(name)}")
        for table in ("rules", "artifacts", "batches", "columns", "models"):
            if con.execute("SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'duck_synth' AND table_name = ?",
                           [table]).fetchall()[0][0]:
                con.execute(f"DELETE FROM duck_synth.{table} WHERE model <> 'diamonds'")
        if con.execute("SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'duck_synth' AND table_name = 'rules'"
                       ).fetchall()[0][0]:
            con.execute("DELETE FROM duck_synth.rules WHERE origin = 'user'")
    finally:
        con.close()
    return str(path)


@pytest.fixture
def con(trained_db, tmp_path):
    """A fresh copy of the trained diamonds database for every test (rules change the model)."""
    con = ds.connect(pristine_copy(trained_db, tmp_path / "diamonds.duckdb"))
    yield con
    con.close()


def _count(con, sql: str) -> int:
    return con.execute(f"SELECT count(*) FROM ({sql})").fetchall()[0][0]


def _user_rules(con) -> list[tuple]:
    return con.execute("SELECT model, rule, predicate, origin, enabled FROM duck_synth.rules WHERE origin = 'user'"
                       " ORDER BY rule").fetchall()


def test_user_rule_gives_zero_violations_and_flags_the_real_rows(con):
    # carat < 1.5 rejects about a fifth of unconstrained output, so resampling really happens
    rule = "price > 0 AND carat < 1.5"
    assert _count(con, f"SELECT * FROM synth_diamonds(5000, seed := 1) WHERE NOT ({rule})") > 300
    ds.add_rule(con, "diamonds", "small_stones", rule)
    assert _user_rules(con) == [("diamonds", "small_stones", rule, "user", True)]

    python = ds.generate(con, "diamonds", n=5000, seed=1)
    con.execute("CREATE TABLE synth AS SELECT * FROM generate_synthetic('diamonds', 5000, seed := 1)")
    assert python.height == _count(con, "SELECT * FROM synth") == 5000
    assert python.rows() == con.execute("SELECT * FROM synth").fetchall()
    assert con.execute("SELECT * FROM synthetic_violations('diamonds', 'synth')").fetchall() == []
    assert ds.validate(con, "diamonds", "synth").ok

    found = con.execute("SELECT record_index, rule, record FROM synthetic_violations('diamonds', 'diamonds')"
                        " ORDER BY record_index").fetchall()
    real = con.execute("SELECT row_number() OVER () - 1 AS i, d FROM diamonds AS d").fetchall()
    expected = [(i, "small_stones", record) for i, record in real if not (record["carat"] < 1.5)]
    assert len(expected) > 100 and found == expected


def test_issue_rule_on_real_rows(con):
    ds.add_rule(con, "diamonds", "cheap", "price > 0 AND carat < 3")
    violations = con.execute("SELECT rule, count(*) FROM synthetic_violations('diamonds', 'diamonds') GROUP BY ALL"
                             ).fetchall()
    assert violations == [("cheap", _count(con, "SELECT * FROM diamonds WHERE NOT (price > 0 AND carat < 3)"))]
    assert violations[0][1] > 0
    summary = ds.validate(con, "diamonds", "diamonds")
    assert (summary.total_rows, summary.failed_rows, summary.by_rule["cheap"], summary.ok) == (
        3000, violations[0][1], violations[0][1], False)
    assert con.execute("SELECT count(*) FROM generate_synthetic('diamonds', 2000, seed := 4)"
                       " WHERE NOT (price > 0 AND carat < 3)").fetchall() == [(0,)]


def test_check_semantics_null_passes(con):
    ds.add_rule(con, "diamonds", "pricey", "price > 5000")
    con.execute("CREATE TABLE hand AS SELECT * FROM diamonds LIMIT 0")
    con.execute("INSERT INTO hand (carat, cut, price) VALUES (0.5, 'Ideal', 1000), (0.6, 'Good', NULL), (1.0, 'Fair', 9000)")
    assert con.execute("SELECT record_index, rule FROM synthetic_violations('diamonds', 'hand')").fetchall() == [
        (0, "pricey")]
    summary = ds.validate(con, "diamonds", "hand")
    assert (summary.total_rows, summary.failed_rows, summary.by_rule["pricey"]) == (3, 1, 1)


@pytest.mark.parametrize(("name", "sql", "message"), [
    ("bad", "price >", "rule 'bad' of model 'diamonds' is not valid SQL: Parser Error: syntax error at or near \">\""),
    ("inject", "'; DROP TABLE victim; --",
     "rule 'inject' of model 'diamonds' is not valid SQL: Parser Error: unterminated string literal"),
    ("inject", "true); DROP TABLE victim; --",
     "rule 'inject' of model 'diamonds' is not valid SQL: Parser Error: syntax error at or near \")\""),
    ("inject", "true; DROP TABLE victim",
     "rule 'inject' of model 'diamonds' must be one SQL expression, not several statements: 'true; DROP TABLE victim'"),
    ("inject", "true) AS r FROM duck_synth_record; DROP TABLE victim; SELECT (true",
     "rule 'inject' of model 'diamonds' is not valid SQL: Parser Error: syntax error at or near \")\""),
    ("wide", "COLUMNS(*) IS NOT NULL",
     "rule 'wide' of model 'diamonds' must be one boolean SQL expression over a record's columns:"
     " 'COLUMNS(*) IS NOT NULL'"),
    ("num", "price + 1", "rule 'num' of model 'diamonds' must be a boolean predicate, but 'price + 1' is BIGINT"),
    ("agg", "avg(price) > 0",
     "rule 'agg' of model 'diamonds' is not valid: Binder Error: WHERE clause cannot contain aggregates!"),
    ("win", "row_number() OVER () > 1",
     "rule 'win' of model 'diamonds' is not valid: Binder Error: WHERE clause cannot contain window functions!"),
    ("col", "weight > 1",
     "rule 'col' of model 'diamonds' is not valid: Binder Error: Referenced column \"weight\" not found in FROM clause!"),
    ("blank", "  ", "rule 'blank' of model 'diamonds': the predicate must be a non-empty SQL expression, got '  '"),
])
def test_bad_rules_are_refused_with_duckdbs_message(con, name, sql, message):
    con.execute("CREATE TABLE victim AS SELECT 1 AS x")
    with pytest.raises(InvalidRule) as info:
        ds.add_rule(con, "diamonds", name, sql)
    assert str(info.value) == message
    assert _user_rules(con) == []
    assert con.execute("SELECT * FROM victim").fetchall() == [(1,)]


def test_rule_names_and_models_are_checked(con):
    ds.add_rule(con, "diamonds", "positive", "price > 0")
    with pytest.raises(InvalidRule, match="^model 'diamonds' already has a rule named 'positive'$"):
        ds.add_rule(con, "diamonds", "positive", "price > 1")
    with pytest.raises(ds.InvalidArgument, match="^rule name must be a non-empty string, got ''$"):
        ds.add_rule(con, "diamonds", "", "price > 1")
    with pytest.raises(ds.ModelNotFound, match="^model 'nope' does not exist; trained models: 'diamonds'$"):
        ds.add_rule(con, "nope", "x", "price > 1")


def test_rules_inserted_with_plain_sql_are_enforced_and_checked(con):
    con.execute("INSERT INTO duck_synth.rules (model, rule, predicate) VALUES ('diamonds', 'ideal_only', 'cut = ''Ideal''')")
    # no re-register needed: SQL generation reads the rules at every query
    assert con.execute("SELECT DISTINCT cut FROM synth_diamonds(300, seed := 2)").fetchall() == [("Ideal",)]
    assert ds.generate(con, "diamonds", n=300, seed=2)["cut"].unique().to_list() == ["Ideal"]
    con.execute("UPDATE duck_synth.rules SET enabled = false WHERE rule = 'ideal_only'")
    assert _count(con, "SELECT DISTINCT cut FROM synth_diamonds(300, seed := 2)") > 1

    con.execute("INSERT INTO duck_synth.rules (model, rule, predicate) VALUES"
                " ('diamonds', 'sneaky', 'true) AS r FROM duck_synth_record; DROP TABLE diamonds; SELECT (true')")
    message = ("rule 'sneaky' of model 'diamonds' (duck_synth.rules) is not valid SQL:"
               " Parser Error: syntax error at or near \")\"")
    with pytest.raises(InvalidRule) as info:
        ds.generate(con, "diamonds", n=10)
    assert str(info.value) == message
    for sql in ("SELECT * FROM synth_diamonds(10)", "SELECT * FROM synthetic_violations('diamonds', 'diamonds')"):
        with pytest.raises(duckdb.Error) as err:
            con.execute(sql)
        assert str(err.value).splitlines()[0] == UDF + "InvalidRule: " + message
    assert _count(con, "SELECT * FROM diamonds") == 3000


def test_impossible_rule_spends_the_budget_and_writes_nothing(con):
    ds.add_rule(con, "diamonds", "free", "price < 0")
    ds.add_rule(con, "diamonds", "small", "carat < 1")
    with pytest.raises(ds.TooManyInvalid) as info:
        ds.generate(con, "diamonds", n=100, seed=3, into="never_written")
    # 100 records, then 64 candidates for each of the 100 missing ones, all failing 'free'
    assert str(info.value).startswith(
        "model 'diamonds': 6500 generated records failed its rules, more than max_invalid=1000;"
        " rules that failed most: 'free' (6500 records), 'small' (")
    with pytest.raises(duckdb.Error) as err:
        con.execute("CREATE TABLE never_written AS SELECT * FROM generate_synthetic('diamonds', 100, seed := 3)")
    assert str(err.value) == UDF + "TooManyInvalid: " + str(info.value)  # the same records, the same message
    assert con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'never_written'").fetchall() == [(0,)]


def test_a_budget_spent_in_a_later_block_of_an_into_table_is_raised_as_itself(con, monkeypatch):
    """``into`` streams its blocks to DuckDB in one INSERT; an error raised while making the
    second block (inside DuckDB's read of the stream) must reach the caller as TooManyInvalid, with
    nothing written, no transaction left open and DuckDB's threads setting as it was."""
    from duck_synth import api

    made, real = [], api.typed_chunks
    monkeypatch.setattr(api, "block_workers", lambda device, n_blocks: 1)  # blocks in turn, also on a GPU

    def counted(*args, **kwargs):
        for block in real(*args, **kwargs):
            made.append(block.num_rows)
            yield block

    monkeypatch.setattr(api, "typed_chunks", counted)
    ds.add_rule(con, "diamonds", "small", "carat < 1")
    threads = con.execute("SELECT current_setting('threads')").fetchall()
    with pytest.raises(ds.TooManyInvalid, match=r"more than max_invalid=12000; rules that failed most: 'small' \("):
        ds.generate(con, "diamonds", n=60_000, seed=1, max_invalid=12_000, into="never_written")
    assert made and made[0] == 16_384  # the first block was made and handed to DuckDB before the budget ran out
    assert con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'never_written'").fetchall() == [(0,)]
    assert not in_transaction(con)
    assert con.execute("SELECT current_setting('threads')").fetchall() == threads


def _blocks_side_by_side(monkeypatch, workers: int = 3) -> tuple[set[str], list[bool]]:
    """Make blocks on ``workers`` threads, as a GPU does. Returns the names of the threads that
    decoded candidates, and for each round of candidates whether its tokens were sampled ahead."""
    from duck_synth import api

    names, ahead, real = set(), [], api.sample_chunks

    def noted(*args, **kwargs):
        names.add(threading.current_thread().name)
        ahead.append(args[5] is not None)
        return real(*args, **kwargs)

    monkeypatch.setattr(api, "block_workers", lambda device, n_blocks: max(1, min(workers, n_blocks)))
    monkeypatch.setattr(api, "groups_sampled_together", lambda device: True)
    monkeypatch.setattr(api, "sample_chunks", noted)
    return names, ahead


def _block_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("duck_synth_block")]


def test_blocks_made_side_by_side_are_the_rows_made_one_after_another(con, monkeypatch):
    """On a GPU several threads make blocks at once (``api.block_workers``). The rows, rejected and
    resampled records included, must be exactly those made one block after another, in order."""
    ds.add_rule(con, "diamonds", "not_large", "carat < 1.2")  # rejects some records of every block
    alone = ds.generate(con, "diamonds", n=70_000, seed=4)  # 5 blocks
    names, ahead = _blocks_side_by_side(monkeypatch)
    together = ds.generate(con, "diamonds", n=70_000, seed=4)
    assert len({n for n in names if n.startswith("duck_synth_block")}) > 1  # really made on several threads
    # every block's first round was sampled ahead, in one pass per group; the resampling rounds were not
    assert ahead.count(True) == 5 and ahead.count(False) >= 5
    assert together.equals(alone) and together["carat"].max() < 1.2
    ds.generate(con, "diamonds", n=70_000, seed=4, into="together")
    assert con.sql("SELECT * FROM together").pl().equals(alone)
    # SQL asks for a block's rows and gets the next blocks made with it; still the same rows
    in_sql = con.sql("SELECT * FROM generate_synthetic('diamonds', 70000, seed := 4)").pl()
    assert in_sql.equals(alone) and ahead.count(True) == 15  # 5 blocks each for the frame, into= and SQL
    assert not _block_threads()


def test_blocks_made_in_turn_sample_first_rounds_in_pairs_with_the_same_rows(con, monkeypatch):
    """Blocks made one after another sample their first rounds two at a time, in one pass of each
    network (``api.blocks_made_together(1)``). The rows, rejected and resampled records included,
    are those of blocks sampled one by one, as a frame, into a table and through SQL."""
    from duck_synth import api

    ds.add_rule(con, "diamonds", "not_large", "carat < 1.2")  # rejects some records of every block
    monkeypatch.setattr(api, "block_workers", lambda device, n_blocks: 1)
    monkeypatch.setattr(api, "blocks_made_together", lambda workers: 1)
    one_by_one = ds.generate(con, "diamonds", n=40_000, seed=8)  # 3 blocks
    passes, real = [], api.first_chunks_together

    def noted(tm, calls, device):
        passes.append(len(calls))
        return real(tm, calls, device)

    monkeypatch.setattr(api, "first_chunks_together", noted)
    assert ds.generate(con, "diamonds", n=40_000, seed=8).equals(one_by_one) and passes == []
    monkeypatch.undo()
    monkeypatch.setattr(api, "block_workers", lambda device, n_blocks: 1)
    monkeypatch.setattr(api, "first_chunks_together", noted)
    paired = ds.generate(con, "diamonds", n=40_000, seed=8)
    assert passes == [2]  # blocks 0 and 1 in one pass; block 2, the last, alone as before
    assert paired.equals(one_by_one) and paired["carat"].max() < 1.2
    ds.generate(con, "diamonds", n=40_000, seed=8, into="paired")
    assert con.sql("SELECT * FROM paired").pl().equals(one_by_one) and passes == [2, 2]
    # SQL asks for block 0 and gets block 1 made with it, in the same pass
    in_sql = con.sql("SELECT * FROM generate_synthetic('diamonds', 40000, seed := 8)").pl()
    assert in_sql.equals(one_by_one) and passes == [2, 2, 2]


def test_on_the_cpu_blocks_are_made_side_by_side_each_on_a_share_of_torchs_threads(con, monkeypatch):
    """From ``CPU_MIN_BLOCKS`` blocks the CPU makes them on ``CPU_BLOCK_WORKERS`` threads, each
    running torch on its share of the threads, without the GPU's group pass. The rows are the ones
    made one block after another, and torch's thread count is as it was afterwards."""
    from duck_synth import api

    monkeypatch.setattr(api, "block_workers", lambda device, n_blocks: 1)
    alone = ds.generate(con, "diamonds", n=50_000, seed=9, device="cpu")  # 4 blocks, in turn
    monkeypatch.undo()
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        _cpu_block_threads(con, monkeypatch, api, alone)
    finally:
        torch.set_num_threads(before)


def _cpu_block_threads(con, monkeypatch, api, alone: pl.DataFrame) -> None:
    shares, real = {}, api.sample_chunks

    def noted(*args, **kwargs):
        shares[threading.current_thread().name] = torch.get_num_threads()
        assert args[5] is None  # nothing sampled ahead on the CPU
        return real(*args, **kwargs)

    monkeypatch.setattr(api, "sample_chunks", noted)
    assert api.block_workers("cpu", 4) == 2 and api.block_workers("cpu", 2) == 1
    together = ds.generate(con, "diamonds", n=50_000, seed=9, device="cpu")
    assert together.equals(alone)
    block_threads = {n: t for n, t in shares.items() if n.startswith("duck_synth_block")}
    assert len(block_threads) == 2 and set(block_threads.values()) == {1}
    assert torch.get_num_threads() == 2 and not _block_threads()
    ds.generate(con, "diamonds", n=50_000, seed=9, device="cpu", into="cpu_together")
    assert con.sql("SELECT * FROM cpu_together").pl().equals(alone)
    assert torch.get_num_threads() == 2
    torch.set_num_threads(1)  # one thread for torch: no block threads either
    assert api.block_workers("cpu", 4) == 1


def test_a_long_generation_hands_freed_memory_back_every_few_blocks(con, monkeypatch):
    from duck_synth import api

    api.release_freed_memory()  # glibc's malloc_trim here; a no-op where there is none
    trims = []
    monkeypatch.setattr(api, "TRIM_EVERY_BLOCKS", 2)
    monkeypatch.setattr(api, "release_freed_memory", lambda: trims.append(1))
    ds.generate(con, "diamonds", n=5 * 16_384, seed=2, into="trimmed")  # 5 blocks: after the 2nd and the 4th
    assert len(trims) == 2 and con.sql("SELECT count(*) FROM trimmed").fetchall() == [(5 * 16_384,)]


def test_a_budget_spent_while_blocks_are_made_side_by_side_is_raised_and_leaves_no_thread(con, monkeypatch):
    _blocks_side_by_side(monkeypatch)
    ds.add_rule(con, "diamonds", "small", "carat < 1")
    with pytest.raises(ds.TooManyInvalid, match=r"more than max_invalid=12000; rules that failed most: 'small' \("):
        ds.generate(con, "diamonds", n=100_000, seed=1, max_invalid=12_000, into="never_written")
    assert con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'never_written'").fetchall() == [(0,)]
    assert not in_transaction(con)
    with pytest.raises(ds.TooManyInvalid, match=r"more than max_invalid=12000"):
        ds.generate(con, "diamonds", n=100_000, seed=1, max_invalid=12_000)
    assert not _block_threads()


def test_max_invalid_budget(con):
    ds.add_rule(con, "diamonds", "small", "carat < 1")
    with pytest.raises(ds.TooManyInvalid, match=r"more than max_invalid=10; rules that failed most: 'small' \("):
        ds.generate(con, "diamonds", n=500, seed=1, max_invalid=10)
    with pytest.raises(duckdb.Error, match=r"more than max_invalid=10; rules that failed most: 'small' \("):
        con.execute("SELECT * FROM synth_diamonds(500, seed := 1, max_invalid := 10)")
    rows = ds.generate(con, "diamonds", n=500, seed=1, max_invalid=100_000)
    assert rows.height == 500 and rows["carat"].max() < 1
    with pytest.raises(ds.InvalidArgument, match="^max_invalid must be a non-negative integer, got -1$"):
        ds.generate(con, "diamonds", n=5, max_invalid=-1)


def test_seeded_generation_resamples_per_seed_row(con):
    # about half of the fixture's Fair diamonds cost under 4,000; 18% cost under 2,000, and a model
    # that learned that share would need more resampling than the default budget (1,000) allows
    ds.add_rule(con, "diamonds", "cheap_fair", "cut <> 'Fair' OR price < 4000")
    con.execute("CREATE TABLE fair AS SELECT 'Fair' AS cut FROM range(300)")
    rows = ds.generate(con, "diamonds", seeds="fair", seed=5)
    assert rows.height == 300 and rows["cut"].unique().to_list() == ["Fair"] and rows["price"].max() < 4000
    sql = con.execute("SELECT * FROM generate_synthetic_seeded('diamonds', 'fair', seed := 5)").fetchall()
    assert sql == rows.rows()


def test_seeded_blocks_made_side_by_side_are_the_rows_made_one_after_another(con, monkeypatch):
    """Seed rows over several blocks: threads make them (a GPU's path, without the group pass,
    since each block's seed values are its own), with the same rows and resampling per seed row."""
    ds.add_rule(con, "diamonds", "cheap_fair", "cut <> 'Fair' OR price < 2000")
    con.execute("CREATE TABLE cuts AS SELECT CASE WHEN i % 3 = 0 THEN 'Fair' ELSE 'Ideal' END AS cut"
                " FROM range(40000) t(i)")
    alone = ds.generate(con, "diamonds", seeds="cuts", seed=6)
    names, ahead = _blocks_side_by_side(monkeypatch)
    together = ds.generate(con, "diamonds", seeds="cuts", seed=6)
    assert len({n for n in names if n.startswith("duck_synth_block")}) > 1 and not any(ahead)
    assert together.equals(alone) and together.height == 40_000
    assert together.filter(pl.col("cut") == "Fair")["price"].max() < 2000
    assert not _block_threads()


def test_validate_reports_schema_problems(con):
    con.execute("CREATE TABLE odd AS SELECT carat, CAST(price AS VARCHAR) AS price, 1 AS extra FROM diamonds LIMIT 5")
    ds.add_rule(con, "diamonds", "cut_known", "cut IS NOT NULL")
    summary = ds.validate(con, "diamonds", "odd")
    assert summary.schema_problems == [
        "missing column 'cut'", "missing column 'color'", "missing column 'clarity'", "missing column 'depth'",
        "missing column 'table'", "missing column 'x'", "missing column 'y'", "missing column 'z'",
        "extra column 'extra'", "column 'price' is VARCHAR, model has BIGINT",
        "rule 'domain_clarity' cannot be checked: Binder Error: Referenced column \"clarity\" not found in FROM clause!",
        "rule 'domain_color' cannot be checked: Binder Error: Referenced column \"color\" not found in FROM clause!",
        "rule 'domain_cut' cannot be checked: Binder Error: Referenced column \"cut\" not found in FROM clause!",
        "rule 'range_depth' cannot be checked: Binder Error: Referenced column \"depth\" not found in FROM clause!",
        "rule 'range_price' cannot be checked: Binder Error: Cannot mix values of type VARCHAR and BIGINT in BETWEEN"
        " clause - an explicit cast is required",
        "rule 'range_table' cannot be checked: Binder Error: Referenced column \"table\" not found in FROM clause!",
        "rule 'range_x' cannot be checked: Binder Error: Referenced column \"x\" not found in FROM clause!",
        "rule 'range_y' cannot be checked: Binder Error: Referenced column \"y\" not found in FROM clause!",
        "rule 'range_z' cannot be checked: Binder Error: Referenced column \"z\" not found in FROM clause!",
        "rule 'cut_known' cannot be checked: Binder Error: Referenced column \"cut\" not found in FROM clause!",
    ]
    assert not summary.ok and summary.total_rows == 5 and summary.by_rule["cut_known"] == 0
    with pytest.raises(ds.TableNotFound, match="^table or view 'missing' does not exist$"):
        ds.validate(con, "diamonds", "missing")
    with pytest.raises(ds.ModelNotFound):
        ds.validate(con, "nope", "odd")


def test_profile_rules_are_captured_and_hold_for_generated_rows(con):
    rules = dict(con.execute("SELECT rule, origin FROM duck_synth.rules").fetchall())
    assert rules == {f"range_{c}": "profile" for c in ("carat", "depth", "table", "price", "x", "y", "z")} | {
        f"domain_{c}": "profile" for c in ("cut", "color", "clarity")}
    lo, hi = con.execute("SELECT min(carat), max(carat) FROM diamonds").fetchall()[0]
    assert con.execute("SELECT predicate FROM duck_synth.rules WHERE rule = 'range_carat'").fetchall() == [
        (f"\"carat\" BETWEEN CAST('{lo}' AS DOUBLE) AND CAST('{hi}' AS DOUBLE)",)]
    con.execute("CREATE TABLE out AS SELECT * FROM generate_synthetic('diamonds', 3000, seed := 1)")
    summary = ds.validate(con, "diamonds", "out")
    assert summary.ok and set(summary.by_rule) == set(rules) and summary.failed_rows == 0
    con.execute("CREATE TABLE wrong AS SELECT * REPLACE ('Flawless' AS cut, 99.0 AS carat) FROM diamonds LIMIT 2")
    assert con.execute("SELECT rule, count(*) FROM synthetic_violations('diamonds', 'wrong') GROUP BY ALL ORDER BY 1"
                       ).fetchall() == [("domain_cut", 2), ("range_carat", 2)]


def test_source_constraints_are_captured(con, diamonds):
    con.execute("CREATE TABLE gems (carat DOUBLE NOT NULL CHECK (carat > 0), cut VARCHAR NOT NULL,"
                " price INTEGER CHECK (price >= 300), CHECK (price < 100000 * carat))")
    load_frame(con, "gems_src", diamonds.select("carat", "cut", "price").head(400))
    con.execute("INSERT INTO gems SELECT * FROM gems_src")
    ds.train(con, "gems", epochs=1, seed=0)
    # the model's rules are captured when it is first used (or by capture_source_rules at training)
    out = ds.generate(con, "gems", n=200, seed=1)
    captured = con.execute("SELECT rule, predicate, origin FROM duck_synth.rules WHERE model = 'gems'"
                           " AND origin = 'constraint' ORDER BY rule").fetchall()
    assert captured == [
        ("gems_carat_check", "(carat > 0)", "constraint"),
        ("gems_carat_not_null", '"carat" IS NOT NULL', "constraint"),
        ("gems_cut_not_null", '"cut" IS NOT NULL', "constraint"),
        ("gems_price_carat_check", "(price < (100000 * carat))", "constraint"),
        ("gems_price_check", "(price >= 300)", "constraint"),
    ]
    assert out.height == 200 and out["carat"].min() > 0 and out["cut"].null_count() == 0
    con.execute("CREATE TABLE gems_bad AS SELECT * FROM (VALUES (-1.0, NULL, 100)) v(carat, cut, price)")
    assert sorted(r[0] for r in con.execute("SELECT rule FROM synthetic_violations('gems', 'gems_bad')").fetchall()) == [
        "gems_carat_check", "gems_cut_not_null", "gems_price_carat_check", "gems_price_check", "range_carat",
        "range_price"]
    # capturing again keeps user rules and does not duplicate captured ones
    ds.add_rule(con, "gems", "mine", "price > 0")
    names = capture_source_rules(con, "gems")
    assert sorted(names) == sorted([r[0] for r in captured] + ["domain_cut", "range_carat", "range_price"])
    assert _count(con, "SELECT * FROM duck_synth.rules WHERE model = 'gems'") == len(names) + 1
    ds.drop_model(con, "gems")
    assert _count(con, "SELECT * FROM duck_synth.rules WHERE model = 'gems'") == 0


def test_read_only_database_derives_rules_without_writing(con, tmp_path, diamonds):
    load_frame(con, "fresh_src", diamonds.select("carat", "price").head(300))
    con.execute("CREATE TABLE fresh (carat DOUBLE CHECK (carat < 2), price BIGINT)")
    con.execute("INSERT INTO fresh SELECT * FROM fresh_src")
    ds.train(con, "fresh", epochs=1, seed=0)
    con.execute("DELETE FROM duck_synth.rules WHERE model = 'fresh'")  # as a model trained before rules existed
    path = con.execute("SELECT path FROM duckdb_databases() WHERE database_name = current_database()").fetchall()[0][0]
    con.close()
    ro = duckdb.connect(path, read_only=True)
    ds.register(ro)
    try:
        assert ro.execute("SELECT count(*) FROM duck_synth.rules WHERE model = 'fresh'").fetchall() == [(0,)]
        assert ro.execute("SELECT max(carat) < 2 FROM synth_fresh(500, seed := 1)").fetchall() == [(True,)]
        assert ds.generate(ro, "fresh", n=500, seed=2)["carat"].max() < 2  # Python too: derived, not written
        summary = ds.validate(ro, "fresh", "fresh")
        assert "fresh_carat_check" in summary.by_rule and summary.ok
    finally:
        ro.close()


def test_many_rules_bind_together_and_each_bad_one_keeps_its_own_message(db):
    from duck_synth.rules import compile_predicate, compile_predicates

    columns = [("a", "INTEGER"), ("b", "VARCHAR")]
    items = [("a > 1", "rule 'r1'"), ("b || 'x'", "rule 'r2'"), ("sum(a) > 0", "rule 'r3'"), ("a <", "rule 'r4'"),
             ("b = 'x' OR a IS NULL", "rule 'r5'")]
    out = compile_predicates(db, items, columns)
    assert [isinstance(r, ds.InvalidRule) for r in out] == [False, True, True, True, False]
    for (predicate, what), result in zip(items, out):
        if isinstance(result, ds.InvalidRule):
            with pytest.raises(ds.InvalidRule) as alone:
                compile_predicate(db, predicate, columns, what + " alone")
            assert str(result).startswith(what) and str(result).replace(what, "") == str(alone.value).replace(
                what + " alone", "")
        else:
            assert result == compile_predicate(db, predicate, columns, what)


def test_captured_rules_evaluated_in_arrow_agree_with_duckdb(db):
    """Generation evaluates captured domains, ranges and NOT NULLs in Arrow; on edge values (NULL,
    NaN, infinities, the bounds, quotes) each must fail exactly the records DuckDB fails."""
    from duck_synth.rules import _domain_predicate, _range_predicate, arrow_check

    db.execute("CREATE TABLE t AS SELECT * FROM (VALUES"
               " (1::BIGINT, 0.5::DOUBLE, 'a'::VARCHAR, 7::INTEGER), (NULL, NULL, NULL, NULL),"
               " (-3, 'nan'::DOUBLE, 'O''Brien', -2147483648), (243, 'inf'::DOUBLE, '', 2147483647),"
               " (244, '-inf'::DOUBLE, 'b', 0), (0, 351.5, 'A', 5), (1, -0.0, 'a ', 6)) v(i, d, s, k)")
    columns = [("i", "BIGINT"), ("d", "DOUBLE"), ("s", "VARCHAR"), ("k", "INTEGER")]
    predicates = [
        _range_predicate("i", "BIGINT", "0", "243"), _range_predicate("d", "DOUBLE", "0.0", "351.5"),
        _range_predicate("d", "DOUBLE", "-inf", "inf"), _range_predicate("k", "INTEGER", "-2147483648", "5"),
        _domain_predicate("s", ["a", "O'Brien", ""]), _domain_predicate("s", ["b"]),
        '"s" IS NOT NULL', '"i" IS NOT NULL',
    ]
    for where in ("true", "i IS NOT NULL"):  # NULL-free ranges are compared in numpy, the others in Arrow
        table = db.sql(f"SELECT * FROM t WHERE {where}").to_arrow_table()
        for predicate in predicates:
            check = arrow_check(predicate, dict(columns))
            assert check is not None, predicate
            expected = [r[0] for r in db.execute(f"SELECT ({predicate}) IS FALSE FROM t WHERE {where}").fetchall()]
            assert check(table).tolist() == expected, (predicate, where)
    # anything else, or a captured rule edited by hand, is left to DuckDB
    for predicate in ['"i" BETWEEN 0 AND 243', _range_predicate("i", "DOUBLE", "0", "1"), "i > 0",
                      _range_predicate("i", "BIGINT", "0", "1.5"), '"s" IN (\'a\', lower(\'B\'))', '"i" IS NULL',
                      _range_predicate("nope", "BIGINT", "0", "1"), _domain_predicate("i", ["1"])]:
        assert arrow_check(predicate, dict(columns)) is None, predicate


@pytest.mark.parametrize("rules", ["captured", "edited and user rules"])
def test_generation_without_queries_gives_the_rows_the_sql_path_gives(con, monkeypatch, rules):
    """Typed records and their rule checks come from Arrow where possible; the rows must be the ones
    the all-SQL path gives for the same seed, and rules DuckDB must evaluate still hold."""
    from duck_synth import api

    if rules != "captured":  # one edit in plain SQL, one in the captured form with a tighter bound
        hi = con.execute("SELECT quantile_disc(price, 0.6) FROM diamonds").fetchall()[0][0]
        con.execute("UPDATE duck_synth.rules SET predicate = ? WHERE rule = 'range_price'", [f"price <= {hi}"])
        con.execute("UPDATE duck_synth.rules SET predicate = ? WHERE rule = 'range_carat'",
                    ["\"carat\" BETWEEN CAST('0.2' AS DOUBLE) AND CAST('1.0' AS DOUBLE)"])
        ds.add_rule(con, "diamonds", "deep", "depth > 58")
    typed, real = [], api._typed_arrow
    monkeypatch.setattr(api, "_typed_arrow", lambda *args: typed.append(real(*args)) or typed[-1])
    fast = ds.generate(con, "diamonds", n=3000, seed=4)
    assert typed and all(t is not None for t in typed)  # every block took the Arrow path
    monkeypatch.setattr(api, "_typed_arrow", lambda *args: None)
    slow = ds.generate(con, "diamonds", n=3000, seed=4)
    assert fast.schema == slow.schema and fast.equals(slow)
    if rules != "captured":
        assert fast["price"].max() <= hi and fast["carat"].max() <= 1.0 and fast["depth"].min() > 58
