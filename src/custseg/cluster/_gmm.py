"""Gaussian mixture (scikit-learn's ``GaussianMixture`` behind custseg's parameter checks)."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.mixture import GaussianMixture as _SkGaussianMixture

from .._validation import RANDOM_STATE, Interval, Options, validate_params
from ._base import check_fitted, check_n_samples, check_X, sklearn_seed

__all__ = ["GaussianMixture"]


class GaussianMixture(ClusterMixin, BaseEstimator):
    """Gaussian mixture model fitted by EM; each row goes to its most probable component.

    Parameters
    ----------
    n_clusters : int, default=8
        Number of mixture components (>= 1).
    covariance_type : {"full", "diag"}, default="full"
        One full covariance matrix per component, or a diagonal one (fewer parameters; the
        variant :func:`custseg.select.choose_k` uses for its BIC column).
    n_init : int, default=1
        EM runs; the one with the highest likelihood is kept.
    max_iter : int, default=100
        EM iterations of a run.
    tol : float, default=1e-3
        Convergence threshold on the per-row log-likelihood gain.
    reg_covar : float, default=1e-6
        Added to the covariance diagonals for numerical stability.
    random_state : int, numpy random generator or None, default=None
        Seed of the k-means initialisation.

    Attributes
    ----------
    cluster_centers_ : ndarray of shape (n_clusters, n_features)
        Component means.
    weights_ : ndarray of shape (n_clusters,)
        Mixing proportions.
    covariances_ : ndarray
        Covariances, shaped as scikit-learn's for ``covariance_type``.
    labels_ : ndarray of shape (n_samples,)
        Most probable component of each training row.
    bic_ : float
        Bayesian information criterion on the training rows (lower is better).
    aic_ : float
        Akaike information criterion on the training rows.
    lower_bound_ : float
        Per-row log-likelihood of the kept run.
    converged_ : bool
    n_iter_ : int
    n_clusters_ : int
    n_features_in_ : int

    Examples
    --------
    >>> import numpy as np
    >>> from custseg.cluster import GaussianMixture
    >>> rng = np.random.default_rng(0)
    >>> X = np.r_[rng.normal(0, 1, (100, 2)), rng.normal(8, 1, (100, 2))]
    >>> gm = GaussianMixture(n_clusters=2, random_state=0).fit(X)
    >>> gm.predict_proba(X[:1]).round(3).tolist() in ([[1.0, 0.0]], [[0.0, 1.0]])
    True
    """

    _parameter_constraints = {
        "n_clusters": [Interval(int, 1, None)],
        "covariance_type": [Options(frozenset({"full", "diag"}))],
        "n_init": [Interval(int, 1, None)],
        "max_iter": [Interval(int, 1, None)],
        "tol": [Interval(float, 0, None)],
        "reg_covar": [Interval(float, 0, None)],
        "random_state": RANDOM_STATE,
    }

    def __init__(self, n_clusters: int = 8, *, covariance_type: Literal["full", "diag"] = "full",
                 n_init: int = 1, max_iter: int = 100, tol: float = 1e-3,
                 reg_covar: float = 1e-6, random_state: Any = None):
        self.n_clusters = n_clusters
        self.covariance_type = covariance_type
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.reg_covar = reg_covar
        self.random_state = random_state

    def fit(self, X: Any, y: Any = None) -> GaussianMixture:
        """Fit the mixture by EM.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : ignored

        Returns
        -------
        self : GaussianMixture
        """
        validate_params(type(self).__name__, self._parameter_constraints, self.get_params())
        X = check_X(self, X, reset=True)
        k = int(self.n_clusters)
        check_n_samples(X.shape[0], k)
        gm = _SkGaussianMixture(
            n_components=k, covariance_type=self.covariance_type, n_init=int(self.n_init),
            max_iter=int(self.max_iter), tol=float(self.tol), reg_covar=float(self.reg_covar),
            random_state=sklearn_seed(self.random_state)).fit(X)
        self._model = gm
        self.cluster_centers_ = gm.means_
        self.weights_ = gm.weights_
        self.covariances_ = gm.covariances_
        self.converged_ = bool(gm.converged_)
        self.n_iter_ = int(gm.n_iter_)
        self.lower_bound_ = float(gm.lower_bound_)
        self.labels_ = gm.predict(X).astype(np.int64)
        self.bic_ = float(gm.bic(X))
        self.aic_ = float(gm.aic(X))
        self.n_clusters_ = k
        return self

    def predict(self, X: Any) -> np.ndarray:
        """Most probable component of each row.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        labels : ndarray of shape (n_samples,)
        """
        check_fitted(self, "_model")
        X = check_X(self, X, reset=False)
        return self._model.predict(X).astype(np.int64)

    def predict_proba(self, X: Any) -> np.ndarray:
        """Posterior probability of each component for each row, shape (n_samples, n_clusters)."""
        check_fitted(self, "_model")
        X = check_X(self, X, reset=False)
        return self._model.predict_proba(X)

    def score_samples(self, X: Any) -> np.ndarray:
        """Log-density of each row under the mixture."""
        check_fitted(self, "_model")
        X = check_X(self, X, reset=False)
        return self._model.score_samples(X)

    def bic(self, X: Any) -> float:
        """Bayesian information criterion of the fitted model on ``X`` (lower is better)."""
        check_fitted(self, "_model")
        X = check_X(self, X, reset=False)
        return float(self._model.bic(X))

    def aic(self, X: Any) -> float:
        """Akaike information criterion of the fitted model on ``X``."""
        check_fitted(self, "_model")
        X = check_X(self, X, reset=False)
        return float(self._model.aic(X))
