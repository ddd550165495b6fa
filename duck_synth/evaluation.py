"""The quality yardstick: fidelity as SDMetrics' QualityReport defines it, and privacy.

DESIGN.md section 6 fixes one protocol: split the real table 80/20 (``split``), train on the
first part, generate as many rows, then score

* **fidelity** (``fidelity``): column shapes and column-pair trends with the formulas of
  SDMetrics' single-table ``QualityReport`` (sdmetrics >= 0.27, all pairs kept), so that our
  numbers can be put next to published ones. ``benchmarks/crosscheck_sdmetrics.py`` checks
  that they agree; sdmetrics itself is never imported here (it pins ``pandas<3``).
* **privacy** (``privacy``): exact copies of training rows, and the DCR share (how often a
  synthetic row is nearer the training rows than equally many holdout rows).

Everything is vectorised with polars/numpy; nearest neighbours come from scikit-learn.
"""

from __future__ import annotations

import itertools
import logging
import math
import sys
from dataclasses import dataclass

import numpy as np
import polars as pl
import scipy.sparse as sp
from sklearn.neighbors import NearestNeighbors

from .errors import InvalidArgument

logger = logging.getLogger(__name__)

KINDS = ("numeric", "datetime", "categorical", "id")
_CONTINUOUS = frozenset({"numeric", "datetime"})
# A text column whose non-null values are more than this share unique is an identifier.
_ID_UNIQUE_SHARE = 0.9
# SDV's metadata detection: whole, non-negative numbers with at most
# min(round(rows / 10), 10) distinct values are categorical, on more than 5 rows.
_LOW_CARD_MAX = 10
_LOW_CARD_MIN_ROWS = 5
# sdmetrics' KSComplement rounds to this many decimals before ks_2samp.
_KS_DECIMALS = sys.float_info.dig - 1
# ColumnPairTrends bins continuous columns with np.histogram_bin_edges' default of 10 bins.
_NUM_BINS = 10
# Above this many DCR features the encoded rows stay sparse instead of dense.
_DENSE_MAX_FEATURES = 512
_NS_PER = {"ns": 1.0, "us": 1e3, "ms": 1e6}
_NS_PER_DAY = 86_400e9


# ---------------------------------------------------------------------------------------------
# Column kinds and the split


def column_kinds(df: pl.DataFrame) -> dict[str, str]:
    """Classify every column as ``numeric``, ``datetime``, ``categorical`` or ``id``.

    * ``numeric``: integers, floats and decimals, except low-cardinality ones (below).
    * ``datetime``: Date, Datetime, Time and Duration (scored as numbers).
    * ``categorical``: strings, booleans, Categorical/Enum and any other type, plus numbers
      that SDV's metadata detection calls categorical: on more than 5 rows, whole and
      non-negative, with at most ``min(round(rows / 10), 10)`` distinct values.
    * ``id``: text (String, Categorical) whose non-null values are more than 90% unique.
      These are left out of fidelity and DCR: copying them is a leak, not fidelity.

    Args:
        df: the frame to classify (normally the real table).

    Returns:
        Column name to kind, in the frame's column order.
    """
    return {name: _kind_of(df.get_column(name)) for name in df.columns}


def _kind_of(series: pl.Series) -> str:
    dtype = series.dtype
    if dtype.is_temporal():
        return "datetime"
    if dtype.is_numeric():
        return "categorical" if _is_low_cardinality(series) else "numeric"
    if dtype == pl.String or _is_categorical(dtype):
        values = series.drop_nulls()
        if values.len() and values.n_unique() > _ID_UNIQUE_SHARE * values.len():
            return "id"
    return "categorical"


def _is_low_cardinality(series: pl.Series) -> bool:
    if series.len() <= _LOW_CARD_MIN_ROWS:
        return False
    values = series.cast(pl.Float64).fill_nan(None).drop_nulls()
    if values.len() == 0:
        return False
    limit = min(round(series.len() / 10), _LOW_CARD_MAX)
    return bool(
        values.n_unique() <= limit and (values == values.round()).all() and values.min() >= 0
    )


