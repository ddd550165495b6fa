"""duck_synth: synthetic data for DuckDB.

    import duck_synth as ds
    con = ds.connect("warehouse.duckdb")
    ds.train(con, "customers")
    ds.generate(con, "customers", n=10_000, seed=1, into="customers_synth")
"""

__version__ = "0.1.0"

from .api import TrainResult, connect, drop_model, generate, models, plan, train  # noqa: E402
from .errors import (  # noqa: E402
    ArtifactError, DatabaseLocked, DuckSynthError, EmptyTable, InvalidArgument, InvalidPlan, ModelExists,
    ModelNotFound, TableExists, TableNotFound, TooManyInvalid, UnsupportedColumnType,
)

__all__ = [
    "__version__", "connect", "plan", "train", "generate", "models", "drop_model", "TrainResult",
    "DuckSynthError", "TableNotFound", "EmptyTable", "UnsupportedColumnType", "ModelNotFound",
    "ModelExists", "TableExists", "InvalidPlan", "InvalidArgument", "ArtifactError", "TooManyInvalid",
    "DatabaseLocked",
]

from .rules import InvalidRule, ValidationSummary, add_rule, validate  # noqa: E402
from .sql_functions import register  # noqa: E402

__all__ += ["register", "validate", "add_rule", "ValidationSummary", "InvalidRule"]

from .report import QualityReport, evaluate, holdout  # noqa: E402

__all__ += ["evaluate", "holdout", "QualityReport"]
