"""The metric kernels agree with scikit-learn; gap statistic and knee on known shapes."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import (
    adjusted_rand_score,
    calinski_harabasz_score,
    davies_bouldin_score,
    silhouette_score,
)

from custseg.select._choose import _gap_prefers_one
from custseg.select._gap import gap_choice, gap_statistic, reference_box
from custseg.select._metrics import adjusted_rand, knee_index, partition_scores, silhouettes


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(4, 3)) * 4
    y = rng.integers(4, size=600)
    return centres[y] + rng.normal(size=(600, 3)), y


def _labellings(X, y, rng):
    nested = [y, y % 2, np.minimum(y, 2)]                   # few cells: refinement path
    random = [rng.integers(0, k, len(X)) for k in (2, 5, 9)]  # many cells: direct path
    single = np.zeros(len(X), dtype=int)
    single[:3] = [1, 2, 3]  # clusters of one row score 0
    return nested, random + [single]


def test_silhouettes_equal_scikit_learn(data):
    X, y = data
    nested, mixed = _labellings(X, y, np.random.default_rng(1))
    for group in (nested, mixed):
        ours = silhouettes(X, np.array(group))
        ref = [silhouette_score(X, lab) for lab in group]
        np.testing.assert_allclose(ours, ref, rtol=1e-12, atol=1e-14)


def test_silhouette_of_one_cluster_is_nan(data):
    X, y = data
    out = silhouettes(X, np.array([np.zeros(len(X), dtype=int), y]))
    assert np.isnan(out[0]) and out[1] == pytest.approx(silhouette_score(X, y))


def test_partition_scores_equal_scikit_learn(data):
    X, y = data
    for lab in (y, y % 2, np.random.default_rng(2).integers(0, 6, len(X))):
        k = int(lab.max()) + 1
        sc = partition_scores(X, lab, k)
        means = np.array([X[lab == j].mean(axis=0) for j in range(k)])
        assert sc["inertia"] == pytest.approx(((X - means[lab]) ** 2).sum())
        assert sc["calinski_harabasz"] == pytest.approx(calinski_harabasz_score(X, lab))
        assert sc["davies_bouldin"] == pytest.approx(davies_bouldin_score(X, lab))
        np.testing.assert_array_equal(sc["sizes"], np.bincount(lab, minlength=k))


def test_adjusted_rand_equals_scikit_learn():
    rng = np.random.default_rng(3)
    for _ in range(5):
        a, b = rng.integers(0, 4, 200), rng.integers(0, 6, 200)
        assert adjusted_rand(a, b, 4, 6) == pytest.approx(adjusted_rand_score(a, b))
    assert adjusted_rand(a, a, 4, 4) == pytest.approx(1.0)


def test_knee_index():
    ks = np.arange(2, 9)
    assert knee_index(ks, np.array([100.0, 40, 15, 12, 10, 9, 8.5])) == 2   # k = 4
    assert knee_index(ks, np.full(7, 5.0)) is None
    assert knee_index(ks[:2], np.array([2.0, 1.0])) is None


def test_gap_choice_rule():
    gap = {1: 0.1, 2: 0.5, 3: 0.9, 4: 0.92, 5: 0.8}
    se = {1: 0.01, 2: 0.02, 3: 0.02, 4: 0.03, 5: 0.02}
    assert gap_choice(gap, se, [1, 2, 3, 4]) == 3   # 0.9 >= 0.92 - 0.03
    assert gap_choice(gap, se, [1, 2]) is None       # still rising
    assert gap_choice(gap, se, [5]) is None          # no k = 6 computed


def test_reference_box_follows_principal_axes():
    rng = np.random.default_rng(4)
    X = rng.normal(size=(500, 2)) @ np.array([[3.0, 0.0], [2.9, 0.3]])  # a thin diagonal
    (Z,) = reference_box(X, rng, 1)
    Xc, Zc = X - X.mean(axis=0), Z - X.mean(axis=0)
    _, _, Vt = np.linalg.svd(Xc, full_matrices=False)
    P, Q = Xc @ Vt.T, Zc @ Vt.T
    assert np.all(Q.min(axis=0) >= P.min(axis=0) - 1e-9)
    assert np.all(Q.max(axis=0) <= P.max(axis=0) + 1e-9)
    assert Q[:, 1].std() < 0.2 * Q[:, 0].std()  # thin like the data, not a square


def test_gap_statistic_sees_blobs_and_not_noise():
    rng = np.random.default_rng(5)
    blobs = np.r_[rng.normal(0, 1, (300, 2)), rng.normal(8, 1, (300, 2))]
    gap, se, logw = gap_statistic(blobs, [1, 2, 3, 4], rng)
    assert gap_choice(gap, se, [1, 2, 3]) == 2
    assert not _gap_prefers_one(gap, se)
    gap2, se2, _ = gap_statistic(blobs, [1, 2, 3, 4], rng, box="axes", data=logw)
    assert gap_choice(gap2, se2, [1, 2, 3]) == 2
    noise = rng.uniform(size=(600, 3))
    gap, se, _ = gap_statistic(noise, [1, 2, 3, 4, 5], rng, box="axes")
    assert _gap_prefers_one(gap, se)


def test_gap_relative_tolerance():
    # still rising slowly after a big jump at 3: Tibshirani's rule alone goes on to 5
    gap = {1: 0.0, 2: 0.2, 3: 1.5, 4: 1.55, 5: 1.6, 6: 1.6}
    se = dict.fromkeys(gap, 0.01)
    assert gap_choice(gap, se, [2, 3, 4, 5]) == 5
    assert gap_choice(gap, se, [2, 3, 4, 5], rel_tol=0.1) == 3