def split(df: pl.DataFrame, frac: float = 0.8, seed: int = 0) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Split rows at random into train and holdout, the same way for the same seed.

    The rows are permuted with ``numpy.random.default_rng(seed)``; the first
    ``round(frac * rows)`` of the permutation are train, the rest holdout (both in that
    shuffled order).

    Args:
        df: the real table.
        frac: share of rows that go to train, strictly between 0 and 1.
        seed: seed of the permutation.

    Returns:
        ``(train, holdout)``.

    Raises:
        InvalidArgument: ``frac`` is out of range, or one part would be empty.
    """
    if not 0.0 < frac < 1.0:
        raise InvalidArgument(f"frac must be strictly between 0 and 1, got {frac}")
    n_train = round(frac * df.height)
    if n_train == 0 or n_train == df.height:
        raise InvalidArgument(
            f"cannot split {df.height} rows with frac={frac}: train or holdout would be empty"
        )
    order = np.random.default_rng(seed).permutation(df.height)
    return df[order[:n_train]], df[order[n_train:]]


# ---------------------------------------------------------------------------------------------
# Fidelity


@dataclass(frozen=True)
class FidelityReport:
    """Fidelity of a synthetic frame to the real one, as SDMetrics' QualityReport scores it.

    Attributes:
        shapes: per scored column, KSComplement (numeric/datetime) or TVComplement
            (categorical); NaN where sdmetrics cannot score it (no non-null value on one side).
        pairs: per pair of scored columns ``(a, b)`` in source column order: all pairs,
            CorrelationSimilarity when both are continuous, else ContingencySimilarity;
            NaN where the correlation is undefined (a constant column).
        shape_score: mean of ``shapes``, NaN values left out (as sdmetrics does).
        pair_score: mean of ``pairs``, NaN values left out; NaN with fewer than two columns.
        score: mean of ``shape_score`` and ``pair_score`` ("fidelity"), NaN left out.
    """

    shapes: dict[str, float]
    pairs: dict[tuple[str, str], float]
    shape_score: float
    pair_score: float
    score: float


@dataclass(frozen=True)
class _Scored:
    """One column of both frames, in the forms the formulas need."""

    continuous: bool
    # Continuous: float64 values, NaN for NULL. Categorical: int64 codes, 0 for NULL.
    real: np.ndarray
    synth: np.ndarray
    # Labels for contingency tables (int64, 0 .. n_labels - 1).
    real_labels: np.ndarray
    synth_labels: np.ndarray
    n_labels: int
    # sdmetrics refuses a correlation when either frame's column has one distinct value.
    constant: bool


def fidelity(
    real: pl.DataFrame, synth: pl.DataFrame, kinds: dict[str, str] | None = None
) -> FidelityReport:
    """Score how closely ``synth`` follows ``real``, with SDMetrics' QualityReport formulas.

    Column shapes (sdmetrics ``ColumnShapes``):

    * numeric/datetime: KSComplement, ``1 - D`` of the two-sample Kolmogorov-Smirnov test
      on the non-null values (datetimes as nanoseconds, values rounded to 14 decimals);
    * categorical: TVComplement, ``1 - TVD`` of the frequencies of the non-null values.

    Column-pair trends (sdmetrics ``ColumnPairTrends`` with both thresholds at 0):

    * both continuous: CorrelationSimilarity, ``1 - |r_real - r_synth| / 2`` with Pearson's
      r over the rows where both values are non-null; NaN (left out of the mean) when
      either column is constant in either frame;
    * otherwise: ContingencySimilarity, ``1 - TVD`` of the joint frequency table, where a
      NULL categorical value is a category of its own, and a continuous column is cut into
      ``np.histogram_bin_edges``' 10 equal-width bins and labelled with ``np.digitize``.
      Like sdmetrics' QualityReport, each frame is binned over its *own* range, and the
      maximum value and NULL share the label after the last bin.

    Float NaN counts as NULL (pandas, which sdmetrics uses, cannot tell them apart).
    Columns of kind ``id`` are left out. Unlike sdmetrics, which samples 50,000 rows for
    contingency tables of larger frames, every row is used.

    Args:
        real: the real rows (normally the training part of ``split``).
        synth: synthetic rows with the same column names (order and row count may differ).
        kinds: column kinds to use instead of ``column_kinds(real)``, for some or all
            columns; map a column to ``id`` to leave it out.

    Returns:
        The per-column and per-pair scores and their means.

    Raises:
        InvalidArgument: the frames' columns differ, a frame is empty, a kind is unknown,
            or a column cannot be read as its kind.
    """
    _check_columns(real, synthetic=synth)
    _check_not_empty(real=real, synthetic=synth)
    kinds = _resolve_kinds(real, kinds)
    names = [name for name in real.columns if kinds[name] != "id"]
    columns = {name: _scored_column(name, kinds[name], real, synth) for name in names}
    shapes = {name: _shape_score(column) for name, column in columns.items()}
    pairs = {
        (a, b): _pair_score(columns[a], columns[b]) for a, b in itertools.combinations(names, 2)
    }
    shape_score = _nanmean(shapes.values())
    pair_score = _nanmean(pairs.values())
    score = _nanmean([shape_score, pair_score])
    logger.debug("fidelity of %d columns, %d pairs: %.4f", len(shapes), len(pairs), score)
    return FidelityReport(shapes, pairs, shape_score, pair_score, score)


def _scored_column(name: str, kind: str, real: pl.DataFrame, synth: pl.DataFrame) -> _Scored:
    if kind in _CONTINUOUS:
        real_values, synth_values = (
            as_float(name, frame.get_column(name)) for frame in (real, synth)
        )
        real_labels, synth_labels = _bin_labels(real_values), _bin_labels(synth_values)
        n_labels = _NUM_BINS + 2
        constant = _n_distinct(real_values) == 1 or _n_distinct(synth_values) == 1
        return _Scored(
            True, real_values, synth_values, real_labels, synth_labels, n_labels, constant
        )
    real_codes, synth_codes = _codes(name, [real.get_column(name), synth.get_column(name)])
    n_labels = int(max(real_codes.max(initial=0), synth_codes.max(initial=0))) + 1
    return _Scored(False, real_codes, synth_codes, real_codes, synth_codes, n_labels, False)


def _shape_score(column: _Scored) -> float:
    if column.continuous:
        real = column.real[~np.isnan(column.real)]
        synth = column.synth[~np.isnan(column.synth)]
        return 1.0 - _ks_statistic(real, synth)
    real = column.real[column.real > 0]
    synth = column.synth[column.synth > 0]
    return 1.0 - _tvd(real, synth, column.n_labels)


def _pair_score(a: _Scored, b: _Scored) -> float:
    if a.continuous and b.continuous:
        if a.constant or b.constant:
            return math.nan
        r_real = _pearson(a.real, b.real)
        r_synth = _pearson(a.synth, b.synth)
        return 1.0 - abs(r_real - r_synth) / 2.0
    real = a.real_labels * b.n_labels + b.real_labels
    synth = a.synth_labels * b.n_labels + b.synth_labels
    return 1.0 - _tvd(real, synth, a.n_labels * b.n_labels)


def _ks_statistic(real: np.ndarray, synth: np.ndarray) -> float:
    """Two-sample KS statistic D as ``scipy.stats.ks_2samp`` computes it; NaN if a side is empty."""
    if real.size == 0 or synth.size == 0:
        return math.nan
    real = np.sort(np.round(real, _KS_DECIMALS))
    synth = np.sort(np.round(synth, _KS_DECIMALS))
    points = np.concatenate([real, synth])
    cdf_real = np.searchsorted(real, points, side="right") / real.size
    cdf_synth = np.searchsorted(synth, points, side="right") / synth.size
    return float(np.max(np.abs(cdf_real - cdf_synth)))


def _tvd(real: np.ndarray, synth: np.ndarray, n_labels: int) -> float:
    """Total variation distance between the label frequencies (NaN if a side is empty)."""
    if real.size == 0 or synth.size == 0:
        return math.nan
    if n_labels > 4 * (real.size + synth.size):
        # Sparse joint tables (two high-cardinality columns): relabel the labels that occur.
        _, inverse = np.unique(np.concatenate([real, synth]), return_inverse=True)
        real, synth = inverse[: real.size], inverse[real.size :]
        n_labels = int(inverse.max()) + 1
    p_real = np.bincount(real, minlength=n_labels) / real.size
    p_synth = np.bincount(synth, minlength=n_labels) / synth.size
    return float(np.abs(p_real - p_synth).sum() / 2.0)


def _pearson(x: np.ndarray, y: np.ndarray) -> float:
    """Pearson's r over the rows where both are non-null, NaN when undefined (as scipy)."""
    both = ~(np.isnan(x) | np.isnan(y))
    if not both.all():
        x, y = x[both], y[both]
    if x.size < 2 or np.all(x == x[0]) or np.all(y == y[0]):
        return math.nan
    xm = x - x.mean()
    ym = y - y.mean()
    # Plain ufunc sums, not np.dot: a BLAS call per pair can stall for milliseconds on
    # OpenBLAS's thread pool when the machine is busy.
    r = np.multiply(xm, ym).sum() / math.sqrt(np.square(xm).sum() * np.square(ym).sum())
    return float(np.clip(r, -1.0, 1.0))


