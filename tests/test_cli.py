"""The duck-synth command line through click's CliRunner: every command, success and failure paths.

Tests that change a database work on a copy of the session's ``trained_db`` (3,000 diamonds
rows, model 'diamonds'), so the model is trained once for the whole suite.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess

import duckdb
import pytest
from click.testing import CliRunner

import duck_synth as ds
from duck_synth.cli import TrainingProgress, main
from duck_synth.training import Progress
from tests.conftest import load_frame



@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def run(runner: CliRunner, *args: str, **kwargs):
    return runner.invoke(main, list(args), prog_name="duck-synth", **kwargs)


@pytest.fixture
def db(trained_db, tmp_path) -> str:
    """A private copy of the trained database, safe to modify."""
    path = str(tmp_path / "copy.duckdb")
    shutil.copyfile(trained_db, path)
    return path


@pytest.fixture
def small_db(tmp_path, diamonds) -> str:
    """A database with 300 diamonds rows and no model."""
    path = str(tmp_path / "small.duckdb")
    con = ds.connect(path)
    load_frame(con, "diamonds", diamonds.sample(300, seed=1))
    con.close()
    return path


def query(path: str, sql: str) -> list[tuple]:
    con = duckdb.connect(path, read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def last_line(text: str) -> str:
    return text.strip().splitlines()[-1]


# ---------------------------------------------------------------------------------------------
# The group: help, version, errors


COMMANDS = ["train", "generate", "validate", "report", "models", "sql", "demo"]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_with_an_example(runner, command):
    result = run(runner, command, "--help")
    assert result.exit_code == 0
    assert f"Usage: duck-synth {command}" in result.stdout
    assert "Example" in result.stdout


def test_group_help_lists_commands_and_completion(runner):
    result = run(runner, "--help")
    assert result.exit_code == 0
    for command in COMMANDS:
        assert command in result.stdout
    assert "_DUCK_SYNTH_COMPLETE=bash_source duck-synth" in result.stdout


def test_version(runner):
    result = run(runner, "--version")
    assert result.exit_code == 0
    assert ds.__version__ in result.stdout


def test_unknown_command_is_a_usage_error(runner):
    result = run(runner, "trian")
    assert result.exit_code == 2
    assert last_line(result.stderr) == "Error: No such command 'trian'. Did you mean 'train'?"


def test_missing_database_is_one_error_line_and_creates_nothing(runner, tmp_path):
    path = str(tmp_path / "typo.duckdb")
    for args in (["generate", "--db", path, "--model", "m", "--rows", "5", "--into", "t"],
                 ["validate", "--db", path, "--model", "m", "--table", "t"],
                 ["report", "--db", path, "--model", "m", "--table", "t"],
                 ["models", "--db", path], ["models", "--db", path, "drop", "m"],
                 ["sql", "--db", path, "SELECT 1"]):
        result = run(runner, *args)
        assert result.exit_code == 1, args
        assert result.stderr == f"Error: database file {path!r} does not exist\n", args
        assert result.stdout == ""
    assert os.listdir(tmp_path) == []


def test_debug_shows_the_exception_instead(runner, tmp_path):
    path = str(tmp_path / "typo.duckdb")
    result = run(runner, "models", "--db", path)
    assert "Traceback" not in result.output
    result = run(runner, "--debug", "models", "--db", path)
    assert result.exit_code == 1
    assert isinstance(result.exception, ds.DuckSynthError)


def test_completion_script_and_model_names(runner, trained_db):
    script = run(runner, env={"_DUCK_SYNTH_COMPLETE": "bash_source"})
    assert script.exit_code == 0
    assert "_duck_synth_completion" in script.stdout
    words = f"duck-synth generate --db {trained_db} --model "
    result = run(runner, env={"_DUCK_SYNTH_COMPLETE": "bash_complete", "COMP_WORDS": words,
                              "COMP_CWORD": str(len(words.split()))})
    assert "plain,diamonds" in result.stdout.splitlines()
    words = f"duck-synth report --db {trained_db} --table di"
    result = run(runner, env={"_DUCK_SYNTH_COMPLETE": "bash_complete", "COMP_WORDS": words,
                              "COMP_CWORD": str(len(words.split()) - 1)})
    assert "plain,diamonds" in result.stdout.splitlines()


def test_training_progress_lines(monkeypatch):
    lines = []
    show = TrainingProgress(fixed_epochs=False)
    show.tty = False
    monkeypatch.setattr("duck_synth.cli.click.echo", lambda text="", **kw: lines.append(text))
    show(Progress(0, 2, 1, 10, 1.23456, None, 2.0))
    show(Progress(0, 2, 4, 10, 1.1, 1.2, 8.0))  # early stopping ends batch 1 here
    show(Progress(1, 2, 10, 10, 0.5, 0.75, 30.0))
    assert lines == ["batch 1/2  epoch 1/10  loss 1.2346  val -  2s  ETA <38s",
                     "batch 1/2  epoch 4/10  loss 1.1000  val 1.2000  8s  ETA <32s",
                     "batch 2/2  epoch 10/10  loss 0.5000  val 0.7500  38s  ETA <0s"]


# ---------------------------------------------------------------------------------------------
# train


def test_train_json_and_model_stored(runner, small_db):
    result = run(runner, "train", "--db", small_db, "--table", "diamonds", "--model", "d",
                 "--batch-size", "5", "--epochs", "1", "--json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)  # stdout holds the JSON and nothing else
    assert out["model"] == "d" and out["epochs"] == [1, 1]
    assert out["rows"] + out["holdout_rows"] == 300 and 30 <= out["holdout_rows"] <= 90  # 20% kept aside
    assert len(out["batches"]) == 2 and out["device"] == "cpu"
    assert "epoch" not in result.stderr  # --json implies no progress
    assert query(small_db, "SELECT model, status FROM duck_synth.models") == [("d", "trained")]
    whole = run(runner, "train", "--db", small_db, "--table", "diamonds", "--model", "d0", "--epochs", "1",
                "--holdout", "0", "--json")
    assert (json.loads(whole.stdout)["rows"], json.loads(whole.stdout)["holdout_rows"]) == (300, 0)
    bad = run(runner, "train", "--db", small_db, "--table", "diamonds", "--model", "d9", "--holdout", "0.9")
    assert bad.exit_code == 2 and "0.9 is not in the range 0<=x<=0.5" in bad.stderr


def test_train_shows_progress_and_summary(runner, small_db):
    result = run(runner, "train", "--db", small_db, "--table", "diamonds", "--epochs", "2", "--seed", "3")
    assert result.exit_code == 0, result.output
    assert re.search(r"^batch 1/1  epoch 2/2  loss \d+\.\d{4}  val \d+\.\d{4}  \d+s  ETA 0s$", result.stderr, re.M)
    kept = re.fullmatch(r"Trained model 'diamonds' on (\d+) rows of 'diamonds' \((\d+) more kept aside as its"
                        r" holdout\): 1 batch\(es\), epochs 2, [\d.]+s on cpu\n", result.stdout)
    assert kept and int(kept[1]) + int(kept[2]) == 300
    again = run(runner, "train", "--db", small_db, "--table", "diamonds", "--epochs", "1", "--quiet")
    assert again.exit_code == 1
    assert again.stderr == "Error: model 'diamonds' already exists; pass --replace to retrain it\n"
    replaced = run(runner, "train", "--db", small_db, "--table", "diamonds", "--epochs", "1", "--quiet", "--replace")
    assert replaced.exit_code == 0 and replaced.stderr == ""


def test_train_unknown_table_leaves_no_new_file(runner, tmp_path, small_db):
    result = run(runner, "train", "--db", small_db, "--table", "nope")
    assert result.exit_code == 1
    assert result.stderr == "Error: table or view 'nope' does not exist\n"
    new = str(tmp_path / "new.duckdb")
    result = run(runner, "train", "--db", new, "--table", "customers")
    assert result.stderr == "Error: table or view 'customers' does not exist\n"
    assert not os.path.exists(new)


@pytest.mark.parametrize(("args", "error"), [
    (["--epochs", "0"], "Error: Invalid value for '--epochs': 0 is not in the range x>=1."),
    (["--batch-size", "-1"], "Error: Invalid value for '--batch-size': -1 is not in the range x>=1."),
    (["--device", "tpu"], "Error: Invalid value for '--device': 'tpu' is not one of 'auto', 'cpu', 'cuda'."),
    (["--seed", "x"], "Error: Invalid value for '--seed': 'x' is not a valid integer."),
])
def test_train_bad_options(runner, small_db, args, error):
    result = run(runner, "train", "--db", small_db, "--table", "diamonds", *args)
    assert result.exit_code == 2
    assert last_line(result.stderr) == error


def test_train_requires_table(runner, small_db):
    result = run(runner, "train", "--db", small_db)
    assert result.exit_code == 2
    assert last_line(result.stderr) == "Error: Missing option '--table'."


# ---------------------------------------------------------------------------------------------
# generate


def test_generate_writes_a_typed_table(runner, db):
    result = run(runner, "generate", "--db", db, "--model", "diamonds", "--rows", "200", "--into", "synth",
                 "--seed", "7")
    assert result.exit_code == 0, result.output
    assert re.fullmatch(r"Wrote 200 rows into 'synth' in [\d.]+s \([\d,]+ rows/s, seed 7\)\n", result.stdout)
    assert "generating 200 rows with model 'diamonds' into 'synth'" in result.stderr
    assert query(db, "SELECT count(*) FROM synth") == [(200,)]
    types = ("SELECT column_name, data_type FROM information_schema.columns WHERE table_name = '{}'"
             " ORDER BY ordinal_position")
    assert query(db, types.format("synth")) == query(db, types.format("diamonds"))


def test_generate_json_is_reproducible_with_a_seed(runner, db):
    outs = []
    for into in ("a", "b"):
        result = run(runner, "generate", "--db", db, "--model", "diamonds", "--rows", "50", "--into", into,
                     "--seed", "11", "--json")
        assert result.exit_code == 0, result.output
        outs.append(json.loads(result.stdout))
        assert result.stderr == ""
    assert outs[0]["rows"] == 50 and outs[0]["seed"] == 11 and outs[0]["table"] == "a"
    assert query(db, "SELECT count(*) FROM (SELECT * FROM a EXCEPT ALL SELECT * FROM b)") == [(0,)]


def test_generate_from_a_seed_table(runner, db):
    con = duckdb.connect(db)
    con.execute("CREATE TABLE vip AS SELECT * FROM (VALUES ('Ideal'), ('Fair'), ('Ideal')) t(cut)")
    con.close()
    result = run(runner, "generate", "--db", db, "--model", "diamonds", "--seed-table", "vip", "--into", "s",
                 "--seed", "1", "--quiet")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Wrote 3 rows into 's'")
    assert sorted(r[0] for r in query(db, "SELECT cut FROM s")) == ["Fair", "Ideal", "Ideal"]


def test_generate_into_existing_table_needs_replace(runner, db):
    result = run(runner, "generate", "--db", db, "--model", "diamonds", "--rows", "5", "--into", "diamonds")
    assert result.exit_code == 1
    assert result.stderr.endswith("Error: table 'diamonds' already exists; pass --replace to overwrite it\n")
    assert query(db, "SELECT count(*) FROM diamonds") == [(3000,)]
    result = run(runner, "generate", "--db", db, "--model", "diamonds", "--rows", "5", "--into", "diamonds",
                 "--replace", "-q")
    assert result.exit_code == 0, result.output
    assert query(db, "SELECT count(*) FROM diamonds") == [(5,)]


def test_generate_unknown_model(runner, db):
    result = run(runner, "generate", "--db", db, "--model", "nope", "--rows", "5", "--into", "t", "-q")
    assert result.exit_code == 1
    assert result.stderr == "Error: model 'nope' does not exist; trained models: 'diamonds'\n"


@pytest.mark.parametrize(("rows", "error"), [
    ("0", "Error: Invalid value for '--rows': 0 is not in the range x>=1."),
    ("-3", "Error: Invalid value for '--rows': -3 is not in the range x>=1."),
    ("ten", "Error: Invalid value for '--rows': 'ten' is not a valid integer range."),
])
def test_generate_bad_rows(runner, db, rows, error):
    result = run(runner, "generate", "--db", db, "--model", "diamonds", "--rows", rows, "--into", "t")
    assert result.exit_code == 2
    assert last_line(result.stderr) == error


def test_generate_needs_rows_or_seed_table_not_both(runner, db):
    for extra in ([], ["--rows", "5", "--seed-table", "diamonds"]):
        result = run(runner, "generate", "--db", db, "--model", "diamonds", "--into", "t", *extra)
        assert result.exit_code == 2
        assert last_line(result.stderr) == "Error: give either --rows N, or --seed-table T for one record per seed row"


def test_generate_seed_table_with_foreign_columns_is_a_usage_error(runner, db):
    con = duckdb.connect(db)
    con.execute("CREATE TABLE bad AS SELECT 1 AS colour_code")
    con.close()
    result = run(runner, "generate", "--db", db, "--model", "diamonds", "--seed-table", "bad", "--into", "t", "-q")
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: seed columns 'colour_code' are not columns of model 'diamonds'")
    assert len(result.stderr.splitlines()) == 1


# ---------------------------------------------------------------------------------------------
# validate


def test_validate_ok_and_failing_rule(runner, db):
    assert run(runner, "generate", "--db", db, "--model", "diamonds", "--rows", "100", "--into", "s", "-q",
               "--seed", "1").exit_code == 0
    ok = run(runner, "validate", "--db", db, "--model", "diamonds", "--table", "s")
    assert ok.exit_code == 0, ok.output
    assert re.fullmatch(r"OK: 0 of 100 rows of 's' fail the rules of model 'diamonds' \(\d+ rules checked\)\n",
                        ok.stdout)
    con = ds.connect(db)
    ds.add_rule(con, "diamonds", "cheap", "price < 0")
    con.close()
    failed = run(runner, "validate", "--db", db, "--model", "diamonds", "--table", "s", "--json")
    assert failed.exit_code == 1
    out = json.loads(failed.stdout)
    assert out["ok"] is False and out["total_rows"] == 100 and out["failed_rows"] == 100
    assert out["by_rule"]["cheap"] == 100 and sum(out["by_rule"].values()) == 100
    human = run(runner, "validate", "--db", db, "--model", "diamonds", "--table", "s")
    assert human.exit_code == 1
    assert human.stdout.startswith("FAILED: 100 of 100 rows of 's' fail the rules of model 'diamonds' (")
    assert human.stdout.splitlines()[1:] == ["  rule cheap: 100 rows"]


def test_validate_schema_problem_fails(runner, db):
    con = duckdb.connect(db)
    con.execute("CREATE TABLE other AS SELECT 1 AS x")
    con.close()
    result = run(runner, "validate", "--db", db, "--model", "diamonds", "--table", "other", "--json")
    assert result.exit_code == 1
    assert json.loads(result.stdout)["schema_problems"]


def test_validate_unknown_model_and_table(runner, db):
    result = run(runner, "validate", "--db", db, "--model", "nope", "--table", "diamonds")
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: model 'nope' ")
    assert len(result.stderr.splitlines()) == 1
    result = run(runner, "validate", "--db", db, "--model", "diamonds", "--table", "nope")
    assert result.exit_code == 1
    assert result.stderr == "Error: table or view 'nope' does not exist\n"


# ---------------------------------------------------------------------------------------------
# report


def test_report_text_json_and_html(runner, db, tmp_path, diamonds):
    assert run(runner, "generate", "--db", db, "--model", "diamonds", "--rows", "500", "--into", "s", "-q",
               "--seed", "1").exit_code == 0
    result = run(runner, "report", "--db", db, "--model", "diamonds", "--table", "s")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("'s': 500 rows vs 3,000 rows of 'diamonds'\n")
    assert re.search(r"^  fidelity +0\.\d{4}$", result.stdout, re.M)
    assert re.search(r"^  exact copy rate +0\.\d{4}$", result.stdout, re.M)

    con = duckdb.connect(db)
    load_frame(con, "holdout", diamonds.sample(400, seed=99))
    con.close()
    html = tmp_path / "r.html"
    result = run(runner, "report", "--db", db, "--model", "diamonds", "--table", "s", "--holdout", "holdout",
                 "--html", str(html), "--json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["synthetic_rows"] == 500 and out["holdout_rows"] == 400
    assert 0 < out["fidelity"]["score"] <= 1 and 0 < out["holdout_fidelity"]["score"] <= 1
    assert 0 <= out["privacy"]["dcr_share"] <= 1
    assert set(out["fidelity"]["shapes"]) == set(diamonds.columns)
    page = html.read_text()
    assert page.startswith("<!doctype html>") and "duck_synth report: s (model diamonds)" in page
    embedded = re.search(r"<script type='application/json' id='report'>(.*)</script>", page).group(1)
    assert json.loads(embedded) == out


def test_report_failures(runner, db):
    result = run(runner, "report", "--db", db, "--model", "diamonds", "--table", "nope", "-q")
    assert (result.exit_code, result.stderr) == (1, "Error: table or view 'nope' does not exist\n")
    result = run(runner, "report", "--db", db, "--model", "nope", "--table", "diamonds", "-q")
    assert (result.exit_code, result.stderr) == (1, "Error: model 'nope' does not exist; trained models: 'diamonds'\n")
    con = duckdb.connect(db)
    con.execute("CREATE TABLE narrow AS SELECT carat, cut FROM diamonds")
    con.close()
    result = run(runner, "report", "--db", db, "--model", "diamonds", "--table", "narrow", "--quiet")
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: table 'narrow' lacks columns 'color', 'clarity', ")
    assert result.stderr.endswith(" compared with 'diamonds', the source of model 'diamonds'\n")


# ---------------------------------------------------------------------------------------------
# models


def test_models_list_show_drop(runner, db):
    listed = run(runner, "models", "--db", db)
    assert listed.exit_code == 0
    header, rule, row = listed.stdout.splitlines()
    assert header.split() == ["model", "source_table", "status", "n_rows", "device", "trained_at"]
    assert row.split()[:5] == ["diamonds", "diamonds", "trained", "3000", "cpu"]
    as_json = json.loads(run(runner, "models", "--db", db, "--json").stdout)
    assert [m["model"] for m in as_json] == ["diamonds"]

    shown = run(runner, "models", "show", "diamonds", "--db", db)
    assert shown.exit_code == 0, shown.output
    assert shown.stdout.startswith("model 'diamonds': trained, source 'diamonds', 3,000 rows, trained ")
    assert "\nBatches:\n  0: carat, cut, color, clarity, depth (8 epochs)\n  1: table, price, x, y, z (8 epochs)\n" \
        in shown.stdout
    assert re.search(r"\nRules:\nrule +origin +enabled +predicate\n", shown.stdout)
    assert re.search(r"^domain_clarity +profile +True +\"clarity\" IN \(", shown.stdout, re.M)
    detail = json.loads(run(runner, "models", "--db", db, "show", "diamonds", "--json").stdout)
    assert [c["name"] for c in detail["columns"]][:3] == ["carat", "cut", "color"]
    assert detail["training"]["epochs"] == [8, 8]
    assert {"rule": "domain_cut", "origin": "profile", "enabled": True} == {
        k: v for k, v in next(r for r in detail["rules"] if r["rule"] == "domain_cut").items() if k != "predicate"}

    dropped = run(runner, "models", "--db", db, "drop", "diamonds")
    assert (dropped.exit_code, dropped.stdout) == (0, "Dropped model 'diamonds'\n")
    assert run(runner, "models", "--db", db).stdout == f"No models in {db}\n"
    again = run(runner, "models", "--db", db, "drop", "diamonds")
    assert (again.exit_code, again.stderr) == (1, "Error: model 'diamonds' does not exist\n")
    missing = run(runner, "models", "--db", db, "show", "diamonds")
    assert (missing.exit_code, missing.stderr) == (1, "Error: model 'diamonds' does not exist; no model is trained"
                                                       " in this database\n")


def test_models_usage_errors(runner, db):
    result = run(runner, "models", "--db", db, "show")
    assert (result.exit_code, last_line(result.stderr)) == (2, "Error: 'models show' needs a model NAME")
    result = run(runner, "models", "--db", db, "erase", "x")
    assert result.exit_code == 2
    assert last_line(result.stderr) == "Error: Invalid value for '[show|drop]': 'erase' is not one of 'show', 'drop'."


# ---------------------------------------------------------------------------------------------
# sql


def test_sql_table_json_csv(runner, db):
    result = run(runner, "sql", "--db", db, "SELECT cut, count(*) AS n FROM diamonds GROUP BY cut ORDER BY cut LIMIT 2")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["cut", "n"] and len(lines) == 4
    result = run(runner, "sql", "--db", db, "SELECT 1 AS a, 'x' AS b, DATE '2024-01-02' AS d, NULL AS e", "--json")
    assert json.loads(result.stdout) == [{"a": 1, "b": "x", "d": "2024-01-02", "e": None}]
    result = run(runner, "sql", "--db", db, "SELECT 1 AS a, 'x,y' AS b", "--csv")
    assert result.stdout == 'a,b\n1,"x,y"\n'


def test_sql_writes_and_errors(runner, db):
    result = run(runner, "sql", "--db", db, "CREATE TABLE t AS SELECT 42 AS answer")
    assert (result.exit_code, result.stdout) == (0, "Count\n-----\n1\n")  # rows written, as DuckDB reports
    assert query(db, "SELECT answer FROM t") == [(42,)]
    result = run(runner, "sql", "--db", db, "SELECT * FROM no_such_table")
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: Catalog Error: Table with name no_such_table does not exist!")
    assert len(result.stderr.splitlines()) == 1
    result = run(runner, "sql", "--db", db, "SELECT 1", "--json", "--csv")
    assert (result.exit_code, last_line(result.stderr)) == (2, "Error: --json and --csv cannot be combined")


def test_sql_has_the_functions_registered(runner, db):
    result = run(runner, "sql", "--db", db,
                 "SELECT count(*) AS n FROM generate_synthetic('diamonds', 25, seed := 1)", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == [{"n": 25}]


# ---------------------------------------------------------------------------------------------
# Read-only database files


@contextlib.contextmanager
def read_only_file(path: str):
    """Make ``path`` read-only for this process: chmod for users, the immutable flag for root."""
    os.chmod(path, 0o444)
    immutable = False
    if os.access(path, os.W_OK):  # root ignores permissions
        immutable = subprocess.run(["chattr", "+i", path], capture_output=True).returncode == 0 \
            if shutil.which("chattr") else False
        if not immutable:
            os.chmod(path, 0o644)
            pytest.skip("cannot make a file read-only for this user (root without chattr)")
    try:
        yield
    finally:
        if immutable:
            subprocess.run(["chattr", "-i", path], check=True)
        os.chmod(path, 0o644)


def test_read_only_database(runner, db):
    with read_only_file(db):
        result = run(runner, "generate", "--db", db, "--model", "diamonds", "--rows", "5", "--into", "s")
        assert (result.exit_code, result.stderr) == (
            1, f"Error: database file {db!r} is read-only; cannot write table 's' into it\n")
        result = run(runner, "models", "--db", db, "drop", "diamonds")
        assert result.stderr == f"Error: database file {db!r} is read-only; cannot drop model 'diamonds' from it\n"
        result = run(runner, "train", "--db", db, "--table", "diamonds", "--model", "m2")
        assert result.stderr == f"Error: database file {db!r} is read-only; cannot store model 'm2' in it\n"
        # reading works: the file is opened read-only
        assert run(runner, "models", "--db", db).exit_code == 0
        assert json.loads(run(runner, "sql", "--db", db, "SELECT count(*) AS n FROM diamonds", "--json").stdout) \
            == [{"n": 3000}]
        result = run(runner, "sql", "--db", db, "CREATE TABLE t(a INT)")
        assert result.exit_code == 1
        assert result.stderr.startswith("Error: Invalid Input Error: Cannot execute statement of type \"CREATE\"")
        assert os.path.exists(db) and not os.path.exists(db + ".wal")
    assert query(db, "SELECT count(*) FROM duck_synth.models") == [(1,)]


# ---------------------------------------------------------------------------------------------
# demo


def test_demo_small_json_then_reuse(runner, tmp_path):
    path = str(tmp_path / "demo.duckdb")
    args = ["demo", "--db", path, "--rows", "200", "--epochs", "1"]
    result = run(runner, *args, "--json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["train_rows"] == 160 and out["holdout_rows"] == 40 and out["trained"] is True
    assert 0 < out["fidelity"] <= 1 and 0 <= out["dcr_share"] <= 1
    assert query(path, "SELECT count(*) FROM diamonds_synth") == [(160,)]
    again = run(runner, *args)
    assert again.exit_code == 0, again.output
    assert "reusing the trained model 'diamonds'" in again.stderr
    assert re.search(r"^  training +reused the trained model$", again.stdout, re.M)
    assert f'Try: duck-synth sql --db {path} "SELECT * FROM diamonds_synth LIMIT 5"' in again.stdout


def test_demo_bad_dataset(runner, tmp_path):
    result = run(runner, "demo", "--db", str(tmp_path / "d.duckdb"), "--dataset", "iris")
    assert result.exit_code == 2
    assert last_line(result.stderr).startswith("Error: Invalid value for '--dataset': 'iris' is not one of")


def test_generate_gives_up_after_max_invalid(runner, db):
    con = ds.connect(db)
    ds.add_rule(con, "diamonds", "impossible", "carat < 0")
    con.close()
    result = run(runner, "generate", "--db", db, "--model", "diamonds", "--rows", "10", "--into", "s",
                 "--max-invalid", "5", "-q")
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: ") and "impossible" in result.stderr
    assert len(result.stderr.splitlines()) == 1
    assert query(db, "SELECT count(*) FROM duckdb_tables() WHERE table_name = 's'") == [(0,)]
