"""One error hierarchy for everything duck_synth tells a user.

Every message names the thing that is wrong (table, column, model, value) so that
the CLI can print it as one line and tests can assert it verbatim.
"""

from __future__ import annotations

import functools
import os
import re
import sys
import warnings
from typing import Callable, TypeVar

F = TypeVar("F", bound=Callable)


class DuckSynthError(Exception):
    """Base class of every error duck_synth raises on purpose."""


class TableNotFound(DuckSynthError):
    """The source table or view does not exist."""


class EmptyTable(DuckSynthError):
    """The source table has no rows to learn from."""


class UnsupportedColumnType(DuckSynthError):
    """No column of the source table has a type duck_synth can model."""


class ModelNotFound(DuckSynthError):
    """No trained model of that name is stored in the database."""


class ModelExists(DuckSynthError):
    """A model of that name exists and replace=True was not given."""


class TableExists(DuckSynthError):
    """The output table exists and replace=True was not given."""


class InvalidPlan(DuckSynthError):
    """The column batches (batch_size, batch_headers or duck_synth.batches) are inconsistent."""


class InvalidArgument(DuckSynthError):
    """An argument is out of range or of the wrong kind."""


class ArtifactError(DuckSynthError):
    """A stored model artifact is missing, tampered with, or from an incompatible version."""


class DatabaseLocked(DuckSynthError):
    """Another process holds the database file (DuckDB allows one writing process per file)."""


class TooManyInvalid(DuckSynthError):
    """Generation spent its max_invalid budget before producing enough valid records.

    ``partial`` holds the valid records of the block being filled when the budget ran out
    (an Arrow table, in order; None when unknown), so callers that accept a short result
    can keep them.
    """

    partial = None


def is_interrupt(exc: BaseException) -> bool:
    """Is ``exc`` a Ctrl-C? DuckDB turns a SIGINT that lands while it runs a statement into
    ``InterruptException``; when it lands in the client (a COMMIT, a result conversion), into a
    bare ``RuntimeError("Query interrupted")``; and when it lands in Python code DuckDB called
    back (reading a registered Arrow table, a UDF), into an error whose message quotes the
    ``KeyboardInterrupt``."""
    if isinstance(exc, KeyboardInterrupt):
        return True
    if type(exc).__name__ == "InterruptException":
        return True
    if isinstance(exc, RuntimeError) and "query interrupted" in str(exc).lower():
        return True
    return type(exc).__module__.startswith(("duckdb", "_duckdb")) and _CALLBACK_INTERRUPT.search(str(exc)) is not None


_CALLBACK_INTERRUPT = re.compile(r"(failed|occurred[^:]*): KeyboardInterrupt\b|\nKeyboardInterrupt\s*$")
"""A callback's Ctrl-C in DuckDB's words: "... failed: KeyboardInterrupt", or a Python traceback
that ends in one (an Arrow stream's: "... failed: Unknown error: . Detail: Python exception: ...")."""


def as_keyboard_interrupt(exc: BaseException) -> BaseException:
    """``exc``, or a ``KeyboardInterrupt`` in its place when it is a Ctrl-C in DuckDB's form."""
    if is_interrupt(exc) and not isinstance(exc, KeyboardInterrupt):
        interrupt = KeyboardInterrupt(str(exc))
        interrupt.__cause__ = exc
        return interrupt
    return exc


def interruptible(fn: F) -> F:
    """A public entry point: a Ctrl-C reaches the caller as ``KeyboardInterrupt``, whatever form
    DuckDB gave it, so Python callers and the CLI see one kind of interrupt."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except BaseException as exc:
            raise as_keyboard_interrupt(exc)  # noqa: B904 - the cause is set

    return wrapper  # type: ignore[return-value]


_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep


def warn_caller(message: str, category: type[Warning] = UserWarning) -> None:
    """``warnings.warn`` pointing at the user's line: the first frame outside duck_synth, however
    deep the call (a fixed ``stacklevel`` broke when ``interruptible`` added a frame)."""
    frame, level = sys._getframe(1), 2  # stacklevel 2 is the frame that called warn_caller
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(_PACKAGE_DIR):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, category, stacklevel=level)
