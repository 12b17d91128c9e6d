"""Comparing two rfm() results that must agree (two paths to the same features).

Shared by the tests of the numba customer level (test_rfm_dense) and of the invoice runs
(test_rfm_runs, test_rfm_runs_edges).
"""

from __future__ import annotations

import pandas as pd
import pytest


def assert_same_result(a: object, b: object, own: tuple[str, ...],
                       float_rel: float | None = None) -> None:
    """Features and rejects equal to the bit; the summaries equal but for the keys in ``own``
    (which path ran, timings). ``float_rel``: summary floats then agree to that relative
    tolerance (1e-9 absolute) instead of exactly."""
    pd.testing.assert_frame_equal(a.features, b.features, check_exact=True)
    pd.testing.assert_frame_equal(a.rejects, b.rejects, check_exact=True)
    sa = {k: v for k, v in a.summary.items() if k not in own}
    sb = {k: v for k, v in b.summary.items() if k not in own}
    if float_rel is None:
        assert sa == sb
        return
    assert sa.keys() == sb.keys()
    for key in sa:
        if isinstance(sa[key], float):
            assert sa[key] == pytest.approx(sb[key], rel=float_rel, abs=1e-9), key
        else:
            assert sa[key] == sb[key], key
