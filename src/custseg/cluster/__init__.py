"""Cluster estimators: scikit-learn compatible, on a preprocessed float matrix.

Every estimator takes its parameters in ``__init__``, validates them in ``fit(X)``, and sets
``labels_``, ``n_clusters_`` and ``n_features_in_`` (and ``cluster_centers_`` / ``inertia_``
where they mean something). :data:`ALGORITHMS` maps the names used by the CLI and by
:func:`custseg.select.choose_k` to the classes.

==============  =================  ==================================================
name            class              what it is
==============  =================  ==================================================
``kmeans``      :class:`KMeans`    Lloyd, Elkan (scikit-learn) or Hartigan–Wong (AS 136)
``minibatch``   :class:`MiniBatch` mini-batch k-means, for very many rows
``bisecting``   :class:`Bisecting` divisive hierarchy, cut at any k (``tree_``)
``twostep``     :class:`TwoStep`   k-means micro-clusters + weighted Ward (``linkage_``)
``gmm``         :class:`GaussianMixture`  soft clusters, ``predict_proba``, ``bic_``
``kprototypes`` :class:`KPrototypes`      numeric + categorical (Huang's cost)
``hdbscan``     :class:`HDBSCAN`   density-based, finds k itself, noise = -1
==============  =================  ==================================================
"""

from ._base import NotFittedError
from ._bisecting import Bisecting, BisectingTree
from ._gmm import GaussianMixture
from ._hdbscan import HDBSCAN
from ._kmeans import KMeans
from ._kprototypes import KPrototypes
from ._minibatch import MiniBatch
from ._twostep import TwoStep, weighted_ward

__all__ = [
    "ALGORITHMS",
    "Bisecting",
    "BisectingTree",
    "GaussianMixture",
    "HDBSCAN",
    "KMeans",
    "KPrototypes",
    "MiniBatch",
    "NotFittedError",
    "TwoStep",
    "weighted_ward",
]

#: Algorithm names (as used by the CLI and ``choose_k``) → estimator classes.
ALGORITHMS = {
    "kmeans": KMeans,
    "minibatch": MiniBatch,
    "bisecting": Bisecting,
    "twostep": TwoStep,
    "gmm": GaussianMixture,
    "kprototypes": KPrototypes,
    "hdbscan": HDBSCAN,
}
