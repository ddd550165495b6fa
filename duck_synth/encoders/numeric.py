"""Numbers (integers, floats, decimals): exact values when few, two-level quantile bins otherwise.

Discrete mode (at most ``DISCRETE_MAX`` distinct values): one token per value.
Binned mode: one token, a quantile bin. Decoding picks one of the bin's ``FINE_BINS``
within-bin quantile intervals at random (they hold equal mass by construction) and a uniform
point inside it, so the bin is refilled with its own empirical distribution: point masses
(many zeros, say) decode exactly and the marginal has no intra-bin artifacts. The network
never sees the within-bin position: it is noise it would only memorise.

Extremes are clipped to protected bounds: the ``k``-th smallest and largest values, so no
single outlier's exact value can be reproduced. The ``k`` clipped values' share of the end
interval is then drawn from a tail fitted to the top (bottom) percent of the column (Pareto,
or exponential where the values are not positive), truncated at the column's extreme: the
synthetic column keeps a tail as long as the real one's without copying its outliers.
NULL, NaN, -inf and +inf are own tokens.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import polars as pl
import pyarrow as pa

from .base import register, with_nulls

DISCRETE_MAX = 200
MAX_BINS = 64
MIN_BINS = 16
ROWS_PER_BIN = 150
FINE_BINS = 32
PROTECT_K = 5
SPECIALS = ("null", "nan", "-inf", "+inf")
_SPECIAL_VALUES = {"nan": np.nan, "-inf": -np.inf, "+inf": np.inf}
_ARROW_INTS = {"TINYINT": pa.int8(), "SMALLINT": pa.int16(), "INTEGER": pa.int32(), "BIGINT": pa.int64(),
               "UTINYINT": pa.uint8(), "USMALLINT": pa.uint16(), "UINTEGER": pa.uint32()}
_INT_BITS = {"TINYINT": 8, "SMALLINT": 16, "INTEGER": 32, "BIGINT": 64, "HUGEINT": 128,
             "UTINYINT": 8, "USMALLINT": 16, "UINTEGER": 32, "UBIGINT": 64, "UHUGEINT": 128}


def type_bounds(duckdb_type: str) -> tuple[str, str] | None:
    """The smallest and largest value of an integer or DECIMAL type, as exact SQL literals."""
    if duckdb_type in _INT_BITS:
        bits = _INT_BITS[duckdb_type]
        return ("0", str(2**bits - 1)) if duckdb_type.startswith("U") else (str(-(2 ** (bits - 1))), str(2 ** (bits - 1) - 1))
    if duckdb_type.startswith("DECIMAL("):
        precision, scale = (int(p) for p in duckdb_type[8:-1].split(","))
        top = "9" * (precision - scale) + ("." + "9" * scale if scale else "")
        return "-" + top, top
    return None


@dataclass(frozen=True)
class NumericState:
    """Learned layout of a numeric column."""

    mode: str  # 'discrete' | 'binned' | 'empty'
    values: list[float]  # discrete: value of each token
    fine: list[list[float]]  # binned: per coarse bin, FINE_BINS + 1 fine edges
    specials: list[str]  # special tokens present, in token order after the value tokens
    decimals: int | None  # round decoded values to this many decimals (None: no rounding)
    step: float  # else round to a multiple of step (0: no rounding)
    lower: float | None  # protected bounds
    upper: float | None
    # tails beyond the protected bounds, mirrored so they run upwards (``fit_tail``); None: none
    tail_lo: list[float] | None = None
    tail_hi: list[float] | None = None

    @functools.cached_property
    def fine_edges(self) -> np.ndarray:
        """``fine`` as an array, made once: decoding reads it for every block."""
        return np.asarray(self.fine)

    @functools.cached_property
    def value_array(self) -> np.ndarray:
        """``values`` as an array, made once."""
        return np.asarray(self.values)


def bins_for(n: int) -> int:
    """Quantile bins the model predicts: fewer for small tables, where 64-way conditionals overfit."""
    return int(np.clip(n // ROWS_PER_BIN, MIN_BINS, MAX_BINS))


def protect_k(n: int) -> int:
    """How many of the most extreme values on each side are clipped away."""
    return min(PROTECT_K, n // 20)


TAIL_SHARE = 0.01
"""Share of a column's values (at least ``4k``) above which its tail is fitted."""


