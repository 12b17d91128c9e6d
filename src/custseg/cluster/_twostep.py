"""Two-step clustering: k-means micro-clusters, then weighted Ward linkage of their centroids."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from numba import njit
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.cluster import KMeans as _SkKMeans
from sklearn.exceptions import ConvergenceWarning

from .._exceptions import InvalidParameterError
from .._validation import RANDOM_STATE, Interval, validate_params
from ._base import CentroidMixin, check_fitted, check_n_samples, check_X, sklearn_seed
from ._kernels import assign_labels, cluster_means

__all__ = ["TwoStep", "weighted_ward", "cut_linkage"]


@njit(cache=True)
def _ward_cost(ca, na, cb, nb):  # pragma: no cover - numba
    s = 0.0
    for f in range(ca.shape[0]):
        t = ca[f] - cb[f]
        s += t * t
    return na * nb / (na + nb) * s


@njit(cache=True)
def _weighted_ward(C, w):  # pragma: no cover - numba
    m, d = C.shape
    cent = C.copy()
    size = w.astype(np.float64).copy()
    active = np.ones(m, dtype=np.bool_)
    leaves = np.ones(m)
    ids = np.arange(m)
    D = np.full((m, m), np.inf)
    for i in range(m):
        for j in range(i + 1, m):
            c = _ward_cost(cent[i], size[i], cent[j], size[j])
            D[i, j] = c
            D[j, i] = c
    nn = np.zeros(m, dtype=np.int64)
    nnd = np.full(m, np.inf)
    for i in range(m):
        for j in range(m):
            if j != i and D[i, j] < nnd[i]:
                nnd[i] = D[i, j]
                nn[i] = j
    Z = np.empty((m - 1, 4))
    for step in range(m - 1):
        i = -1
        best = np.inf
        for r in range(m):
            if active[r] and (i < 0 or nnd[r] < best):
                best = nnd[r]
                i = r
        j = nn[i]
        if j < i:
            i, j = j, i
        a = ids[i]
        b = ids[j]
        Z[step, 0] = min(a, b)
        Z[step, 1] = max(a, b)
        Z[step, 2] = np.sqrt(2.0 * D[i, j])
        leaves[i] += leaves[j]
        Z[step, 3] = leaves[i]
        tot = size[i] + size[j]
        for f in range(d):
            cent[i, f] = (size[i] * cent[i, f] + size[j] * cent[j, f]) / tot
        size[i] = tot
        active[j] = False
        ids[i] = m + step
        for r in range(m):
            D[j, r] = np.inf
            D[r, j] = np.inf
        for r in range(m):
            if active[r] and r != i:
                c = _ward_cost(cent[i], size[i], cent[r], size[r])
                D[i, r] = c
                D[r, i] = c
        # refresh nearest neighbours of rows that pointed at i or j, and of i itself
        for r in range(m):
            if not active[r]:
                continue
            if r == i or nn[r] == i or nn[r] == j:
                nnd[r] = np.inf
                for q in range(m):
                    if q != r and D[r, q] < nnd[r]:
                        nnd[r] = D[r, q]
                        nn[r] = q
            elif D[r, i] < nnd[r]:
                nnd[r] = D[r, i]
                nn[r] = i
    return Z


def weighted_ward(centroids: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Ward linkage of weighted points (group centroids with group sizes), in SciPy's format.

    The cost of merging groups ``A`` and ``B`` is the increase of the within-group sum of
    squares, ``n_A n_B / (n_A + n_B) * |c_A - c_B|^2``, recomputed from the merged centroids
    and sizes at each step (the centroid form of the Lance–Williams update), so the result is
    exactly Ward's linkage of the original rows once each group is first merged into its
    centroid. Heights follow SciPy's ``method="ward"`` and R's ``hclust(method = "ward.D2",
    members = w)``: ``sqrt(2 * cost)``.

    Parameters
    ----------
    centroids : ndarray of shape (m, n_features)
    weights : ndarray of shape (m,)
        Positive sizes.

    Returns
    -------
    Z : ndarray of shape (m - 1, 4)
        SciPy linkage matrix: merged ids, height, and the number of weighted points (leaves)
        under the new node, so that it is valid for SciPy (``dendrogram``, ``fcluster``).
        The weights themselves are not in ``Z``.
    """
    centroids = np.ascontiguousarray(centroids, dtype=np.float64)
    weights = np.asarray(weights, dtype=np.float64)
    if centroids.shape[0] < 2:
        return np.empty((0, 4))
    return _weighted_ward(centroids, weights)


