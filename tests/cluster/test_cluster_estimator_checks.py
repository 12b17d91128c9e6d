"""scikit-learn's estimator checks on every cluster estimator."""

from __future__ import annotations

from sklearn.utils.estimator_checks import parametrize_with_checks

from custseg.cluster import (
    HDBSCAN,
    Bisecting,
    GaussianMixture,
    KMeans,
    KPrototypes,
    MiniBatch,
    TwoStep,
)

ESTIMATORS = [
    KMeans(n_clusters=3, n_init=2),
    KMeans(n_clusters=3, method="hartigan-wong", n_init=2),
    KMeans(n_clusters=3, method="elkan", n_init=2),
    MiniBatch(n_clusters=3, n_init=1),
    Bisecting(n_clusters=3),
    TwoStep(n_clusters=3),
    GaussianMixture(n_clusters=3),
    KPrototypes(n_clusters=3, n_init=2),
    HDBSCAN(),
]


def expected_failed_checks(estimator):
    """Every check applies and passes: nothing is expected to fail."""
    return {}


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=expected_failed_checks)
def test_sklearn_compatible(estimator, check):
    check(estimator)
