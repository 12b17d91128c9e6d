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

from typing import Any

# Imported on first use (PEP 562): the numba kernels (``custseg.cluster._lloyd``) load without
# scikit-learn, and ``KMeans`` without the mixture, density and neighbours modules.
_LAZY = {
    "NotFittedError": "._base",
    "Bisecting": "._bisecting",
    "BisectingTree": "._bisecting",
    "GaussianMixture": "._gmm",
    "HDBSCAN": "._hdbscan",
    "KMeans": "._kmeans",
    "KPrototypes": "._kprototypes",
    "MiniBatch": "._minibatch",
    "TwoStep": "._twostep",
    "weighted_ward": "._twostep",
}

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

#: Algorithm names (as used by the CLI and ``choose_k``) → estimator class names; the module
#: attribute ``ALGORITHMS`` maps them to the classes.
_ALGORITHM_CLASSES = {
    "kmeans": "KMeans",
    "minibatch": "MiniBatch",
    "bisecting": "Bisecting",
    "twostep": "TwoStep",
    "gmm": "GaussianMixture",
    "kprototypes": "KPrototypes",
    "hdbscan": "HDBSCAN",
}


def __getattr__(name: str) -> Any:
    import importlib

    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
    elif name == "ALGORITHMS":
        value = {algo: __getattr__(cls) for algo, cls in _ALGORITHM_CLASSES.items()}
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
