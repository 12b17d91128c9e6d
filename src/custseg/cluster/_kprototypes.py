"""K-prototypes (Huang 1997, 1998): k-means for mixed numeric and categorical features."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numba import njit
from sklearn.base import BaseEstimator, ClusterMixin

from .._exceptions import InvalidParameterError, SchemaError
from .._validation import NONE, RANDOM_STATE, Interval, validate_params
from ._base import as_generator, check_fitted, check_n_samples, check_X

__all__ = ["KPrototypes"]


@njit(cache=True, inline="always")
def _cost(Xn, Xc, i, means, modes, j, gamma):  # pragma: no cover - numba
    s = 0.0
    for f in range(Xn.shape[1]):
        t = Xn[i, f] - means[j, f]
        s += t * t
    mism = 0
    for f in range(Xc.shape[1]):
        if Xc[i, f] != modes[j, f]:
            mism += 1
    return s + gamma * mism


@njit(cache=True)
def _assign(Xn, Xc, means, modes, gamma, labels, cost):  # pragma: no cover - numba
    n = Xn.shape[0]
    k = means.shape[0]
    for i in range(n):
        best = np.inf
        bj = 0
        for j in range(k):
            c = _cost(Xn, Xc, i, means, modes, j, gamma)
            if c < best:
                best = c
                bj = j
        labels[i] = bj
        cost[i] = best


@njit(cache=True)
def _seed(Xn, Xc, k, gamma, first, rand):  # pragma: no cover - numba
    """k-means++-style seeding with the mixed cost (D-weighted draws of data rows)."""
    n = Xn.shape[0]
    idx = np.empty(k, dtype=np.int64)
    idx[0] = first
    closest = np.empty(n)
    means = Xn[first:first + 1].copy()
    modes = Xc[first:first + 1].copy()
    for i in range(n):
        closest[i] = _cost(Xn, Xc, i, means, modes, 0, gamma)
    cum = np.empty(n)
    for c in range(1, k):
        acc = 0.0
        for i in range(n):
            acc += closest[i]
            cum[i] = acc
        pick = np.searchsorted(cum, rand[c - 1] * acc)
        if pick > n - 1:
            pick = n - 1
        idx[c] = pick
        means = Xn[pick:pick + 1].copy()
        modes = Xc[pick:pick + 1].copy()
        for i in range(n):
            v = _cost(Xn, Xc, i, means, modes, 0, gamma)
            if v < closest[i]:
                closest[i] = v
    return idx


@njit(cache=True)
def _update(Xn, Xc, labels, cost, k, n_levels, means, modes):  # pragma: no cover - numba
    """Means, modes (ties to the lowest code) and empty-cluster relocation, in place."""
    n = Xn.shape[0]
    p = Xn.shape[1]
    q = Xc.shape[1]
    max_lev = 1
    for f in range(q):
        if n_levels[f] > max_lev:
            max_lev = n_levels[f]
    counts = np.zeros(k, dtype=np.int64)
    sums = np.zeros((k, p))
    freq = np.zeros((k, q, max_lev), dtype=np.int64)
    for i in range(n):
        j = labels[i]
        counts[j] += 1
        for f in range(p):
            sums[j, f] += Xn[i, f]
        for f in range(q):
            freq[j, f, Xc[i, f]] += 1
    for j in range(k):
        if counts[j] == 0:
            far = np.argmax(cost)
            old = labels[far]
            counts[old] -= 1
            for f in range(p):
                sums[old, f] -= Xn[far, f]
                sums[j, f] = Xn[far, f]
            for f in range(q):
                freq[old, f, Xc[far, f]] -= 1
                freq[j, f, Xc[far, f]] += 1
            counts[j] = 1
            labels[far] = j
            cost[far] = 0.0
    for j in range(k):
        if counts[j] == 0:  # emptied by a relocation above: keep its prototype
            continue
        for f in range(p):
            means[j, f] = sums[j, f] / counts[j]
        for f in range(q):
            best = -1
            bl = 0
            for lev in range(n_levels[f]):
                if freq[j, f, lev] > best:
                    best = freq[j, f, lev]
                    bl = lev
            modes[j, f] = bl


class KPrototypes(ClusterMixin, BaseEstimator):
    """K-prototypes: clusters of rows with numeric and categorical features.

    The dissimilarity of a row to a prototype is Huang's cost: the squared Euclidean distance
    on the numeric features plus ``gamma`` times the number of categorical features whose value
    differs from the prototype's mode. The prototype of a cluster is the mean of its numeric
    features and the mode of each categorical feature.

    Parameters
    ----------
    n_clusters : int, default=8
        Number of clusters (>= 1).
    gamma : float or None, default=None
        Weight of one categorical mismatch. ``None``: half the mean standard deviation of the
        numeric features (Huang suggests a value of that order); 1.0 if there is none.
    n_init : int, default=10
        Number of seedings (k-means++-style draws with the mixed cost); the lowest cost wins.
    max_iter : int, default=100
        Maximum passes (assign rows, then update means and modes) of one run.
    random_state : int, numpy random generator or None, default=None
        Seed of the seedings.

    Attributes
    ----------
    categorical_ : ndarray of int
        Column indices treated as categorical.
    numeric_ : ndarray of int
        The other columns.
    levels_ : list of ndarray
        Sorted codes seen in each categorical column.
    gamma_ : float
        The weight used.
    cluster_centers_ : ndarray of shape (n_clusters, n_features)
        Prototypes in the column order of ``X``: numeric means, and category codes (modes) in
        the categorical columns.
    modes_ : ndarray of shape (n_clusters, n_categorical)
        Mode (code) of each categorical column per cluster (ties go to the lowest code).
    labels_ : ndarray of shape (n_samples,)
        Cluster of each training row; clusters are numbered in the order of their first row.
    inertia_ : float
        Total cost of the training rows to their prototypes.
    n_iter_ : int
    n_clusters_ : int
    n_features_in_ : int

    Examples
    --------
    >>> import numpy as np
    >>> from custseg.cluster import KPrototypes
    >>> X = np.array([[0.0, 1], [0.1, 1], [0.2, 1], [5.0, 2], [5.1, 2], [5.2, 3]])
    >>> kp = KPrototypes(n_clusters=2, random_state=0).fit(X, categorical=[1])
    >>> kp.labels_.tolist(), kp.modes_.ravel().tolist()
    ([0, 0, 0, 1, 1, 1], [1.0, 2.0])
    """

    _parameter_constraints = {
        "n_clusters": [Interval(int, 1, None)],
        "gamma": [NONE, Interval(float, 0, None)],
        "n_init": [Interval(int, 1, None)],
        "max_iter": [Interval(int, 1, None)],
        "random_state": RANDOM_STATE,
    }

    def __init__(self, n_clusters: int = 8, *, gamma: float | None = None, n_init: int = 10,
                 max_iter: int = 100, random_state: Any = None):
        self.n_clusters = n_clusters
        self.gamma = gamma
        self.n_init = n_init
        self.max_iter = max_iter
        self.random_state = random_state

    def fit(self, X: Any, y: Any = None, categorical: Sequence[int] | None = None
            ) -> KPrototypes:
        """Cluster the rows.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Numeric features (scaled) and categorical features as integer codes, in one float
            array.
        y : ignored
        categorical : sequence of int or None, default=None
            Indices of the categorical columns. ``None``: all columns are numeric (then this is
            k-means with k-means++-style seeding).

        Returns
        -------
        self : KPrototypes

        Raises
        ------
        InvalidParameterError
            If ``categorical`` names a column that does not exist, or twice.
        SchemaError
            If a categorical column holds a value that is not an integer code.
        """
        validate_params(type(self).__name__, self._parameter_constraints, self.get_params())
        X = check_X(self, X, reset=True)
        n, d = X.shape
        k = int(self.n_clusters)
        check_n_samples(n, k)
        cat = self._check_categorical(categorical, d)
        num = np.setdiff1d(np.arange(d), cat)
        Xn = np.ascontiguousarray(X[:, num])
        levels, Xc = [], np.empty((n, len(cat)), dtype=np.int64)
        for f, col in enumerate(cat):
            values = X[:, col]
            if not np.array_equal(values, np.round(values)):
                raise SchemaError(f"Categorical column {col} holds non-integer values; encode "
                                  "categories as integer codes.")
            lev, inv = np.unique(values, return_inverse=True)
            levels.append(lev)
            Xc[:, f] = inv
        if self.gamma is not None:
            gamma = float(self.gamma)
        elif Xn.shape[1] > 0:
            gamma = 0.5 * float(np.mean(Xn.std(axis=0)))
        else:
            gamma = 1.0
        n_levels = np.array([len(lev) for lev in levels], dtype=np.int64)
        rng = as_generator(self.random_state)
        best = None
        labels = np.empty(n, dtype=np.int64)
        cost = np.empty(n)
        for _ in range(int(self.n_init)):
            idx = _seed(Xn, Xc, k, gamma, int(rng.integers(n)), rng.random(max(k - 1, 0)))
            means, modes = Xn[idx].copy(), Xc[idx].copy()
            previous = np.full(n, -1, dtype=np.int64)
            n_iter = 0
            for it in range(int(self.max_iter)):
                n_iter = it + 1
                _assign(Xn, Xc, means, modes, gamma, labels, cost)
                if np.array_equal(labels, previous):
                    break
                previous[:] = labels
                _update(Xn, Xc, labels, cost, k, n_levels, means, modes)
            else:
                _assign(Xn, Xc, means, modes, gamma, labels, cost)
            total = float(cost.sum())
            if best is None or total < best[0]:
                best = (total, means.copy(), modes.copy(), labels.copy(), n_iter)
        total, means, modes, labels, n_iter = best
        # number the clusters by their first row, so that the numbering does not depend on
        # the order of the seeds
        _, first = np.unique(labels, return_index=True)
        order = np.unique(labels)[np.argsort(first)]
        order = np.r_[order, np.setdiff1d(np.arange(k), order)]  # (empty clusters last)
        rank = np.empty(k, dtype=np.int64)
        rank[order] = np.arange(k)
        labels, means, modes = rank[labels], means[order], modes[order]
        self.categorical_ = cat
        self.numeric_ = num
        self.levels_ = levels
        self.gamma_ = gamma
        self._means, self._modes_idx = means, modes
        self.modes_ = np.array([[levels[f][modes[j, f]] for f in range(len(cat))]
                                for j in range(k)]).reshape(k, len(cat))
        centers = np.empty((k, d))
        centers[:, num] = means
        centers[:, cat] = self.modes_
        self.cluster_centers_ = centers
        self.labels_ = labels
        self.inertia_ = total
        self.n_iter_ = n_iter
        self.n_clusters_ = k
        return self

    @staticmethod
    def _check_categorical(categorical: Sequence[int] | None, d: int) -> np.ndarray:
        if categorical is None:
            return np.empty(0, dtype=np.int64)
        cols = np.asarray(list(categorical))
        if cols.size and (cols.dtype.kind not in "iu" or cols.min() < -d or cols.max() >= d):
            raise InvalidParameterError(
                f"The 'categorical' argument of KPrototypes.fit must be a list of column "
                f"indices in [0, {d}). Got {list(categorical)!r} instead.")
        cols = np.sort(cols.astype(np.int64) % d) if cols.size else cols.astype(np.int64)
        if len(np.unique(cols)) != len(cols):
            raise InvalidParameterError(
                "The 'categorical' argument of KPrototypes.fit names a column twice. Got "
                f"{list(categorical)!r} instead.")
        return cols

    def _encode(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        Xn = np.ascontiguousarray(X[:, self.numeric_])
        Xc = np.empty((X.shape[0], len(self.categorical_)), dtype=np.int64)
        for f, col in enumerate(self.categorical_):
            lev = self.levels_[f]
            pos = np.clip(np.searchsorted(lev, X[:, col]), 0, len(lev) - 1)
            Xc[:, f] = np.where(lev[pos] == X[:, col], pos, -1)  # unseen code: no mode matches
        return Xn, Xc

    def predict(self, X: Any) -> np.ndarray:
        """Nearest prototype of each row under Huang's cost (an unseen code never matches).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        labels : ndarray of shape (n_samples,)
        """
        check_fitted(self, "cluster_centers_")
        X = check_X(self, X, reset=False)
        Xn, Xc = self._encode(X)
        labels = np.empty(X.shape[0], dtype=np.int64)
        _assign(Xn, Xc, self._means, self._modes_idx, self.gamma_, labels, np.empty(X.shape[0]))
        return labels

    def fit_predict(self, X: Any, y: Any = None, categorical: Sequence[int] | None = None
                    ) -> np.ndarray:
        """``fit(X, categorical=categorical).labels_``."""
        return self.fit(X, categorical=categorical).labels_