def fit_tail(y: np.ndarray, k: int, end_count: int) -> list[float] | None:
    """The tail of ascending values ``y`` beyond the protected bound ``y[-1-k]``, as
    ``[share, shape, scale, bound, limit]``: ``share`` of the ``end_count`` values in the last
    within-bin interval are drawn from it; ``shape`` > 0 is a Pareto tail (Hill estimate over
    the top ``TAIL_SHARE``), else an exponential one of mean excess ``scale``; draws stop at
    ``limit``, the largest value. The ``k`` protected values themselves take no part in the
    fit, so a single outlier cannot stretch the synthetic tail."""
    n = y.size
    if k == 0 or end_count == 0 or n < 5 * k + 2:
        return None
    bound, limit = float(y[n - 1 - k]), float(y[-1])
    if not limit > bound:
        return None
    m = min(n - 1 - k, max(4 * k, int(n * TAIL_SHARE)))
    base, top = float(y[n - 1 - k - m]), y[n - k - m: n - k]
    shape = float(np.mean(np.log(top / base))) if base > 0 else 0.0
    scale = float(np.mean(top - base))
    if not (shape > 0 or scale > 0) or not np.isfinite([shape, scale]).all():
        return None
    return [min(1.0, k / end_count), shape, scale, bound, limit]


def draw_tail(tail: list[float], w: np.ndarray) -> np.ndarray:
    """Values beyond the bound for uniforms ``w`` in [0, 1), truncated at the limit."""
    _, shape, scale, bound, limit = tail
    if shape > 0:  # Pareto: P(Y > y | Y > bound) = (y / bound) ** (-1 / shape)
        top = 1 - (limit / bound) ** (-1 / shape)
        return np.minimum(bound * (1 - w * top) ** -shape, limit)
    top = 1 - np.exp(-(limit - bound) / scale)
    return np.minimum(bound - scale * np.log1p(-w * top), limit)


