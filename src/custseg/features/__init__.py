"""Feature derivation: a transaction log becomes one row per customer.

:func:`rfm` computes recency, frequency, monetary value and behaviour features with DuckDB;
:class:`RFMScorer` and :func:`rfm_scores` turn them into 1–5 scores and the named RFM segments
(:data:`RFM_SEGMENT_NAMES`, :func:`rfm_segment_name`).
"""

from typing import Any

from ._rfm import RFMResult, rfm

# The scores need scikit-learn (RFMScorer is a transformer): imported on first use, so that
# deriving features does not load it.
_LAZY = ("RFM_SEGMENT_NAMES", "RFMScorer", "rfm_scores", "rfm_segment_name")

__all__ = [
    "RFMResult",
    "RFMScorer",
    "RFM_SEGMENT_NAMES",
    "rfm",
    "rfm_scores",
    "rfm_segment_name",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from . import _rfm_segments

        value = getattr(_rfm_segments, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
