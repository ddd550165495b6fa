"""ds.evaluate and the HTML report: the protocol of DESIGN.md section 6, stored, repeatable, readable."""

from __future__ import annotations

import base64
import json
import re
import shutil

import polars as pl
import pytest
from click.testing import CliRunner

import duck_synth as ds
from duck_synth.cli import main
from tests.conftest import load_frame

SECTIONS = ["Headline scores", "Privacy", "Column distributions: real vs synthetic",
            "Column pair trends: where the synthetic relationships differ", "Weakest columns", "Weakest column pairs"]


@pytest.fixture
def scored_db(trained_db, tmp_path, diamonds):
    """The trained diamonds model, 1,000 synthetic rows and 500 real rows it never saw."""
    path = str(tmp_path / "scored.duckdb")
    shutil.copyfile(trained_db, path)
    con = ds.connect(path)
    trained_on = con.sql("SELECT * FROM diamonds").pl()
    unseen = diamonds.join(trained_on, on=diamonds.columns, how="anti").sample(500, seed=3)
    con.execute("DROP TABLE IF EXISTS holdout")  # other tests may have left tables in the session's file
    load_frame(con, "holdout", unseen)
    ds.generate(con, "diamonds", n=1000, seed=1, into="synth", replace=True)
    yield con, path
    con.close()


def test_evaluate_scores_fidelity_detection_privacy_utility_and_the_holdout_reference(scored_db):
    con, _ = scored_db
    r = ds.evaluate(con, "diamonds", "synth", holdout="holdout", target="price", seed=0)
    assert 0.7 < r.fidelity.score <= 1 and 0.7 < r.holdout_fidelity.score <= 1
    assert set(r.fidelity.shapes) == {"carat", "cut", "color", "clarity", "depth", "table", "price", "x", "y", "z"}
    assert len(r.fidelity.pairs) == 45
    assert 0.5 <= r.detection_auc <= 1 and 0.5 <= r.holdout_detection_auc < r.detection_auc + 0.1
    assert r.utility.task == "regression" and r.utility.real_score > 0.8 and 0 < r.utility.ratio <= 1.2
    assert r.exact_copy_rate == r.privacy.exact_copy_rate and 0 <= r.privacy.dcr_share <= 1
    stored = con.execute("SELECT model, table_name, holdout_table, target, seed, report FROM duck_synth.reports").fetchall()
    assert len(stored) == 1 and stored[0][:5] == ("diamonds", "synth", "holdout", "price", 0)
    assert json.loads(stored[0][5]) == r.to_dict()


def test_evaluate_with_the_same_seed_gives_the_same_numbers(scored_db):
    con, _ = scored_db
    first = ds.evaluate(con, "diamonds", "synth", holdout="holdout", target="cut", seed=4).to_dict()
    second = ds.evaluate(con, "diamonds", "synth", holdout="holdout", target="cut", seed=4).to_dict()
    assert first == second
    assert first["utility"]["task"] == "classification"
    assert con.execute("SELECT count(*) FROM duck_synth.reports").fetchall() == [(2,)]


def test_evaluate_refuses_a_target_without_holdout_and_an_unknown_target(scored_db):
    con, _ = scored_db
    with pytest.raises(ds.InvalidArgument, match=r"^target 'price' needs a holdout table"):
        ds.evaluate(con, "diamonds", "synth", target="price")
    with pytest.raises(ds.InvalidArgument, match=r"^target 'weight' is not a column"):
        ds.evaluate(con, "diamonds", "synth", holdout="holdout", target="weight")


def test_html_report_has_every_section_with_embedded_images_and_evaluates_numbers(scored_db, tmp_path):
    con, path = scored_db
    expected = ds.evaluate(con, "diamonds", "synth", holdout="holdout", target="price", seed=0).to_dict()
    con.close()
    page_path = tmp_path / "report.html"
    result = CliRunner().invoke(main, ["report", "--db", path, "--model", "diamonds", "--table", "synth",
                                       "--holdout", "holdout", "--target", "price", "--html", str(page_path), "-q"])
    assert result.exit_code == 0, result.output
    page = page_path.read_text()
    headings = re.findall(r"<h2>(.*?)</h2>", page)
    assert headings == SECTIONS
    images = re.findall(r"src='data:image/png;base64,([A-Za-z0-9+/=]+)'", page)
    assert len(images) == 10 + 1  # one distribution per column, and the heatmap
    assert all(base64.b64decode(img).startswith(b"\x89PNG") for img in images)
    assert "http" not in page.replace("http-equiv", "")  # self-contained: nothing fetched
    embedded = json.loads(re.search(r"<script type='application/json' id='report'>(.*)</script>", page).group(1))
    assert embedded == expected
    for label in ("detection AUC", "holdout reference", "DCR share", "utility: regression on &#x27;price&#x27;"):
        assert label in page


