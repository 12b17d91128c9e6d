"""Feature derivation: a transaction log becomes one row per customer.

:func:`rfm` computes recency, frequency, monetary value and behaviour features with DuckDB;
:class:`RFMScorer` and :func:`rfm_scores` turn them into 1–5 scores and the named RFM segments
(:data:`RFM_SEGMENT_NAMES`, :func:`rfm_segment_name`).
"""

from ._rfm import RFMResult, rfm
from ._rfm_segments import RFM_SEGMENT_NAMES, RFMScorer, rfm_scores, rfm_segment_name

__all__ = [
    "RFMResult",
    "RFMScorer",
    "RFM_SEGMENT_NAMES",
    "rfm",
    "rfm_scores",
    "rfm_segment_name",
]
