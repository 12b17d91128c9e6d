"""Small numba kernels for k-means on modest sample sizes.

Used by :func:`custseg.select.choose_k` (many fits on samples), bisecting k-means (2-means),
the Hartigan–Wong starts (k-means++) and prediction. Each kernel takes its random numbers as
arrays drawn by the caller from a ``numpy.random.Generator``, so there is no hidden global seed.
The fused large-data Lloyd kernel is separate work (``_lloyd.py``).

All distances are computed directly as ``sum((x - c) ** 2)``: with the few features of customer
data this is as fast as the ``|x|^2 - 2 x.c + |c|^2`` expansion and has no cancellation error.
"""

from __future__ import annotations

import numba
import numpy as np
from numba import njit, prange

__all__ = [
    "assign_labels",
    "center_distances",
    "kmeans_plusplus",
    "extend_centers",
    "lloyd",
    "kmeans_best_of",
    "cluster_means",
]


@njit(cache=True, inline="always")
def _sqdist(X, i, C, j):  # pragma: no cover - numba
    d = X.shape[1]
    s = 0.0
    for f in range(d):
        t = X[i, f] - C[j, f]
        s += t * t
    return s


@njit(cache=True, parallel=True)
def _assign_parallel(X, C, labels, mindist):  # pragma: no cover - numba
    n = X.shape[0]
    k = C.shape[0]
    for i in prange(n):
        best = np.inf
        bj = 0
        for j in range(k):
            s = _sqdist(X, i, C, j)
            if s < best:
                best = s
                bj = j
        labels[i] = bj
        mindist[i] = best
    total = 0.0
    for i in range(n):
        total += mindist[i]
    return total


def assign_labels(X: np.ndarray, C: np.ndarray, labels: np.ndarray, mindist: np.ndarray,
                  parallel: bool = False) -> float:
    """Nearest centre of each row (ties to the lower index), written into ``labels`` and
    ``mindist`` (squared distances); returns the inertia.

    Serial by default: on a machine whose cores are busy, threads cost more than they save.
    """
    if parallel and numba.get_num_threads() > 1 and X.shape[0] * C.shape[0] >= 1_000_000:
        return float(_assign_parallel(X, C, labels, mindist))
    return float(_assign_serial(X, C, labels, mindist)[1])


@njit(cache=True)
def center_distances(X, C):  # pragma: no cover - numba
    """Euclidean distances of every row of ``X`` to every centre, shape (n, k)."""
    n = X.shape[0]
    k = C.shape[0]
    out = np.empty((n, k))
    for i in range(n):
        for j in range(k):
            out[i, j] = np.sqrt(_sqdist(X, i, C, j))
    return out


@njit(cache=True)
def _assign_serial(X, C, labels, mindist):  # pragma: no cover - numba
    """Nearest centre of each row; returns (rows whose label changed, inertia).

    The current label's centre is measured first, and a distance to another centre is
    abandoned as soon as its partial sum reaches the best so far: the result (nearest centre,
    lowest index among exact ties, and its exact squared distance) is the same as measuring
    every centre in full.
    """
    n, d = X.shape
    k = C.shape[0]
    changed = 0
    total = 0.0
    for i in range(n):
        bj = labels[i]
        if bj < 0 or bj >= k:
            bj = 0
        best = _sqdist(X, i, C, bj)
        for j in range(k):
            if j == bj:
                continue
            s = 0.0
            for f in range(d):
                t = X[i, f] - C[j, f]
                s += t * t
                if s > best:
                    break
            if s < best or (s == best and j < bj):
                best = s
                bj = j
        if labels[i] != bj:
            changed += 1
            labels[i] = bj
        mindist[i] = best
        total += best
    return changed, total


@njit(cache=True)
def kmeans_plusplus_extend(X, C_start, k, rand, n_trials):  # pragma: no cover - numba
    """Greedy k-means++ (as scikit-learn's): add centres to ``C_start`` until there are ``k``.

    Each new centre is the best, by total squared distance, of ``n_trials`` draws with
    probability proportional to the squared distance to the nearest centre so far. ``rand`` is
    a (k - len(C_start), n_trials) array of uniforms.
    """
    n, d = X.shape
    m = C_start.shape[0]
    C = np.empty((k, d))
    C[:m] = C_start
    closest = np.full(n, np.inf)
    cand = np.empty(n)
    best_d = np.empty(n)
    cum = np.empty(n)
    for i in range(n):
        for j in range(m):
            s = _sqdist(X, i, C, j)
            if s < closest[i]:
                closest[i] = s
    for c in range(m, k):
        acc = 0.0
        for i in range(n):
            acc += closest[i]
            cum[i] = acc
        best_pot = np.inf
        best_idx = 0
        for t in range(n_trials):
            r = rand[c - m, t] * acc
            idx = np.searchsorted(cum, r)
            if idx > n - 1:
                idx = n - 1
            pot = 0.0
            for i in range(n):
                s = 0.0
                for f in range(d):
                    u = X[i, f] - X[idx, f]
                    s += u * u
                v = closest[i] if closest[i] < s else s
                cand[i] = v
                pot += v
            if pot < best_pot:
                best_pot = pot
                best_idx = idx
                best_d[:] = cand
        C[c] = X[best_idx]
        closest[:] = best_d
    return C


