"""ds.evaluate and the HTML report: the protocol of DESIGN.md section 6, stored, repeatable, readable."""

from __future__ import annotations

import base64
import json
import re
import shutil

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
