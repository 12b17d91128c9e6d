"""HDBSCAN (scikit-learn's) with noise kept as -1 and a documented rule to assign new rows."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.cluster import HDBSCAN as _SkHDBSCAN
from sklearn.neighbors import NearestNeighbors

from .._exceptions import InvalidParameterError
from .._validation import NONE, Interval, Options, validate_params
from ._base import check_fitted, check_X

__all__ = ["HDBSCAN"]


class HDBSCAN(ClusterMixin, BaseEstimator):
    """Density-based clustering with a noise label; the number of clusters is found, not given.

    Runs scikit-learn's ``HDBSCAN`` with the Euclidean metric. Rows in no dense region get the
    label -1 (noise) and stay in the result.

    **Assigning new rows** (:meth:`predict`): a row joins the cluster of its nearest clustered
    training row ``p`` (an *exemplar*: every training row with a label >= 0) when it lies
    within the core distance of ``p`` — the distance from ``p`` to its ``min_samples``-th
    nearest training row (``p`` itself counted), the density level HDBSCAN used for ``p``.
    Otherwise it is noise (-1). Clustered training rows get their own label back; training
    rows labelled noise may be given a cluster when they lie inside an exemplar's core ball,
    so ``fit_predict(X)`` (the HDBSCAN labels) and ``fit(X).predict(X)`` can differ on noise.

    Parameters
    ----------
    min_cluster_size : int, default=5
        Smallest group counted as a cluster.
    min_samples : int or None, default=None
        Neighbours defining a row's core distance (``None``: ``min_cluster_size``).
    cluster_selection_epsilon : float, default=0.0
        Clusters closer than this are merged.
    max_cluster_size : int or None, default=None
        Largest cluster allowed by the "eom" selection (``None``: no limit).
    cluster_selection_method : {"eom", "leaf"}, default="eom"
        Excess of mass (fewer, larger clusters) or the leaves of the condensed tree.
    allow_single_cluster : bool, default=False
        Whether a single cluster may be returned.

    Attributes
    ----------
    labels_ : ndarray of shape (n_samples,)
        Cluster of each training row, -1 for noise.
    probabilities_ : ndarray of shape (n_samples,)
        Strength of each row's membership (0 for noise).
    cluster_centers_ : ndarray of shape (n_clusters_, n_features)
        Mean of each cluster's rows.
    n_clusters_ : int
        Number of clusters found (noise excluded).
    n_noise_ : int
        Number of training rows labelled -1.
    exemplars_ : ndarray of shape (n_exemplars, n_features)
        Clustered training rows used by :meth:`predict`.
    exemplar_labels_ : ndarray of shape (n_exemplars,)
    exemplar_core_distances_ : ndarray of shape (n_exemplars,)
    n_features_in_ : int

    Examples
    --------
    >>> import numpy as np
    >>> from custseg.cluster import HDBSCAN
    >>> rng = np.random.default_rng(0)
    >>> X = np.r_[rng.normal(0, 0.3, (40, 2)), rng.normal(5, 0.3, (40, 2)), [[20.0, 20.0]]]
    >>> h = HDBSCAN(min_cluster_size=10).fit(X)
    >>> h.n_clusters_, h.n_noise_ >= 1, h.predict([[20.0, 20.0]]).tolist()
    (2, True, [-1])
    """

    _parameter_constraints = {
        "min_cluster_size": [Interval(int, 2, None)],
        "min_samples": [NONE, Interval(int, 1, None)],
        "cluster_selection_epsilon": [Interval(float, 0, None)],
        "max_cluster_size": [NONE, Interval(int, 1, None)],
        "cluster_selection_method": [Options(frozenset({"eom", "leaf"}))],
        "allow_single_cluster": [Options(frozenset({True, False}))],
    }

    def __init__(self, min_cluster_size: int = 5, *, min_samples: int | None = None,
                 cluster_selection_epsilon: float = 0.0, max_cluster_size: int | None = None,
                 cluster_selection_method: Literal["eom", "leaf"] = "eom",
                 allow_single_cluster: bool = False):
        self.min_cluster_size = min_cluster_size
        self.min_samples = min_samples
        self.cluster_selection_epsilon = cluster_selection_epsilon
        self.max_cluster_size = max_cluster_size
        self.cluster_selection_method = cluster_selection_method
        self.allow_single_cluster = allow_single_cluster

    def fit(self, X: Any, y: Any = None) -> HDBSCAN:
        """Find the clusters.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : ignored

        Returns
        -------
        self : HDBSCAN

        Raises
        ------
        InvalidParameterError
            If there are fewer rows than ``min_samples`` (or ``min_cluster_size``).
        """
        validate_params(type(self).__name__, self._parameter_constraints, self.get_params())
        X = check_X(self, X, reset=True)
        n = X.shape[0]
        min_samples = self.min_cluster_size if self.min_samples is None else self.min_samples
        if n < min_samples:
            raise InvalidParameterError(
                f"n_samples={n} should be >= min_samples={min_samples}: HDBSCAN needs at "
                "least that many rows. Lower min_samples / min_cluster_size or pass more rows.")
        hd = _SkHDBSCAN(
            min_cluster_size=int(self.min_cluster_size), min_samples=self.min_samples,
            cluster_selection_epsilon=float(self.cluster_selection_epsilon),
            max_cluster_size=self.max_cluster_size, metric="euclidean",
            cluster_selection_method=self.cluster_selection_method,
            allow_single_cluster=bool(self.allow_single_cluster), copy=True).fit(X)
        labels = hd.labels_.astype(np.int64)
        # scikit-learn marks rows with infinite values -2; inputs are finite here
        self.labels_ = labels
        self.probabilities_ = hd.probabilities_
        self.n_clusters_ = int(labels.max() + 1) if labels.size and labels.max() >= 0 else 0
        self.n_noise_ = int((labels < 0).sum())
        self.cluster_centers_ = np.array([X[labels == j].mean(axis=0)
                                          for j in range(self.n_clusters_)]).reshape(
            self.n_clusters_, X.shape[1])
        core = NearestNeighbors(n_neighbors=min(min_samples, n)).fit(X)
        dist, _ = core.kneighbors(X)
        clustered = labels >= 0
        self.exemplars_ = X[clustered]
        self.exemplar_labels_ = labels[clustered]
        self.exemplar_core_distances_ = dist[clustered, -1]
        self._nn = (NearestNeighbors(n_neighbors=1).fit(self.exemplars_)
                    if clustered.any() else None)
        return self

    def fit_predict(self, X: Any, y: Any = None) -> np.ndarray:
        """Fit and return the HDBSCAN labels of ``X`` (``labels_``, noise = -1).

        These are the density-based labels of the training rows; ``fit(X).predict(X)`` uses the
        exemplar rule of :meth:`predict` and may put some noise rows into a cluster.
        """
        return self.fit(X).labels_

    def predict(self, X: Any) -> np.ndarray:
        """Assign rows to the cluster of the nearest exemplar within its core distance, else -1.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            Cluster, or -1 (noise).
        """
        check_fitted(self, "labels_")
        X = check_X(self, X, reset=False)
        out = np.full(X.shape[0], -1, dtype=np.int64)
        if self._nn is None:
            return out
        dist, idx = self._nn.kneighbors(X)
        dist, idx = dist[:, 0], idx[:, 0]
        inside = dist <= self.exemplar_core_distances_[idx]
        out[inside] = self.exemplar_labels_[idx[inside]]
        return out
