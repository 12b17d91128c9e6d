"""The column kernels of the preprocessing give numpy's own numbers, bit for bit."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from custseg.prep import _moments, _preprocessor
from custseg.prep._moments import (
    column_squared_deviations,
    column_sums_ranges,
    numpy_order,
)
from custseg.prep._preprocessor import Preprocessor

finite = st.floats(-1e12, 1e12, allow_nan=False, width=64)


@settings(max_examples=150, deadline=None)
@given(arrays(np.float64, st.tuples(st.integers(1, 300), st.integers(2, 9)), elements=finite),
       st.integers(0, 1))
def test_sums_means_deviations_and_ranges_are_numpys(X, ddof):
    sums, low, high = column_sums_ranges(X)
    np.testing.assert_array_equal(sums, np.add.reduce(X, axis=0))
    mean = sums / X.shape[0]
    np.testing.assert_array_equal(mean, X.mean(axis=0))
    np.testing.assert_array_equal(high - low, np.ptp(X, axis=0))
    if X.shape[0] > ddof:
        std = np.sqrt(column_squared_deviations(X, mean) / (X.shape[0] - ddof))
        np.testing.assert_array_equal(std, X.std(axis=0, ddof=ddof))


def test_a_nan_is_the_range_as_in_numpy():
    X = np.array([[1.0, 2.0], [np.nan, 3.0], [0.0, 1.0]])
    _, low, high = column_sums_ranges(X)
    assert np.isnan(low[0]) and np.isnan(high[0]) and (low[1], high[1]) == (1.0, 3.0)


@pytest.mark.parametrize(("shape", "order", "expected"), [
    ((60_000, 3), "C", True),
    ((60_000, 1), "C", False),  # one column: numpy sums it pairwise
    ((60_000, 3), "F", False),  # column by column: pairwise too
    ((1_000, 3), "C", False),  # too few rows to pay for loading the kernels
])
def test_numpy_order(shape, order, expected):
    assert numpy_order(np.zeros(shape, order=order)) is expected


@pytest.mark.parametrize("options", [
    {"impute": "mean", "log_transform": ["b", "c"], "scale": "standard"},
    {"impute": "mean", "log_transform": "auto", "clip": (0.01, 0.99), "scale": "sample"},
    {"impute": "median", "scale": "standard"},
])
def test_the_preprocessor_learns_the_same_numbers_either_way(monkeypatch, options):
    rng = np.random.default_rng(7)
    X = np.column_stack([rng.normal(50, 20, 80_000), rng.lognormal(2, 1.5, 80_000),
                         rng.exponential(300, 80_000) - 20])
    assert numpy_order(X)
    calls = []
    kernel = _moments.column_sums_ranges
    monkeypatch.setattr(_moments, "column_sums_ranges", lambda A: calls.append(1) or kernel(A))
    fast = Preprocessor(**options)
    Z_fast = fast.fit_transform_matrix(X, ["a", "b", "c"])
    assert calls  # the kernels did run
    monkeypatch.setattr(_preprocessor, "_fast_moments", lambda: None)
    plain = Preprocessor(**options)
    Z_plain = plain.fit_transform_matrix(X, ["a", "b", "c"])
    np.testing.assert_array_equal(Z_fast, Z_plain)
    for name in ("impute_values_", "center_", "scale_"):
        np.testing.assert_array_equal(getattr(fast, name), getattr(plain, name))


def test_a_constant_column_is_still_refused_on_the_fast_path():
    X = np.column_stack([np.arange(60_000, dtype=float), np.full(60_000, 3.0)])
    assert _moments.numpy_order(X)
    with pytest.raises(Exception, match="'b' are constant"):
        Preprocessor(impute="mean").fit(X, ["a", "b"])
