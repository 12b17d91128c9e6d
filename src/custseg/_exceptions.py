"""Exceptions raised by custseg.

All of them derive from :class:`CustsegError`, so a caller can catch one type::

    CustsegError
    ├── InvalidParameterError (ValueError)   a parameter has a value it cannot take
    ├── ColumnNotFoundError (KeyError)       a named column is not in the table
    ├── SchemaError (ValueError)             the table cannot be segmented as it is
    ├── InputFileError (OSError)             a file cannot be read, or holds no data
    ├── NotFittedError (ValueError, AttributeError)
    ├── ModelFormatError (ValueError)        a model file is malformed or of an unknown version
    └── MissingDependencyError (ImportError) an optional extra is not installed

Messages say what is wrong, where (file, line, column) and how to fix it.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any

__all__ = [
    "CustsegError",
    "InvalidParameterError",
    "ColumnNotFoundError",
    "SchemaError",
    "InputFileError",
    "NotFittedError",  # noqa: F822 - made on first use, see __getattr__
    "ModelFormatError",
    "MissingDependencyError",
]


class CustsegError(Exception):
    """Base class of every error custseg raises on purpose."""


class InvalidParameterError(CustsegError, ValueError):
    """A parameter has a type or value it cannot take."""


class ColumnNotFoundError(CustsegError, KeyError):
    """A column named by the user is not in the table.

    The message lists the columns that exist and the closest match.
    """

    def __init__(self, column: str, available: Iterable[str], *, source: str | None = None,
                 what: str = "column"):
        self.column = column
        self.available = [str(c) for c in available]
        close = difflib.get_close_matches(str(column), self.available, n=1, cutoff=0.5)
        if not close:
            lowered = {c.lower(): c for c in self.available}
            if str(column).lower() in lowered:
                close = [lowered[str(column).lower()]]
        where = f" in {source}" if source else ""
        msg = f"{what.capitalize()} {column!r} not found{where}."
        if close:
            msg += f" Did you mean {close[0]!r}?"
        shown = ", ".join(repr(c) for c in self.available[:30])
        if len(self.available) > 30:
            shown += f", … ({len(self.available)} in all)"
        msg += f" Available columns: {shown}."
        self.message = msg
        super().__init__(msg)

    def __str__(self) -> str:  # KeyError would repr() the message
        return self.message


class SchemaError(CustsegError, ValueError):
    """The table's shape or content does not allow segmentation as asked."""


class InputFileError(CustsegError, OSError):
    """A file cannot be read, or it holds no usable data."""


class ModelFormatError(CustsegError, ValueError):
    """A model file is malformed, truncated, tampered with or of an unknown version."""


class MissingDependencyError(CustsegError, ImportError):
    """An optional dependency is not installed; the message names the pip extra."""

    def __init__(self, package: str, extra: str, purpose: str):
        msg = (f"{purpose} needs the optional package {package!r}, which is not installed. "
               f"Install it with: pip install 'custseg[{extra}]'")
        super().__init__(msg)


def _make_not_fitted_error() -> type:
    # scikit-learn (and scipy behind it) costs ~2 s and ~150 MB to import: the class that
    # derives from its NotFittedError is made on first use, so ``import custseg`` and the
    # k-means kernels do not pay for it.
    from sklearn.exceptions import NotFittedError as _SklearnNotFittedError

    class NotFittedError(CustsegError, _SklearnNotFittedError):
        """An estimator or model is used before it was fitted (also a scikit-learn
        ``NotFittedError``, so code written for scikit-learn catches it)."""

    NotFittedError.__module__ = __name__
    NotFittedError.__qualname__ = "NotFittedError"  # pickles as custseg._exceptions.NotFittedError
    return NotFittedError


def __getattr__(name: str) -> Any:
    if name == "NotFittedError":
        cls = globals()["NotFittedError"] = _make_not_fitted_error()
        return cls
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
