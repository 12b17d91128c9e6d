"""Gaussian mixture, k-prototypes and HDBSCAN."""

from __future__ import annotations

import numpy as np
import pytest
from cluster_helpers import make_blobs
from sklearn.metrics import adjusted_rand_score
from sklearn.mixture import GaussianMixture as SkGaussianMixture

from custseg import InvalidParameterError, SchemaError
from custseg.cluster import ALGORITHMS, HDBSCAN, GaussianMixture, KPrototypes


@pytest.mark.parametrize("cov", ["full", "diag"])
def test_gmm_matches_scikit_learn(cov):
    X, y = make_blobs(300, 3, 3, spread=5.0, seed=4)
    gm = GaussianMixture(3, covariance_type=cov, random_state=0).fit(X)
    ref = SkGaussianMixture(3, covariance_type=cov, random_state=0).fit(X)
    assert gm.bic_ == pytest.approx(ref.bic(X))
    np.testing.assert_array_equal(gm.labels_, ref.predict(X))
    P = gm.predict_proba(X)
    np.testing.assert_allclose(P.sum(axis=1), 1.0)
    np.testing.assert_array_equal(P.argmax(axis=1), gm.predict(X))
    assert adjusted_rand_score(y, gm.labels_) > 0.95


def _mixed(n=300, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(3, size=n)
    num = np.array([[0, 0], [4, 0], [0, 4]])[y] + rng.normal(size=(n, 2))
    # category code follows the segment 85 % of the time; codes are 10, 20, 30
    cat = np.where(rng.random(n) < 0.85, y, rng.integers(3, size=n)) * 10 + 10
    return np.c_[num, cat.astype(float)], y


def test_kprototypes_mixed_data():
    X, y = _mixed()
    kp = KPrototypes(3, random_state=0).fit(X, categorical=[2])
    assert adjusted_rand_score(y, kp.labels_) > 0.9
    assert kp.gamma_ == pytest.approx(0.5 * X[:, :2].std(axis=0).mean())
    assert set(kp.modes_.ravel()) == {10, 20, 30}
    # Huang's cost, recomputed by hand
    num = ((X[:, :2] - kp.cluster_centers_[kp.labels_, :2]) ** 2).sum(axis=1)
    mism = X[:, 2] != kp.modes_[kp.labels_, 0]
    assert kp.inertia_ == pytest.approx((num + kp.gamma_ * mism).sum())
    np.testing.assert_array_equal(kp.predict(X), kp.labels_)
    np.testing.assert_array_equal(kp.cluster_centers_[:, 2], kp.modes_[:, 0])
    # modes are the most frequent code of each cluster
    for j in range(3):
        codes, counts = np.unique(X[kp.labels_ == j, 2], return_counts=True)
        assert kp.modes_[j, 0] == codes[np.argmax(counts)]


def test_kprototypes_unseen_code_and_errors():
    X, _ = _mixed()
    kp = KPrototypes(3, random_state=0).fit(X, categorical=[-1])
    assert list(kp.categorical_) == [2]
    new = np.array([[0.0, 0.0, 99.0]])  # code never seen: matches no mode
    assert kp.predict(new)[0] == kp.predict(np.array([[0.0, 0.0, -5.0]]))[0]
    bad = X.copy()
    bad[0, 2] = 10.5
    with pytest.raises(SchemaError, match="non-integer"):
        KPrototypes(3).fit(bad, categorical=[2])
    with pytest.raises(InvalidParameterError, match="column indices in"):
        KPrototypes(3).fit(X, categorical=[3])
    with pytest.raises(InvalidParameterError, match="twice"):
        KPrototypes(3).fit(X, categorical=[2, -1])


def test_hdbscan_noise_and_predict_rule():
    rng = np.random.default_rng(0)
    X = np.r_[rng.normal(0, 0.3, (60, 2)), rng.normal(6, 0.3, (60, 2)), [[30.0, 30.0]]]
    h = HDBSCAN(min_cluster_size=10)
    labels = h.fit_predict(X)
    np.testing.assert_array_equal(labels, h.labels_)
    assert h.n_clusters_ == 2 and h.n_noise_ >= 1 and labels[-1] == -1
    clustered = labels >= 0
    np.testing.assert_array_equal(h.predict(X[clustered]), labels[clustered])
    assert h.predict([[30.0, 30.0], [-20.0, 5.0]]).tolist() == [-1, -1]
    # a point inside an exemplar's core ball joins that exemplar's cluster
    i = int(np.flatnonzero(clustered)[0])
    p = X[i] + 0.5 * h.exemplar_core_distances_[np.flatnonzero(clustered) == i][0]
    assert h.predict(p[None, :])[0] in (labels[i], -1)
    near = X[i] + np.array([1e-9, 0.0])
    assert h.predict(near[None, :])[0] == labels[i]
    np.testing.assert_allclose(h.cluster_centers_[0], X[labels == 0].mean(axis=0))


def test_hdbscan_needs_enough_rows():
    with pytest.raises(InvalidParameterError, match="n_samples=3 should be >= min_samples=5"):
        HDBSCAN().fit(np.zeros((3, 2)))


def test_registry():
    assert set(ALGORITHMS) == {"kmeans", "minibatch", "bisecting", "twostep", "gmm",
                               "kprototypes", "hdbscan"}
    for name, cls in ALGORITHMS.items():
        est = cls()
        assert ("n_clusters" in est.get_params()) == (name != "hdbscan")