def _bin_labels(values: np.ndarray) -> np.ndarray:
    """sdmetrics' ColumnPairTrends discretisation: 10 bins over this frame's own range."""
    edges = np.histogram_bin_edges(values[~np.isnan(values)], bins=_NUM_BINS)
    return np.digitize(values, edges).astype(np.int64)


def _n_distinct(values: np.ndarray) -> int:
    return int(np.unique(values[~np.isnan(values)]).size)


def _nanmean(values) -> float:
    array = np.fromiter(values, dtype=np.float64)
    array = array[~np.isnan(array)]
    return float(array.mean()) if array.size else math.nan


# ---------------------------------------------------------------------------------------------
# Privacy


@dataclass(frozen=True)
class PrivacyReport:
    """How much a synthetic frame gives away about its training rows.

    Attributes:
        exact_copy_rate: share of synthetic rows equal to some training row in every column
            (NULL equals NULL).
        holdout_copy_rate: share of holdout rows equal to some training row: the rate that
            duplicates in the real data produce on their own.
        dcr_share: share of synthetic rows whose nearest training row is nearer than their
            nearest holdout row (ties count 1/2). 0.5 is ideal; 1.0 means memorisation.
        dcr_synth_median: median distance from a synthetic row to its nearest training row.
        dcr_holdout_median: median distance from a holdout row to its nearest training row,
            the reference for ``dcr_synth_median``.
    """

    exact_copy_rate: float
    holdout_copy_rate: float
    dcr_share: float
    dcr_synth_median: float
    dcr_holdout_median: float


