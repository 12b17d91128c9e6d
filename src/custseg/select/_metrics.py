"""Numba kernels for the k-selection metrics, computed for many k in one pass over the data.

* :func:`silhouettes` — the silhouette of one sample under every candidate labelling: each
  pairwise distance is computed once and added to the per-cluster sums of every k.
* :func:`partition_scores` — inertia, Calinski–Harabasz, Davies–Bouldin and cluster sizes of a
  labelling, with scikit-learn's definitions, in two passes over the rows.
* :func:`adjusted_rand` — the adjusted Rand index of two labellings.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

__all__ = ["silhouettes", "partition_scores", "adjusted_rand", "knee_index"]


@njit(cache=True, parallel=True)
def _silhouette_samples(Xs, L, counts):  # pragma: no cover - numba
    s, d = Xs.shape
    K = L.shape[0]
    kmax = counts.shape[1]
    out = np.zeros((K, s))
    for i in prange(s):
        row = np.empty(s)
        for j in range(s):
            acc = 0.0
            for f in range(d):
                t = Xs[i, f] - Xs[j, f]
                acc += t * t
            row[j] = np.sqrt(acc)
        sums = np.zeros(kmax)
        for q in range(K):
            sums[:] = 0.0
            lab = L[q]
            for j in range(s):
                sums[lab[j]] += row[j]
            own = lab[i]
            if counts[q, own] <= 1:
                out[q, i] = 0.0
                continue
            a = sums[own] / (counts[q, own] - 1)
            b = np.inf
            for c in range(kmax):
                if c != own and counts[q, c] > 0:
                    v = sums[c] / counts[q, c]
                    if v < b:
                        b = v
            if b == np.inf:
                out[q, i] = 0.0
            else:
                m = a if a > b else b
                out[q, i] = (b - a) / m if m > 0 else 0.0
    return out


def silhouettes(Xs: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Mean silhouette of the rows ``Xs`` under each labelling in ``labels``.

    Parameters
    ----------
    Xs : ndarray of shape (s, n_features)
    labels : ndarray of shape (n_labellings, s)
        Cluster numbers ``0 .. k - 1`` per labelling.

    Returns
    -------
    ndarray of shape (n_labellings,)
        As ``sklearn.metrics.silhouette_score(Xs, labels[q])`` (rows alone in their cluster
        score 0; a labelling with fewer than two clusters in the sample scores NaN).
    """
    Xs = np.ascontiguousarray(Xs, dtype=np.float64)
    L = np.ascontiguousarray(labels, dtype=np.int64)
    kmax = int(L.max()) + 1
    counts = np.zeros((L.shape[0], kmax), dtype=np.int64)
    for q in range(L.shape[0]):
        counts[q] = np.bincount(L[q], minlength=kmax)
    out = _silhouette_samples(Xs, L, counts).mean(axis=1)
    out[(counts > 0).sum(axis=1) < 2] = np.nan
    return out


@njit(cache=True)
def _partition_stats(X, labels, k):  # pragma: no cover - numba
    n, d = X.shape
    means = np.zeros((k, d))
    counts = np.zeros(k, dtype=np.int64)
    for i in range(n):
        lab = labels[i]
        counts[lab] += 1
        for f in range(d):
            means[lab, f] += X[i, f]
    for j in range(k):
        if counts[j] > 0:
            for f in range(d):
                means[j, f] /= counts[j]
    wss = np.zeros(k)
    intra = np.zeros(k)
    for i in range(n):
        lab = labels[i]
        s = 0.0
        for f in range(d):
            t = X[i, f] - means[lab, f]
            s += t * t
        wss[lab] += s
        intra[lab] += np.sqrt(s)
    return means, counts, wss, intra


def partition_scores(X: np.ndarray, labels: np.ndarray, k: int) -> dict[str, float | np.ndarray]:
    """Inertia, Calinski–Harabasz, Davies–Bouldin and sizes of one labelling of ``X``.

    The scores follow scikit-learn's ``calinski_harabasz_score`` and ``davies_bouldin_score``
    (empty clusters are left out). ``inertia`` is the within-cluster sum of squares about the
    cluster means.
    """
    means, counts, wss, intra = _partition_stats(X, np.ascontiguousarray(labels, np.int64), k)
    keep = counts > 0
    means, n_k, wss, intra = means[keep], counts[keep], wss[keep], intra[keep]
    n, kk = len(labels), int(keep.sum())
    inertia = float(wss.sum())
    if kk < 2 or kk >= n:
        ch = db = float("nan")
    else:
        grand = (means * n_k[:, None]).sum(axis=0) / n
        extra = float((n_k * ((means - grand) ** 2).sum(axis=1)).sum())
        ch = 1.0 if inertia == 0 else extra * (n - kk) / (inertia * (kk - 1))
        s = intra / n_k
        cd = np.sqrt(((means[:, None, :] - means[None, :, :]) ** 2).sum(axis=2))
        if np.allclose(s, 0) or np.allclose(cd, 0):
            db = 0.0
        else:
            cd[cd == 0] = np.inf
            db = float(np.mean(np.max((s[:, None] + s[None, :]) / cd, axis=1)))
    return {"inertia": inertia, "calinski_harabasz": float(ch), "davies_bouldin": float(db),
            "sizes": counts}


@njit(cache=True)
def adjusted_rand(a, b, ka, kb):  # pragma: no cover - numba
    """Adjusted Rand index of labellings ``a`` (``0..ka-1``) and ``b`` (``0..kb-1``)."""
    n = a.shape[0]
    table = np.zeros((ka, kb))
    for i in range(n):
        table[a[i], b[i]] += 1.0
    sum_comb = 0.0
    for p in range(ka):
        for q in range(kb):
            v = table[p, q]
            sum_comb += v * (v - 1.0) / 2.0
    sa = 0.0
    for p in range(ka):
        v = 0.0
        for q in range(kb):
            v += table[p, q]
        sa += v * (v - 1.0) / 2.0
    sb = 0.0
    for q in range(kb):
        v = 0.0
        for p in range(ka):
            v += table[p, q]
        sb += v * (v - 1.0) / 2.0
    total = n * (n - 1.0) / 2.0
    expected = sa * sb / total if total > 0 else 0.0
    maximum = (sa + sb) / 2.0
    if maximum == expected:
        return 1.0
    return (sum_comb - expected) / (maximum - expected)


def knee_index(ks: np.ndarray, inertia: np.ndarray) -> int | None:
    """Kneedle (Satopää et al. 2011) on a decreasing inertia curve; index into ``ks`` or None.

    Both axes are scaled to [0, 1]; the knee is where the curve lies farthest below the chord
    from its first to its last point. None with fewer than three points or a flat curve.
    """
    ks = np.asarray(ks, dtype=np.float64)
    y = np.asarray(inertia, dtype=np.float64)
    if len(ks) < 3 or not np.all(np.isfinite(y)) or np.ptp(y) == 0:
        return None
    xn = (ks - ks.min()) / np.ptp(ks)
    yn = (y - y.min()) / np.ptp(y)
    diff = (1.0 - yn) - xn
    i = int(np.argmax(diff))
    return i if diff[i] > 0 else None
