"""Bisecting k-means with its whole hierarchy kept, so it can be cut at every k without refitting."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
from numba import njit
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.exceptions import ConvergenceWarning

from .._exceptions import InvalidParameterError
from .._validation import RANDOM_STATE, Interval, validate_params
from ._base import CentroidMixin, as_generator, check_fitted, check_n_samples, check_X
from ._kernels import kmeans_best_of

__all__ = ["Bisecting", "BisectingTree"]


@dataclass(frozen=True)
class BisectingTree:
    """The hierarchy of a bisecting k-means fit.

    Node 0 is the root (all rows). Split ``s`` (``s = 0, 1, ...``) divided node
    ``split_node[s]`` into the nodes ``2 s + 1`` (the part holding the node's first row) and
    ``2 s + 2``. After ``k - 1`` splits the leaves are the ``k`` clusters; cluster ``j`` at that
    level is the ``j``-th leaf in node order.

    Attributes
    ----------
    parent : ndarray of shape (n_nodes,)
        Parent node (-1 for the root).
    children : ndarray of shape (n_nodes, 2)
        The two children of a node, -1 for a node never split.
    centers : ndarray of shape (n_nodes, n_features)
        Centre of each node: the 2-means centre it was assigned by (the mean of its rows
        whenever that 2-means converged, as it normally does), the mean of all rows for the root.
    sizes : ndarray of shape (n_nodes,)
        Number of training rows in each node.
    sse : ndarray of shape (n_nodes,)
        Sum of squared distances of the node's rows to its centre.
    split_node : ndarray of shape (n_splits,)
        The node divided at each split, in order.
    """

    parent: np.ndarray
    children: np.ndarray
    centers: np.ndarray
    sizes: np.ndarray
    sse: np.ndarray
    split_node: np.ndarray

    @property
    def max_clusters(self) -> int:
        """Number of leaves after the last split."""
        return len(self.split_node) + 1

    def _check_k(self, k: int) -> int:
        k = int(k)
        if not 1 <= k <= self.max_clusters:
            raise InvalidParameterError(
                f"The tree has levels k = 1 .. {self.max_clusters}. Got k={k} instead.")
        return k

    def split_step(self) -> np.ndarray:
        """Split index of every node (``len(split_node)`` for a node never split)."""
        step = np.full(len(self.parent), len(self.split_node), dtype=np.int64)
        step[self.split_node] = np.arange(len(self.split_node))
        return step

    def leaves(self, k: int) -> np.ndarray:
        """Node ids of the ``k`` clusters at level ``k``, in node order (= cluster numbers)."""
        k = self._check_k(k)
        step = self.split_step()
        created = np.arange(len(self.parent)) < 2 * (k - 1) + 1
        return np.flatnonzero(created & (step >= k - 1))

    def centers_at(self, k: int) -> np.ndarray:
        """Centres of the ``k`` clusters at level ``k``, shape (k, n_features)."""
        return self.centers[self.leaves(k)]

    def sse_at(self, k: int) -> float:
        """Within-cluster sum of squares (inertia) of the training rows at level ``k``."""
        return float(self.sse[self.leaves(k)].sum())

    def leaf_to_cluster(self, k: int) -> np.ndarray:
        """Map every node to its cluster number at level ``k`` (-1 for nodes above the level)."""
        leaves = self.leaves(k)
        out = np.full(len(self.parent), -1, dtype=np.int64)
        out[leaves] = np.arange(len(leaves))
        # children inherit the cluster of their ancestor at this level (ids grow with depth)
        for node in range(len(self.parent)):
            if out[node] < 0 and self.parent[node] >= 0 and out[self.parent[node]] >= 0:
                out[node] = out[self.parent[node]]
        return out


@njit(cache=True)
def _descend(X, centers, children, split_step, max_step):  # pragma: no cover - numba
    """Tree descent: at every node split before ``max_step`` go to the nearer child."""
    n, d = X.shape
    out = np.empty(n, dtype=np.int64)
    for i in range(n):
        node = 0
        while children[node, 0] >= 0 and split_step[node] < max_step:
            a = children[node, 0]
            b = children[node, 1]
            da = 0.0
            db = 0.0
            for f in range(d):
                t = X[i, f] - centers[a, f]
                da += t * t
                u = X[i, f] - centers[b, f]
                db += u * u
            node = a if da <= db else b
        out[i] = node
    return out


@njit(cache=True)
def _descend_pair(X, C):  # pragma: no cover - numba
    """1 where a row is strictly nearer to ``C[1]`` than to ``C[0]`` (as :func:`_descend`)."""
    n, d = X.shape
    out = np.empty(n, dtype=np.int64)
    for i in range(n):
        da = 0.0
        db = 0.0
        for f in range(d):
            t = X[i, f] - C[0, f]
            da += t * t
            u = X[i, f] - C[1, f]
            db += u * u
        out[i] = 0 if da <= db else 1
    return out


class Bisecting(CentroidMixin, ClusterMixin, BaseEstimator):
    """Bisecting k-means: split the cluster with the largest SSE in two, until ``n_clusters``.

    Like Spark's ``BisectingKMeans`` the result is a hierarchy; like scikit-learn's
    ``bisecting_strategy="biggest_inertia"`` the cluster split next is the one with the largest
    within-cluster sum of squares. The hierarchy is kept in ``tree_`` so that every
    ``k <= n_clusters`` can be read off without refitting (:meth:`labels_at`,
    :meth:`predict_at`).

    Parameters
    ----------
    n_clusters : int, default=8
        Number of leaves to grow (>= 1).
    n_init : int, default=1
        k-means++ starts of each 2-means split; the split with the lower SSE is kept.
    max_iter : int, default=300
        Maximum Lloyd iterations of a 2-means split.
    tol : float, default=1e-4
        Relative tolerance on the centre shift of a 2-means split (scikit-learn's meaning).
    random_state : int, numpy random generator or None, default=None
        Seed of the k-means++ draws.

    Attributes
    ----------
    tree_ : BisectingTree
        The hierarchy.
    cluster_centers_ : ndarray of shape (n_clusters_, n_features)
        Centres of the leaves.
    labels_ : ndarray of shape (n_samples,)
        Leaf of each training row (equal to ``predict`` on the training rows).
    inertia_ : float
        Sum of the leaves' SSE.
    n_iter_ : int
        Largest number of Lloyd iterations of a split (0 when nothing was split).
    n_clusters_ : int
        Number of leaves; smaller than ``n_clusters`` only when no cluster could be split
        further (too few distinct rows), with a ``ConvergenceWarning``.
    n_features_in_ : int

    Examples
    --------
    >>> import numpy as np
    >>> from custseg.cluster import Bisecting
    >>> X = np.array([[0.0], [0.1], [5.0], [5.1], [20.0], [20.1]])
    >>> b = Bisecting(n_clusters=3, random_state=0).fit(X)
    >>> b.labels_at(2).tolist(), b.labels_.tolist()
    ([0, 0, 0, 0, 1, 1], [1, 1, 2, 2, 0, 0])
    """

    _parameter_constraints = {
        "n_clusters": [Interval(int, 1, None)],
        "n_init": [Interval(int, 1, None)],
        "max_iter": [Interval(int, 1, None)],
        "tol": [Interval(float, 0, None)],
        "random_state": RANDOM_STATE,
    }

    def __init__(self, n_clusters: int = 8, *, n_init: int = 1, max_iter: int = 300,
                 tol: float = 1e-4, random_state: Any = None):
        self.n_clusters = n_clusters
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state

    def fit(self, X: Any, y: Any = None) -> Bisecting:
        """Grow the hierarchy.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : ignored

        Returns
        -------
        self : Bisecting
        """
        validate_params(type(self).__name__, self._parameter_constraints, self.get_params())
        X = check_X(self, X, reset=True)
        n, d = X.shape
        k = int(self.n_clusters)
        check_n_samples(n, k)
        rng = as_generator(self.random_state)
        n_nodes = 2 * k - 1
        parent = np.full(n_nodes, -1, dtype=np.int64)
        children = np.full((n_nodes, 2), -1, dtype=np.int64)
        centers = np.zeros((n_nodes, d))
        sizes = np.zeros(n_nodes, dtype=np.int64)
        sse = np.zeros(n_nodes)
        centers[0] = X.mean(axis=0)
        sizes[0] = n
        sse[0] = float(((X - centers[0]) ** 2).sum())
        node_of_row = np.zeros(n, dtype=np.int64)
        splittable = {0: True}
        split_node: list[int] = []
        self.n_iter_ = 0
        while len(split_node) < k - 1:
            candidates = [nd for nd, ok in splittable.items() if ok and sizes[nd] >= 2
                          and sse[nd] > 0.0]
            if not candidates:
                warnings.warn(f"Only {len(split_node) + 1} clusters could be formed (too few "
                              f"distinct rows for n_clusters={k}).", ConvergenceWarning,
                              stacklevel=2)
                break
            node = max(candidates, key=lambda nd: (sse[nd], -nd))
            rows = np.flatnonzero(node_of_row == node)
            C, lab, _, n_iter = kmeans_best_of(X[rows], 2, rng, n_init=int(self.n_init),
                                       max_iter=int(self.max_iter), tol=float(self.tol))
            self.n_iter_ = max(self.n_iter_, int(n_iter))
            if lab.min() == lab.max():  # duplicates only: cannot split this node
                splittable[node] = False
                continue
            if lab[0] == 1:  # first child: the one holding the node's first row
                C = np.ascontiguousarray(C[::-1])
            # labels exactly as the tree descent assigns them (ties to the first child)
            lab = _descend_pair(X[rows], C)
            s = len(split_node)
            a, b = 2 * s + 1, 2 * s + 2
            parent[[a, b]] = node
            children[node] = (a, b)
            for child, j in ((a, 0), (b, 1)):
                part = X[rows[lab == j]]
                centers[child] = C[j]
                sizes[child] = len(part)
                sse[child] = float(((part - C[j]) ** 2).sum())
                splittable[child] = True
            node_of_row[rows] = np.where(lab == 0, a, b)
            splittable[node] = False
            split_node.append(node)
        used = 2 * len(split_node) + 1
        self.tree_ = BisectingTree(parent[:used], children[:used], centers[:used], sizes[:used],
                                   sse[:used], np.asarray(split_node, dtype=np.int64))
        self.n_clusters_ = self.tree_.max_clusters
        mapping = self.tree_.leaf_to_cluster(self.n_clusters_)
        self.labels_ = mapping[node_of_row]
        self.cluster_centers_ = self.tree_.centers_at(self.n_clusters_)
        self.inertia_ = self.tree_.sse_at(self.n_clusters_)
        return self

    def labels_at(self, k: int) -> np.ndarray:
        """Cluster of each training row when the tree is cut at ``k`` clusters."""
        check_fitted(self, "tree_")
        return self.tree_.leaf_to_cluster(k)[self._train_leaf()]

    def _train_leaf(self) -> np.ndarray:
        leaves = self.tree_.leaves(self.n_clusters_)
        return leaves[self.labels_]

    def predict_at(self, X: Any, k: int) -> np.ndarray:
        """Assign rows by descending the tree, stopping at level ``k``.

        At every node split among the first ``k - 1`` splits a row goes to the child with the
        nearer centre (ties to the first child).
        """
        check_fitted(self, "tree_")
        X = check_X(self, X, reset=False)
        tree = self.tree_
        k = tree._check_k(k)
        nodes = _descend(X, tree.centers, tree.children, tree.split_step(), k - 1)
        return tree.leaf_to_cluster(k)[nodes]

    def predict(self, X: Any) -> np.ndarray:
        """Assign rows to leaves by descending the tree (as the training rows were split).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        labels : ndarray of shape (n_samples,)
        """
        check_fitted(self, "tree_")
        return self.predict_at(X, self.n_clusters_)