def privacy(
    train: pl.DataFrame,
    holdout: pl.DataFrame,
    synth: pl.DataFrame,
    kinds: dict[str, str] | None = None,
    max_rows: int = 5000,
    seed: int = 0,
) -> PrivacyReport:
    """Measure exact copies and distances to closest records (DCR).

    Exact copies compare whole rows, every column included, over the full frames.

    DCR uses every column except those of kind ``id``, on samples: ``min(max_rows,
    len(train), len(holdout))`` rows each of train and holdout (equally many, so that a
    synthetic row drawn from the real distribution is as likely nearer either: share 0.5),
    and ``min(max_rows, len(synth))`` synthetic rows. The distance between two rows is the
    mean over columns of a per-column distance in [0, 1], like sdmetrics' DCR metrics:
    numeric/datetime ``|a - b| / range`` with values clipped to the training range (where
    sdmetrics caps the difference at 1 instead); a
    category 0 if equal, else 1; NULL 0 from NULL and 1 from any value. A synthetic frame
    that copies training rows therefore scores about ``0.5 + 0.5 * sampled / len(train)``:
    with large frames, verbatim copies show in ``exact_copy_rate``.

    Args:
        train: the rows the generator learned from.
        holdout: real rows it never saw (the other part of ``split``).
        synth: generated rows, with the same column names.
        kinds: column kinds instead of ``column_kinds(train)``, for some or all columns.
        max_rows: most rows sampled from each frame for DCR.
        seed: seed of those samples.

    Returns:
        The copy rates and DCR statistics.

    Raises:
        InvalidArgument: the frames' columns differ, a frame is empty, ``max_rows`` < 1,
            a kind is unknown, or a column cannot be read as its kind.
    """
    _check_columns(train, holdout=holdout, synthetic=synth)
    _check_not_empty(train=train, holdout=holdout, synthetic=synth)
    if max_rows < 1:
        raise InvalidArgument(f"max_rows must be at least 1, got {max_rows}")
    kinds = _resolve_kinds(train, kinds)
    train, holdout, synth = aligned([train, holdout, synth])
    exact_copy_rate = _copy_rate(synth, train)
    holdout_copy_rate = _copy_rate(holdout, train)

    rng = np.random.default_rng(seed)
    n_reference = min(max_rows, train.height, holdout.height)
    samples = [
        _sample(train, n_reference, rng),
        _sample(holdout, n_reference, rng),
        _sample(synth, min(max_rows, synth.height), rng),
    ]
    names = [name for name in train.columns if kinds[name] != "id"]
    if not names:
        logger.warning("no column left for DCR once identifier columns are left out")
        nan = math.nan
        return PrivacyReport(exact_copy_rate, holdout_copy_rate, nan, nan, nan)
    train_x, holdout_x, synth_x = _dcr_features(samples, names, kinds, train)
    logger.debug(
        "DCR on %d train, %d holdout, %d synthetic rows, %d features",
        n_reference,
        n_reference,
        synth_x.shape[0],
        train_x.shape[1],
    )
    synth_to_train = _nearest_distance(train_x, synth_x) / len(names)
    synth_to_holdout = _nearest_distance(holdout_x, synth_x) / len(names)
    holdout_to_train = _nearest_distance(train_x, holdout_x) / len(names)
    dcr_share = float(
        np.mean(synth_to_train < synth_to_holdout)
        + 0.5 * np.mean(synth_to_train == synth_to_holdout)
    )
    return PrivacyReport(
        exact_copy_rate,
        holdout_copy_rate,
        dcr_share,
        float(np.median(synth_to_train)),
        float(np.median(holdout_to_train)),
    )


