"""``init_size``: the ``n_init`` starts run on a sample, the best is refined on all rows
(custseg.cluster._lloyd.kmeans_fit, custseg.cluster.KMeans)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.cluster import KMeans as SkKMeans
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score

from custseg._exceptions import InvalidParameterError
from custseg.cluster import KMeans
from custseg.cluster._lloyd import _init_rows, kmeans_fit, lloyd


def _blobs(n, d=4, k=6, std=1.5, seed=0):
    X, y = make_blobs(n, d, centers=k, cluster_std=std, random_state=seed)
    return (X - X.mean(0)) / X.std(0), y


@pytest.fixture(scope="module")
def data():
    return _blobs(40_000)


@pytest.mark.parametrize(("init_size", "n", "k", "n_init", "rows"), [
    (None, 10**7, 8, 10, None),          # None: always all rows
    ("auto", 399_999, 8, 10, None),       # auto: only from four times the sample
    ("auto", 400_000, 8, 10, 100_000),
    ("auto", 10**7, 8, 1, None),          # one start: nothing to choose among
    ("auto", 10**7, 2000, 10, 200_000),   # at least 100 rows per cluster
    ("auto", 799_999, 2000, 10, None),
    (5000, 4000, 3, 1, None),             # a sample as large as the data is the data
    (5000, 6000, 3, 1, 5000),
    (2, 6000, 3, 10, 3),                  # at least k rows
])
def test_rows_the_starts_run_on(init_size, n, k, n_init, rows):
    assert _init_rows(init_size, n, k, n_init) == rows


@pytest.mark.parametrize("bad", ["all", 0, -3, 2.5])
def test_bad_init_size_is_named(bad, data):
    X, _ = data
    with pytest.raises(InvalidParameterError, match="init_size"):
        kmeans_fit(X, 3, n_init=2, init_size=bad)
    with pytest.raises(InvalidParameterError, match="init_size"):
        KMeans(3, n_init=2, init_size=bad).fit(X)


def test_sampled_starts_end_in_a_lloyd_fixed_point_on_all_rows(data):
    X, y = data
    C, labels, inertia, n_iter = kmeans_fit(X, 6, n_init=5, random_state=0, init_size=4000,
                                            tol=0.0)
    # labels are those of the returned centres, the inertia theirs on all rows
    d2 = ((X[:, None, :] - C[None]) ** 2).sum(-1)
    np.testing.assert_array_equal(labels, d2.argmin(1))
    assert inertia == pytest.approx(d2.min(1).sum(), rel=1e-12)
    # converged (tol=0): one more Lloyd step from C changes nothing
    C2, labels2, _, _ = lloyd(X, C, max_iter=1, tol=0.0)
    np.testing.assert_array_equal(labels2, labels)
    np.testing.assert_allclose(C2, C, rtol=0, atol=1e-12)
    # the partition of the best of scikit-learn's starts on all rows
    ref = SkKMeans(6, n_init=5, random_state=0).fit(X)
    assert adjusted_rand_score(ref.labels_, labels) > 0.999


def test_sampled_starts_match_full_starts_in_quality(data):
    X, _ = data
    full = kmeans_fit(X, 6, n_init=10, random_state=3)[2]
    sampled = kmeans_fit(X, 6, n_init=10, random_state=3, init_size=5000)[2]
    ref = SkKMeans(6, n_init=10, random_state=3).fit(X).inertia_
    assert full == pytest.approx(ref, rel=1e-9)  # init_size=None is scikit-learn's fit
    assert sampled <= full * (1 + 1e-6)


def test_the_best_start_is_judged_on_all_rows():
    # two starts on a sample; the kept one must be the lower of the two on all rows, which
    # refining from both shows
    X, _ = _blobs(30_000, k=10, std=3.0, seed=4)
    kept = kmeans_fit(X, 10, n_init=2, random_state=1, init_size=3000, tol=0.0)[2]
    singles = []
    rs = np.random.RandomState(1)
    gen = np.random.default_rng(rs.randint(np.iinfo(np.int32).max))
    rows = np.sort(gen.choice(X.shape[0], size=3000, replace=False))
    from custseg.cluster._lloyd import _kmeans_pp, _Workspace

    sample = _Workspace(np.ascontiguousarray(X[rows]), 10, np.empty(0))
    for _ in range(2):
        C0 = _kmeans_pp(sample, 10, rs, None)[0]
        C = lloyd(X[rows], C0, tol=0.0)[0]
        singles.append(((X[:, None, :] - C[None]) ** 2).sum(-1).min(1).sum())
    assert kept <= min(singles) * (1 + 1e-9)


def test_reproducible_and_thread_independent(data):
    X, _ = data
    a = kmeans_fit(X, 6, n_init=4, random_state=7, init_size=3000, n_threads=1)
    b = kmeans_fit(X, 6, n_init=4, random_state=7, init_size=3000, n_threads=2)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    gen = kmeans_fit(X, 6, n_init=4, random_state=np.random.default_rng(7), init_size=3000)
    assert gen[2] == pytest.approx(a[2], rel=1e-3)


def test_sample_weights_go_with_their_rows(data):
    X, _ = data
    w = np.random.default_rng(0).integers(1, 4, X.shape[0]).astype(np.float64)
    C, labels, inertia, _ = kmeans_fit(X, 6, n_init=3, random_state=0, init_size=5000,
                                       sample_weight=w)
    d2 = ((X - C[labels]) ** 2).sum(1)
    assert inertia == pytest.approx(float((w * d2).sum()), rel=1e-10)
    for j in range(6):  # weighted means
        np.testing.assert_allclose(C[j], np.average(X[labels == j], axis=0,
                                                    weights=w[labels == j]), atol=1e-9)


def test_given_centres_ignore_init_size(data):
    X, _ = data
    C0 = X[:6].copy()
    a = kmeans_fit(X, 6, init=C0, init_size=1000)
    b = kmeans_fit(X, 6, init=C0)
    np.testing.assert_array_equal(a[1], b[1])
    km = KMeans(6, init=C0, init_size=1000).fit(X)
    assert km.init_rows_ == X.shape[0]


def test_estimator_auto_samples_large_data_only():
    X, _ = _blobs(420_000, d=3, k=5, std=1.0, seed=2)
    km = KMeans(5, random_state=0).fit(X)  # init_size="auto"
    assert km.init_rows_ == 100_000
    exact = KMeans(5, random_state=0, init_size=None).fit(X)
    assert exact.init_rows_ == X.shape[0]
    assert adjusted_rand_score(exact.labels_, km.labels_) > 0.999
    assert km.inertia_ <= exact.inertia_ * (1 + 1e-6)
    small = KMeans(5, random_state=0).fit(X[:50_000])
    assert small.init_rows_ == 50_000
