"""Gap statistic (Tibshirani, Walther & Hastie 2001) with k-means and uniform box references."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ..cluster._kernels import extend_centers, kmeans_best_of

__all__ = ["gap_statistic", "reference_box", "gap_choice"]


def reference_box(X: np.ndarray, rng: np.random.Generator, n_references: int,
                  box: str = "pca") -> list[np.ndarray]:
    """Uniform draws over a box around ``X``: its principal axes (``"pca"``, the paper's
    method (b)) or its feature axes (``"axes"``, method (a)).

    Aligning the box with the principal components makes the reference follow the shape of
    the data, so an elongated but unimodal cloud is not mistaken for clusters. The feature
    box is exact for data that fill an axis-aligned box, where the principal axes are
    arbitrary (a uniform square).
    """
    if box == "axes":
        lo, hi = X.min(axis=0), X.max(axis=0)
        return [np.ascontiguousarray(rng.uniform(lo, hi, size=X.shape))
                for _ in range(n_references)]
    mean = X.mean(axis=0)
    Xc = X - mean
    _, _, Vt = np.linalg.svd(Xc, full_matrices=False)
    P = Xc @ Vt.T
    lo, hi = P.min(axis=0), P.max(axis=0)
    return [np.ascontiguousarray(rng.uniform(lo, hi, size=P.shape) @ Vt + mean)
            for _ in range(n_references)]


def _log_wss_path(X: np.ndarray, ks: list[int], rng: np.random.Generator, n_init: int,
                  centers: Mapping[int, np.ndarray] | None = None) -> dict[int, float]:
    """log W_k of k-means at every k; each k warm-starts from k - 1 (and ``centers[k]``)."""
    out: dict[int, float] = {}
    prev = None
    for k in ks:
        if k == 1:
            C = X.mean(axis=0, keepdims=True)
            wss = float(((X - C) ** 2).sum())
        else:
            warm = []
            if centers is not None and k in centers:
                warm.append(np.ascontiguousarray(centers[k], dtype=np.float64))
            if prev is not None and prev.shape[0] == k - 1:
                warm.append(extend_centers(X, prev, k, rng))
            C, _, wss, _ = kmeans_best_of(X, k, rng, n_init=n_init, max_iter=100, warm=warm)
        out[k] = float(np.log(max(wss, np.finfo(float).tiny)))
        prev = C
    return out


def gap_statistic(X: np.ndarray, ks: list[int], rng: np.random.Generator, *,
                  n_references: int = 10, box: str = "pca",
                  data: Mapping[int, float] | None = None,
                  centers: Mapping[int, np.ndarray] | None = None
                  ) -> tuple[dict[int, float], dict[int, float], dict[int, float]]:
    """Gap(k) and its standard error s_k for every ``k`` in ``ks`` (which should include 1).

    ``Gap(k) = mean_b log W*_kb - log W_k`` with ``W_k`` the k-means within-cluster sum of
    squares, and ``s_k = sd_b(log W*_kb) * sqrt(1 + 1 / B)``, for uniform references in
    ``box`` (see :func:`reference_box`). References and data are clustered the same way (a
    warm-start chain over k plus one k-means++ start), so differences in fitting do not show
    up as gaps. Returns ``(gap, se, data)`` where ``data`` holds ``log W_k`` of ``X``; pass it
    back to compute another box without refitting the data. ``centers`` (k → centres) warm
    start the fits on the data.
    """
    ks = sorted(set(ks))
    if data is None:
        data = _log_wss_path(X, ks, rng, n_init=1, centers=centers)
    refs = np.array([[v for _, v in sorted(_log_wss_path(Z, ks, rng, n_init=1).items())]
                     for Z in reference_box(X, rng, n_references, box)])
    mean = refs.mean(axis=0)
    sd = refs.std(axis=0) * np.sqrt(1.0 + 1.0 / n_references)
    gap = {k: float(mean[i] - data[k]) for i, k in enumerate(ks)}
    se = {k: float(sd[i]) for i, k in enumerate(ks)}
    return gap, se, dict(data)


def gap_choice(gap: Mapping[int, float], se: Mapping[int, float], ks: list[int],
               rel_tol: float = 0.0) -> int | None:
    """The smallest ``k`` after which the gap grows no more, statistically or practically.

    Tibshirani's rule: ``Gap(k) >= Gap(k+1) - s_{k+1}``. With ``rel_tol > 0`` a ``k`` also
    qualifies when the next gain, ``Gap(k+1) - Gap(k)``, is below ``rel_tol`` times the gain
    already made, ``Gap(k) - Gap(1)``: the standard errors shrink as the sample grows, so at
    large n the first rule counts tiny gains — such as splitting elongated segments — as new
    structure; the second asks for a gain that matters. Only ``k`` whose successor was
    computed are eligible; None if no ``k`` qualifies.
    """
    for k in sorted(ks):
        if k + 1 not in gap:
            continue
        if gap[k] >= gap[k + 1] - se[k + 1]:
            return k
        if rel_tol > 0 and 1 in gap and k > 1 and \
                gap[k + 1] - gap[k] < rel_tol * (gap[k] - gap[1]):
            return k
    return None
