"""custseg — customer segmentation end to end.

The public API is what this module exposes; every submodule whose name starts with an
underscore is private.
"""

from ._exceptions import (
    ColumnNotFoundError,
    CustsegError,
    InputFileError,
    InvalidParameterError,
    MissingDependencyError,
    ModelFormatError,
    NotFittedError,
    SchemaError,
)
from ._version import __version__

__all__ = [
    "__version__",
    "ColumnNotFoundError",
    "CustsegError",
    "InputFileError",
    "InvalidParameterError",
    "MissingDependencyError",
    "ModelFormatError",
    "NotFittedError",
    "SchemaError",
]
