"""Batches are derived by SQL from duck_synth.columns, and user edits are honoured."""

import polars as pl
import pytest

import duck_synth as ds
from duck_synth.errors import InvalidPlan
from tests.conftest import load_frame


@pytest.fixture
def wide(db):
    frame = pl.DataFrame({f"c{i}": [float(i + j) for j in range(30)] for i in range(17)})
    load_frame(db, "wide", frame)
    return db


def sizes(batches):
    return [len(b) for b in batches]


@pytest.mark.parametrize("batch_size, expected", [(15, [9, 8]), (5, [5, 4, 4, 4]), (17, [17]), (1, [1] * 17)])
def test_batch_size_splits_as_evenly_as_possible(wide, batch_size, expected):
    batches = ds.plan(wide, "wide", batch_size=batch_size)
    assert sizes(batches) == expected
    assert [c for b in batches for c in b] == [f"c{i}" for i in range(17)]  # source order kept


def test_batch_headers_override(wide):
    headers = [["c3", "c1"], ["c0", "c2"]]
    assert ds.plan(wide, "wide", batch_headers=headers) == headers


def test_plan_lives_in_sql_and_user_edits_are_trained(wide):
    ds.plan(wide, "wide", batch_size=17)
    wide.execute("UPDATE duck_synth.batches SET batch_index = 1 WHERE column_name IN ('c15', 'c16')")
    wide.execute("DELETE FROM duck_synth.batches WHERE column_name = 'c14'")
    with pytest.warns(UserWarning, match="'c14'") as caught:
        result = ds.train(wide, "wide", epochs=1)
    assert caught[0].filename == __file__
    assert sizes(result.batches) == [14, 2]
    stored = wide.execute("SELECT batch_index, count(*) FROM duck_synth.artifacts GROUP BY ALL ORDER BY 1").fetchall()
    assert [r[0] for r in stored] == [0, 1]


@pytest.mark.parametrize(
    "headers, message",
    [
        ([["c0", "nope"]], "not in the source: 'nope'"),
        ([["c0", "c1"], ["c1"]], "more than one batch: 'c1'"),
        ([[]], "non-empty list"),
    ],
)
def test_bad_batch_headers(wide, headers, message):
    with pytest.raises(InvalidPlan, match=message):
        ds.plan(wide, "wide", batch_headers=headers)
    assert ds.models(wide).height == 0  # nothing written


def test_bad_batch_size(wide):
    with pytest.raises(ds.InvalidArgument, match="batch_size must be an integer >= 1, got 0"):
        ds.plan(wide, "wide", batch_size=0)


def test_wide_context_keeps_the_informative_earlier_columns():
    import numpy as np

    from duck_synth.context import MAX_CONTEXT, choose_context, coarse

    rng = np.random.default_rng(0)
    n = 5000
    target = rng.integers(0, 200, n)  # many-valued: coarsened before scoring
    noise = {f"noise{i}": rng.integers(0, 150, n)[:, None] for i in range(MAX_CONTEXT + 10)}
    signal = {f"signal{i}": ((target + rng.integers(0, 3 * (i + 1), n)) // 4)[:, None] for i in range(5)}
    tokens = {**noise, **signal, "t": target[:, None]}
    chosen = choose_context(list(noise) + list(signal), ["t"], tokens)
    assert len(chosen) == MAX_CONTEXT and set(signal) <= set(chosen)
    assert coarse(np.arange(200)).max() == 31 and coarse(np.arange(10)).tolist() == list(range(10))