def exact_copy_rate(probe: pl.DataFrame, reference: pl.DataFrame) -> float:
    """Share of ``probe`` rows equal, in every column, to some ``reference`` row (NULL equals NULL).

    Raises:
        InvalidArgument: the frames' columns differ or ``probe`` is empty.
    """
    _check_columns(reference, probe=probe)
    _check_not_empty(probe=probe)
    return _copy_rate(*aligned([probe, reference]))


@dataclass(frozen=True)
class UtilityReport:
    """Train on synthetic, test on real: how a model fitted on each frame scores on the holdout.

    ``task`` is ``classification`` (score: macro-F1) or ``regression`` (score: R²);
    ``ratio`` is ``synthetic_score / real_score`` (1.0: as useful as the real rows).
    """

    target: str
    task: str
    real_score: float
    synthetic_score: float
    ratio: float


_MAX_CODES = 255
"""scikit-learn's HistGradientBoosting takes at most this many categories per feature."""


def _capped(codes: list[np.ndarray]) -> list[np.ndarray]:
    """Shared codes with at most ``_MAX_CODES`` values: 0 (NULL) stays, the most frequent values
    keep a code of their own, the rarest share the last one."""
    counts = np.bincount(np.concatenate(codes))
    if counts.size <= _MAX_CODES:
        return codes
    remap = np.full(counts.size, _MAX_CODES - 1)
    remap[0] = 0
    remap[np.argsort(-counts[1:], kind="stable")[: _MAX_CODES - 2] + 1] = np.arange(1, _MAX_CODES - 1)
    return [remap[c] for c in codes]


def _model_matrix(frames: list[pl.DataFrame], names: list[str], kinds: dict[str, str]):
    """Features for scikit-learn: numbers as floats (NaN for NULL), categories as shared codes
    (at most 255 of them). A column that is NULL everywhere says nothing and is left out."""
    columns, categorical = [[] for _ in frames], []
    for name in names:
        if kinds[name] in _CONTINUOUS:
            per_frame = [as_float(name, f.get_column(name)) for f in frames]
            if all(np.isnan(v).all() for v in per_frame):
                continue
        else:
            per_frame = [c.astype(np.float64) for c in _capped(_codes(name, [f.get_column(name) for f in frames]))]
        categorical.append(kinds[name] not in _CONTINUOUS)
        for out, values in zip(columns, per_frame, strict=True):
            out.append(values)
    matrices = [np.column_stack(c) if c else np.zeros((f.height, 0)) for c, f in zip(columns, frames)]
    return matrices, np.array(categorical, dtype=bool)


