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
from ._pipeline import SegmentOptions, run_segment
from ._segmenter import Segmenter
from ._version import __version__
from .model import SegmentModel, load_model

__all__ = [
    "__version__",
    "Segmenter",
    "SegmentModel",
    "SegmentOptions",
    "load_model",
    "run_segment",
    "ColumnNotFoundError",
    "CustsegError",
    "InputFileError",
    "InvalidParameterError",
    "MissingDependencyError",
    "ModelFormatError",
    "NotFittedError",
    "SchemaError",
]