# ---------------------------------------------------------------------------------------------
# the holdout ds.train keeps


@pytest.fixture
def kept(db, diamonds):
    """1,000 diamonds rows (with 10 exact duplicates) trained with the default holdout."""
    frame = diamonds.sample(990, seed=8)
    load_frame(db, "gems", pl.concat([frame, frame.head(10)]))
    result = ds.train(db, "gems", batch_size=5, epochs=1, seed=0)
    return db, result


def test_train_keeps_a_fifth_of_the_rows_aside_and_never_profiles_them(kept):
    con, result = kept
    held = ds.holdout(con, "gems")
    assert result.rows + result.holdout_rows == 1000 and 150 <= result.holdout_rows <= 250
    assert held.height == result.holdout_rows
    assert con.execute("SELECT n_rows, holdout, holdout_rows FROM duck_synth.models").fetchall() == [
        (result.rows, 0.2, result.holdout_rows)]
    con.register("held", held.to_arrow())
    trained_on = "(SELECT * FROM gems EXCEPT ALL SELECT * FROM held)"
    assert con.sql(f"SELECT count(*) FROM {trained_on}").fetchall() == [(result.rows,)]
    # the stored profile is that of the training side alone (it differs from the whole table's)
    for column in ("carat", "price", "depth"):
        profiled = con.execute("SELECT min_value, max_value FROM duck_synth.columns WHERE column_name = ?",
                               [column]).fetchall()
        assert profiled == con.sql(f'SELECT min("{column}")::VARCHAR, max("{column}")::VARCHAR'
                                   f" FROM {trained_on}").fetchall()
    # the same rows on every call: the split is a function of the rows, not of a random draw
    assert ds.holdout(con, "gems").sort(held.columns).equals(held.sort(held.columns))


def test_evaluate_scores_against_the_kept_holdout_by_default(kept):
    con, result = kept
    ds.generate(con, "gems", n=result.rows, seed=1, into="gems_synth")
    r = ds.evaluate(con, "gems", "gems_synth", target="price", seed=0)
    assert r.holdout_table == "gems (holdout kept by ds.train)"
    assert (r.source_rows, r.holdout_rows) == (result.rows, result.holdout_rows)
    assert r.privacy is not None and r.holdout_fidelity is not None and r.utility.target == "price"
    same = ds.evaluate(con, "gems", "gems_synth", target="price", seed=0)
    assert same.to_dict() == r.to_dict()
    assert con.execute("SELECT DISTINCT holdout_table FROM duck_synth.reports").fetchall() == [
        ("gems (holdout kept by ds.train)",)]


def test_a_changed_source_is_refused_rather_than_scored_against_seen_rows(kept, caplog):
    con, result = kept
    ds.generate(con, "gems", n=200, seed=1, into="gems_synth")
    held = ds.holdout(con, "gems")
    con.execute("INSERT INTO gems SELECT * FROM gems LIMIT 50")
    with pytest.raises(ds.InvalidArgument, match=r"^table 'gems' changed since model 'gems' was trained: .*"
                       r"pass holdout= a table of real rows the model never saw$"):
        ds.evaluate(con, "gems", "gems_synth")
    with pytest.raises(ds.InvalidArgument, match=r"changed since model 'gems' was trained"):
        ds.holdout(con, "gems")
    load_frame(con, "unseen", held)  # the user kept the rows: an explicit holdout still works, with a warning
    assert ds.evaluate(con, "gems", "gems_synth", holdout="unseen").holdout_rows == held.height
    assert "changed since model 'gems' was trained" in caplog.text