def cut_linkage(Z: np.ndarray, k: int) -> np.ndarray:
    """Groups of the leaves of ``Z`` after its first ``m - k`` merges (``k`` clusters).

    Clusters are numbered by their smallest leaf.
    """
    m = Z.shape[0] + 1
    parent = np.arange(2 * m - 1)

    def find(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    for step in range(m - k):
        a, b = int(Z[step, 0]), int(Z[step, 1])
        parent[find(a)] = m + step
        parent[find(b)] = m + step
    roots = np.array([find(i) for i in range(m)])
    _, first = np.unique(roots, return_index=True)
    order = np.argsort(np.argsort(first))
    _, inverse = np.unique(roots, return_inverse=True)
    return order[inverse].astype(np.int64)


class TwoStep(CentroidMixin, ClusterMixin, BaseEstimator):
    """Two-step clustering: many k-means micro-clusters, then Ward linkage of them.

    Step 1 summarises the rows by ``min(n_micro, n_samples)`` k-means micro-clusters (when
    there are at most ``n_micro`` distinct rows, the distinct rows themselves). Step 2 builds
    Ward's hierarchy on the micro-cluster centroids weighted by their sizes
    (:func:`weighted_ward`) and cuts it at ``n_clusters``. The dendrogram (``linkage_``) shows
    the structure at every k, and :meth:`labels_at` reads any level without refitting.

    Parameters
    ----------
    n_clusters : int, default=8
        Number of clusters (>= 1).
    n_micro : int, default=300
        Number of micro-clusters of step 1.
    micro_max_iter : int, default=50
        Lloyd iterations of the micro-cluster k-means (a summary; it need not converge fully).
    random_state : int, numpy random generator or None, default=None
        Seed of the micro-cluster k-means.

    Attributes
    ----------
    micro_centers_ : ndarray of shape (n_micro_, n_features)
        Centres that rows are assigned to in step 1 (used by :meth:`predict`).
    micro_sizes_ : ndarray of shape (n_micro_,)
        Training rows per micro-cluster.
    linkage_ : ndarray of shape (n_micro_ - 1, 4)
        Weighted Ward linkage of the micro-clusters (SciPy format, for a dendrogram); leaves
        are micro-clusters, the fourth column counts micro-clusters (their sizes are in
        ``micro_sizes_``).
    micro_to_cluster_ : ndarray of shape (n_micro_,)
        Cluster of each micro-cluster at ``n_clusters_``.
    cluster_centers_ : ndarray of shape (n_clusters_, n_features)
        Means of the clusters' rows.
    labels_ : ndarray of shape (n_samples,)
    inertia_ : float
        Within-cluster sum of squares about ``cluster_centers_``.
    n_micro_ : int
    n_clusters_ : int
    n_features_in_ : int

    Examples
    --------
    >>> import numpy as np
    >>> from custseg.cluster import TwoStep
    >>> X = np.array([[0.0], [0.2], [5.0], [5.2], [20.0]])
    >>> TwoStep(n_clusters=2).fit(X).labels_.tolist()
    [0, 0, 0, 0, 1]
    """

    _parameter_constraints = {
        "n_clusters": [Interval(int, 1, None)],
        "n_micro": [Interval(int, 2, None)],
        "micro_max_iter": [Interval(int, 1, None)],
        "random_state": RANDOM_STATE,
    }

    def __init__(self, n_clusters: int = 8, *, n_micro: int = 300, micro_max_iter: int = 50,
                 random_state: Any = None):
        self.n_clusters = n_clusters
        self.n_micro = n_micro
        self.micro_max_iter = micro_max_iter
        self.random_state = random_state

    def fit(self, X: Any, y: Any = None) -> TwoStep:
        """Build micro-clusters and their Ward hierarchy, and cut it at ``n_clusters``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : ignored

        Returns
        -------
        self : TwoStep
        """
        validate_params(type(self).__name__, self._parameter_constraints, self.get_params())
        X = check_X(self, X, reset=True)
        n = X.shape[0]
        k = int(self.n_clusters)
        check_n_samples(n, k)
        uniq, inverse, counts = np.unique(X, axis=0, return_inverse=True, return_counts=True)
        if len(uniq) <= self.n_micro:
            centers = np.ascontiguousarray(uniq)
            micro = inverse.reshape(-1).astype(np.int64)
            means, sizes = centers, counts.astype(np.int64)
        else:
            km = _SkKMeans(n_clusters=int(self.n_micro), n_init=1,
                           max_iter=int(self.micro_max_iter),
                           random_state=sklearn_seed(self.random_state)).fit(X)
            centers = np.ascontiguousarray(km.cluster_centers_)
            micro = np.empty(n, dtype=np.int64)
            assign_labels(X, centers, micro, np.empty(n))
            means, sizes = cluster_means(X, micro, centers.shape[0])
            keep = sizes > 0
            if not keep.all():  # drop empty micro-clusters, renumber
                remap = np.cumsum(keep) - 1
                centers, means, sizes = centers[keep], means[keep], sizes[keep]
                micro = remap[micro]
        self.micro_centers_ = centers
        self.micro_sizes_ = sizes
        self._micro_means = means
        self.n_micro_ = len(sizes)
        self.linkage_ = weighted_ward(means, sizes)
        if k > self.n_micro_:
            warnings.warn(f"Only {self.n_micro_} distinct rows: n_clusters={k} is reduced to "
                          f"{self.n_micro_}.", ConvergenceWarning, stacklevel=2)
        self.n_clusters_ = min(k, self.n_micro_)
        self._train_micro = micro
        self.micro_to_cluster_ = self._cut(self.n_clusters_)
        self.labels_ = self.micro_to_cluster_[micro]
        self.cluster_centers_ = self.centers_at(self.n_clusters_)
        diff = X - self.cluster_centers_[self.labels_]
        self.inertia_ = float(np.einsum("ij,ij->", diff, diff))
        return self

    def _cut(self, k: int) -> np.ndarray:
        if not 1 <= k <= self.n_micro_:
            raise InvalidParameterError(
                f"The 'k' parameter of TwoStep.labels_at must be an int >= 1 and <= "
                f"{self.n_micro_}. Got {k!r} instead.")
        if self.n_micro_ == 1:
            return np.zeros(1, dtype=np.int64)
        return cut_linkage(self.linkage_, k)

    def centers_at(self, k: int) -> np.ndarray:
        """Means of the clusters' training rows when the hierarchy is cut at ``k``."""
        check_fitted(self, "linkage_")
        groups = self._cut(k)
        w = self.micro_sizes_.astype(np.float64)
        sums = np.zeros((k, self._micro_means.shape[1]))
        np.add.at(sums, groups, self._micro_means * w[:, None])
        return sums / np.bincount(groups, weights=w, minlength=k)[:, None]

    def labels_at(self, k: int) -> np.ndarray:
        """Cluster of each training row when the hierarchy is cut at ``k``."""
        check_fitted(self, "linkage_")
        return self._cut(k)[self._train_micro]

    def predict_at(self, X: Any, k: int) -> np.ndarray:
        """Assign rows to the cluster (at level ``k``) of their nearest micro-cluster."""
        check_fitted(self, "linkage_")
        X = check_X(self, X, reset=False)
        micro = np.empty(X.shape[0], dtype=np.int64)
        assign_labels(X, self.micro_centers_, micro, np.empty(X.shape[0]))
        return self._cut(k)[micro]

    def predict(self, X: Any) -> np.ndarray:
        """Assign rows to the cluster of their nearest micro-cluster centre.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        labels : ndarray of shape (n_samples,)
        """
        check_fitted(self, "linkage_")
        X = check_X(self, X, reset=False)
        micro = np.empty(X.shape[0], dtype=np.int64)
        assign_labels(X, self.micro_centers_, micro, np.empty(X.shape[0]))
        return self.micro_to_cluster_[micro]
