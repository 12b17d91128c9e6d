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


@njit(cache=True, inline="always")
def _distance_row(XT, i, row):  # pragma: no cover - numba
    """Euclidean distances of row ``i`` to all rows (features-major layout: vectorises)."""
    d, s = XT.shape
    row[:] = 0.0
    for f in range(d):
        xf = XT[f, i]
        for j in range(s):
            t = XT[f, j] - xf
            row[j] += t * t
    for j in range(s):
        row[j] = np.sqrt(row[j])


@njit(cache=True, parallel=True)
def _sums_to_groups(XT, bounds):  # pragma: no cover - numba
    """For every row, the sum of its Euclidean distances to the rows of each group, the rows
    sorted by group (group ``g`` is columns ``bounds[g]:bounds[g + 1]`` of ``XT``).

    One fused pass per row: its distances are computed into a row buffer (vectorised over
    the other rows) and summed range by range, never stored as a matrix. (Adding each
    distance to its group's entry, rows in any order, was 2-3 times as slow: consecutive adds
    to one entry wait on each other through memory. Measuring each pair once and adding it to
    both rows was twice as slow again: the second row's writes are strided.)
    """
    s = XT.shape[1]
    n_groups = bounds.shape[0] - 1
    out = np.zeros((s, n_groups))
    for i in prange(s):
        row = np.empty(s)
        _distance_row(XT, i, row)
        for g in range(n_groups):
            total = 0.0
            for j in range(bounds[g], bounds[g + 1]):
                total += row[j]
            out[i, g] = total
    return out


def _mean_silhouette(sums: np.ndarray, labels: np.ndarray, counts: np.ndarray) -> float:
    """Mean silhouette from per-cluster distance sums (scikit-learn's rules)."""
    s = len(labels)
    rows = np.arange(s)
    own_n = counts[labels]
    with np.errstate(divide="ignore", invalid="ignore"):
        a = sums[rows, labels] / np.maximum(own_n - 1, 1)
        means = sums / counts[None, :]
        means[rows, labels] = np.inf
        means[:, counts == 0] = np.inf
        b = means.min(axis=1)
        sil = (b - a) / np.maximum(a, b)
    sil[(own_n <= 1) | ~np.isfinite(sil)] = 0.0
    return float(sil.mean())


def silhouettes(Xs: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Mean silhouette of the rows ``Xs`` under each labelling in ``labels``.

    Every pairwise distance is computed once for all labellings: the rows are grouped by the
    labellings' common refinement (the distinct tuples of labels, usually a few dozen), each
    row's distances are summed per group in one fused numba pass, and every labelling's
    per-cluster sums are then sums of groups. When the refinement has more groups than the
    labellings have clusters together, the clusters of each labelling are used directly.

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
    XT = np.ascontiguousarray(np.asarray(Xs, dtype=np.float64).T)
    L = np.ascontiguousarray(labels, dtype=np.int64)
    K = L.shape[0]
    ks = L.max(axis=1) + 1
    cells, cell_of = np.unique(L.T, axis=0, return_inverse=True)
    cell_of = cell_of.reshape(-1).astype(np.int64)
    if len(cells) <= ks.sum():
        # rows sorted by group, so that each group is a range; the sums come back in row order
        order = np.argsort(cell_of, kind="stable")
        bounds = np.searchsorted(cell_of[order], np.arange(len(cells) + 1)).astype(np.int64)
        sums = np.empty((len(cell_of), len(cells)))
        sums[order] = _sums_to_groups(np.ascontiguousarray(XT[:, order]), bounds)
        per_label = []
        for q in range(K):
            M = np.zeros((len(cells), ks[q]))
            M[np.arange(len(cells)), cells[:, q]] = 1.0
            per_label.append(sums @ M)
    else:
        offsets = np.r_[0, np.cumsum(ks)]
        stacked = _sums_to_groups_multi(XT, L, offsets)
        per_label = [stacked[:, offsets[q]:offsets[q + 1]] for q in range(K)]
    out = np.full(K, np.nan)
    for q in range(K):
        counts = np.bincount(L[q], minlength=ks[q])
        if (counts > 0).sum() >= 2:
            out[q] = _mean_silhouette(per_label[q], L[q], counts)
    return out


@njit(cache=True, parallel=True)
def _sums_to_groups_multi(XT, L, offsets):  # pragma: no cover - numba
    """As :func:`_sums_to_groups` for several labellings at once (columns side by side)."""
    s = XT.shape[1]
    K = L.shape[0]
    out = np.zeros((s, offsets[K]))
    for i in prange(s):
        row = np.empty(s)
        _distance_row(XT, i, row)
        for q in range(K):
            lab = L[q]
            base = offsets[q]
            for j in range(s):
                out[i, base + lab[j]] += row[j]
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
