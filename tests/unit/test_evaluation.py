"""Tests for duck_synth.evaluation: the fidelity and privacy yardstick."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math

import numpy as np
import polars as pl
import pytest
from scipy.stats import ks_2samp

from duck_synth import datasets, evaluation
from duck_synth.errors import InvalidArgument


@pytest.fixture(scope="module")
def diamonds() -> pl.DataFrame:
    """A few thousand rows of a real table: 7 numeric and 3 categorical columns."""
    return datasets.load("diamonds").sample(3000, seed=1)


def shuffle_columns(df: pl.DataFrame, seed: int = 0) -> pl.DataFrame:
    """Each column permuted on its own: same marginals, no dependence between columns."""
    rng = np.random.default_rng(seed)
    return pl.DataFrame([df.get_column(c)[rng.permutation(df.height)] for c in df.columns])


# --- column kinds and split ---------------------------------------------------------------


def test_column_kinds_detects_each_kind():
    n = 100
    df = pl.DataFrame(
        {
            "order_id": [f"ord-{i:05d}" for i in range(n)],
            "city": ["a", "b", "c", None] * (n // 4),
            "flag": [True, False] * (n // 2),
            "day": [dt.date(2020, 1, 1) + dt.timedelta(days=i) for i in range(n)],
            "amount": np.linspace(0.5, 99.5, n),
            "stars": [i % 5 for i in range(n)],  # whole, non-negative, 5 values: categorical
            "delta": [i % 5 - 2 for i in range(n)],  # negative values: numeric
            "kind": pl.Series(["x", "y"] * (n // 2), dtype=pl.Categorical),
        }
    )
    assert evaluation.column_kinds(df) == {
        "order_id": "id",
        "city": "categorical",
        "flag": "categorical",
        "day": "datetime",
        "amount": "numeric",
        "stars": "categorical",
        "delta": "numeric",
        "kind": "categorical",
    }


def test_id_threshold_is_ninety_percent_of_non_null_values():
    unique_91 = [f"v{i}" for i in range(91)] + ["v0"] * 9 + [None] * 50
    unique_90 = [f"v{i}" for i in range(90)] + ["v0"] * 10 + [None] * 50
    df = pl.DataFrame({"a": unique_91, "b": unique_90})
    assert evaluation.column_kinds(df) == {"a": "id", "b": "categorical"}


def test_split_is_deterministic_and_disjoint(diamonds):
    indexed = diamonds.with_row_index("i")
    train, holdout = evaluation.split(indexed, frac=0.8, seed=3)
    again, _ = evaluation.split(indexed, frac=0.8, seed=3)
    other, _ = evaluation.split(indexed, frac=0.8, seed=4)
    assert (train.height, holdout.height) == (2400, 600)
    assert train.equals(again)
    assert not train.equals(other)
    assert set(train["i"]).isdisjoint(holdout["i"])
    assert train["i"].to_list() != sorted(train["i"].to_list())  # shuffled


@pytest.mark.parametrize("frac", [0.0, 1.0, 1.5])
def test_split_rejects_fractions_outside_zero_one(frac):
    with pytest.raises(InvalidArgument, match=f"frac must be strictly between 0 and 1, got {frac}"):
        evaluation.split(pl.DataFrame({"a": [1, 2, 3]}), frac=frac)


# --- fidelity ------------------------------------------------------------------------------


def test_identical_frames_score_one(diamonds):
    report = evaluation.fidelity(diamonds, diamonds)
    assert set(report.shapes) == set(diamonds.columns)
    assert len(report.pairs) == 45  # all pairs of 10 columns, none dropped
    assert all(v == pytest.approx(1.0) for v in report.shapes.values())
    assert all(v == pytest.approx(1.0) for v in report.pairs.values())
    assert report.score == pytest.approx(1.0)


def test_pairs_are_keyed_in_source_column_order(diamonds):
    report = evaluation.fidelity(diamonds, diamonds.select(reversed(diamonds.columns)))
    assert list(report.pairs)[:3] == [("carat", "cut"), ("carat", "color"), ("carat", "clarity")]


def test_independent_columns_keep_shapes_but_lose_pairs(diamonds):
    report = evaluation.fidelity(diamonds, shuffle_columns(diamonds))
    assert report.shape_score == pytest.approx(1.0)  # each column keeps its exact values
    assert report.pair_score < 0.9
    # carat and price are strongly correlated in the real data, not at all once shuffled
    r = np.corrcoef(diamonds["carat"], diamonds["price"])[0, 1]
    assert report.pairs[("carat", "price")] == pytest.approx(1 - abs(r) / 2, abs=0.03)
    assert report.score == pytest.approx((report.shape_score + report.pair_score) / 2)


def test_shifted_column_loses_exactly_the_ks_statistic(diamonds):
    synth = diamonds.with_columns(pl.col("price") + 500)
    report = evaluation.fidelity(diamonds, synth)
    expected = 1 - ks_2samp(diamonds["price"].to_numpy(), synth["price"].to_numpy()).statistic
    assert expected < 0.95
    assert report.shapes["price"] == pytest.approx(expected, abs=1e-12)
    assert report.shapes["carat"] == pytest.approx(1.0)


def test_categorical_shape_is_one_minus_total_variation():
    real = pl.DataFrame({"c": ["a"] * 6 + ["b"] * 4})
    synth = pl.DataFrame({"c": ["a"] * 3 + ["b"] * 5 + ["z"] * 2})
    # TVD = (|0.6 - 0.3| + |0.4 - 0.5| + |0 - 0.2|) / 2 = 0.3
    assert evaluation.fidelity(real, synth).shapes["c"] == pytest.approx(0.7)


def test_nulls_are_dropped_from_shapes_and_a_category_in_pairs():
    real = pl.DataFrame({"c": ["a", "b", None, None], "d": ["x", "x", "y", "y"]})
    synth = pl.DataFrame({"c": ["a", "b", "a", "b"], "d": ["x", "x", "y", "y"]})
    report = evaluation.fidelity(real, synth, kinds={"c": "categorical", "d": "categorical"})
    assert report.shapes["c"] == pytest.approx(1.0)  # non-null frequencies agree
    # joint tables: real (a,x) (b,x) (NULL,y) (NULL,y); synth (a,x) (b,x) (a,y) (b,y)
    assert report.pairs[("c", "d")] == pytest.approx(0.5)


def test_float_nan_counts_as_null():
    real = pl.DataFrame({"v": [1.0, 2.0, 3.0, float("nan")]})
    synth = pl.DataFrame({"v": [1.0, 2.0, 3.0, None]})
    assert evaluation.fidelity(real, synth).shapes["v"] == pytest.approx(1.0)


def test_constant_column_pairs_are_undefined_and_left_out():
    rng = np.random.default_rng(0)
    x = rng.normal(size=200)
    real = pl.DataFrame({"x": x, "y": 2 * x + rng.normal(size=200), "k": np.ones(200)})
    synth = pl.DataFrame({"x": x, "y": rng.normal(size=200), "k": np.ones(200)})
    report = evaluation.fidelity(real, synth, kinds=dict.fromkeys(real.columns, "numeric"))
    assert math.isnan(report.pairs[("x", "k")]) and math.isnan(report.pairs[("y", "k")])
    assert report.pair_score == pytest.approx(report.pairs[("x", "y")])
    r_real = np.corrcoef(real["x"], real["y"])[0, 1]
    r_synth = np.corrcoef(synth["x"], synth["y"])[0, 1]
    assert report.pairs[("x", "y")] == pytest.approx(1 - abs(r_real - r_synth) / 2)


def test_datetimes_are_scored_as_numbers():
    days = [dt.datetime(2024, 1, 1) + dt.timedelta(hours=7 * i) for i in range(300)]
    real = pl.DataFrame({"t": days, "v": list(range(300))})
    synth = real.with_columns(pl.col("t").dt.offset_by("30d"))
    report = evaluation.fidelity(real, synth)
    expected = (
        1
        - ks_2samp(
            real["t"].dt.epoch("s").to_numpy(), synth["t"].dt.epoch("s").to_numpy()
        ).statistic
    )
    assert report.shapes["t"] == pytest.approx(expected)
    assert report.pairs[("t", "v")] == pytest.approx(1.0)  # still perfectly correlated


def test_id_columns_are_left_out_of_fidelity(diamonds):
    real = diamonds.with_row_index("n").with_columns(pl.format("row-{}", "n").alias("key"))
    synth = real.with_columns(pl.format("other-{}", "n").alias("key"))
    report = evaluation.fidelity(real.drop("n"), synth.drop("n"))
    assert "key" not in report.shapes
    assert not any("key" in pair for pair in report.pairs)
    assert report.score == pytest.approx(1.0)


def test_mismatched_columns_are_named():
    real = pl.DataFrame({"a": [1], "b": [2]})
    synth = pl.DataFrame({"a": [1], "c": [2]})
    with pytest.raises(
        InvalidArgument, match="^the synthetic frame lacks columns 'b' and has extra columns 'c'$"
    ):
        evaluation.fidelity(real, synth)


def test_unknown_kind_is_rejected():
    df = pl.DataFrame({"a": [1, 2]})
    with pytest.raises(InvalidArgument, match="kind 'text' of column 'a' is not one of"):
        evaluation.fidelity(df, df, kinds={"a": "text"})
    with pytest.raises(InvalidArgument, match="kinds names columns 'zz' that the frame lacks"):
        evaluation.fidelity(df, df, kinds={"zz": "numeric"})


def test_text_column_cannot_be_scored_as_numeric():
    df = pl.DataFrame({"a": ["x", "y"]})
    with pytest.raises(
        InvalidArgument, match="column 'a' of type String cannot be scored as a number"
    ):
        evaluation.fidelity(df, df, kinds={"a": "numeric"})


# --- privacy -------------------------------------------------------------------------------


def test_copy_rates(diamonds):
    train, holdout = evaluation.split(diamonds, seed=0)
    copies = evaluation.privacy(train, holdout, train, max_rows=500)
    assert copies.exact_copy_rate == 1.0
    assert copies.holdout_copy_rate < 0.01
    shuffled = evaluation.privacy(train, holdout, shuffle_columns(train), max_rows=500)
    assert shuffled.exact_copy_rate < 0.01


def test_exact_copies_treat_null_as_equal_to_null():
    train = pl.DataFrame({"a": [1, None, 3], "b": ["x", None, "z"]})
    synth = pl.DataFrame({"a": [None, 3, 4], "b": [None, "z", "z"]})
    report = evaluation.privacy(train, train, synth)
    assert report.exact_copy_rate == pytest.approx(2 / 3)


def test_dcr_share_of_fresh_real_rows_is_one_half(diamonds):
    train, rest = evaluation.split(diamonds, frac=0.5, seed=0)
    holdout, fresh = evaluation.split(rest, frac=0.5, seed=0)
    # train is twice the holdout: without equal-size samples fresh rows would lean to train
    report = evaluation.privacy(train, holdout, fresh)
    assert report.dcr_share == pytest.approx(0.5, abs=0.06)
    assert report.dcr_synth_median == pytest.approx(report.dcr_holdout_median, rel=0.25)


def test_dcr_share_of_copied_training_rows_is_one(diamonds):
    train, holdout = evaluation.split(diamonds, frac=0.5, seed=0)
    report = evaluation.privacy(train, holdout, train)
    assert report.dcr_share > 0.97
    assert report.dcr_synth_median == 0.0
    assert report.dcr_holdout_median > 0.0


def test_dcr_is_deterministic_for_a_seed(diamonds):
    train, holdout = evaluation.split(diamonds, seed=0)
    synth = shuffle_columns(train)
    first = evaluation.privacy(train, holdout, synth, max_rows=300, seed=5)
    assert first == evaluation.privacy(train, holdout, synth, max_rows=300, seed=5)


def test_dcr_distance_is_mean_per_column_distance():
    train = pl.DataFrame({"v": [0.0, 10.0], "c": ["a", "b"], "n": [1.0, None]})
    synth = pl.DataFrame({"v": [2.5], "c": ["a"], "n": [None]})
    # nearest is row 0: |2.5 - 0| / 10 = 0.25, same category 0, NULL vs value 1 -> 1.25 / 3
    # row 1: 0.75 + 1 + 0 (NULL == NULL) -> 1.75 / 3
    kinds = {"v": "numeric", "c": "categorical", "n": "numeric"}  # two rows: c would be an id
    report = evaluation.privacy(train, train, synth, kinds=kinds)
    assert report.dcr_synth_median == pytest.approx(1.25 / 3)


def test_privacy_checks_every_frame_columns():
    df = pl.DataFrame({"a": [1], "b": [2]})
    with pytest.raises(InvalidArgument, match="^the holdout frame lacks columns 'b'$"):
        evaluation.privacy(df, df.drop("b"), df)


def test_wide_categoricals_give_the_same_dcr_sparse_or_dense(diamonds, monkeypatch):
    many = pl.Series("code", [f"c{i % 1500}" for i in range(diamonds.height)])  # 50% unique
    frame = diamonds.with_columns(many)
    train, holdout = evaluation.split(frame, seed=0)
    synth = shuffle_columns(train)
    sparse = evaluation.privacy(train, holdout, synth, max_rows=400)  # > 512 features
    monkeypatch.setattr(evaluation, "_DENSE_MAX_FEATURES", 10_000)
    dense = evaluation.privacy(train, holdout, synth, max_rows=400)
    assert dataclasses.astuple(dense) == pytest.approx(dataclasses.astuple(sparse))


def test_classifiers_take_null_only_and_many_valued_columns():
    """A column NULL everywhere and one with over 255 categories used to crash scikit-learn."""
    from duck_synth.evaluation import detection_auc, utility

    rng = np.random.default_rng(0)
    n = 600
    real = pl.DataFrame({
        "x": rng.normal(size=n), "y": rng.integers(0, 2, n).astype(str),
        "nothing": pl.Series([None] * n, dtype=pl.Int32),
        "many": [f"v{i}" for i in rng.integers(0, 400, n)],  # ~300 distinct: not an id, over the 255 limit
    })
    synth = real.sample(n, seed=1, shuffle=True)
    assert 0.5 <= detection_auc(real, synth) < 0.7
    assert utility(real, real.head(200), synth, "x").task == "regression"
    assert detection_auc(real.select("nothing"), synth.select("nothing")) == 0.5
    with pytest.raises(InvalidArgument, match=r"^no column besides target 'x' holds a value"):
        utility(real.select("x", "nothing"), real.select("x", "nothing").head(100), synth.select("x", "nothing"), "x")
