"""Bisecting k-means: the hierarchy, cuts at every k, and agreement with scikit-learn."""

from __future__ import annotations

import numpy as np
import pytest
from cluster_helpers import make_blobs
from sklearn.cluster import BisectingKMeans
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import adjusted_rand_score

from custseg import InvalidParameterError
from custseg.cluster import Bisecting


@pytest.fixture(scope="module")
def fitted():
    X, y = make_blobs(600, 3, 6, spread=6.0, seed=5)
    return X, y, Bisecting(n_clusters=8, random_state=0).fit(X)


def test_tree_is_consistent(fitted):
    X, _, b = fitted
    t = b.tree_
    assert t.max_clusters == 8 and len(t.split_node) == 7
    for s, node in enumerate(t.split_node):
        a, c = t.children[node]
        assert (a, c) == (2 * s + 1, 2 * s + 2)
        assert t.sizes[a] + t.sizes[c] == t.sizes[node]
        assert t.parent[a] == t.parent[c] == node
        assert t.sse[a] + t.sse[c] <= t.sse[node] + 1e-9
        # the node split is the leaf with the largest SSE at that moment
        assert t.sse[node] == pytest.approx(t.sse[t.leaves(s + 1)].max())


def test_cut_at_every_k(fitted):
    X, _, b = fitted
    previous = None
    inertias = []
    for k in range(1, 9):
        lab = b.labels_at(k)
        assert len(np.unique(lab)) == k
        np.testing.assert_allclose(b.tree_.centers_at(k),
                                   np.array([X[lab == j].mean(axis=0) for j in range(k)]))
        np.testing.assert_array_equal(b.predict_at(X, k), lab)
        inertias.append(b.tree_.sse_at(k))
        if previous is not None:  # nested: each cluster at k lies inside one at k - 1
            for j in range(k):
                assert len(np.unique(previous[lab == j])) == 1
        previous = lab
    assert np.all(np.diff(inertias) <= 1e-9)
    np.testing.assert_array_equal(b.labels_at(8), b.labels_)
    np.testing.assert_array_equal(b.predict(X), b.labels_)
    assert b.inertia_ == pytest.approx(((X - b.cluster_centers_[b.labels_]) ** 2).sum())


def test_recovers_separated_blobs_like_scikit_learn():
    X, y = make_blobs(600, 3, 6, spread=6.0, seed=5)
    ours = Bisecting(n_clusters=6, random_state=0).fit(X)
    ref = BisectingKMeans(6, bisecting_strategy="biggest_inertia", random_state=0).fit(X)
    assert adjusted_rand_score(y, ours.labels_) == pytest.approx(1.0)
    assert adjusted_rand_score(ref.labels_, ours.labels_) == pytest.approx(1.0)


def test_too_few_distinct_rows_and_bad_level():
    X = np.repeat(np.array([[0.0, 0.0], [1.0, 1.0], [5.0, 5.0]]), 4, axis=0)
    with pytest.warns(ConvergenceWarning, match="Only 3 clusters"):
        b = Bisecting(n_clusters=5, random_state=0).fit(X)
    assert b.n_clusters_ == 3
    with pytest.raises(InvalidParameterError, match="levels k = 1 .. 3"):
        b.labels_at(4)
