"""custseg — customer segmentation end to end.

The public API is what this module exposes; every submodule whose name starts with an
underscore is private.
"""

from typing import Any

from ._exceptions import (
    ColumnNotFoundError,
    CustsegError,
    InputFileError,
    InvalidParameterError,
    MissingDependencyError,
    ModelFormatError,
    SchemaError,
)
from ._version import __version__

# The rest is imported on first use (PEP 562): ``import custseg`` stays light, and a
# command that only derives features never loads scikit-learn.
_LAZY = {
    "Segmenter": "._segmenter",
    "SegmentModel": ".model",
    "SegmentOptions": "._pipeline",
    "load_model": ".model",
    "run_segment": "._pipeline",
    "NotFittedError": "._exceptions",
    "rfm": ".features",
    "RFMResult": ".features",
    "RFMScorer": ".features",
}

__all__ = [
    "__version__",
    "Segmenter",
    "SegmentModel",
    "SegmentOptions",
    "load_model",
    "run_segment",
    "rfm",
    "RFMResult",
    "RFMScorer",
    "ColumnNotFoundError",
    "CustsegError",
    "InputFileError",
    "InvalidParameterError",
    "MissingDependencyError",
    "ModelFormatError",
    "NotFittedError",
    "SchemaError",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
