"""Hartigan–Wong (AS 136): R's partition from the same start, and its optimality properties."""

from __future__ import annotations

import warnings
import zlib

import numpy as np
import pytest
from cluster_helpers import make_blobs, r_matrix, run_r, write_bin
from sklearn.exceptions import ConvergenceWarning

from custseg import InvalidParameterError
from custseg.cluster import KMeans
from custseg.cluster._hartigan_wong import hartigan_wong
from custseg.cluster._kernels import kmeans_plusplus, lloyd


def _dataset(name: str):
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    if name == "integer-grid-ties":  # many duplicate rows and equal distances
        X = rng.integers(0, 6, size=(200, 2)).astype(float)
        k = 4
    else:
        m, d, k = map(int, name.split("x"))
        X, _ = make_blobs(m, d, k + 1, spread=1.5, seed=m + d + k)  # overlapping: work to do
    C = X[rng.choice(len(X), k, replace=False)]
    while len(np.unique(C, axis=0)) < k:  # R refuses duplicated initial centres
        C = X[rng.choice(len(X), k, replace=False)]
    return X, C


DATASETS = ["1000x4x5", "300x2x3", "500x6x8", "200x3x10", "60x2x2", "integer-grid-ties"]


@pytest.fixture(scope="module")
def r_results(tmp_path_factory):
    """One Rscript call: kmeans(x, centers = C, algorithm = "Hartigan-Wong") on every dataset."""
    work = tmp_path_factory.mktemp("r_hw")
    code = ""
    for i, name in enumerate(DATASETS):
        X, C = _dataset(name)
        write_bin(work / f"x{i}.bin", X)
        write_bin(work / f"c{i}.bin", C)
        code += r_matrix("x", f"x{i}.bin", X.shape) + r_matrix("c", f"c{i}.bin", C.shape)
        code += ('r <- kmeans(x, centers = c, algorithm = "Hartigan-Wong", iter.max = 1000)\n'
                 'cat(r$cluster, "\\n"); cat(sprintf("%.17g", r$withinss), "\\n")\n')
    lines = run_r(code, work).strip().splitlines()
    return {name: (np.array(lines[2 * i].split(), dtype=int) - 1,
                   np.array(lines[2 * i + 1].split(), dtype=float))
            for i, name in enumerate(DATASETS)}


@pytest.mark.r
@pytest.mark.parametrize("name", DATASETS)
def test_same_partition_as_r(name, r_results):
    X, C = _dataset(name)
    r_labels, r_wss = r_results[name]
    km = KMeans(n_clusters=len(C), method="hartigan-wong", init=C, max_iter=1000).fit(X)
    np.testing.assert_array_equal(km.labels_, r_labels)
    _, _, wss, _, ifault = hartigan_wong(X, C, 1000, 50 * len(X))
    assert ifault == 0
    np.testing.assert_allclose(wss, r_wss, rtol=1e-12)


def _sse_of_start(X, C0):
    labels = np.argmin(((X[:, None, :] - C0[None]) ** 2).sum(axis=2), axis=1)
    return sum(((X[labels == j] - X[labels == j].mean(axis=0)) ** 2).sum()
               for j in np.unique(labels))


def test_hartigan_wong_vs_lloyd_over_100_starts():
    """From the same start, Hartigan–Wong ends lower than Lloyd in almost every run.

    It is not guaranteed for every single start: the two methods follow different paths and
    can end in different local optima (on overlapping data about 1-15 % of starts end higher
    with Hartigan–Wong). What is guaranteed is tested exactly: Hartigan–Wong never ends
    above the partition it starts from, and started from Lloyd's solution it never ends above
    Lloyd's.
    """
    X, _ = make_blobs(400, 3, 8, spread=2.0, seed=7)
    k = 6
    rng = np.random.default_rng(0)
    hw_all, lloyd_all = [], []
    for _ in range(100):
        C0 = kmeans_plusplus(X, k, rng)
        _, _, wss, _, ifault = hartigan_wong(X, C0, 1000, 50 * len(X))
        C_l, _, inertia_l, _ = lloyd(X, C0, 1000, 0.0)
        hw = wss.sum()
        assert ifault == 0
        assert hw <= _sse_of_start(X, C0) * (1 + 1e-12)
        _, _, wss_from_lloyd, _, _ = hartigan_wong(X, C_l, 1000, 50 * len(X))
        assert wss_from_lloyd.sum() <= inertia_l * (1 + 1e-12)
        hw_all.append(hw)
        lloyd_all.append(inertia_l)
    hw_all, lloyd_all = np.array(hw_all), np.array(lloyd_all)
    assert np.mean(hw_all <= lloyd_all * (1 + 1e-12)) >= 0.85
    assert hw_all.mean() < lloyd_all.mean()
    assert hw_all.min() <= lloyd_all.min() * (1 + 1e-12)


def test_result_is_hartigan_optimal():
    """No single row can move to another cluster and lower the within-cluster SSE."""
    X, _ = make_blobs(300, 2, 5, spread=1.0, seed=3)
    km = KMeans(n_clusters=5, method="hartigan-wong", n_init=1, random_state=0).fit(X)
    C, lab = km.cluster_centers_, km.labels_
    n = np.bincount(lab, minlength=5)
    d2 = ((X[:, None, :] - C[None]) ** 2).sum(axis=2)
    own = d2[np.arange(len(X)), lab]
    with np.errstate(divide="ignore"):
        cost_out = np.where(n[lab] > 1, n[lab] / (n[lab] - 1.0) * own, np.inf)
    gain_in = n / (n + 1.0) * d2
    gain_in[np.arange(len(X)), lab] = np.inf
    assert np.all(gain_in.min(axis=1) >= cost_out * (1 - 1e-12))
    # ... hence also a Lloyd fixed point
    assert np.array_equal(np.argmin(d2, axis=1), lab)


def test_estimator_keeps_best_of_n_init():
    X, _ = make_blobs(300, 3, 6, spread=1.5, seed=11)
    first = KMeans(6, method="hartigan-wong", n_init=1, random_state=0).fit(X)
    many = KMeans(6, method="hartigan-wong", n_init=5, random_state=0).fit(X)
    assert many.inertia_ <= first.inertia_  # the first of the five starts is the same
    np.testing.assert_allclose(
        many.inertia_, ((X - many.cluster_centers_[many.labels_]) ** 2).sum(), rtol=1e-10)
    assert np.array_equal(many.predict(X), many.labels_)


def test_empty_initial_cluster_is_refused():
    X, _ = make_blobs(50, 2, 2, seed=1)
    C = np.array([X[0], X[1], [1e6, 1e6]])
    with pytest.raises(InvalidParameterError, match="empty cluster"):
        KMeans(3, method="hartigan-wong", init=C).fit(X)


def test_warns_when_max_iter_is_reached():
    X, _ = make_blobs(500, 2, 8, spread=0.5, seed=2)
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        KMeans(8, method="hartigan-wong", max_iter=1, n_init=1, random_state=0).fit(X)


@pytest.mark.parametrize("k", [1, 12])
def test_edge_numbers_of_clusters(k):
    X, _ = make_blobs(12, 2, 3, seed=4)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        km = KMeans(k, method="hartigan-wong").fit(X)
    assert km.n_clusters_ == k
    assert len(np.unique(km.labels_)) == k
    expected = 0.0 if k == 12 else ((X - X.mean(axis=0)) ** 2).sum()
    assert km.inertia_ == pytest.approx(expected)