def kmeans_plusplus(X: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """Greedy k-means++ seeding of ``k`` centres (``2 + log k`` trials per centre)."""
    n_trials = 2 + int(np.log(k))
    first = int(rng.integers(X.shape[0]))
    rand = rng.random((max(k - 1, 0), n_trials))
    return kmeans_plusplus_extend(X, X[first:first + 1], k, rand, n_trials)


def extend_centers(X: np.ndarray, C: np.ndarray, k: int, rng: np.random.Generator
                   ) -> np.ndarray:
    """Warm start for ``k`` clusters: the centres ``C`` plus k-means++ draws for the rest."""
    n_trials = 2 + int(np.log(k))
    rand = rng.random((k - C.shape[0], n_trials))
    return kmeans_plusplus_extend(X, np.ascontiguousarray(C), k, rand, n_trials)


@njit(cache=True)
def lloyd(X, C0, max_iter, tol):  # pragma: no cover - numba
    """Lloyd iterations from ``C0``.

    Stops when no label changes or when the summed squared centre shift is at most ``tol``
    (an absolute value). An empty cluster is moved to the point farthest from its centre.
    Returns ``(centers, labels, inertia, n_iter)``; the labels are those of the returned centres.
    """
    n, d = X.shape
    k = C0.shape[0]
    C = C0.copy()
    labels = np.full(n, -1, dtype=np.int64)
    mind = np.empty(n)
    sums = np.zeros((k, d))
    counts = np.zeros(k, dtype=np.int64)
    n_iter = 0
    consistent = False
    for it in range(max_iter):
        n_iter = it + 1
        changed, _ = _assign_serial(X, C, labels, mind)
        if changed == 0:
            consistent = True
            break
        sums[:] = 0.0
        counts[:] = 0
        for i in range(n):
            lab = labels[i]
            counts[lab] += 1
            for f in range(d):
                sums[lab, f] += X[i, f]
        for j in range(k):
            if counts[j] == 0:
                far = np.argmax(mind)
                old = labels[far]
                counts[old] -= 1
                for f in range(d):
                    sums[old, f] -= X[far, f]
                    sums[j, f] = X[far, f]
                counts[j] = 1
                labels[far] = j
                mind[far] = 0.0
        shift = 0.0
        for j in range(k):
            if counts[j] > 0:
                for f in range(d):
                    v = sums[j, f] / counts[j]
                    t = v - C[j, f]
                    shift += t * t
                    C[j, f] = v
        if shift <= tol:
            break
    if not consistent:
        # final E-step so that the labels are those of the returned centres
        _assign_serial(X, C, labels, mind)
    inertia = 0.0
    for i in range(n):
        inertia += mind[i]
    return C, labels, inertia, n_iter


@njit(cache=True)
def cluster_means(X, labels, k):  # pragma: no cover - numba
    """Means and sizes of the ``k`` groups given by ``labels`` (empty groups get zeros)."""
    n, d = X.shape
    sums = np.zeros((k, d))
    counts = np.zeros(k, dtype=np.int64)
    for i in range(n):
        lab = labels[i]
        counts[lab] += 1
        for f in range(d):
            sums[lab, f] += X[i, f]
    for j in range(k):
        if counts[j] > 0:
            for f in range(d):
                sums[j, f] /= counts[j]
    return sums, counts


def kmeans_best_of(X: np.ndarray, k: int, rng: np.random.Generator, *, n_init: int = 1,
                   max_iter: int = 300, tol: float = 1e-4,
                   warm: list[np.ndarray] | None = None, screen_iter: int | None = None):
    """Best of ``n_init`` k-means++ + Lloyd runs (and of any ``warm`` starting centres).

    ``tol`` is relative, as in scikit-learn: it is multiplied by the mean feature variance.
    With ``screen_iter``, every start first runs only that many iterations and just the one
    with the lowest inertia then runs to convergence (the others are abandoned: starts that
    are behind after a few iterations rarely end ahead, and on large samples this saves most
    of the work). Returns ``(centers, labels, inertia, n_iter)`` of the best run.
    """
    X = np.ascontiguousarray(X, dtype=np.float64)
    n = X.shape[0]
    tol_abs = float(tol * np.mean(np.var(X, axis=0))) if n > 1 else 0.0
    starts = list(warm or [])
    for _ in range(n_init):
        starts.append(kmeans_plusplus(X, k, rng))
    first_iter = max_iter if screen_iter is None or len(starts) < 2 else screen_iter
    best = None
    for C0 in starts:
        C, labels, inertia, n_iter = lloyd(X, np.ascontiguousarray(C0, dtype=np.float64),
                                           first_iter, tol_abs)
        if best is None or inertia < best[2]:
            best = (C, labels, inertia, n_iter)
    if first_iter < max_iter and best[3] >= first_iter:
        C, labels, inertia, n_iter = lloyd(X, best[0], max_iter - first_iter, tol_abs)
        best = (C, labels, inertia, best[3] + n_iter)
    return best