def detection_auc(
    real: pl.DataFrame, synth: pl.DataFrame, kinds: dict[str, str] | None = None, max_rows: int = 5000, seed: int = 0
) -> float:
    """How well a classifier tells synthetic rows from real ones: ROC AUC, 0.5 is indistinguishable.

    Equally many rows of each (at most ``max_rows``) are labelled real/synthetic and a
    gradient-boosted classifier (scikit-learn ``HistGradientBoostingClassifier``) is scored
    by 3-fold cross-validated AUC. Columns of kind ``id`` are left out. An AUC below 0.5
    (noise) is reported as 0.5.
    """
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    _check_columns(real, synthetic=synth)
    _check_not_empty(real=real, synthetic=synth)
    kinds = _resolve_kinds(real, kinds)
    names = [n for n in real.columns if kinds[n] != "id"]
    rng = np.random.default_rng(seed)
    n = min(max_rows, real.height, synth.height)
    real_s, synth_s = aligned([_sample(real, n, rng), _sample(synth, n, rng)])
    (x_real, x_synth), categorical = _model_matrix([real_s, synth_s], names, kinds)
    if x_real.shape[1] == 0:
        return 0.5  # no column carries a value: nothing to tell the rows apart by
    x = np.vstack([x_real, x_synth])
    y = np.r_[np.zeros(n), np.ones(n)]
    clf = HistGradientBoostingClassifier(max_iter=100, categorical_features=categorical if categorical.any() else None,
                                         random_state=seed)
    folds = StratifiedKFold(n_splits=3, shuffle=True, random_state=seed)
    auc = float(np.mean(cross_val_score(clf, x, y, cv=folds, scoring="roc_auc")))
    return max(auc, 0.5)


def utility(
    train: pl.DataFrame, holdout: pl.DataFrame, synth: pl.DataFrame, target: str,
    kinds: dict[str, str] | None = None, seed: int = 0,
) -> UtilityReport:
    """Fit the same gradient-boosted model on ``train`` and on ``synth``; score both on ``holdout``.

    A categorical ``target`` is a classification scored by macro-F1, a numeric one a
    regression scored by R² (scikit-learn ``HistGradientBoosting*``, fixed seed).

    Raises:
        InvalidArgument: ``target`` is not a column, is an identifier, or the frames differ.
    """
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
    from sklearn.metrics import f1_score, r2_score

    _check_columns(train, holdout=holdout, synthetic=synth)
    _check_not_empty(train=train, holdout=holdout, synthetic=synth)
    if target not in train.columns:
        raise InvalidArgument(f"target {target!r} is not a column; columns are {_quoted(train.columns)}")
    kinds = _resolve_kinds(train, kinds)
    if kinds[target] == "id":
        raise InvalidArgument(f"target {target!r} is an identifier column; pick a column to predict")
    train, holdout, synth = aligned([train, holdout, synth])
    names = [n for n in train.columns if kinds[n] != "id" and n != target]
    matrices, categorical = _model_matrix([train, holdout, synth], names, kinds)
    if matrices[0].shape[1] == 0:
        raise InvalidArgument(f"no column besides target {target!r} holds a value: there is nothing to predict it from")
    classify = kinds[target] not in _CONTINUOUS
    if classify:
        ys = _codes(target, [f.get_column(target) for f in (train, holdout, synth)])
    else:
        ys = [as_float(target, f.get_column(target)) for f in (train, holdout, synth)]
    cats = categorical if categorical.any() else None
    scores = []
    for x, y in ((matrices[0], ys[0]), (matrices[2], ys[2])):
        keep = np.isfinite(y) if not classify else np.ones(y.size, bool)
        model = (HistGradientBoostingClassifier if classify else HistGradientBoostingRegressor)(
            categorical_features=cats, random_state=seed)
        test = np.isfinite(ys[1]) if not classify else np.ones(ys[1].size, bool)
        if (classify and np.unique(y[keep]).size < 2) or not keep.any() or not test.any():
            scores.append(0.0)  # one class, or no value of the target to learn from or score on
            continue
        model.fit(x[keep], y[keep])
        predicted = model.predict(matrices[1][test])
        scores.append(float(f1_score(ys[1][test], predicted, average="macro") if classify
                            else r2_score(ys[1][test], predicted)))
    real_score, synth_score = scores
    ratio = synth_score / real_score if real_score > 0 else math.nan
    return UtilityReport(target, "classification" if classify else "regression", real_score, synth_score, ratio)


