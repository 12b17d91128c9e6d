"""Shared pieces of the cluster estimators: input checks, random state, not-fitted errors."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.exceptions import NotFittedError as _SklearnNotFittedError
from sklearn.utils.validation import validate_data

from .._exceptions import InvalidParameterError
from .._exceptions import NotFittedError as _CustsegNotFittedError
from ._kernels import assign_labels, center_distances

__all__ = ["NotFittedError", "check_fitted", "check_X", "check_n_samples", "as_generator",
           "sklearn_seed", "CentroidMixin"]


class NotFittedError(_CustsegNotFittedError, _SklearnNotFittedError):
    """An estimator is used before ``fit``.

    Both :class:`custseg.NotFittedError` and scikit-learn's ``NotFittedError``, so callers and
    scikit-learn's own tooling (``check_is_fitted``-style handling) can catch it.
    """


def check_fitted(estimator: Any, attribute: str = "labels_") -> None:
    """Raise :class:`NotFittedError` unless ``estimator`` has ``attribute``."""
    if not hasattr(estimator, attribute):
        raise NotFittedError(
            f"This {type(estimator).__name__} instance is not fitted yet. Call 'fit' with "
            "appropriate arguments before using this estimator."
        )


def check_X(estimator: Any, X: Any, *, reset: bool, dtype: Any = np.float64) -> np.ndarray:
    """Validate ``X`` as a finite 2-D C-contiguous array of ``dtype`` (sets ``n_features_in_``).

    ``dtype`` is float64 unless an estimator asks for float32 (then float32 input is not
    copied). A read-only array (e.g. a memory map) is copied: the numba kernels are compiled
    for writeable arrays, and a second, read-only compilation of each costs seconds.
    """
    X = validate_data(estimator, X, reset=reset, dtype=dtype, order="C",
                      ensure_min_samples=1)
    return X if X.flags.writeable else X.copy()


def check_n_samples(n_samples: int, n_clusters: int) -> None:
    """Refuse more clusters than samples, with scikit-learn's wording."""
    if n_samples < n_clusters:
        raise InvalidParameterError(
            f"n_samples={n_samples} should be >= n_clusters={n_clusters}. Ask for fewer "
            "clusters or pass more rows."
        )


def as_generator(random_state: Any) -> np.random.Generator:
    """Turn ``None``, an int, a ``RandomState`` or a ``Generator`` into a ``Generator``.

    A ``RandomState`` or ``Generator`` passed in is advanced, never reseeded, so repeated fits
    with the same object differ (as in scikit-learn) while an int always gives the same draws.
    """
    if isinstance(random_state, np.random.Generator):
        return random_state
    if isinstance(random_state, np.random.RandomState):
        return np.random.default_rng(random_state.randint(0, 2**31 - 1))
    return np.random.default_rng(random_state)


def sklearn_seed(random_state: Any) -> int | np.random.RandomState | None:
    """A ``random_state`` scikit-learn accepts (it does not take ``Generator``)."""
    if isinstance(random_state, np.random.Generator):
        return int(random_state.integers(0, 2**31 - 1))
    return random_state


class CentroidMixin(ClassNamePrefixFeaturesOutMixin, TransformerMixin):
    """``predict`` to the nearest centre and ``transform`` to centre distances (as sklearn)."""

    cluster_centers_: np.ndarray

    @property
    def _n_features_out(self) -> int:
        return self.cluster_centers_.shape[0]

    def predict(self, X: Any) -> np.ndarray:
        """Assign each row of ``X`` to the nearest of ``cluster_centers_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows to assign, in the same (scaled) units as the training data.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            Index of the nearest centre (ties go to the lower index).
        """
        check_fitted(self, "cluster_centers_")
        X = check_X(self, X, reset=False)
        labels = np.empty(X.shape[0], dtype=np.int64)
        dist = np.empty(X.shape[0])
        assign_labels(X, self.cluster_centers_, labels, dist)
        return labels

    def transform(self, X: Any) -> np.ndarray:
        """Euclidean distance of each row of ``X`` to every centre.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        distances : ndarray of shape (n_samples, n_clusters_)
        """
        check_fitted(self, "cluster_centers_")
        X = check_X(self, X, reset=False)
        return center_distances(X, self.cluster_centers_)
