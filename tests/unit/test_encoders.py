"""Each column kind: values -> tokens -> values keeps type, NULLs and distribution; privacy rules hold."""

import numpy as np
import polars as pl
import pytest

from duck_synth import encoders
from duck_synth.encoders.categorical import RARE_PLACEHOLDER
from duck_synth.encoders.numeric import FINE_BINS, PROTECT_K


def roundtrip(kind, values, dtype, seed=0):
    enc = encoders.get(kind)
    state = enc.analyze(values, dtype)
    codes = enc.encode(state, values)
    assert codes.shape == (values.len(), len(enc.cardinalities(state)))
    assert (codes >= 0).all() and (codes < np.array(enc.cardinalities(state))).all()
    # state survives JSON, and the restored encoder decodes identically
    enc2, state2 = encoders.state_from_json(encoders.state_to_json(kind, state))
    assert state2 == state
    return state, enc2.decode(state2, codes, np.random.default_rng(seed))


def test_numeric_discrete_is_exact_and_keeps_specials():
    s = pl.Series([1.0, None, float("nan"), float("inf"), -float("inf"), 2.5] * 30)
    state, out = roundtrip("numeric", s, "DOUBLE")
    assert state.mode == "discrete"
    assert out.is_null().sum() == 30 and out.is_nan().sum() == 30
    assert (out == float("inf")).sum() == 30 and (out == -float("inf")).sum() == 30


def test_numeric_binned_matches_marginal_without_artifacts(diamonds):
    price = diamonds["price"]
    state, out = roundtrip("numeric", price, "BIGINT")
    assert state.mode == "binned"
    from scipy.stats import ks_2samp

    assert ks_2samp(price.to_numpy(), out.to_numpy()).statistic < 0.01
    assert (out.to_numpy() == np.round(out.to_numpy())).all()  # integers stay integers


def test_numeric_extremes_are_clipped_to_protected_bounds():
    values = pl.Series(np.r_[np.arange(1000.0), 1e9])  # one outlier
    state, out = roundtrip("numeric", values, "DOUBLE")
    assert state.upper == np.sort(values.to_numpy())[-1 - PROTECT_K]
    # the tail beyond the bound is fitted without the protected values: the outlier stretches nothing
    assert 1e9 not in out.to_list() and out.max() < 1100


def test_numeric_heavy_tail_goes_past_the_bound_without_copying_the_extremes(diamonds):
    carat = diamonds["carat"]  # a long right tail: ..., 4.01, 4.13, 4.5, 5.01
    state, _ = roundtrip("numeric", carat, "DOUBLE")
    real = np.sort(carat.to_numpy())
    assert state.tail_hi is not None and state.tail_hi[1] > 0  # a Pareto tail
    codes = encoders.get("numeric").encode(state, pl.Series(np.full(200_000, real[-1])))  # all in the top bin
    out = encoders.get("numeric").decode(state, codes, np.random.default_rng(1)).to_numpy()
    beyond = out[out > state.upper]
    # the share the protected values held of the bin's last within-bin interval
    expected = state.tail_hi[0] / FINE_BINS
    assert 0.8 * expected < beyond.size / out.size < 1.2 * expected
    # spread between the bound and the maximum, thinning out: not piled on the outliers
    assert beyond.max() <= real[-1] and np.median(beyond) < (state.upper + real[-1]) / 2
    assert (np.round(out, 2) == out).all()  # still two decimals
    # the lower tail is the mirror image: the negated column's bottom bin decodes to the negated values
    neg_state, _ = roundtrip("numeric", -carat, "DOUBLE")
    assert neg_state.tail_lo[1:] == pytest.approx(state.tail_hi[1:])  # the same fitted tail, mirrored
    neg_codes = encoders.get("numeric").encode(neg_state, pl.Series(np.full(200_000, -real[-1])))
    neg = encoders.get("numeric").decode(neg_state, neg_codes, np.random.default_rng(1)).to_numpy()
    below = neg[neg < neg_state.lower]
    expected = neg_state.tail_lo[0] / FINE_BINS
    assert 0.8 * expected < below.size / neg.size < 1.2 * expected
    assert below.min() >= -real[-1] and np.median(below) > (neg_state.lower - real[-1]) / 2


def test_numeric_detects_decimals_from_data():
    s = pl.Series(np.round(np.random.default_rng(0).normal(50, 10, 5000), 2))
    state, out = roundtrip("numeric", s, "DOUBLE")
    assert state.decimals == 2
    assert np.allclose(out.to_numpy(), np.round(out.to_numpy(), 2))


def test_numeric_all_null_column():
    state, out = roundtrip("numeric", pl.Series([None] * 10, dtype=pl.Float64), "INTEGER")
    assert state.mode == "empty" and out.null_count() == 10


def test_categorical_collapses_rare_values():
    values = pl.Series(["a"] * 500 + ["b"] * 400 + ["unique-person-name"] + [None] * 99)
    state, out = roundtrip("categorical", values, "VARCHAR")
    assert "unique-person-name" not in state.categories and state.has_rare
    assert set(out.drop_nulls().to_list()) <= {"a", "b", RARE_PLACEHOLDER}
    assert out.null_count() == 99