def _copy_rate(probe: pl.DataFrame, reference: pl.DataFrame) -> float:
    copies = probe.join(reference, on=probe.columns, how="semi", nulls_equal=True)
    return copies.height / probe.height


def _sample(frame: pl.DataFrame, n: int, rng: np.random.Generator) -> pl.DataFrame:
    if n >= frame.height:
        return frame
    return frame[np.sort(rng.choice(frame.height, size=n, replace=False))]


def _dcr_features(
    frames: list[pl.DataFrame], names: list[str], kinds: dict[str, str], train: pl.DataFrame
) -> list[np.ndarray | sp.csr_matrix]:
    """Encode rows so that the L1 distance is the sum of the per-column distances.

    A continuous value scaled to ``v`` in [0, 1] by the full training range is one feature
    ``v``; if the column has NULLs anywhere it becomes ``(v/2, (1-v)/2, 0)`` and NULL
    ``(0, 0, 1/2)``, which keeps value-to-value distances and puts NULL at 1 from any value.
    Two different categories are 1 apart (see ``_one_hot``).
    """
    blocks: list[list[sp.csr_matrix]] = [[] for _ in frames]
    for name in names:
        if kinds[name] in _CONTINUOUS:
            per_frame = _continuous_features(name, frames, train.get_column(name))
        else:
            per_frame = _one_hot(name, frames)
        for block, features in zip(blocks, per_frame, strict=True):
            block.append(features)
    matrices = [sp.hstack(block, format="csr") for block in blocks]
    if matrices[0].shape[1] <= _DENSE_MAX_FEATURES:
        return [matrix.toarray() for matrix in matrices]
    return matrices


def _continuous_features(
    name: str, frames: list[pl.DataFrame], train_column: pl.Series
) -> list[sp.csr_matrix]:
    train_values = as_float(name, train_column)
    observed = train_values[~np.isnan(train_values)]
    low, high = (observed.min(), observed.max()) if observed.size else (math.nan, math.nan)
    values = [as_float(name, frame.get_column(name)) for frame in frames]
    with_nulls = any(np.isnan(v).any() for v in values)
    features = []
    for v in values:
        null = np.isnan(v)
        if high > low:
            scaled = np.clip((v - low) / (high - low), 0.0, 1.0)
        else:  # constant (or empty) training column: any other value is as far as can be
            scaled = (v != low).astype(np.float64)
        if with_nulls:
            scaled = np.column_stack(
                [np.where(null, 0.0, scaled / 2), np.where(null, 0.0, (1 - scaled) / 2), null / 2]
            )
        features.append(sp.csr_matrix(scaled.reshape(v.size, -1)))
    return features


