"""Mini-batch k-means (scikit-learn's ``MiniBatchKMeans`` behind custseg's parameter checks)."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.cluster import MiniBatchKMeans as _SkMiniBatchKMeans

from .._validation import RANDOM_STATE, Interval, validate_params
from ._base import CentroidMixin, check_n_samples, check_X, sklearn_seed
from ._kmeans import _INIT

__all__ = ["MiniBatch"]


class MiniBatch(CentroidMixin, ClusterMixin, BaseEstimator):
    """Mini-batch k-means: centres updated from random batches, for very many rows.

    Parameters
    ----------
    n_clusters : int, default=8
        Number of clusters (>= 1).
    init : "k-means++" or ndarray of shape (n_clusters, n_features), default="k-means++"
        Initial centres.
    n_init : int, default=3
        Number of initialisations tried (each on ``3 * batch_size`` rows); the best is kept.
    batch_size : int, default=1024
        Rows per mini-batch.
    max_iter : int, default=100
        Maximum number of passes over the data.
    tol : float, default=0.0
        Early stop on the smoothed centre change (0 disables it), as in scikit-learn.
    max_no_improvement : int, default=10
        Stop after this many batches without improvement of the smoothed inertia.
    random_state : int, numpy random generator or None, default=None
        Seed of the batches and of k-means++.

    Attributes
    ----------
    cluster_centers_ : ndarray of shape (n_clusters, n_features)
    labels_ : ndarray of shape (n_samples,)
        Nearest centre of each training row (computed on all rows after the last batch).
    inertia_ : float
        Sum of squared distances of the training rows to their nearest centre.
    n_iter_ : int
        Passes over the data.
    n_clusters_ : int
    n_features_in_ : int

    Examples
    --------
    >>> import numpy as np
    >>> from custseg.cluster import MiniBatch
    >>> X = np.r_[np.zeros((50, 2)), np.full((50, 2), 10.0)]
    >>> MiniBatch(n_clusters=2, random_state=0).fit(X).n_clusters_
    2
    """

    _parameter_constraints = {
        "n_clusters": [Interval(int, 1, None)],
        "init": _INIT,
        "n_init": [Interval(int, 1, None)],
        "batch_size": [Interval(int, 1, None)],
        "max_iter": [Interval(int, 1, None)],
        "tol": [Interval(float, 0, None)],
        "max_no_improvement": [Interval(int, 1, None)],
        "random_state": RANDOM_STATE,
    }

    def __init__(self, n_clusters: int = 8, *, init: str | np.ndarray = "k-means++",
                 n_init: int = 3, batch_size: int = 1024, max_iter: int = 100,
                 tol: float = 0.0, max_no_improvement: int = 10, random_state: Any = None):
        self.n_clusters = n_clusters
        self.init = init
        self.n_init = n_init
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.tol = tol
        self.max_no_improvement = max_no_improvement
        self.random_state = random_state

    def fit(self, X: Any, y: Any = None) -> MiniBatch:
        """Compute the clustering.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : ignored

        Returns
        -------
        self : MiniBatch
        """
        validate_params(type(self).__name__, self._parameter_constraints, self.get_params())
        X = check_X(self, X, reset=True)
        k = int(self.n_clusters)
        check_n_samples(X.shape[0], k)
        given = isinstance(self.init, np.ndarray)
        km = _SkMiniBatchKMeans(
            n_clusters=k, init=np.asarray(self.init, dtype=np.float64) if given else "k-means++",
            n_init=1 if given else int(self.n_init), batch_size=int(self.batch_size),
            max_iter=int(self.max_iter), tol=float(self.tol),
            max_no_improvement=int(self.max_no_improvement),
            random_state=sklearn_seed(self.random_state)).fit(X)
        self.cluster_centers_ = km.cluster_centers_
        self.labels_ = km.labels_.astype(np.int64)
        self.inertia_ = float(km.inertia_)
        self.n_iter_ = int(km.n_iter_)
        self.n_clusters_ = k
        return self
