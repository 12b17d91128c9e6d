"""Two-step clustering: weighted Ward is exact Ward on the rows behind the micro-clusters."""

from __future__ import annotations

import numpy as np
import pytest
from cluster_helpers import make_blobs, r_matrix, run_r, write_bin
from scipy.cluster.hierarchy import fcluster, is_valid_linkage, linkage
from sklearn.metrics import adjusted_rand_score

from custseg.cluster import TwoStep, weighted_ward
from custseg.cluster._twostep import cut_linkage


@pytest.fixture(scope="module")
def weighted_points():
    rng = np.random.default_rng(3)
    C = rng.normal(size=(25, 3)) * 3
    w = rng.integers(1, 6, size=25)
    return C, w


def test_weighted_ward_equals_ward_on_replicated_rows(weighted_points):
    C, w = weighted_points
    Z = weighted_ward(C, w)
    assert is_valid_linkage(Z)
    assert np.all(np.diff(Z[:, 2]) >= 0)
    assert Z[-1, 3] == len(C)  # leaves, as SciPy counts them
    rows = np.repeat(C, w, axis=0)
    Zr = linkage(rows, method="ward")
    # replicated rows first merge at height 0; the remaining merges are the weighted ones
    np.testing.assert_allclose(Zr[-(len(C) - 1):, 2], Z[:, 2], rtol=1e-10)
    leaf = np.repeat(np.arange(len(C)), w)
    for k in (2, 3, 5, 9):
        ours = cut_linkage(Z, k)[leaf]
        ref = fcluster(Zr, k, criterion="maxclust")
        assert adjusted_rand_score(ours, ref) == pytest.approx(1.0)


@pytest.mark.r
def test_weighted_ward_equals_r_hclust_members(weighted_points, tmp_path):
    """R's hclust(members = w) started "in the middle of the dendrogram": its input is the
    Ward dissimilarity between the groups, sqrt(2 w_a w_b / (w_a + w_b)) |c_a - c_b|, and it
    continues with the Lance–Williams recursion (custseg recomputes from centroids)."""
    C, w = weighted_points
    diff = C[:, None, :] - C[None, :, :]
    W = np.sqrt(2 * np.outer(w, w) / np.add.outer(w, w) * (diff ** 2).sum(axis=2))
    write_bin(tmp_path / "d.bin", W)
    code = (r_matrix("d", "d.bin", W.shape)
            + f"w <- c({', '.join(map(str, w))})\n"
            + 'h <- hclust(as.dist(d), method = "ward.D2", members = w)\n'
            + 'cat(sprintf("%.17g", h$height), "\\n")\n'
            + 'for (k in c(2, 3, 5, 9)) cat(cutree(h, k), "\\n")\n')
    lines = run_r(code, tmp_path).strip().splitlines()
    Z = weighted_ward(C, w)
    np.testing.assert_allclose(np.array(lines[0].split(), float), Z[:, 2], rtol=1e-10)
    for line, k in zip(lines[1:], (2, 3, 5, 9), strict=True):
        r_groups = np.array(line.split(), int)
        assert adjusted_rand_score(r_groups, cut_linkage(Z, k)) == pytest.approx(1.0)


def test_twostep_large_n_path():
    X, y = make_blobs(3000, 4, 5, spread=5.0, seed=9)
    ts = TwoStep(n_clusters=5, n_micro=60, random_state=0).fit(X)
    assert ts.n_micro_ == 60 and ts.linkage_.shape == (59, 4)
    assert ts.micro_sizes_.sum() == 3000
    assert adjusted_rand_score(y, ts.labels_) > 0.99
    np.testing.assert_array_equal(ts.predict(X), ts.labels_)
    np.testing.assert_allclose(ts.cluster_centers_,
                               np.array([X[ts.labels_ == j].mean(axis=0) for j in range(5)]))
    for k in (2, 3, 7):
        lab = ts.labels_at(k)
        assert len(np.unique(lab)) == k
        np.testing.assert_array_equal(ts.predict_at(X, k), lab)
        np.testing.assert_allclose(ts.centers_at(k),
                                   np.array([X[lab == j].mean(axis=0) for j in range(k)]))


def test_twostep_small_n_is_ward_on_rows():
    X, _ = make_blobs(40, 2, 3, seed=1)
    ts = TwoStep(n_clusters=3).fit(X)
    ref = fcluster(linkage(X, method="ward"), 3, criterion="maxclust")
    assert adjusted_rand_score(ts.labels_, ref) == pytest.approx(1.0)
