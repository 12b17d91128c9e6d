"""Track segments across runs: stable identity and migration between periods."""

from ._align import Alignment, align_segments
from ._compare import Comparison, compare_runs, read_segments, write_comparison

__all__ = ["Alignment", "Comparison", "align_segments", "compare_runs", "read_segments",
           "write_comparison"]