def _one_hot(name: str, frames: list[pl.DataFrame]) -> list[sp.csr_matrix]:
    """Categories as the vertices of a cross-polytope: code c is +1/2 (even c) or -1/2 (odd c)
    on axis c // 2. Any two different categories are exactly 1 apart in L1, as with a one-hot
    of weight 1/2, on half as many features."""
    codes = _codes(name, [frame.get_column(name) for frame in frames])
    width = int(max(c.max(initial=0) for c in codes)) // 2 + 1
    return [
        sp.csr_matrix(
            (np.where(c % 2 == 0, 0.5, -0.5), (np.arange(c.size), c // 2)), shape=(c.size, width)
        )
        for c in codes
    ]


def _nearest_distance(reference, query) -> np.ndarray:
    """L1 distance from each query row to its nearest reference row."""
    # Brute force: a k-d tree is faster for rows that look real but degrades far below brute
    # force for rows off the data's manifold (independent columns), where it matters most.
    neighbours = NearestNeighbors(n_neighbors=1, metric="manhattan", algorithm="brute")
    distances, _ = neighbours.fit(reference).kneighbors(query)
    return distances[:, 0]


# ---------------------------------------------------------------------------------------------
# Shared checks and conversions


def _check_columns(reference: pl.DataFrame, **others: pl.DataFrame) -> None:
    """Raise if a frame's column names differ from the reference frame's (order is free)."""
    expected = set(reference.columns)
    for label, frame in others.items():
        missing = [name for name in reference.columns if name not in set(frame.columns)]
        extra = [name for name in frame.columns if name not in expected]
        if missing or extra:
            parts = []
            if missing:
                parts.append(f"lacks columns {_quoted(missing)}")
            if extra:
                parts.append(f"has extra columns {_quoted(extra)}")
            raise InvalidArgument(f"the {label} frame {' and '.join(parts)}")


def _check_not_empty(**frames: pl.DataFrame) -> None:
    for label, frame in frames.items():
        if frame.height == 0:
            raise InvalidArgument(f"the {label} frame has no rows")


def _resolve_kinds(df: pl.DataFrame, kinds: dict[str, str] | None) -> dict[str, str]:
    """Detected kinds, overridden by the caller's, checked against the columns and types."""
    given = dict(kinds or {})
    unknown_columns = [name for name in given if name not in set(df.columns)]
    if unknown_columns:
        raise InvalidArgument(
            f"kinds names columns {_quoted(unknown_columns)} that the frame lacks"
        )
    for name, kind in given.items():
        if kind not in KINDS:
            raise InvalidArgument(
                f"kind {kind!r} of column {name!r} is not one of {', '.join(KINDS)}"
            )
    detected = column_kinds(df.select([name for name in df.columns if name not in given]))
    return {name: given.get(name) or detected[name] for name in df.columns}


def as_float(name: str, series: pl.Series) -> np.ndarray:
    """A numeric or temporal column as float64 (temporal in nanoseconds), NaN for NULL."""
    dtype = series.dtype
    if dtype == pl.Date:
        series = series.to_physical().cast(pl.Float64) * _NS_PER_DAY
    elif isinstance(dtype, (pl.Datetime, pl.Duration)):
        series = series.to_physical().cast(pl.Float64) * _NS_PER[dtype.time_unit]
    elif dtype.is_temporal():  # Time: nanoseconds since midnight
        series = series.to_physical().cast(pl.Float64)
    elif dtype.is_numeric():
        series = series.cast(pl.Float64)
    else:
        raise InvalidArgument(f"column {name!r} of type {dtype} cannot be scored as a number")
    return series.fill_nan(None).to_numpy(allow_copy=True).astype(np.float64, copy=False)


def _codes(name: str, series: list[pl.Series]) -> list[np.ndarray]:
    """Shared integer codes for a categorical column across frames: 1.. for values, 0 for NULL."""
    combined = _concat(name, series)
    if combined.dtype.is_float():
        combined = combined.fill_nan(None)
    codes = combined.rank("dense").fill_null(0).cast(pl.Int64).to_numpy()
    bounds = np.cumsum([s.len() for s in series])[:-1]
    return np.split(codes, bounds)


def _concat(name: str, series: list[pl.Series]) -> pl.Series:
    """One series from several frames' copies of a column, with a common type."""
    series = [s.cast(pl.String) if _is_categorical(s.dtype) else s for s in series]
    if all(s.dtype == series[0].dtype for s in series):
        return pl.concat(series)
    frames = [s.rename(name).to_frame() for s in series]
    try:
        return pl.concat(frames, how="vertical_relaxed").get_column(name)
    except pl.exceptions.PolarsError:
        try:
            return pl.concat([s.cast(pl.String) for s in series])
        except pl.exceptions.PolarsError as error:
            types = ", ".join(str(s.dtype) for s in series)
            raise InvalidArgument(f"column {name!r} has incompatible types {types}") from error


def aligned(frames: list[pl.DataFrame]) -> list[pl.DataFrame]:
    """The frames in the first frame's column order, each column cast to a common type."""
    columns = frames[0].columns
    frames = [frame.select(columns) for frame in frames]
    casts = {}
    for name in columns:
        dtypes = [frame.schema[name] for frame in frames]
        if any(_is_categorical(d) for d in dtypes) or any(d != dtypes[0] for d in dtypes):
            casts[name] = _concat(name, [frame.get_column(name).head(0) for frame in frames]).dtype
    if not casts:
        return frames
    return [frame.with_columns(pl.col(n).cast(d) for n, d in casts.items()) for frame in frames]


def _is_categorical(dtype: pl.DataType) -> bool:
    return isinstance(dtype, (pl.Categorical, pl.Enum)) or dtype in (pl.Categorical, pl.Enum)


def _quoted(names: list[str]) -> str:
    return ", ".join(repr(name) for name in names)
