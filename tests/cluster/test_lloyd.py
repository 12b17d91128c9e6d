"""The fused k-means kernels give scikit-learn's partitions (custseg.cluster._lloyd)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.cluster import KMeans
from sklearn.cluster import kmeans_plusplus as sk_kmeans_plusplus
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score

from custseg._exceptions import InvalidParameterError
from custseg.cluster._lloyd import kmeans_fit, kmeans_plusplus, lloyd, select_algorithm


def _blobs(n=6000, d=6, k=6, std=2.5, seed=0):
    X, _ = make_blobs(n, d, centers=k, cluster_std=std, random_state=seed)
    return (X - X.mean(0)) / X.std(0)


CC_GENERAL = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "cc_general" \
    / "CC GENERAL.csv"


@pytest.fixture(scope="module")
def blob_data():
    return _blobs()


@pytest.fixture(scope="module")
def cc_matrix():
    """CC GENERAL standardised (blanks filled with the column median), float64."""
    if not CC_GENERAL.exists():
        pytest.skip(f"{CC_GENERAL} is absent (the real datasets live beside the repo in ../shared)")
    df = pd.read_csv(CC_GENERAL).drop(columns=["CUST_ID"])
    df = df.fillna(df.median())
    X = df.to_numpy(dtype=np.float64)
    return np.ascontiguousarray((X - X.mean(0)) / X.std(0))


def _sklearn(X, C0, max_iter, tol, sample_weight=None):
    km = KMeans(C0.shape[0], init=C0.astype(X.dtype), n_init=1, max_iter=max_iter, tol=tol,
                algorithm="lloyd")
    return km.fit(X, sample_weight=sample_weight)


def _rel(a, b):
    return abs(a - b) / abs(b)


@pytest.mark.parametrize("tol,max_iter", [(0.0, 40), (1e-4, 300)])
@pytest.mark.parametrize("algorithm", ["lloyd", "hamerly"])
def test_same_partition_as_sklearn_float64(blob_data, tol, max_iter, algorithm):
    C0, _ = sk_kmeans_plusplus(blob_data, 6, random_state=1)
    km = _sklearn(blob_data, C0, max_iter, tol)
    C, labels, inertia, n_iter = lloyd(blob_data, C0, max_iter=max_iter, tol=tol,
                                       algorithm=algorithm)
    assert adjusted_rand_score(km.labels_, labels) >= 0.999
    assert _rel(inertia, km.inertia_) <= 1e-6
    assert n_iter == km.n_iter_
    np.testing.assert_allclose(C, km.cluster_centers_, rtol=0, atol=1e-9)


def test_float32_assignments_and_inertia_unaffected(blob_data):
    """float32 data: the float64 partition of the same values, inertia to 1e-6."""
    X32 = blob_data.astype(np.float32)
    C0, _ = sk_kmeans_plusplus(blob_data, 6, random_state=2)
    ref = _sklearn(X32.astype(np.float64), C0, 50, 0.0)
    C, labels, inertia, _ = lloyd(X32, C0, max_iter=50, tol=0.0)
    assert adjusted_rand_score(ref.labels_, labels) >= 0.999
    assert _rel(inertia, ref.inertia_) <= 1e-6


@pytest.mark.parametrize(("d", "k", "expected"), [
    (8, 8, "lloyd"), (16, 16, "hamerly"), (32, 16, "hamerly"),  # generic kernel: from 256
    (8, 32, "lloyd"), (8, 64, "lloyd"), (8, 128, "hamerly"),  # register kernel: from 1024
    (5, 60, "hamerly"),  # 5 features, 60 centres: no register kernel (padding), 300 >= 256
])
def test_auto_algorithm(d, k, expected):
    assert select_algorithm(1_000_000, d, k) == expected
    assert select_algorithm(1_000_000, d, k, weighted=True) == "lloyd"


def test_hamerly_visits_lloyds_partitions():
    X = _blobs(n=40_000, d=16, k=16, std=3.0, seed=3)  # k * d = 256: "auto" picks Hamerly
    assert select_algorithm(*X.shape, 16) == "hamerly"
    C0, _ = kmeans_plusplus(X, 16, random_state=0)
    C1, l1, i1, n1 = lloyd(X, C0, max_iter=60, tol=0.0, algorithm="lloyd")
    C2, l2, i2, n2 = lloyd(X, C0, max_iter=60, tol=0.0, algorithm="hamerly")
    assert n1 == n2
    assert np.array_equal(l1, l2)
    assert _rel(i2, i1) <= 1e-12


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_kmeans_plusplus_same_rows_as_sklearn(blob_data, seed):
    _, idx_sk = sk_kmeans_plusplus(blob_data, 6, random_state=seed)
    centers, idx = kmeans_plusplus(blob_data, 6, random_state=seed)
    assert idx.tolist() == idx_sk.tolist()
    np.testing.assert_array_equal(centers, blob_data[idx])
    # float32 data: the same rows as float64 (the D^2 sums are accumulated in float64)
    _, idx32 = kmeans_plusplus(blob_data.astype(np.float32), 6, random_state=seed)
    assert idx32.tolist() == idx_sk.tolist()


def test_kmeans_plusplus_weighted_and_trials(blob_data):
    w = np.random.default_rng(0).random(blob_data.shape[0])
    _, idx_sk = sk_kmeans_plusplus(blob_data, 5, random_state=4, sample_weight=w, n_local_trials=3)
    _, idx = kmeans_plusplus(blob_data, 5, random_state=4, sample_weight=w, n_local_trials=3)
    assert idx.tolist() == idx_sk.tolist()


def test_kmeans_plusplus_generator_is_reproducible(blob_data):
    a = kmeans_plusplus(blob_data, 4, random_state=np.random.default_rng(5))[1]
    b = kmeans_plusplus(blob_data, 4, random_state=np.random.default_rng(5))[1]
    assert a.tolist() == b.tolist()


def test_kmeans_fit_equals_sklearn_n_init(blob_data):
    km = KMeans(6, n_init=3, random_state=7, algorithm="lloyd").fit(blob_data)
    C, labels, inertia, n_iter = kmeans_fit(blob_data, 6, n_init=3, random_state=7)
    assert adjusted_rand_score(km.labels_, labels) >= 0.999
    assert _rel(inertia, km.inertia_) <= 1e-6
    assert n_iter == km.n_iter_


def test_sample_weight_as_sklearn(blob_data):
    w = np.random.default_rng(1).uniform(0.2, 3.0, blob_data.shape[0])
    C0 = blob_data[:6].copy()
    km = _sklearn(blob_data, C0, 100, 1e-4, sample_weight=w)
    C, labels, inertia, n_iter = lloyd(blob_data, C0, max_iter=100, sample_weight=w)
    assert adjusted_rand_score(km.labels_, labels) >= 0.999
    assert _rel(inertia, km.inertia_) <= 1e-6


def test_empty_cluster_relocated_like_sklearn(blob_data):
    C0 = np.vstack([blob_data[:5], np.full((1, blob_data.shape[1]), 50.0)])  # the last gets no row
    km = _sklearn(blob_data, C0, 100, 1e-4)
    C, labels, inertia, _ = lloyd(blob_data, C0, max_iter=100)
    assert len(np.unique(labels)) == 6
    assert adjusted_rand_score(km.labels_, labels) >= 0.999
    assert _rel(inertia, km.inertia_) <= 1e-6


def test_result_does_not_depend_on_threads():
    X = _blobs(n=50_000, d=5, k=5, std=4.0, seed=9)
    C0 = X[:5].copy()
    a = lloyd(X, C0, max_iter=20, tol=0.0, n_threads=1)
    b = lloyd(X, C0, max_iter=20, tol=0.0, n_threads=2)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert a[2] == b[2]


def test_large_offset_is_handled_by_centring():
    """Data far from the origin (raw incomes): the centred expansion loses no accuracy."""
    X = _blobs(n=5000, d=3, k=4, std=2.0, seed=4) + 1e6
    C0 = X[[0, 1, 2, 3]]
    km = _sklearn(X, C0, 100, 1e-4)
    C, labels, inertia, _ = lloyd(X, C0, max_iter=100)
    assert adjusted_rand_score(km.labels_, labels) >= 0.999
    assert _rel(inertia, km.inertia_) <= 1e-6


@pytest.mark.parametrize("k", [1, 4])
def test_edge_sizes(k):
    X = np.arange(8.0).reshape(4, 2)
    C, labels, inertia, _ = lloyd(X, X[:k], max_iter=10)
    if k == 1:
        assert labels.tolist() == [0, 0, 0, 0]
        np.testing.assert_allclose(C, X.mean(0, keepdims=True))
    else:
        assert sorted(labels.tolist()) == [0, 1, 2, 3]
        assert inertia == 0.0


@pytest.mark.parametrize("call,match", [
    (lambda X: lloyd(X, X[:3, :2]), r"initial centres must have shape"),
    (lambda X: lloyd(X[:2], X[:3]), r"n_samples=2 should be >= n_clusters=3"),
    (lambda X: lloyd(X, X[:3], algorithm="elkan"), r"'algorithm' parameter must be one of"),
    (lambda X: lloyd(X, X[:3], algorithm="hamerly", sample_weight=np.ones(len(X))),
     r"does not take sample_weight"),
    (lambda X: lloyd(X, X[:3], tol=-1.0), r"'tol' parameter must be a float >= 0"),
    (lambda X: lloyd(X, X[:3], sample_weight=np.ones(3)), r"sample_weight must have shape"),
    (lambda X: kmeans_fit(X, 3, init="random"), r"'init' parameter must be"),
    (lambda X: kmeans_plusplus(X, 0), r"'k' parameter must be an int >= 1"),
    (lambda X: kmeans_plusplus(X, 2, random_state="x"), r"'random_state' parameter"),
    (lambda X: lloyd(X[:, 0], X[:3, 0]), r"X must be a 2-D array"),
])
def test_errors(blob_data, call, match):
    with pytest.raises(InvalidParameterError, match=match):
        call(blob_data)


@pytest.mark.shared_data
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_real_data_cc_general(cc_matrix, dtype):
    """CC GENERAL (8,950 x 17, standardised), k = 8: same seeds and partition as scikit-learn."""
    X = cc_matrix.astype(dtype)
    C0, idx_sk = sk_kmeans_plusplus(cc_matrix, 8, random_state=0)
    _, idx = kmeans_plusplus(X, 8, random_state=0)
    assert idx.tolist() == idx_sk.tolist()
    ref = _sklearn(X.astype(np.float64), C0, 300, 1e-4)
    C, labels, inertia, n_iter = lloyd(X, C0, max_iter=300, tol=1e-4)
    assert adjusted_rand_score(ref.labels_, labels) >= 0.999
    assert _rel(inertia, ref.inertia_) <= 1e-6
