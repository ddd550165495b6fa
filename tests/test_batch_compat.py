"""gretel-synthetics' batch API reference (shared/seed/gretel_synthetics_batch_api.txt), top to bottom.

One test per documented behaviour, named after it, on real data (modeldata's mlc_churn:
20 columns, 3 batches at batch_size=7) and real training.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import polars as pl
import pytest

import duck_synth as ds
from duck_synth.batch import (
    PATH_HOLDER, Batch, BatchConfig, CharTokenizerTrainer, DataFrameBatch, GenerationProgress, GenerationResult,
    GenerationSummary, GenText, RecordFactory, TooManyInvalidError,
)
from duck_synth.datasets import load
from duck_synth.errors import DuckSynthError, InvalidArgument, InvalidPlan

ROWS, BATCH_SIZE = 1500, 7


def states_not_texas(line: str) -> bool:
    """A module-level batch validator: importable, so it can be saved by reference."""
    return not line.startswith("TX,")


@pytest.fixture(scope="module")
def churn() -> pd.DataFrame:
    return load("mlc_churn").head(ROWS).to_pandas()


@pytest.fixture(scope="module")
def trained_dir(tmp_path_factory, churn) -> Path:
    """A checkpoint_dir trained once for the module (3 batches, 4 epochs each)."""
    path = tmp_path_factory.mktemp("batch") / "ckpt"
    batcher = DataFrameBatch(df=churn, batch_size=BATCH_SIZE, config={"checkpoint_dir": str(path), "epochs": 4, "seed": 0})
    batcher.create_training_data()
    batcher.train_all_batches()
    return path


@pytest.fixture
def batcher(trained_dir, tmp_path) -> DataFrameBatch:
    """A read-mode DataFrameBatch on a private copy of the trained checkpoint."""
    copy = tmp_path / "ckpt"
    shutil.copytree(trained_dir, copy)
    return DataFrameBatch(mode="read", checkpoint_dir=str(copy), config={"seed": 3, "gen_lines": 200})


# --- Batch ----------------------------------------------------------------------------------

def test_batch_add_valid_data_appends_the_line_typed(batcher):
    batch = batcher.batches[2]
    batch.reset_gen_data()
    line = "10.5,12.1,3,3.27,1,no"
    batch.add_valid_data(GenText(valid=True, text=line, delimiter=","))
    assert batch.gen_data_count == 1
    row = batch.synthetic_df.iloc[0]
    assert row["total_night_charge"] == 10.5 and row["total_intl_calls"] == 3 and row["churn"] == "no"
    assert batch.synthetic_df["total_intl_calls"].dtype == np.int64


def test_batch_add_valid_data_refuses_a_line_of_the_wrong_shape(batcher):
    with pytest.raises(InvalidArgument, match=r"batch_2: line '1,2' has 2 values, expected 6"):
        batcher.batches[2].add_valid_data(GenText(text="1,2"))


def test_batch_get_validator_default_checks_the_number_of_values(batcher):
    check = batcher.batches[2].get_validator()
    assert check("10.5,12.1,3,3.27,1,no") is True
    assert check("10.5,12.1,3") is False
    assert check('10.5,12.1,3,3.27,1,"a, quoted value"') is True


def test_batch_get_validator_returns_the_custom_validator(batcher):
    batcher.batches[0].set_validator(states_not_texas, save=False)
    assert batcher.batches[0].get_validator() is states_not_texas


def test_batch_set_validator_saves_an_importable_reference_not_a_pickle(batcher):
    batch = batcher.batches[0]
    batch.set_validator(states_not_texas)
    saved = json.loads((Path(batch.checkpoint_dir) / "validator.json").read_text())
    assert saved == {"python": "tests.test_batch_compat:states_not_texas"}
    assert not list(Path(batch.checkpoint_dir).glob("*.p*"))


def test_batch_set_validator_warns_when_a_lambda_cannot_be_saved(batcher):
    batch = batcher.batches[0]
    with pytest.warns(UserWarning, match=r"batch_0: validator '<lambda>' cannot be saved \(only module-level functions"):
        batch.set_validator(lambda line: True)
    assert not (Path(batch.checkpoint_dir) / "validator.json").exists()
    assert batch.get_validator()("x") is True  # still used in this session


def test_batch_set_validator_sql_text_is_saved_and_becomes_a_model_rule(batcher):
    batch = batcher.batches[2]
    batch.set_validator("total_intl_calls < 8")
    assert json.loads((Path(batch.checkpoint_dir) / "validator.json").read_text()) == {"sql": "total_intl_calls < 8"}
    con = duckdb.connect(str(Path(batcher.config.checkpoint_dir) / "model.duckdb"))
    rules = dict(con.execute("SELECT rule, predicate FROM duck_synth.rules").fetchall())
    con.close()
    assert rules["batch_2_validator"] == "total_intl_calls < 8"
    assert batch.get_validator()("10.5,12.1,9,3.27,1,no") is False
    summary = batcher.generate_batch_lines(2, num_lines=300)
    assert summary.is_valid and (batch.synthetic_df["total_intl_calls"] < 8).all()


def test_batch_set_validator_refuses_sql_over_other_columns(batcher):
    with pytest.raises(ds.InvalidRule, match="validator of batch_0"):
        batcher.batches[0].set_validator("churn = 'yes'")


def test_batch_load_validator_from_file_restores_a_saved_validator_only_when_trusted(batcher):
    batcher.batches[0].set_validator(states_not_texas)
    fresh = Batch(batcher.batches[0].checkpoint_dir, None, batcher.batches[0].headers, batcher.config)
    assert fresh.validator is None
    with pytest.warns(UserWarning, match=r"batch_0: saved validator 'tests.test_batch_compat:states_not_texas' not"
                                         r" imported: .* pass trust_validators=True"):
        fresh.load_validator_from_file()
    assert fresh.validator is None
    fresh.load_validator_from_file(trust=True)
    assert fresh.validator is states_not_texas


CALLS: list[str] = []


def record_call(line: str) -> bool:
    """Stands for code a tampered checkpoint names as its validator: records that it ran."""
    CALLS.append(line)
    return True


def test_a_tampered_validator_file_never_runs_the_code_it_names(batcher):
    validator_file = Path(batcher.batches[0].checkpoint_dir) / "validator.json"
    validator_file.write_text(json.dumps({"python": "tests.test_batch_compat:record_call"}))
    CALLS.clear()
    with pytest.warns(UserWarning, match="not imported"):
        reopened = DataFrameBatch(mode="read", checkpoint_dir=batcher.config.checkpoint_dir)
    reopened.generate_batch_lines(0, num_lines=5)
    assert CALLS == []  # the default validator ran, not the named code
    trusted = DataFrameBatch(mode="read", checkpoint_dir=batcher.config.checkpoint_dir, trust_validators=True)
    trusted.generate_batch_lines(0, num_lines=5)
    assert len(CALLS) >= 5
    validator_file.write_text("{not json")
    with pytest.raises(ds.DuckSynthError, match=r"batch_0: .*validator.json is not a saved validator"):
        DataFrameBatch(mode="read", checkpoint_dir=batcher.config.checkpoint_dir)


def test_batch_reset_gen_data_clears_lines_and_counts(batcher):
    batcher.generate_batch_lines(0, num_lines=20)
    batch = batcher.batches[0]
    assert batch.gen_data_count == 20
    batch.reset_gen_data()
    assert batch.gen_data_count == 0 and len(batch.synthetic_df) == 0 and batch.gen_data_invalid == []


def test_batch_synthetic_df_is_typed_like_the_source(batcher, churn):
    batcher.generate_batch_lines(0, num_lines=50)
    df = batcher.batches[0].synthetic_df
    assert list(df.columns) == batcher.batches[0].headers
    assert (df.dtypes == churn[df.columns].dtypes).all()


# --- DataFrameBatch: construction -----------------------------------------------------------

def test_reference_example_train_generate_and_reassemble(churn, tmp_path):
    my_df = churn.head(400)
    my_config = {"checkpoint_dir": str(tmp_path / "ckpt"), "input_data_path": PATH_HOLDER, "field_delimiter": ",",
                 "epochs": 2, "overwrite": True}
    my_batch = DataFrameBatch(df=my_df, config=my_config)
    my_batch.create_training_data()
    my_batch.train_all_batches()
    my_batch.generate_all_batch_lines()
    # Wait for all generation to complete
    synthetic_df = my_batch.batches_to_df()
    assert synthetic_df.shape == my_df.shape  # gen_lines defaults to the df's rows
    assert list(synthetic_df.columns) == list(my_df.columns)


@pytest.mark.parametrize("batch_size", [1, 3, 7, 15, 19, 20, 50])
def test_batch_size_splits_the_columns_as_evenly_as_possible(churn, tmp_path, batch_size):
    batcher = DataFrameBatch(df=churn, batch_size=batch_size, config={"checkpoint_dir": str(tmp_path)})
    expected = [list(a) for a in np.array_split(list(churn.columns), -(-churn.shape[1] // batch_size))]
    assert [b.headers for b in batcher.batches.values()] == expected
    assert batcher.batch_size == batch_size


def test_batch_headers_override_batch_size(churn, tmp_path):
    headers = [["churn", "state"], [c for c in churn.columns if c not in ("churn", "state")]]
    batcher = DataFrameBatch(df=churn, batch_size=3, batch_headers=headers, config={"checkpoint_dir": str(tmp_path)})
    assert [b.headers for b in batcher.batches.values()] == headers


def test_batches_maps_batch_numbers_from_zero_to_batch_objects_with_batch_n_directories(trained_dir):
    batcher = DataFrameBatch(mode="read", checkpoint_dir=str(trained_dir))
    assert list(batcher.batches) == [0, 1, 2]
    for i, batch in batcher.batches.items():
        assert isinstance(batch, Batch)
        assert Path(batch.checkpoint_dir) == trained_dir / f"batch_{i}"
        assert json.loads((trained_dir / f"batch_{i}" / "headers.json").read_text()) == batch.headers
        assert (trained_dir / f"batch_{i}" / "model_params.json").is_file()


def test_config_may_be_a_dict_or_a_config_object(churn, tmp_path):
    class GretelStyleConfig:  # what gretel's BaseConfig offers: as_dict()
        def as_dict(self):
            return {"checkpoint_dir": str(tmp_path / "a"), "field_delimiter": "|", "vocab_size": 20000, "rnn_units": 256}

    from_object = DataFrameBatch(df=churn, config=GretelStyleConfig())
    from_ours = DataFrameBatch(df=churn, config=BatchConfig(checkpoint_dir=str(tmp_path / "b"), field_delimiter="|"))
    for batcher in (from_object, from_ours):
        assert isinstance(batcher.config, BatchConfig) and batcher.config.field_delimiter == "|"
        assert batcher.batches[0].config.field_delimiter == "|"
    assert from_object.config.ignored == {"vocab_size": 20000, "rnn_units": 256}


def test_master_header_list_and_original_headers_keep_the_source_order(churn, tmp_path):
    headers = [["churn", "state"], [c for c in churn.columns if c not in ("churn", "state")]]
    batcher = DataFrameBatch(df=churn, batch_headers=headers, config={"checkpoint_dir": str(tmp_path)})
    assert batcher.master_header_list == list(churn.columns)
    assert batcher.original_headers == list(churn.columns)
    assert json.loads((tmp_path / "original_headers.json").read_text()) == list(churn.columns)


def test_dataframe_is_not_modified(churn, tmp_path):
    before = churn.copy()
    DataFrameBatch(df=churn, config={"checkpoint_dir": str(tmp_path)}).create_training_data()
    pd.testing.assert_frame_equal(churn, before)


def test_create_training_data_sets_training_df_and_writes_train_csv(churn, tmp_path):
    batcher = DataFrameBatch(df=churn, batch_size=BATCH_SIZE, config={"checkpoint_dir": str(tmp_path)})
    batcher.create_training_data()
    for batch in batcher.batches.values():
        assert list(batch.training_df.columns) == batch.headers and len(batch.training_df) == len(churn)
        assert Path(batch.input_data_path) == Path(batch.checkpoint_dir) / "train.csv"
        written = pd.read_csv(batch.input_data_path, header=None, names=batch.headers)
        assert written.shape == (len(churn), len(batch.headers))
        assert (written.iloc[0].astype(str).tolist() == churn[batch.headers].iloc[0].astype(str).tolist())


def test_train_batch_trains_one_batch_and_generation_needs_earlier_batches(churn, tmp_path):
    batcher = DataFrameBatch(df=churn.head(300), batch_size=BATCH_SIZE,
                             config={"checkpoint_dir": str(tmp_path), "epochs": 2})
    batcher.train_batch(0)
    assert batcher.generate_batch_lines(0, num_lines=10).valid_lines == 10
    with pytest.raises(InvalidArgument, match=r"^batch 2 is not trained yet; call train_batch\(2\)"):
        batcher.generate_batch_lines(2, num_lines=10)
    with pytest.raises(InvalidArgument, match=r"^batch_idx 5 is invalid; batches are 0..2$"):
        batcher.train_batch(5)
    batcher.train_batch(2)
    # batch 1 was never trained: batch 2 may use batch 0's and 1's lines, or sample them
    with pytest.raises(InvalidArgument, match=r"batch 1 is not trained yet \(batch 2 is generated conditionally on it\)"):
        batcher.batches[0].reset_gen_data()
        batcher.generate_batch_lines(2, num_lines=10)
    batcher.train_batch(1)
    assert all(s.is_valid for s in batcher.generate_all_batch_lines(num_lines=10).values())


def test_train_all_batches_stores_one_trained_model(trained_dir):
    con = duckdb.connect(str(trained_dir / "model.duckdb"), read_only=True)
    assert con.execute("SELECT status FROM duck_synth.models").fetchall() == [("trained",)]
    assert con.execute("SELECT count(*) FROM duck_synth.artifacts").fetchall() == [(3,)]
    con.close()


def test_epoch_callback_reports_every_epoch_of_every_batch(churn, tmp_path):
    seen = []
    DataFrameBatch(df=churn.head(300), batch_size=10, config={
        "checkpoint_dir": str(tmp_path), "epochs": 2, "early_stopping": False, "epoch_callback": seen.append,
    }).train_all_batches()
    assert [(s.batch, s.epoch) for s in seen] == [(0, 0), (0, 1), (1, 0), (1, 1)]
    assert all(s.loss > 0 for s in seen)


def test_tokenizer_sets_how_text_columns_are_tokenized(tmp_path):
    words = pl.Series([f"note {i} about item {i % 37}" for i in range(300)])
    df = pl.DataFrame({"id": range(300), "note": words})
    DataFrameBatch(df=df, config={"checkpoint_dir": str(tmp_path), "epochs": 1},
                   tokenizer=CharTokenizerTrainer(max_tokens=40)).train_all_batches()
    con = duckdb.connect(str(tmp_path / "model.duckdb"), read_only=True)
    kind, state = con.execute("SELECT encoder, encoder_state FROM duck_synth.columns WHERE column_name = 'note'").fetchone()
    con.close()
    assert kind == "text"
    state = json.loads(state)["state"]
    assert state["vocab_size"] <= 258 and state["max_len"] > 20  # one token per character


# --- DataFrameBatch: generation -------------------------------------------------------------

def test_generate_batch_lines_defaults_num_lines_to_config_gen_lines(batcher):
    summary = batcher.generate_batch_lines(0)
    assert summary == GenerationSummary(valid_lines=200, invalid_lines=0, is_valid=True)


def test_generate_batch_lines_conditions_on_earlier_batches_lines(batcher):
    batcher.generate_batch_lines(0, num_lines=300)
    batcher.generate_batch_lines(1, num_lines=300)
    df = batcher.batches_to_df()
    # total_day_minutes (batch 0) and total_day_charge (batch 1) are the same quantity in the data
    assert np.corrcoef(df["total_day_minutes"], df["total_day_charge"])[0, 1] > 0.9


def test_generate_batch_lines_rejects_and_resamples_lines_the_validator_fails(batcher):
    batcher.set_batch_validator(0, states_not_texas)
    summary = batcher.generate_batch_lines(0, num_lines=2000)
    df = batcher.batch_to_df(0)
    assert summary.is_valid and len(df) == 2000 and "TX" not in set(df["state"])
    assert summary.invalid_lines > 0 and len(batcher.batches[0].gen_data_invalid) == summary.invalid_lines
    assert all(line.text.startswith("TX,") and line.valid is False for line in batcher.batches[0].gen_data_invalid)


def test_generate_batch_lines_a_validator_that_raises_marks_the_line_invalid(batcher):
    def strict(line: str) -> bool:
        if "yes" in line:
            raise ValueError("no plans allowed")
        return True

    batcher.set_batch_validator(0, strict)
    summary = batcher.generate_batch_lines(0, num_lines=100)
    assert summary.is_valid and summary.invalid_lines > 0
    assert batcher.batches[0].gen_data_invalid[0].explain == "ValueError: no plans allowed"


def test_generate_batch_lines_max_invalid_stops_and_returns_is_valid_false(batcher):
    batcher.set_batch_validator(0, lambda line: line.startswith("OH,"))
    summary = batcher.generate_batch_lines(0, num_lines=500, max_invalid=50)
    assert summary.is_valid is False and summary.invalid_lines > 50 and summary.valid_lines < 500
    assert set(batcher.batch_to_df(0)["state"]) <= {"OH"}


def test_generate_batch_lines_raise_on_exceed_invalid_raises(batcher):
    batcher.set_batch_validator(0, lambda line: False)
    with pytest.raises(TooManyInvalidError, match=r"^batch 0: model 'dataframe_batch': \d+ generated records failed"):
        batcher.generate_batch_lines(0, num_lines=100, max_invalid=10, raise_on_exceed_invalid=True)
    with pytest.raises(RuntimeError):  # what gretel users catch
        batcher.generate_batch_lines(0, num_lines=100, max_invalid=10, raise_on_exceed_invalid=True)


def test_generate_batch_lines_seed_fields_dict_fixes_those_fields(batcher):
    summary = batcher.generate_batch_lines(0, num_lines=50, seed_fields={"state": "OH", "international_plan": "yes"})
    df = batcher.batch_to_df(0)
    assert summary.valid_lines == 50
    assert set(df["state"]) == {"OH"} and set(df["international_plan"]) == {"yes"}


def test_generate_batch_lines_seed_fields_list_sets_num_lines_one_line_per_seed(batcher):
    seeds = [{"state": s, "account_length": n} for s, n in [("OH", 10), ("NY", 200), ("CA", 77)]]
    summary = batcher.generate_batch_lines(0, num_lines=999, seed_fields=seeds)
    df = batcher.batch_to_df(0)
    assert summary.valid_lines == 3
    assert df["state"].tolist() == ["OH", "NY", "CA"] and df["account_length"].tolist() == [10, 200, 77]


@pytest.mark.parametrize("parallelism", [1, 0, -1, 0.5, 2])
def test_generate_batch_lines_parallelism_sets_cpu_workers(batcher, parallelism):
    assert batcher.generate_batch_lines(0, num_lines=20, parallelism=parallelism).valid_lines == 20


@pytest.mark.parametrize("parallelism", ["4", 1.5, None])
def test_generate_batch_lines_refuses_bad_parallelism(batcher, parallelism):
    with pytest.raises(InvalidArgument, match="parallelism"):
        batcher.generate_batch_lines(0, num_lines=20, parallelism=parallelism)


def test_generate_all_batch_lines_returns_a_summary_per_batch(batcher):
    result = batcher.generate_all_batch_lines(num_lines=100)
    assert result == {i: GenerationSummary(100, 0, True) for i in range(3)}


def test_generate_all_batch_lines_failed_batch_is_reported_or_raised(batcher):
    batcher.set_batch_validator(1, lambda line: False)
    result = batcher.generate_all_batch_lines(num_lines=50, max_invalid=20)
    assert result[0].is_valid and not result[1].is_valid and result[1].valid_lines == 0
    with pytest.raises(TooManyInvalidError, match="^batch 1: "):
        batcher.generate_all_batch_lines(num_lines=50, max_invalid=20, raise_on_failed_batch=True)


def test_generation_is_reproducible_with_config_seed(batcher, trained_dir):
    batcher.generate_all_batch_lines(num_lines=100)
    again = DataFrameBatch(mode="read", checkpoint_dir=str(trained_dir), config={"seed": 3})
    again.generate_all_batch_lines(num_lines=100)
    pd.testing.assert_frame_equal(batcher.batches_to_df(), again.batches_to_df())


def test_batch_to_df_returns_one_batch(batcher):
    batcher.generate_batch_lines(1, num_lines=30)
    df = batcher.batch_to_df(1)
    assert list(df.columns) == batcher.batches[1].headers and len(df) == 30


def test_batches_to_df_restores_the_original_header_order_typed(batcher, churn):
    batcher.generate_all_batch_lines(num_lines=40)
    df = batcher.batches_to_df()
    assert list(df.columns) == list(churn.columns) and len(df) == 40
    assert (df.dtypes == churn.dtypes).all()


# --- RecordFactory --------------------------------------------------------------------------

def test_reference_example_record_factory_generate_all_df_with_callback(batcher, churn):
    seen = []

    def my_callback(data: GenerationProgress):
        seen.append(data)

    factory = batcher.create_record_factory(num_lines=50)
    result = factory.generate_all(output="df", callback=my_callback)
    assert isinstance(result, GenerationResult) and result.exception is None
    assert result.records.shape == (50, churn.shape[1]) and (result.records.dtypes == churn.dtypes).all()
    assert seen[-1].current_valid_count == 50 and seen[-1].completion_percent == 100.0


def test_record_factory_iterates_unbuffered_typed_dicts_and_counts(batcher, churn):
    factory = batcher.create_record_factory(num_lines=5)
    first = next(factory)
    assert list(first) == list(churn.columns)
    assert isinstance(first["account_length"], int) and isinstance(first["total_day_minutes"], float)
    assert factory.valid_count == 1
    rest = list(factory)
    assert len(rest) == 4 and factory.valid_count == 5 and factory.invalid_count == 0


def test_record_factory_summary(batcher):
    factory = batcher.create_record_factory(num_lines=7, max_invalid=33)
    list(factory)
    assert factory.summary == {"num_lines": 7, "max_invalid": 33, "valid_count": 7, "invalid_count": 0}


def test_record_factory_validator_returning_false_or_raising_marks_a_record_invalid(batcher):
    def validator(rec: dict):
        if rec["churn"] == "yes":
            return False
        if rec["state"] == "TX":
            raise ValueError("no Texas")

    factory = batcher.create_record_factory(num_lines=300, validator=validator)
    records = list(factory)
    assert len(records) == 300 and factory.invalid_count > 0
    assert all(r["churn"] == "no" and r["state"] != "TX" for r in records)
    assert factory.invalid_cache and all(r["churn"] == "yes" or r["state"] == "TX" for r in factory.invalid_cache)


def test_record_factory_batch_validators_apply_to_whole_records(batcher):
    batcher.set_batch_validator(0, states_not_texas)
    records = list(batcher.create_record_factory(num_lines=500))
    assert len(records) == 500 and all(r["state"] != "TX" for r in records)


def test_record_factory_max_invalid_raises_during_iteration(batcher):
    factory = batcher.create_record_factory(num_lines=100, max_invalid=5, validator=lambda rec: False)
    with pytest.raises(TooManyInvalidError):
        list(factory)
    assert factory.invalid_count > 5


def test_record_factory_generate_all_returns_records_so_far_with_the_exception(batcher):
    factory = batcher.create_record_factory(num_lines=2000, max_invalid=50,
                                            validator=lambda rec: rec["international_plan"] == "yes")
    result = factory.generate_all()
    assert isinstance(result.exception, TooManyInvalidError)
    assert 0 < len(result.records) < 2000 and all(r["international_plan"] == "yes" for r in result.records)


def test_record_factory_reset_zeroes_counters_and_starts_over(batcher):
    factory = batcher.create_record_factory(num_lines=3)
    list(factory)
    factory.reset()
    assert factory.valid_count == 0 and factory.invalid_count == 0
    assert len(list(factory)) == 3


def test_record_factory_generate_all_default_is_a_list_of_dicts_and_resets(batcher):
    factory = batcher.create_record_factory(num_lines=10)
    next(factory)
    result = factory.generate_all()
    assert isinstance(result.records, list) and len(result.records) == 10 and isinstance(result.records[0], dict)
    assert factory.valid_count == 10


def test_record_factory_seed_fields_list_one_record_per_seed(batcher):
    seeds = [{"state": "OH", "churn": "yes"}, {"state": "NY", "churn": "no"}]
    factory = batcher.create_record_factory(num_lines=100, seed_fields=seeds)
    records = factory.generate_all().records
    assert [(r["state"], r["churn"]) for r in records] == [("OH", "yes"), ("NY", "no")]


def test_record_factory_callback_interval_limits_how_often_the_callback_runs(batcher):
    calls = []
    batcher.create_record_factory(num_lines=200).generate_all(callback=calls.append, callback_interval=3600)
    assert len(calls) == 1 and calls[0].current_valid_count == 200  # only the final update


def test_record_factory_a_callback_that_raises_stops_generation(batcher):
    def callback(progress: GenerationProgress):
        raise KeyboardInterruptLike("stop now")

    result = batcher.create_record_factory(num_lines=20000).generate_all(callback=callback, callback_interval=0)
    assert isinstance(result.exception, KeyboardInterruptLike) and len(result.records) < 20000


class KeyboardInterruptLike(Exception):
    pass


def test_record_factory_callback_threading_calls_back_while_no_valid_record_arrives(batcher):
    calls: list[GenerationProgress] = []
    started = threading.Event()

    def slow_reject(rec: dict) -> bool:
        started.set()
        time.sleep(0.002)
        return False

    def callback(progress: GenerationProgress):
        calls.append(progress)
        if progress.current_invalid_count > 0 and len(calls) >= 3:
            raise RuntimeError("enough")

    factory = batcher.create_record_factory(num_lines=50, max_invalid=10**9, validator=slow_reject)
    result = factory.generate_all(callback=callback, callback_interval=0.05, callback_threading=True)
    assert started.is_set() and len(calls) >= 3 and str(result.exception) == "enough"
    assert all(p.current_valid_count == 0 for p in calls) and result.records == []
    assert calls[-1].current_invalid_count > 0


def test_record_factory_callback_threading_needs_a_callback(batcher):
    with pytest.raises(InvalidArgument, match="callback_threading needs a callback"):
        batcher.create_record_factory(num_lines=5).generate_all(callback_threading=True)


def test_generation_dataclasses_have_the_documented_fields():
    assert GenerationSummary() == GenerationSummary(valid_lines=0, invalid_lines=0, is_valid=False)
    progress = GenerationProgress()
    assert (progress.current_valid_count, progress.current_invalid_count, progress.new_valid_count,
            progress.new_invalid_count, progress.completion_percent) == (0, 0, 0, 0, 0.0)
    assert abs(progress.timestamp - time.time()) < 5
    assert GenerationResult(records=[]).exception is None
    assert RecordFactory.__init__.__kwdefaults__["max_invalid"] == 1000


# --- read mode, and the DuckDB world --------------------------------------------------------

def test_read_mode_in_a_new_process_generates_without_retraining(trained_dir, tmp_path):
    copy = tmp_path / "ckpt"
    shutil.copytree(trained_dir, copy)
    con = duckdb.connect(str(copy / "model.duckdb"))
    before = con.execute("SELECT trained_at, (SELECT list(sha256 ORDER BY batch_index) FROM duck_synth.artifacts)"
                         " FROM duck_synth.models").fetchall()
    con.close()
    script = (
        "import json, sys\n"
        "from duck_synth.batch import DataFrameBatch\n"
        f"b = DataFrameBatch(mode='read', checkpoint_dir={str(copy)!r})\n"
        "b.generate_all_batch_lines(num_lines=25)\n"
        "df = b.batches_to_df()\n"
        "print(json.dumps({'shape': list(df.shape), 'columns': list(df.columns), 'int': str(df['account_length'].dtype)}))\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=300,
                         cwd=Path(__file__).parents[1])
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["shape"] == [25, 20] and got["int"] == "int64"
    con = duckdb.connect(str(copy / "model.duckdb"))
    assert con.execute("SELECT trained_at, (SELECT list(sha256 ORDER BY batch_index) FROM duck_synth.artifacts)"
                       " FROM duck_synth.models").fetchall() == before
    con.close()


def test_read_mode_takes_checkpoint_dir_from_the_config_and_restores_validators(trained_dir, tmp_path):
    copy = tmp_path / "ckpt"
    shutil.copytree(trained_dir, copy)
    DataFrameBatch(mode="read", checkpoint_dir=str(copy)).set_batch_validator(0, states_not_texas)
    reopened = DataFrameBatch(mode="read", config={"checkpoint_dir": str(copy)}, trust_validators=True)
    assert reopened.batches[0].validator is states_not_texas
    assert reopened.original_headers == json.loads((copy / "original_headers.json").read_text())
    with pytest.raises(InvalidArgument, match="create_training_data cannot be used in read mode"):
        reopened.create_training_data()


def test_to_duckdb_serves_the_same_model_from_sql(batcher, tmp_path, churn):
    con = ds.connect(str(tmp_path / "warehouse.duckdb"))
    assert batcher.to_duckdb(con, "churn_batch") == "churn_batch"
    rows = con.sql("SELECT * FROM generate_synthetic('churn_batch', 100, seed := 1)").pl()
    assert rows.columns == list(churn.columns) and rows.height == 100
    with pytest.raises(ds.ModelExists, match="model 'churn_batch' already exists in the target database"):
        batcher.to_duckdb(con, "churn_batch")
    con.close()


def test_from_duckdb_opens_a_model_trained_with_sql(trained_db):
    con = ds.connect(trained_db, read_only=True)
    batcher = DataFrameBatch.from_duckdb(con, "diamonds")
    assert [b.headers for b in batcher.batches.values()] == [
        [r[0] for r in con.execute("SELECT column_name FROM duck_synth.batches WHERE model = 'diamonds'"
                                   " AND batch_index = ? ORDER BY position", [i]).fetchall()] for i in range(2)]
    batcher.generate_all_batch_lines(num_lines=30)
    df = batcher.batches_to_df()
    assert df.shape == (30, 10) and df["price"].dtype == np.int64 and df["carat"].dtype == np.float64
    con.close()


# --- bad input ------------------------------------------------------------------------------

def test_unknown_column_in_batch_headers_is_refused(churn, tmp_path):
    with pytest.raises(InvalidPlan, match="'nope'"):
        DataFrameBatch(df=churn, batch_headers=[["state", "nope"], ["churn"]], config={"checkpoint_dir": str(tmp_path)})
    assert not (tmp_path / "model.duckdb").exists()  # nothing half-written


def test_a_column_in_two_batches_is_refused(churn, tmp_path):
    with pytest.raises(InvalidPlan, match="'state'"):
        DataFrameBatch(df=churn, batch_headers=[["state", "churn"], ["state"]], config={"checkpoint_dir": str(tmp_path)})


@pytest.mark.parametrize("batch_size", [0, -3, 2.5, True])
def test_batch_size_below_one_is_refused(churn, tmp_path, batch_size):
    with pytest.raises(InvalidArgument, match=f"^batch_size must be an integer >= 1, got {batch_size!r}$"):
        DataFrameBatch(df=churn, batch_size=batch_size, config={"checkpoint_dir": str(tmp_path)})


def test_an_unknown_config_key_is_refused_by_name(churn, tmp_path):
    with pytest.raises(InvalidArgument, match=r"^unknown config key 'epochz'; duck_synth.batch understands "):
        DataFrameBatch(df=churn, config={"checkpoint_dir": str(tmp_path), "epochz": 3})


def test_differential_privacy_is_refused_not_ignored(churn, tmp_path):
    with pytest.raises(InvalidArgument, match="differential privacy is not available"):
        DataFrameBatch(df=churn, config={"checkpoint_dir": str(tmp_path), "dp": True})


def test_unknown_column_in_seed_fields_is_refused(batcher):
    with pytest.raises(InvalidArgument, match=r"^seed_fields name 'province', not columns of this model"):
        batcher.generate_batch_lines(0, seed_fields={"province": "ON"})
    with pytest.raises(InvalidArgument, match=r"seed_fields\[1\] has fields"):
        batcher.create_record_factory(num_lines=5, seed_fields=[{"state": "OH"}, {"churn": "no"}])


def test_read_mode_on_a_directory_that_is_not_a_checkpoint_is_refused(tmp_path):
    (tmp_path / "batch_0").mkdir()
    with pytest.raises(InvalidArgument, match=r"is not a duck_synth checkpoint: it has no model.duckdb \(it looks like a"
                                              r" gretel-synthetics checkpoint"):
        DataFrameBatch(mode="read", checkpoint_dir=str(tmp_path))
    with pytest.raises(InvalidArgument, match="does not exist"):
        DataFrameBatch(mode="read", checkpoint_dir=str(tmp_path / "missing"))
    with pytest.raises(InvalidArgument, match="checkpoint_dir is required"):
        DataFrameBatch(mode="read")


def test_write_mode_refuses_a_non_empty_directory_unless_overwrite(churn, tmp_path):
    DataFrameBatch(df=churn, config={"checkpoint_dir": str(tmp_path)})
    with pytest.raises(InvalidArgument, match="already exists and is not empty; set overwrite=True"):
        DataFrameBatch(df=churn, config={"checkpoint_dir": str(tmp_path)})
    DataFrameBatch(df=churn, config={"checkpoint_dir": str(tmp_path), "overwrite": True})
    other = tmp_path / "precious"
    other.mkdir()
    (other / "thesis.txt").write_text("do not delete")
    with pytest.raises(InvalidArgument, match="holds no duck_synth checkpoint; refusing to delete it"):
        DataFrameBatch(df=churn, config={"checkpoint_dir": str(other), "overwrite": True})
    assert (other / "thesis.txt").read_text() == "do not delete"


def test_bad_mode_and_bad_df_are_refused(churn, tmp_path):
    with pytest.raises(InvalidArgument, match="mode must be 'read' or 'write', got 'append'"):
        DataFrameBatch(df=churn, mode="append", config={"checkpoint_dir": str(tmp_path)})
    with pytest.raises(InvalidArgument, match="df must be a pandas or Polars DataFrame, got list"):
        DataFrameBatch(df=[1, 2], config={"checkpoint_dir": str(tmp_path)})
    with pytest.raises(InvalidArgument, match="df is required in write mode"):
        DataFrameBatch(config={"checkpoint_dir": str(tmp_path)})


def test_errors_are_duck_synth_errors():
    assert issubclass(InvalidArgument, DuckSynthError) and issubclass(TooManyInvalidError, DuckSynthError)