def detect_decimals(finite: np.ndarray, max_decimals: int = 6) -> int | None:
    """Smallest number of decimals that represents every value, or None."""
    sample = finite[:: max(1, finite.size // 20000)]
    for d in range(max_decimals + 1):
        scaled = sample * 10.0**d
        if np.all(np.abs(scaled - np.round(scaled)) <= 1e-6 * np.maximum(1.0, np.abs(scaled))):
            return d
    return None


def decimals_for_type(duckdb_type: str, finite: np.ndarray) -> int | None:
    """Rounding implied by the DuckDB type (integers, DECIMAL scale), else detected from data."""
    if duckdb_type in _INT_BITS:
        return 0
    if duckdb_type.startswith("DECIMAL"):
        scale = int(duckdb_type.rstrip(")").split(",")[-1])
        return min(scale, detect_decimals(finite, scale) if finite.size else scale)
    return detect_decimals(finite) if finite.size else None


def split_specials(values: pl.Series) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Float64 numpy values and a boolean mask for each special kind present."""
    s = values.cast(pl.Float64)
    null = s.is_null().to_numpy()
    arr = s.fill_null(0.0).to_numpy().astype(np.float64, copy=False)
    masks = {"null": null, "nan": np.isnan(arr) & ~null,
             "-inf": np.isneginf(arr), "+inf": np.isposinf(arr)}
    return arr, {k: m for k, m in masks.items() if m.any()}


def analyze_array(
    arr: np.ndarray, masks: dict[str, np.ndarray], decimals: int | None, step: float
) -> NumericState:
    """Fit the layout from values (with specials already separated)."""
    special_any = np.zeros(arr.shape, bool)
    for m in masks.values():
        special_any |= m
    finite = np.sort(arr[~special_any])
    specials = [s for s in SPECIALS if s in masks]
    if finite.size == 0:
        return NumericState("empty", [], [], specials, decimals, step, None, None)
    k = protect_k(finite.size)
    lower, upper = float(finite[k]), float(finite[finite.size - 1 - k])
    clipped = np.clip(finite, lower, upper)
    distinct = np.unique(clipped)
    if distinct.size <= DISCRETE_MAX:
        return NumericState("discrete", distinct.tolist(), [], specials, decimals, step, lower, upper)
    edges = np.unique(np.quantile(clipped, np.linspace(0, 1, bins_for(clipped.size) + 1), method="inverted_cdf"))
    bins = np.clip(np.searchsorted(edges, clipped, side="right") - 1, 0, edges.size - 2)
    fine = []
    qs = np.linspace(0, 1, FINE_BINS + 1)
    for b in range(edges.size - 1):
        inside = clipped[bins == b]
        fine.append(np.quantile(inside, qs, method="inverted_cdf").tolist())
    tail_hi = fit_tail(finite, k, int(np.sum(clipped >= fine[-1][-2])))
    tail_lo = fit_tail(-finite[::-1], k, int(np.sum(clipped <= fine[0][1])))
    return NumericState("binned", [], fine, specials, decimals, step, lower, upper, tail_lo, tail_hi)


def encode_array(state: NumericState, arr: np.ndarray, masks: dict[str, np.ndarray]) -> np.ndarray:
    """Values (with their special masks) to tokens ``(n, 1)``."""
    n_values = len(state.values) if state.mode == "discrete" else len(state.fine)
    x = np.clip(np.nan_to_num(arr, nan=0.0, posinf=0.0, neginf=0.0),
                state.lower if state.lower is not None else 0.0,
                state.upper if state.upper is not None else 0.0)
    codes = np.zeros((arr.size, 1), np.int64)
    if state.mode == "discrete":
        vals = state.value_array
        idx = np.clip(np.searchsorted(vals, x), 0, vals.size - 1)
        left = np.clip(idx - 1, 0, vals.size - 1)
        codes[:, 0] = np.where(np.abs(vals[left] - x) < np.abs(vals[idx] - x), left, idx)
    elif state.mode == "binned":
        starts = state.fine_edges[:, 0]  # each bin's smallest value
        codes[:, 0] = np.clip(np.searchsorted(starts, x, side="right") - 1, 0, len(starts) - 1)
    for i, name in enumerate(state.specials):
        if name in masks:
            codes[masks[name], 0] = n_values + i
    return codes


def decode_array(state: NumericState, codes: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Tokens to float64 values and a NULL mask.

    A block without special tokens (NULL, NaN, ±inf), the usual case, skips every mask: the
    values are the output. Bin edges are read from the flat edge array (one gather per edge).
    """
    t0 = codes[:, 0]
    n = t0.size
    n_values = len(state.values) if state.mode == "discrete" else len(state.fine)
    is_value = t0 < n_values
    every = bool(is_value.all())
    picked = t0 if every else t0[is_value]
    if state.mode == "discrete":
        values = state.value_array[picked].astype(np.float64, copy=False)
    elif state.mode == "binned":
        values = _binned_values(state, picked, rng)
    else:
        values = np.zeros(picked.size, np.float64)
    if state.lower is not None:
        low = -state.tail_lo[4] if state.tail_lo is not None else state.lower
        high = state.tail_hi[4] if state.tail_hi is not None else state.upper
        np.clip(values, low, high, out=values)
    if every:
        return values, np.zeros(n, bool)
    out = np.zeros(n, np.float64)
    out[is_value] = values
    null = np.zeros(n, bool)
    for i, name in enumerate(state.specials):
        hit = t0 == n_values + i
        if name == "null":
            null |= hit
        else:
            out[hit] = _SPECIAL_VALUES[name]
    return out, null


def _binned_values(state: NumericState, b: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Values for bin tokens ``b``: one of the bin's fine intervals and a point in it, from one
    uniform per row (one draw per row keeps a larger n an extension of a smaller one)."""
    edges = state.fine_edges
    u = rng.random(b.size) * FINE_BINS
    f = np.minimum(u.astype(np.int64), FINE_BINS - 1)
    at = b * edges.shape[1] + f
    flat = edges.ravel()
    lo, hi, frac = flat[at], flat[at + 1], u - f
    values = lo + frac * (hi - lo)
    last = edges.shape[0] - 1
    for tail, end_bin, end_fine, sign in ((state.tail_hi, last, FINE_BINS - 1, 1.0), (state.tail_lo, 0, 0, -1.0)):
        if tail is None:
            continue
        end = np.flatnonzero(at == end_bin * edges.shape[1] + end_fine)  # a few rows: work on them alone
        if not end.size:
            continue
        # in the outermost interval, the outer `share` goes to the tail and the rest is
        # spread over the interval; `out_pos` is the position from its inner edge outwards
        share, fr, low, high = tail[0], frac[end], lo[end], hi[end]
        out_pos = fr if sign > 0 else 1 - fr
        beyond = out_pos >= 1 - share
        moved = (low if sign > 0 else high) + sign * out_pos / (1 - share) * (high - low)
        moved[beyond] = sign * draw_tail(tail, (out_pos[beyond] - (1 - share)) / share)
        values[end] = moved
    return _round(state, values)


def _round(state: NumericState, x: np.ndarray) -> np.ndarray:
    if state.decimals is not None:
        return np.round(x, state.decimals)
    if state.step > 0:
        return np.round(x / state.step) * state.step
    return x


def cardinalities_of(state: NumericState) -> list[int]:
    """Vocabulary size: value or bin tokens plus specials."""
    n_values = len(state.fine) if state.mode == "binned" else len(state.values)
    return [max(1, n_values + len(state.specials))]


class NumericEncoder:
    """Integers, floats and decimals, read as DOUBLE and cast back to the source type."""

    kind: ClassVar[str] = "numeric"
    state_type: ClassVar[type] = NumericState

    def read_sql(self, column_sql: str, duckdb_type: str) -> str:
        return f"CAST({column_sql} AS DOUBLE)"

    def write_sql(self, column_sql: str, duckdb_type: str) -> str:
        """The cast back, saturating at the type's range: a DOUBLE rounds 2**63 - 1 up to 2**63,
        which BIGINT cannot hold (likewise HUGEINT, UBIGINT and wide DECIMALs)."""
        cast = f"CAST({column_sql} AS {duckdb_type})"
        bounds = type_bounds(duckdb_type)
        if bounds is None:
            return cast
        lo, hi = bounds
        return (f"CASE WHEN {column_sql} >= CAST('{hi}' AS DOUBLE) THEN CAST('{hi}' AS {duckdb_type})"
                f" WHEN {column_sql} <= CAST('{lo}' AS DOUBLE) THEN CAST('{lo}' AS {duckdb_type}) ELSE {cast} END")

    def write_arrow(self, values: pl.Series, duckdb_type: str) -> pa.Array | None:
        """``write_sql`` in Arrow for DOUBLE and the integer types up to 64 bits: DuckDB's cast
        rounds half to even (``np.rint``) and ``write_sql`` saturates at the type's range."""
        if values.dtype != pl.Float64:
            return None
        if duckdb_type == "DOUBLE":
            return values.to_arrow()
        if duckdb_type not in _ARROW_INTS:
            return None
        lo, hi = (int(b) for b in type_bounds(duckdb_type))
        null = values.is_null().to_numpy() if values.null_count() else None
        x = values.to_numpy()  # NULLs read as NaN
        if null is not None:
            x = np.where(null, 0.0, x)
        if np.isnan(x).any():  # the SQL cast raises on NaN; let it say so
            return None
        top, bottom = x >= float(hi), x <= float(lo)
        if top.any() or bottom.any():
            x = np.where(top | bottom, 0.0, x)
        out = np.rint(x).astype(np.int64)
        out[top], out[bottom] = hi, lo
        return pa.array(out, mask=null).cast(_ARROW_INTS[duckdb_type])

    def analyze(self, values: pl.Series, duckdb_type: str) -> NumericState:
        arr, masks = split_specials(values)
        finite = arr[np.isfinite(arr) & ~masks.get("null", np.zeros(arr.shape, bool))]
        return analyze_array(arr, masks, decimals_for_type(duckdb_type, finite), 0.0)

    def encode(self, state: NumericState, values: pl.Series) -> np.ndarray:
        return encode_array(state, *split_specials(values))

    def decode(self, state: NumericState, codes: np.ndarray, rng: np.random.Generator) -> pl.Series:
        out, null = decode_array(state, codes, rng)
        return with_nulls(pl.Series(out, dtype=pl.Float64), null)

    def cardinalities(self, state: NumericState) -> list[int]:
        return cardinalities_of(state)


register(NumericEncoder())
