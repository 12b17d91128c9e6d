"""Bootstrap stability: how reproducible the partition at each k is under resampling."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ._metrics import adjusted_rand

__all__ = ["bootstrap_stability"]

#: fit(X_boot, rng) -> {k: labels of the reference rows}
PathFitter = Callable[[np.ndarray, np.random.Generator], dict[int, np.ndarray]]


def bootstrap_stability(X: np.ndarray, ks: list[int], fit_path: Callable[..., dict[int, np.ndarray]],
                        rng: np.random.Generator, n_bootstrap: int) -> dict[int, float]:
    """Mean adjusted Rand index between clusterings fitted on bootstrap resamples of ``X``.

    Each resample (rows of ``X`` drawn with replacement) is clustered at every ``k``; every
    fit then labels all rows of ``X``, and the score of ``k`` is the mean ARI over all pairs of
    resamples (Fang & Wang 2012; Lange et al. 2004 for the idea). 1 means the same partition
    every time; values near 0 mean the partition is an accident of the sample.

    Parameters
    ----------
    X : ndarray of shape (m, n_features)
        The reference rows.
    ks : list of int
    fit_path : callable
        ``fit_path(X_boot, X, rng) -> {k: labels of X}``.
    rng : numpy.random.Generator
    n_bootstrap : int
        Number of resamples (>= 2 for a score; with fewer every score is NaN).
    """
    m = X.shape[0]
    runs = []
    for _ in range(n_bootstrap):
        idx = rng.integers(0, m, size=m)
        runs.append(fit_path(np.ascontiguousarray(X[idx]), X, rng))
    out = {}
    for k in ks:
        if len(runs) < 2:
            out[k] = float("nan")
            continue
        scores = []
        for a in range(len(runs)):
            for b in range(a + 1, len(runs)):
                la, lb = runs[a][k], runs[b][k]
                scores.append(adjusted_rand(la, lb, int(la.max()) + 1, int(lb.max()) + 1))
        out[k] = float(np.mean(scores))
    return out