def test_enum_rare_decodes_to_a_member():
    values = pl.Series(["x"] * 500 + ["y"] * 500 + ["z"])
    enc = encoders.get("categorical")
    state = enc.analyze(values, "ENUM('x', 'y', 'z')")
    codes = np.full((100, 1), len(state.categories))  # all <rare>
    assert set(enc.decode(state, codes, np.random.default_rng(0)).to_list()) <= {"x", "y"}


def test_datetime_keeps_granularity():
    days = pl.Series(np.arange(0, 3000, 3, dtype=np.float64) * 86_400e6)  # whole days in µs
    state, out = roundtrip("datetime", days, "TIMESTAMP")
    assert state.step == 86_400e6
    assert (np.mod(out.to_numpy(), 86_400e6) == 0).all()


def test_boolean_with_nulls():
    state, out = roundtrip("boolean", pl.Series([True, False, None] * 10), "BOOLEAN")
    assert out.to_list() == [True, False, None] * 10


@pytest.mark.parametrize("values", [["hello world", "héllo 🎉", None, "", "x" * 10]])
def test_text_roundtrip_unicode_null_and_empty(values):
    s = pl.Series(values * 40)
    state, out = roundtrip("text", s, "VARCHAR")
    assert out.to_list()[:5] == values


def test_text_any_token_sequence_decodes():
    enc = encoders.get("text")
    state = enc.analyze(pl.Series(["abc def", "ghi"] * 50), "VARCHAR")
    codes = np.random.default_rng(0).integers(0, state.vocab_size, size=(200, state.max_len))
    out = enc.decode(state, codes, np.random.default_rng(0))
    assert out.len() == 200 and out.dtype == pl.String


def test_uuid_generates_fresh_valid_ids():
    import uuid

    s = pl.Series(["3f2504e0-4f89-11d3-9a0c-0305e82c3301", None] * 20)
    state, out = roundtrip("uuid", s, "UUID")
    assert out.null_count() == 20
    assert all(uuid.UUID(v).version == 4 for v in out.drop_nulls())
    assert "3f2504e0-4f89-11d3-9a0c-0305e82c3301" not in out.to_list()


def test_unknown_encoder_is_a_plan_error():
    from duck_synth.errors import InvalidPlan

    with pytest.raises(InvalidPlan, match="unknown encoder 'bogus'"):
        encoders.get("bogus")


def test_categorical_null_seed_in_a_column_without_nulls_stays_in_the_vocabulary():
    enc = encoders.get("categorical")
    state = enc.analyze(pl.Series(["a"] * 50 + ["b"] * 50), "VARCHAR")
    codes = enc.encode(state, pl.Series(["b", None, "zzz"], dtype=pl.String))
    assert codes[:, 0].tolist() == [1, 0, 0] and not state.has_null  # NULL and unseen: like an unseen value


@pytest.mark.parametrize("dtype", ["DOUBLE", "BIGINT", "INTEGER", "SMALLINT", "TINYINT", "UTINYINT", "UINTEGER"])
def test_write_arrow_gives_exactly_what_the_sql_cast_gives(dtype):
    """Generation casts decoded numbers in Arrow when it can; the result must be DuckDB's own cast
    (``write_sql``): ties round half to even, the type's range saturates, NULLs stay NULL."""
    import duckdb

    rng = np.random.default_rng(0)
    values = np.concatenate([
        rng.normal(0, 50, 2000), np.round(rng.normal(0, 50, 500)) + 0.5,  # ties
        [0.5, -0.5, 1.5, -1.5, 2.5, 126.5, 127.5, -128.5, 255.5, 1e30, -1e30, float("inf"), -float("inf"),
         2.0**63, -(2.0**63), 2.0**63 - 1024, 4294967295.5, 0.49999999999999994],
    ])
    series = pl.Series("v", values).scatter([3, 700, 2499], None)
    enc = encoders.get("numeric")
    fast = enc.write_arrow(series, dtype)
    con = duckdb.connect()
    con.register("decoded", pl.DataFrame({"v": series}).to_arrow())
    sql = con.sql(f"SELECT {enc.write_sql('v', dtype)} AS v FROM decoded").to_arrow_table().column("v")
    assert fast is not None and fast.type == sql.type
    assert fast.to_pylist() == sql.to_pylist()


def test_write_arrow_leaves_what_it_cannot_match_to_sql():
    numeric, categorical = encoders.get("numeric"), encoders.get("categorical")
    assert numeric.write_arrow(pl.Series([1.0, float("nan")]), "BIGINT") is None  # DuckDB's cast raises there
    for dtype in ("DECIMAL(10,2)", "HUGEINT", "UBIGINT", "FLOAT"):
        assert numeric.write_arrow(pl.Series([1.0]), dtype) is None
    assert encoders.get("datetime").write_arrow(pl.Series([1.0]), "DATE") is None
    assert categorical.write_arrow(pl.Series(["a"]), "ENUM('a', 'b')") is None
    assert categorical.write_arrow(pl.Series(["a", None]), "VARCHAR").to_pylist() == ["a", None]