def test_holdout_zero_small_tables_and_bad_shares(db, diamonds):
    load_frame(db, "big", diamonds.sample(300, seed=2))
    load_frame(db, "small", diamonds.sample(99, seed=2))
    assert ds.train(db, "big", epochs=1, holdout=0).rows == 300
    with pytest.raises(ds.InvalidArgument, match=r"^model 'big' kept no holdout: it was trained on every row"):
        ds.holdout(db, "big")
    assert ds.evaluate(db, "big", "big").privacy is None  # nothing to compare with: no privacy figures
    small = ds.train(db, "small", epochs=1)
    assert (small.rows, small.holdout_rows) == (99, 0)  # under 100 rows: trained whole
    for bad in (0.7, -0.1, "0.2", True):
        with pytest.raises(ds.InvalidArgument, match=r"^holdout must be a share of rows from 0 to 0\.5"):
            ds.train(db, "big", model="other", epochs=1, holdout=bad)
    ds.plan(db, "big", model="planned", holdout=0.1)
    with pytest.raises(ds.InvalidArgument, match=r"^model 'planned' was planned with holdout=0\.1;"):
        ds.train(db, "big", model="planned", epochs=1, holdout=0.3)
    assert ds.train(db, "big", model="planned", epochs=1).holdout_rows == ds.holdout(db, "planned").height > 0


def test_a_database_from_before_holdouts_gets_the_columns_added(db, diamonds):
    load_frame(db, "gems", diamonds.sample(200, seed=2))
    ds.plan(db, "gems")
    db.execute("DELETE FROM duck_synth.batches; DELETE FROM duck_synth.columns; DELETE FROM duck_synth.models")
    db.execute("ALTER TABLE duck_synth.models DROP COLUMN holdout_rows; ALTER TABLE duck_synth.models DROP COLUMN holdout")
    assert ds.train(db, "gems", epochs=1).holdout_rows > 0


def test_a_target_is_modelled_first_and_is_evaluates_default(db, diamonds):
    load_frame(db, "gems", diamonds.sample(400, seed=5))
    result = ds.train(db, "gems", batch_size=5, epochs=1, seed=0, target="price")
    assert result.batches[0][0] == "price" and sorted(c for b in result.batches for c in b) == sorted(diamonds.columns)
    ds.generate(db, "gems", n=300, seed=1, into="gems_synth")
    r = ds.evaluate(db, "gems", "gems_synth")
    assert r.utility is not None and r.utility.target == "price" and r.utility.task == "regression"
    assert db.execute("SELECT target FROM duck_synth.reports").fetchall() == [("price",)]
    assert ds.evaluate(db, "gems", "gems_synth", target="cut").utility.target == "cut"  # an explicit one wins
    with pytest.raises(ds.InvalidArgument, match=r"^target 'weight' is not a column of 'gems' that duck_synth models;"):
        ds.train(db, "gems", model="other", epochs=1, target="weight")
    with pytest.raises(ds.InvalidArgument, match=r"^target 'cut' and batch_headers cannot both be given"):
        ds.train(db, "gems", model="other", epochs=1, target="cut", batch_headers=[["cut", "price"]])
    ds.plan(db, "gems", model="planned")
    with pytest.raises(ds.InvalidArgument, match=r"^model 'planned' was planned with target=None; plan it again with replace=True and target='cut'"):
        ds.train(db, "gems", model="planned", epochs=1, target="cut")
    assert ds.plan(db, "gems", model="planned", target="cut", replace=True)[0][0] == "cut"


def test_the_split_keeps_any_column_name(db):
    db.execute('CREATE TABLE odd AS SELECT range % 50 AS "duck_synth.h", (range % 7)::VARCHAR AS r,'
               ' range * 0.5 AS "u", NULL::INTEGER AS "h" FROM range(300)')
    result = ds.train(db, "odd", epochs=1, seed=0)
    assert sorted(c for b in result.batches for c in b) == sorted(["duck_synth.h", "r", "u", "h"])
    held = ds.holdout(db, "odd")
    assert held.columns == ["duck_synth.h", "r", "u", "h"] and held.height == result.holdout_rows > 0
    db.register("held", held.to_arrow())
    assert db.sql("SELECT count(*) FROM (SELECT * FROM odd EXCEPT ALL SELECT * FROM held)").fetchall() == [
        (result.rows,)]
