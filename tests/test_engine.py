"""End to end on real DuckDB files: train -> store -> generate, types, reproducibility, bad input."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import polars as pl
import pytest

import duck_synth as ds
from duck_synth.evaluation import privacy, split
from tests.conftest import load_frame


def test_output_has_source_names_types_and_row_count(trained_db, tmp_path):
    path = str(tmp_path / "copy.duckdb")  # a copy: the session's database stays as other modules expect it
    shutil.copy(trained_db, path)
    con = ds.connect(path)
    ds.generate(con, "diamonds", n=1234, seed=3, into="synth")
    assert con.execute("DESCRIBE synth").fetchall() == con.execute("DESCRIBE diamonds").fetchall()
    assert con.execute("SELECT count(*) FROM synth").fetchall() == [(1234,)]
    cuts = {r[0] for r in con.execute("SELECT DISTINCT cut FROM synth").fetchall()}
    assert cuts <= {r[0] for r in con.execute("SELECT DISTINCT cut FROM diamonds").fetchall()}
    con.close()


def test_same_seed_same_rows_different_seed_different_rows(trained_db):
    con = ds.connect(trained_db)
    a = ds.generate(con, "diamonds", n=500, seed=11)
    b = ds.generate(con, "diamonds", n=500, seed=11)
    c = ds.generate(con, "diamonds", n=500, seed=12)
    assert a.equals(b) and not a.equals(c)
    assert ds.generate(con, "diamonds", n=200, seed=11).equals(a.head(200))  # larger n extends smaller n
    con.close()


def test_second_process_generates_the_same_rows(trained_db, tmp_path):
    con = ds.connect(trained_db)
    here = ds.generate(con, "diamonds", n=300, seed=5)
    con.close()
    out = tmp_path / "other.parquet"
    code = (
        "import duck_synth as ds; con = ds.connect(%r, read_only=True);"
        " ds.generate(con, 'diamonds', n=300, seed=5).write_parquet(%r)" % (trained_db, str(out))
    )
    subprocess.run([sys.executable, "-c", code], check=True)
    assert pl.read_parquet(out).equals(here)


def test_every_supported_type_round_trips(db):
    db.execute("CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy')")
    db.execute("""
        CREATE TABLE "odd table" AS
        SELECT (i % 100)::TINYINT AS "select", (i * 1000)::BIGINT AS "quo""te", (i % 7)::UTINYINT AS "ünï",
               (i * 12345678901)::HUGEINT AS huge, (i / 3)::DECIMAL(10, 2) AS price, (i / 7.0)::FLOAT AS f,
               i % 2 = 0 AS flag, DATE '2020-01-01' + (i % 365)::INTEGER AS d,
               TIMESTAMP '2020-01-01 00:00:00' + to_minutes(i * 17) AS ts,
               TIMESTAMPTZ '2021-06-01 00:00:00+00' + to_seconds(i * 31) AS tz,
               TIME '00:00:00' + to_seconds(i * 7) AS t,
               (['sad', 'ok', 'happy'])[i % 3 + 1]::mood AS m, gen_random_uuid() AS id,
               CASE WHEN i % 5 = 0 THEN NULL ELSE 'word ' || (i % 9) END AS "with space",
               'note number ' || i || ' ✓' AS txt
        FROM range(400) r(i)
    """)
    ds.train(db, "odd table", model="odd", epochs=2, seed=1)
    ds.generate(db, "odd", n=300, seed=2, into='"out put"')
    assert db.execute('DESCRIBE "out put"').fetchall() == db.execute('DESCRIBE "odd table"').fetchall()
    nulls = db.execute('SELECT count(*) FILTER ("with space" IS NULL) FROM "out put"').fetchall()[0][0]
    assert 0 < nulls < 300  # NULLs where the source has them
    cats = db.execute("SELECT encoder FROM duck_synth.columns WHERE model = 'odd' ORDER BY ordinal").fetchall()
    assert [c[0] for c in cats] == ["numeric"] * 6 + ["boolean"] + ["datetime"] * 4 + ["categorical", "uuid", "categorical", "text"]


def test_columns_named_like_internal_count_columns_train_generate_and_chart(db):
    """Categories are counted with value_counts, whose count column ("n" in the encoder, "share" in
    the report's charts) once collided with a source column of that name: training failed with
    polars' DuplicateError, even for a NULL-only "n"."""
    from duck_synth.report import _distribution

    db.execute("""CREATE TABLE counted AS SELECT ['a', 'b', 'c'][i % 3 + 1] AS n, ['x', 'y'][i % 2 + 1] AS share,
                  ['p', 'q'][i % 2 + 1] AS "count", i * 0.5 AS "value", NULL::VARCHAR AS empty FROM range(300) r(i)""")
    ds.train(db, "counted", epochs=2, seed=0)
    out = ds.generate(db, "counted", n=400, seed=1)
    assert out.columns == ["n", "share", "count", "value", "empty"]
    assert set(out["n"].unique()) <= {"a", "b", "c"} and set(out["share"].unique()) <= {"x", "y"}
    assert out["empty"].null_count() == 400
    real = db.sql("SELECT * FROM counted").pl()
    for name in ("n", "share", "count"):
        assert "data:image/png;base64," in _distribution(name, "categorical", real[name], out[name])
    db.execute("CREATE TABLE only_null_n AS SELECT i AS x, NULL::VARCHAR AS n FROM range(200) r(i)")
    ds.train(db, "only_null_n", epochs=2, seed=0)
    assert ds.generate(db, "only_null_n", n=50, seed=0)["n"].null_count() == 50


def test_nan_and_inf_are_kept_as_values(db):
    db.execute("""CREATE TABLE f AS SELECT CASE WHEN i % 10 = 0 THEN 'nan'::DOUBLE WHEN i % 10 = 1 THEN 'inf'::DOUBLE
                  WHEN i % 10 = 2 THEN '-inf'::DOUBLE WHEN i % 10 = 3 THEN NULL ELSE i END AS x FROM range(500) r(i)""")
    ds.train(db, "f", epochs=3)
    out = ds.generate(db, "f", n=2000, seed=0)["x"]
    assert out.is_nan().sum() > 0 and (out == float("inf")).sum() > 0 and (out == -float("inf")).sum() > 0
    assert out.null_count() > 0


def test_all_null_column_is_kept_and_generates_nulls(db):
    db.execute("CREATE TABLE t AS SELECT i AS a, CAST(NULL AS INTEGER) AS b FROM range(100) r(i)")
    ds.train(db, "t", epochs=1)
    out = ds.generate(db, "t", n=50, seed=0)
    assert out["b"].null_count() == 50 and out["a"].null_count() == 0


def test_single_column_table(db):
    db.execute("CREATE TABLE one AS SELECT (i % 4)::VARCHAR AS k FROM range(200) r(i)")
    ds.train(db, "one", epochs=2)
    assert set(ds.generate(db, "one", n=100, seed=0)["k"]) <= {"0", "1", "2", "3"}


def snapshot(con):
    """Everything duck_synth could have touched."""
    tables = con.execute("SELECT schema_name, table_name FROM duckdb_tables() ORDER BY ALL").fetchall()
    meta = {}
    if ("duck_synth", "models") in tables:
        for t in ("models", "columns", "batches", "artifacts"):
            meta[t] = con.execute(f"SELECT count(*) FROM duck_synth.{t}").fetchall()
    return tables, meta


@pytest.mark.parametrize(
    "setup, table, error, message",
    [
        ("", "missing", ds.TableNotFound, "table or view 'missing' does not exist"),
        ("CREATE TABLE e (x INTEGER)", "e", ds.EmptyTable, "table 'e' has no rows; there is nothing to learn from"),
        ("CREATE TABLE n AS SELECT [1, 2] AS l, {'a': 1} AS s, MAP {'k': 1} AS m, 'x'::BLOB AS b FROM range(5)",
         "n", ds.UnsupportedColumnType,
         "table 'n' has no column duck_synth can model: 'l' (INTEGER[]), 's' (STRUCT(a INTEGER)),"
         " 'm' (MAP(VARCHAR, INTEGER)), 'b' (BLOB)"),
    ],
)
def test_bad_input_is_one_clear_error_and_changes_nothing(db, setup, table, error, message):
    if setup:
        db.execute(setup)
    before = snapshot(db)
    with pytest.raises(error) as exc:
        ds.train(db, table, epochs=1)
    assert str(exc.value).startswith(message)
    assert snapshot(db) == before


def test_mixed_unsupported_columns_are_skipped_with_a_warning(db):
    db.execute("CREATE TABLE m AS SELECT i AS a, [i] AS l FROM range(100) r(i)")
    with pytest.warns(UserWarning, match=r"skipping columns of unsupported types .*'l' \(BIGINT\[\]\)") as caught:
        result = ds.train(db, "m", epochs=1)
    assert caught[0].filename == __file__  # the warning points at the caller's line, not into duck_synth
    assert result.skipped_columns == ["l"]
    ds.generate(db, "m", n=10, seed=0, into="m_out")
    assert db.execute("DESCRIBE m_out").fetchall() == db.execute("DESCRIBE m").fetchall()
    assert db.execute("SELECT count(l) FROM m_out").fetchall() == [(0,)]


def test_existing_model_needs_replace(db):
    db.execute("CREATE TABLE t AS SELECT i AS a FROM range(100) r(i)")
    ds.train(db, "t", epochs=1)
    before = snapshot(db)
    with pytest.raises(ds.ModelExists, match="model 't' already exists; pass replace=True to retrain it"):
        ds.train(db, "t", epochs=1)
    assert snapshot(db) == before
    ds.train(db, "t", epochs=1, replace=True)
    assert ds.models(db)["model"].to_list() == ["t"]


def test_generate_bad_input(trained_db, tmp_path):
    con = ds.connect(trained_db)
    with pytest.raises(ds.ModelNotFound, match="model 'nope' does not exist; trained models: 'diamonds'"):
        ds.generate(con, "nope", n=5)
    for bad in (0, -3, 2.5, None, "10"):
        with pytest.raises(ds.InvalidArgument, match="n must be a positive integer"):
            ds.generate(con, "diamonds", n=bad)
    con.close()


def test_into_existing_table_needs_replace_and_failure_leaves_old_table(trained_db, tmp_path):
    import shutil

    path = str(tmp_path / "copy.duckdb")
    shutil.copy(trained_db, path)
    con = ds.connect(path)
    ds.generate(con, "diamonds", n=10, seed=1, into="out")
    with pytest.raises(ds.TableExists, match="table 'out' already exists; pass replace=True to overwrite it"):
        ds.generate(con, "diamonds", n=20, seed=1, into="out")
    assert con.execute("SELECT count(*) FROM out").fetchall() == [(10,)]
    ds.generate(con, "diamonds", n=20, seed=1, into="out", replace=True)
    assert con.execute("SELECT count(*) FROM out").fetchall() == [(20,)]
    con.close()


def test_drop_model_removes_all_metadata(trained_db, tmp_path):
    import shutil

    path = str(tmp_path / "copy.duckdb")
    shutil.copy(trained_db, path)
    con = ds.connect(path)
    ds.drop_model(con, "diamonds")
    for t in ("models", "columns", "batches", "artifacts"):
        assert con.execute(f"SELECT count(*) FROM duck_synth.{t}").fetchall() == [(0,)]
    with pytest.raises(ds.ModelNotFound):
        ds.drop_model(con, "diamonds")
    con.close()


def test_exact_copies_no_more_than_holdout_repeats_train(db, cps):
    train, hold = split(cps.sample(6000, seed=1), 0.8, 0)
    load_frame(db, "cps", train)
    ds.train(db, "cps", epochs=6, seed=0)
    synth = ds.generate(db, "cps", n=train.height, seed=1)
    p = privacy(train, hold, synth)
    assert p.exact_copy_rate <= p.holdout_copy_rate


def test_max_rows_trains_on_a_repeatable_sample_and_keeps_the_whole_profile(db, diamonds):
    load_frame(db, "gems", diamonds.sample(600, seed=4))
    first = ds.train(db, "gems", epochs=1, seed=3, max_rows=250, holdout=0)
    assert first.rows == 250
    assert db.execute("SELECT n_rows FROM duck_synth.models").fetchall() == [(600,)]  # the profile saw them all
    assert db.execute("SELECT max_value FROM duck_synth.columns WHERE column_name = 'price'").fetchall() == \
        db.execute("SELECT max(price)::VARCHAR FROM gems").fetchall()
    weights = db.execute("SELECT sha256 FROM duck_synth.artifacts ORDER BY batch_index").fetchall()
    ds.train(db, "gems", epochs=1, seed=3, max_rows=250, holdout=0, replace=True)
    assert db.execute("SELECT sha256 FROM duck_synth.artifacts ORDER BY batch_index").fetchall() == weights
    with pytest.raises(ds.InvalidArgument, match=r"^max_rows must be a positive integer or None, got 0"):
        ds.train(db, "gems", epochs=1, max_rows=0, replace=True)


def test_batches_train_in_worker_processes_repeatably_with_progress_in_order(db, diamonds, monkeypatch, caplog):
    import logging

    import duck_synth.api as api

    caplog.set_level(logging.INFO, logger="duck_synth.api")
    monkeypatch.setattr(api, "PARALLEL_MIN_TOKENS", 0)  # small enough to run here; real jobs need ~2M tokens
    monkeypatch.setattr(api.os, "cpu_count", lambda: 2)
    load_frame(db, "gems", diamonds.sample(500, seed=4))
    seen = []
    # 10 batches: at least 4 per worker; worker processes are a CPU path (one GPU trains in process)
    result = ds.train(db, "gems", batch_size=1, epochs=2, seed=5, holdout=0, device="cpu",
                      progress=lambda p: seen.append((p.batch, p.epoch)))
    assert len(result.batches) == 10 and result.epochs == [2] * 10
    assert "training 10 batches of model 'gems' in 2 worker processes" in caplog.text
    assert seen == [(b, e) for b in range(10) for e in (1, 2)]
    weights = db.execute("SELECT sha256 FROM duck_synth.artifacts ORDER BY batch_index").fetchall()
    ds.train(db, "gems", batch_size=1, epochs=2, seed=5, holdout=0, device="cpu", replace=True)
    assert db.execute("SELECT sha256 FROM duck_synth.artifacts ORDER BY batch_index").fetchall() == weights
    out = ds.generate(db, "gems", n=300, seed=1)
    assert out.shape == (300, 10) and out["price"].null_count() == 0


def test_a_failing_training_worker_is_a_clear_error_not_a_hang():
    import numpy as np

    from duck_synth.api import _BatchJob, _Worker
    from duck_synth.model import ModelConfig
    from duck_synth.training import TrainConfig

    # token 7 of a 3-value column: the worker's embedding lookup fails
    job = _BatchJob(0, ["a"], [], ModelConfig((), (3,), (0,), (False,)), np.full((64, 1), 7), 16, 1)
    worker = _Worker()
    try:
        with pytest.raises(ds.DuckSynthError, match=r"^a batch training worker failed: IndexError"):
            worker.fit(job, TrainConfig(epochs=1), 1)
    finally:
        worker.close(kill=True)


def test_hidden_width_follows_the_tables_rows_and_columns(tmp_path, cps):
    """Narrow tables under 100,000 rows train at width 32 (a faster sampler at equal quality), at
    twice the learning rate; wider ones at 64, and 100,000 rows and up at 128. The stored config
    records the width."""
    from duck_synth.training import HIDDEN_32_COLUMNS, HIDDEN_128_ROWS, learning_rate, size_for

    assert size_for(4_000, 20)[1] == 32
    assert size_for(HIDDEN_128_ROWS - 1, HIDDEN_32_COLUMNS)[1] == 32
    assert size_for(10_000, HIDDEN_32_COLUMNS + 1)[1] == 64
    assert size_for(HIDDEN_128_ROWS, 7)[1] == 128
    assert learning_rate(3e-3, 32) == 6e-3 and learning_rate(3e-3, 64) == learning_rate(3e-3, 128) == 3e-3

    con = ds.connect(str(tmp_path / "widths.duckdb"))
    narrow = cps.head(1_000)
    wide = narrow.with_columns(pl.col("wage").alias(f"wage_{i}") for i in range(HIDDEN_32_COLUMNS - narrow.width + 1))
    load_frame(con, "narrow", narrow)
    load_frame(con, "wide", wide)
    for table, columns, width in [("narrow", narrow.width, 32), ("wide", HIDDEN_32_COLUMNS + 1, 64)]:
        ds.train(con, table, epochs=1, seed=0, holdout=0)
        configs = con.execute("SELECT config FROM duck_synth.artifacts WHERE model = ?", [table]).fetchall()
        assert configs and all(json.loads(c)["model_config"]["hidden"] == width for (c,) in configs), table
        assert ds.generate(con, table, n=50, seed=1).width == columns
    con.close()
