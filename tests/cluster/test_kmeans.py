"""KMeans: Lloyd/Elkan on the fused kernel (scikit-learn's partitions), parameter checks,
predict/transform, errors."""

from __future__ import annotations

import re

import numpy as np
import pytest
import sklearn.exceptions
from cluster_helpers import make_blobs
from sklearn.cluster import KMeans as SkKMeans

import custseg
from custseg import InvalidParameterError
from custseg.cluster import KMeans, NotFittedError


@pytest.mark.parametrize("method", ["lloyd", "elkan"])
def test_lloyd_and_elkan_match_scikit_learn(method):
    X, _ = make_blobs(300, 3, 4, seed=1)
    ours = KMeans(4, method=method, n_init=3, random_state=0).fit(X)
    ref = SkKMeans(4, algorithm=method, n_init=3, random_state=0).fit(X)
    np.testing.assert_array_equal(ours.labels_, ref.labels_)
    np.testing.assert_allclose(ours.cluster_centers_, ref.cluster_centers_)
    assert ours.inertia_ == pytest.approx(ref.inertia_)
    assert ours.n_clusters_ == 4 and ours.n_features_in_ == 3


@pytest.mark.parametrize("method", ["lloyd", "elkan", "hartigan-wong"])
def test_given_initial_centres_and_predict(method):
    X, y = make_blobs(200, 2, 3, spread=5.0, seed=2)
    init = np.array([X[y == j].mean(axis=0) for j in range(3)])
    km = KMeans(3, method=method, init=init).fit(X)
    np.testing.assert_array_equal(km.labels_, y)
    np.testing.assert_array_equal(km.predict(X), km.labels_)
    D = km.transform(X)
    assert D.shape == (200, 3)
    np.testing.assert_array_equal(D.argmin(axis=1), km.labels_)
    assert km.score(X) == pytest.approx(-km.inertia_)


@pytest.mark.parametrize(("params", "message"), [
    ({"n_clusters": 0}, "The 'n_clusters' parameter of KMeans must be an int >= 1. Got 0 "
                        "instead."),
    ({"method": "macqueen"}, "The 'method' parameter of KMeans must be one of"),
    ({"n_init": 1.5}, "The 'n_init' parameter of KMeans must be an int >= 1"),
    ({"tol": -1.0}, "The 'tol' parameter of KMeans must be a float >= 0"),
    ({"random_state": "seed"}, "The 'random_state' parameter of KMeans must be one of {None}, "
                              "an int >= 0"),
    ({"init": "random"}, "The 'init' parameter of KMeans must be one of"),
])
def test_invalid_parameters(params, message):
    X, _ = make_blobs(30, 2, 2)
    with pytest.raises(InvalidParameterError, match=re.escape(message)):
        KMeans(**params).fit(X)


def test_init_shape_and_too_many_clusters():
    X, _ = make_blobs(5, 2, 2)
    with pytest.raises(InvalidParameterError, match=r"shape \(n_clusters, n_features\)"):
        KMeans(2, init=np.zeros((3, 2))).fit(X)
    with pytest.raises(InvalidParameterError, match="n_samples=5 should be >= n_clusters=6"):
        KMeans(6).fit(X)


def test_not_fitted_error_is_both_kinds():
    with pytest.raises(custseg.NotFittedError):
        KMeans().predict(np.zeros((2, 2)))
    with pytest.raises(sklearn.exceptions.NotFittedError):
        KMeans().transform(np.zeros((2, 2)))
    assert issubclass(NotFittedError, custseg.NotFittedError)


def test_params_are_stored_unchanged():
    init = np.zeros((2, 2))
    km = KMeans(2, init=init, n_init=7)
    assert km.get_params()["init"] is init and km.get_params()["n_init"] == 7


@pytest.mark.parametrize("method", ["lloyd", "elkan"])
@pytest.mark.parametrize("dtype", [None, "float32"])
def test_same_bits_with_one_or_two_threads(method, dtype):
    """The fused kernel adds its per-block partial sums in block order: centres, labels and
    inertia are bit-identical whatever the number of numba threads (40,000 rows: 5 blocks)."""
    import numba

    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("numba runs on one thread here")
    X, _ = make_blobs(40_000, 5, 6, seed=3)
    saved = numba.get_num_threads()
    fits = []
    try:
        for threads in (1, 2):
            numba.set_num_threads(threads)
            fits.append(KMeans(6, method=method, n_init=2, random_state=0, dtype=dtype).fit(X))
    finally:
        numba.set_num_threads(saved)
    a, b = fits
    np.testing.assert_array_equal(a.cluster_centers_, b.cluster_centers_)
    np.testing.assert_array_equal(a.labels_, b.labels_)
    assert a.inertia_ == b.inertia_
